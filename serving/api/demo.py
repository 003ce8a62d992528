"""What `make demo` prints before serving: where the page is and two requests to paste."""

from __future__ import annotations

import argparse
import json
import shlex

DRAFT = {
    "creator_id": "c000434",
    "category": "food",
    "duration_s": 35,
    "caption": "grandma's spicy noodles in 10 minutes",
    "hashtags": "#food #recipe #homemade",
    "creator_followers": 1200,
    "explain": True,
}
EARLY = {
    **{k: v for k, v in DRAFT.items() if k != "explain"},
    "age_minutes": 60,
    "views": 2400,
    "likes": 95,
    "comments": 6,
    "shares": 2,
    "follows": 4,
    "completion_rate": 0.31,
    "retention_3s": 0.78,
    "earlier": [{"age_minutes": 30, "likes": 40}],
}


def curl(base: str, route: str, body: dict) -> str:
    """A command that pastes into any POSIX shell, whatever quotes the body holds."""
    return shlex.join(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{base}/{route}",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(body),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="Port the service will use.")
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}"
    print(f"\nlikecast is starting on {base}\n  web page: {base}/ui\n  API docs: {base}/docs\n")
    print("a draft:\n  " + curl(base, "predict_draft", DRAFT) + "\n")
    print("a video one hour after posting:\n  " + curl(base, "predict_early", EARLY) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

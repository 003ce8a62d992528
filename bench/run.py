"""`make bench`: run every bench/bench_*.py in its own process (clean peak-memory numbers).

Pass --quick for a small smoke run of each; names select benchmarks, e.g. `simulator`.
Benchmarks of real data (``NEEDS_DATA``) run only with ``--data DIR``, else say they are
skipped: the repository names no data folder of its own.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
NEEDS_DATA = ("realdata",)  # their --data is required


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--data", type=Path, help="data folder for " + ", ".join(NEEDS_DATA))
    args = parser.parse_args(argv)
    found = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    chosen = args.names or found
    unknown = set(chosen) - set(found)
    if unknown:
        print(f"unknown benchmarks {sorted(unknown)}; known: {found}", file=sys.stderr)
        return 2
    failed = []
    for name in chosen:
        print(f"== {name}", flush=True)
        extra = ["--quick"] if args.quick else []
        if name in NEEDS_DATA:
            if args.data is None:
                print(f"{name}: skipped, it needs --data DIR (a data folder in the contract)")
                continue
            extra += ["--data", str(args.data)]
        code = subprocess.call([sys.executable, "-m", f"bench.bench_{name}", *extra])
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""One set of rules for early counts: the HTTP API and batch scoring give the same verdicts.

Each case is a video's counts at an age (and earlier ones). It goes to the service (in this
process, every middleware) as `POST /predict_early` (the route the page posts to) and to
`likecast score` as a row of a videos file with its snapshots; both must accept it, or both
refuse it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import InProcess

AT = pd.Timestamp("2026-07-20T12:00:00Z")
BASE = {
    "age_minutes": 60.0,
    "likes": 100,
    "views": 2000,
    "comments": 10,
    "completion_rate": 0.3,
    "retention_3s": 0.7,
    "earlier": [(30.0, 40), (15.0, 12)],
}
# (name, changes to BASE, accepted)
CASES = [
    ("plain", {}, True),
    ("likes above views", {"likes": 2000, "views": 1000}, False),
    ("likes equal views", {"likes": 2000, "views": 2000}, True),
    ("comments above views", {"comments": 2500}, False),
    ("comments equal views", {"comments": 2000}, True),
    ("no views", {"views": None, "likes": 5000}, True),
    ("completion above 1", {"completion_rate": 1.5}, False),
    ("completion 0", {"completion_rate": 0.0}, True),
    ("retention below 0", {"retention_3s": -0.1}, False),
    ("retention 1", {"retention_3s": 1.0}, True),
    ("negative likes", {"likes": -1}, False),
    ("negative views", {"views": -5}, False),
    ("fractional likes", {"likes": 10.5}, False),
    ("likes beyond any video", {"likes": 10**15, "views": 10**15}, False),
    ("earlier likes above now", {"earlier": [(30.0, 150)]}, False),
    ("earlier likes equal now", {"earlier": [(30.0, 100)]}, True),
    ("earlier negative", {"earlier": [(30.0, -3)]}, False),
    ("earlier out of order", {"earlier": [(15.0, 12), (30.0, 40)]}, True),
    ("earlier decreasing", {"earlier": [(30.0, 12), (15.0, 40)]}, False),
    ("earlier at the same age", {"earlier": [(60.0, 40)]}, False),
    ("earlier after now", {"earlier": [(90.0, 40)]}, False),
    ("reached the threshold", {"likes": 1500}, True),
    ("past the horizon below", {"age_minutes": 12_000.0, "likes": 500}, True),
    ("past the horizon above", {"age_minutes": 12_000.0, "likes": 1500}, True),
    ("at the horizon", {"age_minutes": 10_080.0, "likes": 999}, True),
    ("observed agrees with age", {"observed_offset": 60.0}, True),
    ("observed disagrees with age", {"observed_offset": 120.0}, False),
    ("observed before posting", {"observed_offset": -10.0, "age_only": False}, False),
]


def _case(changes: dict) -> dict:
    return {**BASE, **changes}


def _api_body(i: int, case: dict) -> dict:
    posted = AT - pd.Timedelta(minutes=case["age_minutes"])
    body = {
        "creator_id": f"rules-{i}",
        "category": "food",
        "duration_s": 30,
        "posted_at": posted.isoformat(),
        "earlier": [{"age_minutes": a, "likes": n} for a, n in case["earlier"]],
        **{k: case[k] for k in ("likes", "views", "comments", "completion_rate", "retention_3s")},
    }
    if "observed_offset" in case:
        body["observed_at"] = (posted + pd.Timedelta(minutes=case["observed_offset"])).isoformat()
        if case.get("age_only", True):
            body["age_minutes"] = case["age_minutes"]
    else:
        body["age_minutes"] = case["age_minutes"]
    return {k: v for k, v in body.items() if v is not None}


def _batch_tables(cases: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    videos, snapshots = [], []
    for i, case in enumerate(cases):
        posted = AT - pd.Timedelta(minutes=case["age_minutes"])
        videos.append(
            {"video_id": f"v{i}", "creator_id": f"rules-{i}", "posted_at": posted.isoformat(),
             "category": "food", "duration_s": 30}
        )  # fmt: skip
        now = {k: case[k] for k in ("likes", "views", "comments", "completion_rate",
                                     "retention_3s")}  # fmt: skip
        observed = None
        if "observed_offset" in case:
            observed = (posted + pd.Timedelta(minutes=case["observed_offset"])).isoformat()
        age = case["age_minutes"] if case.get("age_only", True) else None
        snapshots.append({"video_id": f"v{i}", "age_minutes": age, "observed_at": observed, **now})
        for age, likes in case["earlier"]:
            snapshots.append({"video_id": f"v{i}", "age_minutes": age, "likes": likes})
    return pd.DataFrame(videos), pd.DataFrame(snapshots)


def test_the_api_and_batch_scoring_give_the_same_verdicts(
    service: InProcess, bundle_dir: Path, tmp_path: Path, cli
) -> None:
    cases = [_case(changes) for _, changes, _ in CASES]
    # given the table's cases as API requests, and as a batch of videos with snapshots
    with service.client() as http:
        api = [http.post("/predict_early", json=_api_body(i, c)) for i, c in enumerate(cases)]
    videos, snapshots = _batch_tables(cases)
    videos.to_csv(tmp_path / "videos.csv", index=False)
    snapshots.to_csv(tmp_path / "snapshots.csv", index=False)
    # when the batch is scored at the moment the requests describe
    result = cli(
        "score", "--input", str(tmp_path / "videos.csv"), "--output", str(tmp_path / "s.csv"),
        "--snapshots", str(tmp_path / "snapshots.csv"), "--at", AT.isoformat(),
        "--model", str(bundle_dir), env={"LIKECAST_HOME": str(tmp_path / "home"),
                                         "LIKECAST_MAX_REJECT_SHARE": "1"},
    )  # fmt: skip
    assert result.code == 0, result.text
    scored = set(pd.read_csv(tmp_path / "s.csv")["video_id"])
    # then each case is accepted by both or refused by both, as the table says
    for i, (name, _, accepted) in enumerate(CASES):
        assert api[i].status_code in (200, 400), (name, api[i].text)
        assert (api[i].status_code == 200) == accepted, (name, "api", api[i].text)
        assert (f"v{i}" in scored) == accepted, (name, "batch", result.text)
    assert len(CASES) >= 20


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"likes": 2000, "views": 1000}, "likes: must be <= views"),
        ({"earlier": [(30.0, 150)]}, "likes: decreases over time"),
        ({"earlier": [(90.0, 40)]}, "earlier[0].age_minutes: must be <"),
        ({"observed_offset": 120.0}, "age_minutes: disagrees with observed_at - posted_at"),
    ],
)
def test_a_refused_request_names_the_field_and_rule(service: InProcess, changes, words) -> None:
    with service.client() as http:
        reply = http.post("/predict_early", json=_api_body(0, _case(changes)))
    assert reply.status_code == 400
    assert words in reply.text

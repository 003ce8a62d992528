"""What batch scoring answers and refuses by the counts (#27, item 8).

A video whose counts already reach the threshold needs no creator history: batch (and the
API alike) answers it (reached, decided) even when the creator store starts after its
posting time; the others posted that early are still refused. And an age after posting is
answered from counts: asked for one without ``--snapshots``, ``likecast score`` refuses in
one line instead of scoring every video as having no likes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from features.history import COLD_START
from features.rows import HISTORY_COLUMNS
from features.store import CreatorStore, Timeline, write_store
from likecast.settings import Settings
from models.bundle import ModelBundle
from models.registry import LoadedModel
from serving.batch.scoring import Scorer, ScoringAge
from serving.core.predictor import Predictor
from serving.core.requests import Early

SAVED = Path(__file__).parents[2] / "models" / "data" / "bundle-2026-12-02" / "bundle"
OLDEST = pd.Timestamp("2026-03-01T00:00:00Z")


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return ModelBundle.load(SAVED)


def _timeline() -> Timeline:
    """A store whose oldest state is OLDEST: one creator with three earlier videos."""
    row = {**{name: COLD_START[name] for name in HISTORY_COLUMNS}, "hist_videos": 3.0}
    rows = pd.DataFrame([{"creator_id": "c1", "valid_from": OLDEST, **row}])
    rows["creator_id"] = rows["creator_id"].astype("string")
    return Timeline(rows, OLDEST, OLDEST + pd.Timedelta(days=30))


def test_a_video_past_the_threshold_before_the_store_is_answered(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    # given two videos posted before the store's oldest state, one already past the
    # threshold at an hour, the other not, and one posted after
    videos = pd.DataFrame(
        {
            "video_id": ["hit", "open", "later"],
            "creator_id": "c1",
            "posted_at": ["2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-05T00:00:00Z"],
            "category": "food",
            "duration_s": "30",
        }
    )
    snapshots = tmp_path / "snapshots.csv"
    pd.DataFrame(
        {"video_id": ["hit", "open", "later"], "age_minutes": 60.0, "likes": [5000, 3, 3]}
    ).to_csv(snapshots, index=False)
    scorer = Scorer(bundle, "local", _timeline(), ScoringAge(age_minutes=60.0), snapshots)
    # when they are scored at an hour
    scores, rejects = scorer.score(videos, first_row=0)
    # then the one past the threshold is answered from its counts, reached and decided
    by_id = scores.set_index("video_id")
    assert list(by_id.index) == ["hit", "later"]
    assert (by_id.loc["hit", "probability"], by_id.loc["hit", "reached"]) == (1.0, True)
    assert by_id.loc["hit", "decided"]
    # and the other early one is refused, saying why and how to fix it
    assert rejects["videos"]["video_id"].tolist() == ["open"]
    assert "before the creator store's oldest state" in rejects["videos"]["_reason"].iloc[0]


@pytest.fixture
def drafts(tmp_path: Path) -> Path:
    path = tmp_path / "videos.csv"
    pd.DataFrame(
        {"video_id": ["a"], "creator_id": "c", "posted_at": "2026-03-01T12:00:00Z"}
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (["--age-minutes", "60"], "--age-minutes 60 scores videos from their counts"),
        (["--at", "2026-03-02T00:00:00Z"], "--at scores each video at its age then"),
    ],
)
def test_an_age_after_posting_without_snapshots_is_refused_in_one_line(
    drafts: Path, tmp_path: Path, cli, age: list[str], said: str
) -> None:
    # given videos and no snapshots, when they are scored at an age after posting
    out = tmp_path / "scores.csv"
    result = cli("score", "--input", str(drafts), "--output", str(out), "--model", str(SAVED), *age)
    # then one line says what is missing and how to fix it, and nothing is written
    assert result.code == 2
    assert said in result.text
    assert "--snapshots FILE" in result.text
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert not out.exists()


def test_drafts_without_snapshots_are_still_scored(drafts: Path, tmp_path: Path, cli) -> None:
    # given videos and no snapshots, when they are scored as drafts (age 0), then they are
    result = cli("score", "--input", str(drafts), "--output", str(tmp_path / "s.csv"),
                 "--model", str(SAVED), "--age-minutes", "0")  # fmt: skip
    assert result.code == 0, result.text


def test_the_api_answers_a_video_past_the_threshold_before_the_store_alike(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    # given a service whose creator store (built for the model's target, as a store that
    # serves it must be) starts after two videos were posted, one already past the threshold
    write_store(replace(_timeline(), target=bundle.spec.target), tmp_path / "store.sqlite")
    loaded = LoadedModel(bundle, "folder", None, None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "store.sqlite"), Settings(home=tmp_path))
    asked = {"creator_id": "c1", "posted_at": "2026-02-01T00:00:00Z", "age_minutes": 60.0}
    # when both are asked about
    hit = predictor.predict([Early(**asked, likes=5000)])[0]  # type: ignore[arg-type]
    # then the one past the threshold is answered from its counts, as batch answers it,
    # without calling its creator new
    assert (hit.probability, hit.reached, hit.decided) == (1.0, True, True)
    assert not [w for w in hit.warnings if "new creator" in w]
    # and the other is refused, saying why
    with pytest.raises(ValueError, match="before the creator store's oldest state"):
        predictor.predict([Early(**asked, likes=3)])  # type: ignore[arg-type]

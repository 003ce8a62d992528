"""When the audience likes, on the creator's clock, beside the what-if: the shares measured
at training moved to the creator's hours, and "cannot tell" where the crawl was too rare."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from features.catalog import Language
from features.store import CreatorStore
from likecast.settings import Settings
from models.bundle import ModelBundle
from models.curves import Curves, Timing
from models.registry import LoadedModel
from serving.core.answers import HourOption
from serving.core.audience import audience
from serving.core.predictor import Predictor
from serving.core.requests import Draft
from serving.core.whatif import hour_options
from training.train import TrainOutcome

SAVED = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
DRAFT = {
    "creator_id": "c000003",
    "category": "food",
    "duration_s": 35.0,
    "posted_at": "2026-07-01T20:00:00+00:00",
}


def whatif_of(bundle: ModelBundle, zone: str, settings: Settings, tmp_path: Path) -> dict:
    loaded = LoadedModel(bundle, "folder", None, None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "no-store.sqlite"), settings)
    return predictor.whatif(Draft(**DRAFT, timezone=zone)).model_dump(mode="json")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
def test_the_shares_are_shown_on_the_creators_clock(
    trained: TrainOutcome, settings: Settings, tmp_path: Path, zone: str
) -> None:
    # given a model whose training measured when likes arrive, on its own clock
    curves = trained.bundle.curves
    assert curves is not None
    assert curves.timing is not None
    measured = curves.timing.groups["food"].share
    model_clock = ZoneInfo(curves.timing.zone)
    # when a creator in a zone asks the what-if
    said = whatif_of(trained.bundle, zone, settings, tmp_path)["audience"]
    # then each of their hours shows the share measured at the same instant on the model's
    # clock, and the peak is said on theirs
    assert said["known"]
    assert said["group"] == "food"
    posted = datetime(2026, 7, 1, 20, tzinfo=UTC)
    for hour, (instant, local) in zip(
        said["hours"], sorted(hour_options(posted, ZoneInfo(zone)), key=lambda o: o[1]), strict=True
    ):
        assert hour["local_hour"] == local
        assert hour["share"] == measured[instant.astimezone(model_clock).hour]
    assert f"{said['peak_start_hour']:02d}:00" in said["text"]
    assert zone in said["text"]


def test_an_older_model_has_no_audience(settings: Settings, tmp_path: Path) -> None:
    assert whatif_of(ModelBundle.load(SAVED), "UTC", settings, tmp_path)["audience"] is None


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "When likes arrive cannot be told: the data this model learned from were crawled "
            "too rarely (snapshots more than 2 hours apart)",
        ),
        (
            "zh",
            "看不出点赞在一天中什么时候到来：这个模型的训练数据抓取间隔太长"
            "（两次抓取相隔超过 2 小时）",
        ),
    ],
)
def test_a_crawl_too_rare_to_time_says_so_and_shows_no_peak(language: Language, text: str) -> None:
    # given a model trained on data crawled once a day: no group could be timed
    curves = Curves(
        threshold=1000,
        ages=[0.0],
        min_videos=200,
        groups={},
        timing=Timing(zone="Asia/Shanghai", max_gap_minutes=120, groups={}),
    )
    hours = [
        HourOption(posted_at=instant, local_hour=local, probability=0.1)
        for instant, local in hour_options(datetime(2026, 7, 1, tzinfo=UTC), UTC)
    ]
    # when the what-if's audience is said
    said = audience(curves, "food", hours, "UTC", language)
    # then it says it cannot tell, with no hours and no peak
    assert said == {
        "known": False,
        "group": None,
        "hours": [],
        "peak_start_hour": None,
        "text": text,
    }

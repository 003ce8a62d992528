"""One time rule (#27, item 4): a time without an offset means UTC on every path unless a
request names its zone; a local time a daylight-saving change repeats or skips is resolved
by RFC 5545's rule with a warning, never refused; every time shown is on the creator's clock.

In-process: the predictor and the batch scorer of a saved bundle, no server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from features.catalog import BY_NAME
from features.history import COLD_START
from features.rows import HISTORY_COLUMNS
from features.store import CreatorStore, Timeline, write_store
from likecast.instants import parse_instant
from likecast.settings import Settings
from likecast.zones import wall_to_utc
from models.bundle import ModelBundle
from models.explain import Clock, Context, factor_text, on_clock
from models.registry import LoadedModel
from serving.batch.scoring import Scorer, ScoringAge
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from serving.core.whatif import hour_options

SAVED = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
DRAFT = {"creator_id": "c000003", "category": "food", "duration_s": 35.0}

# (zone, local time, how the clocks treat it, the local time it is read as)
DST = [
    ("America/New_York", "2026-11-01T01:30", "repeated", "2026-11-01T01:30:00-04:00"),
    ("America/New_York", "2026-03-08T02:30", "skipped", "2026-03-08T03:30:00-04:00"),
    ("Europe/London", "2026-10-25T01:30", "repeated", "2026-10-25T01:30:00+01:00"),
    ("Europe/London", "2026-03-29T01:30", "skipped", "2026-03-29T02:30:00+01:00"),
    ("Australia/Lord_Howe", "2026-04-05T01:45", "repeated", "2026-04-05T01:45:00+11:00"),
    ("Australia/Lord_Howe", "2026-10-04T02:15", "skipped", "2026-10-04T02:45:00+11:00"),
]
HISTORY = {**{name: COLD_START[name] for name in HISTORY_COLUMNS}, "hist_videos": 3.0}
WORDS = {"repeated": ("happens twice", "出现两次"), "skipped": ("does not exist", "不存在")}


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return ModelBundle.load(SAVED)


def predictor_of(bundle: ModelBundle, tmp_path: Path, zone: str = "Asia/Shanghai") -> Predictor:
    """A predictor without a creator store, whose settings name ``zone`` (the model's clock)."""
    settings = Settings(home=tmp_path / "home", timezone=zone)
    loaded = LoadedModel(bundle, "folder", None, None)
    return Predictor(loaded, CreatorStore(tmp_path / "no-store.sqlite"), settings)


@pytest.mark.parametrize(("zone", "wall", "reading", "read_as"), DST)
def test_the_rule_reads_a_repeated_time_first_and_moves_a_skipped_one_by_the_jump(
    zone: str, wall: str, reading: str, read_as: str
) -> None:
    # given a local time a daylight-saving change repeats or skips, when it is read
    instant, said = wall_to_utc(datetime.fromisoformat(wall), ZoneInfo(zone))
    # then it is the first occurrence, or the time as many minutes later as the clocks jumped
    assert said == reading
    assert instant == datetime.fromisoformat(read_as)


@pytest.mark.parametrize(("zone", "wall", "reading", "read_as"), DST)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_draft_at_a_dst_time_is_answered_with_a_warning(
    bundle: ModelBundle,
    tmp_path: Path,
    zone: str,
    wall: str,
    reading: str,
    read_as: str,
    language: str,
) -> None:
    # given a draft planned at a local time the clocks repeat or skip in the creator's zone
    draft = Draft(**DRAFT, posted_at=wall, timezone=zone)  # type: ignore[arg-type]
    predictor = predictor_of(bundle, tmp_path)
    # when it is answered and its what-if asked for
    answer = predictor.predict([draft], language)[0]  # type: ignore[arg-type]
    whatif = predictor.whatif(draft, language)  # type: ignore[arg-type]
    # then both answer, each with a warning that names the time and how it was read
    local = datetime.fromisoformat(read_as).strftime("%H:%M")
    for warnings in (answer.warnings, whatif.warnings):
        said = [w for w in warnings if wall in w]
        assert len(said) == 1, warnings
        assert WORDS[reading][language == "zh"] in said[0]
        assert local in said[0]
    # and the answer is the draft's at the instant the rule reads
    at_instant = Draft(**DRAFT, posted_at=datetime.fromisoformat(read_as))  # type: ignore[arg-type]
    assert answer.probability == predictor.predict([at_instant])[0].probability


@pytest.mark.parametrize(("zone", "wall", "reading", "read_as"), DST)
def test_each_whatif_hour_is_a_real_instant_on_the_hour_of_the_creators_clock(
    bundle: ModelBundle, tmp_path: Path, zone: str, wall: str, reading: str, read_as: str
) -> None:
    # given a draft planned just before a daylight-saving change, in the creator's zone
    start = datetime.fromisoformat(wall) - timedelta(hours=3)
    draft = Draft(**DRAFT, posted_at=start, timezone=zone)  # type: ignore[arg-type]
    # when its what-if is asked for
    whatif = predictor_of(bundle, tmp_path).whatif(draft)
    # then each hour of the day comes once, at an instant the creator's clock reads on the hour
    hours = whatif.hours
    assert sorted(h.local_hour for h in hours) == list(range(24))
    assert len({h.posted_at for h in hours}) == 24
    for option in hours:
        local = option.posted_at.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (option.local_hour, 0), option
        assert local.utcoffset() == option.posted_at.utcoffset()  # the offset of that instant
    # and the first is the posting time's own hour
    assert hours[0].local_hour == start.hour


def test_whatif_hours_without_a_zone_are_on_the_offset_the_time_was_written_with(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    # given a draft whose posting time carries an offset and names no zone
    draft = Draft(**DRAFT, posted_at="2026-11-01T20:00:00-05:00")  # type: ignore[arg-type]
    # when its what-if is asked for
    hours = predictor_of(bundle, tmp_path).whatif(draft).hours
    # then the hours are those of that clock, starting at 20:00
    assert hours[0].local_hour == 20
    assert hours[0].posted_at == datetime(2026, 11, 2, 1, tzinfo=UTC)
    assert all(h.posted_at.utcoffset() == timedelta(hours=-5) for h in hours)


def test_hour_options_keep_a_half_hour_zone_on_the_hour() -> None:
    # given a posting time in India (UTC+05:30), when the hours of the day are offered
    options = hour_options(datetime(2026, 5, 1, 4, 50, tzinfo=UTC), ZoneInfo("Asia/Kolkata"))
    # then they start at the local hour (10:20 -> 10:00) and each is on the local hour
    assert options[0] == (datetime(2026, 5, 1, 4, 30, tzinfo=UTC), 10)
    assert all(i.astimezone(ZoneInfo("Asia/Kolkata")).minute == 0 for i, _ in options)


def test_a_time_without_an_offset_means_utc_in_the_api_in_files_and_at(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    # given the same video as an API draft without a zone, on a service whose settings name
    # another zone, and as a row of a file, both with a naive posting time
    naive = "2026-03-01T12:00:00"
    predictor = predictor_of(bundle, tmp_path, zone="America/New_York")
    api = predictor.predict([Draft(**DRAFT, posted_at=naive)])[0]  # type: ignore[arg-type]
    utc = predictor.predict([Draft(**DRAFT, posted_at=naive, timezone="UTC")])[0]  # type: ignore[arg-type]
    row = {"video_id": "v1", **DRAFT, "posted_at": naive}
    chunk = pd.DataFrame([{k: str(v) for k, v in row.items()}])
    scorer = Scorer(bundle, "local", None, ScoringAge(age_minutes=0.0))
    scores, _ = scorer.score(chunk, first_row=0)
    # then the API, the file and a stated UTC agree, and --at reads the same text as UTC
    assert api.probability == utc.probability
    assert np.isclose(scores["probability"].iloc[0], api.probability, atol=1e-4)
    assert parse_instant(naive) == pd.Timestamp(naive, tz="UTC")


def test_an_early_age_from_naive_times_is_read_on_one_clock(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    # given early counts with naive posting and reading times across New York's fall back
    early = Early(
        **DRAFT,  # type: ignore[arg-type]
        posted_at="2026-11-01T00:30",
        observed_at="2026-11-01T01:30",
        timezone="America/New_York",
        likes=5,
    )
    # when it is answered, then the age is the minutes between the two instants the rule reads
    answer = predictor_of(bundle, tmp_path).predict([early])[0]
    assert answer.age_minutes == 60.0
    assert any("observed_at 2026-11-01T01:30 happens twice" in w for w in answer.warnings)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Posting time (America/New_York): 20:00"),
        ("zh", "发布时间（America/New_York）：20:00"),
    ],
)
def test_a_posting_time_factor_is_said_on_the_creators_clock(
    bundle: ModelBundle, tmp_path: Path, language: str, expected: str
) -> None:
    # given a creator in New York who plans to post at 20:00, on a model whose clock is
    # Shanghai's (09:00 the next day there)
    draft = Draft(**DRAFT, posted_at="2026-11-02T20:00", timezone="America/New_York")  # type: ignore[arg-type]
    predictor = predictor_of(bundle, tmp_path)
    built = predictor.build([draft])
    assert built.refused == [None]
    matrix = built.rows.matrix
    at = bundle.spec.positions["post_hour"]
    assert matrix[0, at] == 9.0
    # when the posting hour is said as explain says it, with the request's clock
    zone, name = draft.when.zone, draft.when.zone_name
    shifts = Clock(built.posted[0], zone, name).shifts(matrix[0], bundle.spec)
    value = on_clock("post_hour", float(matrix[0, at]), shifts)
    context = Context(1000, {}, False, frozenset(), language, name)  # type: ignore[arg-type]
    text = factor_text(BY_NAME["post_hour"], value, 1.0, None, context, None)
    # then it names the creator's zone and the hour the creator chose
    assert text.startswith(expected), text
    # and the day is the creator's too (Monday in New York, Tuesday in Shanghai)
    day = on_clock("post_weekday", float(matrix[0, bundle.spec.positions["post_weekday"]]), shifts)
    assert day == 0.0


def test_batch_explanations_are_built_on_the_files_clock(bundle: ModelBundle) -> None:
    # given videos of a file, naive times read as UTC, scored with explanations
    videos = pd.DataFrame(
        {
            "video_id": ["a", "b"],
            "creator_id": "c1",
            "posted_at": ["2026-03-01T12:00:00", "2026-03-01T23:30:00"],
            "category": "food",
            "duration_s": "35",
        }
    )
    scorer = Scorer(bundle, "local", None, ScoringAge(age_minutes=0.0), explain=True)
    # when they are scored
    scores, _ = scorer.score(videos, first_row=0)
    # then every row is explained, and no posting time is named on the model's clock
    assert len(scores) == 2
    assert not scores["factors"].str.contains(bundle.spec.timezone, regex=False).any()


def test_the_stale_history_date_is_the_creators(bundle: ModelBundle, tmp_path: Path) -> None:
    # given a store whose history ends at 02:00 UTC on 2 March, and a creator in New York
    # (still 1 March there) posting a week later
    end = pd.Timestamp("2026-03-02T02:00:00Z")
    rows = pd.DataFrame(
        [{"creator_id": "c1", "valid_from": end - pd.Timedelta(days=30), **HISTORY}]
    )
    rows["creator_id"] = rows["creator_id"].astype("string")
    # built for the model's target, as a store that serves it must be
    timeline = Timeline(rows, end - pd.Timedelta(days=30), end, bundle.spec.target)
    write_store(timeline, tmp_path / "store.sqlite")
    loaded = LoadedModel(bundle, "folder", None, None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "store.sqlite"), Settings(home=tmp_path))
    draft = Draft(creator_id="c1", posted_at="2026-03-09T12:00", timezone="America/New_York")  # type: ignore[call-arg]
    # when it is answered, then the history's end is said as the creator's date
    answer = predictor.predict([draft])[0]
    assert any("known up to 2026-03-01" in w for w in answer.warnings), answer.warnings

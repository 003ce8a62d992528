"""The simulator produces the mechanisms the model is meant to learn, deterministically."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.loading import load_dataset
from features.simulation.config import Platform, SimConfig
from features.simulation.facts import MEDIAN_RATES
from features.simulation.generate import simulate, simulate_parts
from features.simulation.parts import part_count
from features.simulation.writing import write_parts, write_platform
from likecast.errors import UserError


@pytest.fixture(scope="module")
def platform():
    return simulate(SimConfig(videos=12_000, seed=5, window_days=60))


@pytest.fixture(scope="module")
def snaps(platform) -> pd.DataFrame:
    frame = platform.snapshots.to_pandas()
    frame["video_id"] = frame["video_id"].astype(str)
    return frame.merge(platform.truth, on="video_id")


def at_age(snaps: pd.DataFrame, minutes: float) -> pd.DataFrame:
    """Each video's snapshot in the slot of ``minutes`` (late crawls included)."""
    near = snaps[(snaps["age_minutes"] >= minutes) & (snaps["age_minutes"] <= minutes * 1.1)]
    return near.groupby("video_id").head(1).set_index("video_id")


def test_same_seed_same_platform() -> None:
    # given two runs with one seed and a third with another
    cfg = SimConfig(videos=500, seed=9, pilot_videos=500)
    first, second = simulate(cfg), simulate(cfg)
    other = simulate(SimConfig(videos=500, seed=10, pilot_videos=500))
    # then the first two are identical and the third is not
    pd.testing.assert_frame_equal(first.videos, second.videos)
    pd.testing.assert_frame_equal(first.snapshots.to_pandas(), second.snapshots.to_pandas())
    assert not first.snapshots.to_pandas()["likes"].equals(other.snapshots.to_pandas()["likes"])


@pytest.mark.slow
def test_hit_share_is_the_parameter(platform, snaps) -> None:
    final = at_age(snaps, 10080)
    assert final["likes"].ge(1000).mean() == pytest.approx(0.08, abs=0.02)


@pytest.mark.parametrize("share", [0.03, 0.15])
@pytest.mark.slow
def test_hit_share_follows_other_settings(share: float) -> None:
    platform = simulate(SimConfig(videos=4000, seed=2, hit_share=share, pilot_videos=4000))
    snaps = platform.snapshots.to_pandas()
    final = snaps[snaps["age_minutes"] == 10080]
    assert final["likes"].ge(1000).mean() == pytest.approx(share, rel=0.3)


def test_evening_posts_outgrow_early_morning_posts(snaps) -> None:
    # given videos posted 19:00-22:00 and 02:00-05:00 local, otherwise alike on average
    two_hours = at_age(snaps, 120)
    evening = two_hours[two_hours["posted_local_hour"].between(19, 22)]
    night = two_hours[two_hours["posted_local_hour"].between(2, 5)]
    # then evening posts gathered far more views in their first two hours
    assert evening["views"].median() > 1.5 * night["views"].median()
    # and the difference is timing, not quality: their latent like rates match
    assert evening["p_like"].median() == pytest.approx(night["p_like"].median(), rel=0.15)


def test_a_stronger_hook_raises_three_second_retention(snaps) -> None:
    final = at_age(snaps, 10080)
    final = final[final["views"] >= 200]
    assert np.corrcoef(final["hook"], final["retention_3s"])[0, 1] > 0.5


def test_released_videos_jump_in_their_snapshots(snaps) -> None:
    # given views at 2 hours and at 1 day
    early, day = at_age(snaps, 120), at_age(snaps, 1440)
    growth = (day["views"] / early["views"].clip(lower=1)).dropna()
    reached = day["rounds_reached"].reindex(growth.index)
    # then videos released to bigger pools grew many times more after the first round
    assert growth[reached >= 2].median() > 3 * growth[reached == 0].median()


def test_per_play_medians_sit_near_the_calibration(snaps) -> None:
    final = at_age(snaps, 10080)
    final = final[final["views"] >= 300]
    assert (final["likes"] / final["views"]).median() == pytest.approx(
        MEDIAN_RATES["like"], rel=0.25
    )
    assert final["completion_rate"].median() == pytest.approx(MEDIAN_RATES["completion"], rel=0.25)
    assert final["retention_3s"].median() == pytest.approx(MEDIAN_RATES["retention_3s"], rel=0.1)


def test_counters_never_decrease_and_follow_posting(snaps, platform) -> None:
    ordered = snaps.sort_values(["video_id", "age_minutes"])
    for counter in ("views", "likes", "comments", "replies", "shares", "follows"):
        steps = ordered.groupby("video_id")[counter].diff().dropna()
        assert (steps >= 0).all(), counter
    assert (ordered["likes"] <= ordered["views"]).all()
    assert (ordered["age_minutes"] >= 0).all()


def test_a_snapshot_is_observed_at_its_age_to_the_nanosecond(snaps, platform) -> None:
    # given each snapshot's posting time
    posted = platform.videos.set_index("video_id")["posted_at"]
    # when its age is added to it
    expected = snaps["video_id"].map(posted) + pd.to_timedelta(
        (snaps["age_minutes"] * 60e9).round(), unit="ns"
    )
    # then that is when it was observed: no truncated float left stray nanoseconds
    assert (snaps["observed_at"] == expected).all()
    assert (snaps["observed_at"].dt.nanosecond == 0).all()


def test_real_data_noise_is_present(platform, snaps) -> None:
    videos = platform.videos
    per_creator = videos.groupby("creator_id").size()
    assert (per_creator == 1).any(), "creators with one video"
    assert videos["creator_followers"].isna().any()
    assert videos["category"].isna().any()
    late = snaps["age_minutes"] % 1 != 0
    assert late.any(), "late snapshots"
    horizon_seen = snaps.groupby("video_id")["age_minutes"].max() >= 10080
    assert not horizon_seen.all(), "some videos' horizon has not passed yet"


def test_followers_are_heavy_tailed(platform) -> None:
    followers = platform.videos["creator_followers"].dropna().astype(float)
    assert followers.median() < 3000
    assert followers.max() > 300_000


# -- parts ----------------------------------------------------------------------------------

# Fingerprints of simulate(cfg) made at e4f40ee, before the simulator had parts, by
# `fingerprint` below: a data set within one part must stay the one tests and fixtures know.
BEFORE_PARTS = [
    (
        SimConfig(videos=3000, seed=11, window_days=60, pilot_videos=3000),
        ("d43f353c9375801d", "057cfb0aa10120bf", "776a55ff181402f2"),
    ),
    (
        SimConfig(videos=3000, seed=3, videos_per_creator=3.0, pilot_videos=1000),
        ("3750590bc18e30f6", "9269da65bade217e", "ffb1949a15b94280"),
    ),
]
PARTS = SimConfig(videos=3000, part_videos=1000, seed=4, window_days=60, pilot_videos=1000)


def fingerprint(frame: pd.DataFrame) -> str:
    """A frame's values, floats to six decimals: last-bit differences of maths libraries
    between machines do not count, any other change of the draws does."""
    rounded = frame.apply(lambda c: c.round(6) if c.dtype.kind == "f" else c)
    hashed = pd.util.hash_pandas_object(rounded, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(frame.columns).encode()).hexdigest()[:16]


def snapshot_frame(platform: Platform) -> pd.DataFrame:
    frame = platform.snapshots.to_pandas()
    frame["video_id"] = frame["video_id"].astype(str)
    return frame


def hit_share(snapshots: pd.DataFrame) -> float:
    final = snapshots[snapshots["age_minutes"] == 10080]
    return float(final["likes"].ge(1000).mean())


@pytest.fixture(scope="module")
def parts() -> list[Platform]:
    return list(simulate_parts(PARTS))


@pytest.mark.parametrize(("cfg", "expected"), BEFORE_PARTS, ids=["seed11", "seed3"])
def test_one_part_is_the_platform_made_before_parts(cfg: SimConfig, expected: tuple) -> None:
    # given a data set within one part
    assert part_count(cfg) == 1
    # when it is simulated
    platform = simulate(cfg)
    # then its tables hold the values simulate gave before the simulator had parts
    tables = (platform.videos, snapshot_frame(platform), platform.truth)
    assert tuple(fingerprint(t) for t in tables) == expected


@pytest.mark.parametrize(
    ("videos", "part_videos", "sizes"),
    [(3000, 1000, [1000] * 3), (3001, 1000, [751, 750, 750, 750]), (999, 1000, [999])],
)
def test_parts_are_as_few_and_even_as_the_size_allows(
    videos: int, part_videos: int, sizes: list[int]
) -> None:
    # given a data set and a part size
    cfg = SimConfig(videos=videos, part_videos=part_videos, pilot_videos=500)
    # when it is simulated part by part
    made = [len(p.videos) for p in simulate_parts(cfg)]
    # then no part is larger than asked, and they are as few and as even as that allows
    assert made == sizes
    assert part_count(cfg) == len(sizes)


def test_creators_never_cross_parts(parts: list[Platform]) -> None:
    # given the creators of each part
    creators = [set(p.videos["creator_id"]) for p in parts]
    # then no creator posts in two parts
    assert sum(len(c) for c in creators) == len(set().union(*creators))


@pytest.mark.parametrize(("column", "prefix"), [("video_id", "v"), ("creator_id", "c")])
def test_ids_are_unique_and_of_one_width(parts: list[Platform], column: str, prefix: str) -> None:
    # given the ids of every part
    ids = pd.concat([p.videos[column] for p in parts])
    # then each is the prefix and a number, all as wide, and the video ids never repeat
    assert ids.str.fullmatch(prefix + r"\d+").all()
    assert ids.str.len().nunique() == 1
    if column == "video_id":
        assert ids.is_unique
        assert ids.tolist() == sorted(ids)


def test_ids_widen_for_the_whole_data_set() -> None:
    # given a data set whose last video needs seven digits, made in parts of fewer
    cfg = SimConfig(videos=1_000_001, part_videos=1000, pilot_videos=500)
    # when its first part is made
    first = next(simulate_parts(cfg))
    # then its ids already have the data set's width
    assert first.videos["video_id"].iloc[0] == "v0000000"


def test_the_promotion_bar_is_calibrated_once_and_the_hit_share_holds(
    parts: list[Platform],
) -> None:
    # given a three-part data set
    snapshots = pd.concat([snapshot_frame(p) for p in parts])
    # then every part used the bar calibrated on the first
    offsets = {o for p in parts for o in p.truth["promotion_offset"]} | {p.offset for p in parts}
    assert offsets == {parts[0].offset}
    # and the share of hits at the horizon is the one asked for, over the whole data set
    assert hit_share(snapshots) == pytest.approx(PARTS.hit_share, abs=0.02)


def test_parts_share_the_posting_window_and_the_crawl(parts: list[Platform]) -> None:
    # given each part's posting times and crawl times
    window = pd.Timedelta(days=PARTS.window_days)
    start = pd.Timestamp(PARTS.start, tz=PARTS.timezone)
    now = start + window + pd.Timedelta(days=2)
    for part in parts:
        posted = part.videos["posted_at"]
        observed = snapshot_frame(part)["observed_at"]
        # then each part posts over the data set's whole window
        assert posted.min() - start < pd.Timedelta(days=2)
        assert start + window - posted.max() < pd.Timedelta(days=2)
        # and is crawled up to the data set's "now", not beyond
        assert now - observed.max() < pd.Timedelta(days=1)
        assert observed.max() <= now


def test_parts_draw_streams_of_their_own(parts: list[Platform]) -> None:
    # given the durations drawn in each part
    durations = [p.videos["duration_s"].to_numpy() for p in parts]
    # then no two parts drew the same
    assert not np.array_equal(durations[0], durations[1])
    assert not np.array_equal(durations[1], durations[2])


def test_same_config_same_parts(parts: list[Platform]) -> None:
    # given the same configuration simulated again
    again = list(simulate_parts(PARTS))
    # then every part is the same, table by table
    for first, second in zip(parts, again, strict=True):
        pd.testing.assert_frame_equal(first.videos, second.videos)
        pd.testing.assert_frame_equal(snapshot_frame(first), snapshot_frame(second))
        pd.testing.assert_frame_equal(first.truth, second.truth)


def test_simulate_joins_the_parts(parts: list[Platform]) -> None:
    # when the same data set is simulated in memory
    whole = simulate(PARTS)
    # then it is the parts, one after the other
    pd.testing.assert_frame_equal(
        whole.videos, pd.concat([p.videos for p in parts], ignore_index=True)
    )
    assert whole.snapshots.num_rows == sum(p.snapshots.num_rows for p in parts)


# -- writing parts --------------------------------------------------------------------------

LAYOUT = {
    "single": {"videos.parquet", "snapshots.parquet", "truth.parquet"},
    "parts": {
        f"{t}/part-0000{k}.parquet" for t in ("videos", "snapshots", "truth") for k in range(3)
    },
}


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def write(layout: str, parts: list[Platform], out: Path) -> None:
    if layout == "single":
        write_platform(simulate(replace(PARTS, videos=1000)), out)
    else:
        write_parts(parts, out)


def test_part_k_holds_the_same_videos_in_every_table(parts: list[Platform], tmp_path: Path) -> None:
    # when the parts are written
    paths = write_parts(parts, tmp_path)
    # then each table is a folder of one file per part
    assert files(tmp_path) == LAYOUT["parts"]
    assert paths == {t: tmp_path / t for t in ("videos", "snapshots", "truth")}
    # and part k of every table holds the videos of part k
    for k, part in enumerate(parts):
        name = f"part-{k:05d}.parquet"
        ids = set(part.videos["video_id"])
        assert set(pq.read_table(tmp_path / "videos" / name)["video_id"].to_pylist()) == ids
        assert set(pq.read_table(tmp_path / "truth" / name)["video_id"].to_pylist()) == ids
        snapshots = pq.read_table(tmp_path / "snapshots" / name)
        assert set(snapshots["video_id"].to_pylist()) == ids


def test_the_loader_reads_the_parts_as_one_data_set(parts: list[Platform], tmp_path: Path) -> None:
    # given a data set written in parts
    write_parts(parts, tmp_path)
    # when it is loaded
    dataset = load_dataset(tmp_path)
    # then it holds every video and snapshot, with nothing to reject
    assert len(dataset.videos) == PARTS.videos
    assert len(dataset.snapshots) == sum(p.snapshots.num_rows for p in parts)
    assert dataset.problems == []


@pytest.mark.parametrize(
    ("before", "after"), [("single", "parts"), ("parts", "single"), ("parts", "parts")]
)
def test_a_new_run_replaces_the_older_layout(
    parts: list[Platform], tmp_path: Path, before: str, after: str
) -> None:
    # given a folder holding an older run, in parts of a larger data set or as single files
    older = [*parts, parts[0]] if before == "parts" else parts
    write(before, older, tmp_path)
    # when a new run writes into it
    write(after, parts, tmp_path)
    # then only the new run's files remain
    assert files(tmp_path) == LAYOUT[after]


@pytest.mark.parametrize("stranger", ["videos.csv", "snapshots/notes.txt", "truth"])
def test_a_table_likecast_did_not_write_is_refused(
    parts: list[Platform], tmp_path: Path, stranger: str
) -> None:
    # given a folder holding a file the loader would read with new parts
    path = tmp_path / stranger
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mine")
    # when parts are written there, then the refusal names the file in one line
    with pytest.raises(UserError, match=f"^{path}: not written by likecast") as refused:
        write_parts(iter(parts), tmp_path)
    assert "\n" not in str(refused.value)
    # and nothing else was written
    assert files(tmp_path) == {stranger}


def test_one_part_is_in_memory_at_a_time(tmp_path: Path) -> None:
    # given every part made, watched without being held
    made: list[weakref.ref[Platform]] = []
    alive: list[int] = []

    def watched(platforms: Iterator[Platform]) -> Iterator[Platform]:
        for platform in platforms:
            made.append(weakref.ref(platform))
            yield platform
            del platform

    def show(part: int, stage: str) -> None:
        if stage == "creators and videos":
            alive.append(sum(ref() is not None for ref in made))

    # when the parts are made and written
    write_parts(watched(simulate_parts(PARTS, show)), tmp_path, show)
    # then no earlier part is in memory when the next one is begun
    assert alive == [0, 0, 0]


def test_a_killed_run_leaves_the_older_data_set(parts: list[Platform], tmp_path: Path) -> None:
    # given an older data set, and a run killed after its first part
    write_platform(simulate(replace(PARTS, videos=1000)), tmp_path)

    def killed() -> Iterator[Platform]:
        yield parts[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_parts(killed(), tmp_path)
    # then the older data set is still the one the loader reads
    assert len(load_dataset(tmp_path).videos) == 1000
    # and the next run leaves only its own files
    write_parts(parts, tmp_path)
    assert files(tmp_path) == LAYOUT["parts"]

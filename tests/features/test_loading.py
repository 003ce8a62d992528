"""The data contract at the door: every kind of bad input gets its own clear message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.loading import Dataset, load_dataset
from features.reading import parquet_rows
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from serving.cli import main


@pytest.fixture(scope="module")
def base() -> tuple[pd.DataFrame, pd.DataFrame]:
    platform = simulate(SimConfig(videos=300, seed=3, window_days=30, pilot_videos=300))
    snapshots = platform.snapshots.to_pandas()
    snapshots["video_id"] = snapshots["video_id"].astype(str)
    return platform.videos, snapshots


def write(folder: Path, videos: pd.DataFrame, snapshots: pd.DataFrame, kind: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("videos", videos), ("snapshots", snapshots)):
        if kind == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def many(frame: pd.DataFrame, share: float = 0.05) -> np.ndarray:
    """Row positions to break: enough to pass the 1% reject limit."""
    return np.arange(0, len(frame), int(1 / share))


Breaker = Callable[[Path, pd.DataFrame, pd.DataFrame], Path]


def _missing_dir(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return tmp / "nowhere"


def _no_videos_table(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    folder = write(tmp / "d", v, s)
    (folder / "videos.csv").unlink()
    return folder


def _empty_file(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    folder = write(tmp / "d", v, s)
    (folder / "videos.csv").write_bytes(b"")
    return folder


def _semicolons(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    folder = write(tmp / "d", v, s)
    v.to_csv(folder / "videos.csv", index=False, sep=";")
    return folder


def _latin1(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    v = v.assign(caption="café crème brûlée")
    folder = write(tmp / "d", v, s)
    (folder / "videos.csv").write_bytes(v.to_csv(index=False).encode("latin-1"))
    return folder


def _missing_required(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return write(tmp / "d", v.drop(columns="creator_id"), s)


def _no_time_column(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return write(tmp / "d", v, s.drop(columns=["observed_at", "age_minutes"]))


def _parquet_wrong_type(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    v = v.assign(posted_at=np.arange(len(v)))
    return write(tmp / "d", v, s, kind="parquet")


def _corrupt_parquet(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    folder = write(tmp / "d", v, s, kind="parquet")
    (folder / "snapshots.parquet").write_bytes(b"PAR1 this is not parquet at all")
    return folder


def _header_only(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return write(tmp / "d", v.head(0), s)


def _wrong_extension(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    folder = write(tmp / "d", v, s)
    (folder / "videos.csv").unlink()
    (folder / "videos").mkdir()
    (folder / "videos" / "part-0.xlsx").write_text("x")
    return folder


def _negative_likes(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.copy()
    s.loc[many(s), "likes"] = -5
    return write(tmp / "d", v, s)


def _decreasing(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.copy()
    last = s.groupby("video_id").tail(1).index
    s.loc[last, "likes"] = 0  # the final snapshot drops below the earlier ones
    s.loc[last, "views"] = 0
    return write(tmp / "d", v, s[s.groupby("video_id")["likes"].transform("max") > 0])


def _rate_out_of_range(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.copy()
    s.loc[many(s), "completion_rate"] = 1.7
    return write(tmp / "d", v, s)


def _before_posting(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.copy()
    rows = many(s)
    s["observed_at"] = pd.to_datetime(s["observed_at"], utc=True)
    s.loc[rows, "observed_at"] = s.loc[rows, "observed_at"] - pd.Timedelta(days=30)
    return write(tmp / "d", v, s.drop(columns="age_minutes"))


def _long_after_posting(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    v = v.copy()
    v.loc[many(v), "posted_at"] = pd.Timestamp("2001-01-01", tz="UTC")  # snapshots 25 years on
    return write(tmp / "d", v, s.drop(columns="age_minutes"))


def _unknown_videos(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.copy()
    rows = many(s)
    s.loc[rows, "video_id"] = [f"ghost{i}" for i in range(len(rows))]
    return write(tmp / "d", v, s)


def _duplicate_videos(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return write(tmp / "d", pd.concat([v, v.iloc[many(v)]]), s)


def _duplicate_snapshots(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    return write(tmp / "d", v, pd.concat([s, s.iloc[many(s)]]))


def _bad_duration(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    v = v.copy()
    v.loc[many(v), "duration_s"] = 0
    return write(tmp / "d", v, s)


def _unparseable_times(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    v = v.astype({"posted_at": str})
    v.loc[many(v), "posted_at"] = "yesterday evening"
    return write(tmp / "d", v, s)


def _text_in_counter(tmp: Path, v: pd.DataFrame, s: pd.DataFrame) -> Path:
    s = s.astype({"views": object})
    s.loc[many(s), "views"] = "lots"
    return write(tmp / "d", v, s)


CORPUS: list[tuple[str, Breaker, str]] = [
    ("missing directory", _missing_dir, "no such directory"),
    ("missing table", _no_videos_table, "no videos table"),
    ("empty file", _empty_file, "file is empty"),
    ("semicolon CSV", _semicolons, "semicolon-delimited"),
    ("latin-1 CSV", _latin1, "not UTF-8"),
    ("missing required column", _missing_required, "missing required column 'creator_id'"),
    ("no observed_at nor age", _no_time_column, "observed_at or age_minutes"),
    ("parquet wrong type", _parquet_wrong_type, "videos.posted_at: no value is a valid timestamp"),
    ("corrupt parquet", _corrupt_parquet, "not a readable Parquet file"),
    ("header only", _header_only, "videos: table has no rows"),
    ("unknown file type", _wrong_extension, "holds Parquet parts only, found part-0.xlsx"),
    ("negative counters", _negative_likes, "snapshots.likes: must be >= 0"),
    ("decreasing counters", _decreasing, "decreases over time"),
    ("rate out of range", _rate_out_of_range, "completion_rate: must be between 0 and 1"),
    ("snapshot before posting", _before_posting, "snapshot before posted_at"),
    ("snapshot years after posting", _long_after_posting, "minutes after posted_at"),
    ("unknown videos", _unknown_videos, "unknown video (not in videos)"),
    ("duplicate video ids", _duplicate_videos, "video_id: duplicate key"),
    ("duplicate snapshots", _duplicate_snapshots, "duplicate key (video_id, age)"),
    ("non-positive duration", _bad_duration, "duration_s: must be > 0"),
    ("unparseable timestamps", _unparseable_times, "posted_at: expected timestamp"),
    ("text in a counter", _text_in_counter, "views: expected int"),
]


@pytest.mark.parametrize(("kind", "breaker", "message"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_gets_one_clear_line_and_exit_2(
    kind: str,
    breaker: Breaker,
    message: str,
    base,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a data set broken in one way
    folder = breaker(tmp_path, *base)
    # when it is validated
    code = main(["validate", str(folder)])
    # then the command fails with the problem named, and no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_a_few_bad_rows_are_set_aside_not_fatal(
    base, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two bad snapshot rows among thousands (under the 1% limit)
    videos, snapshots = base
    snapshots = snapshots.copy()
    snapshots.loc[[5, 40], "retention_3s"] = 2.0
    folder = write(tmp_path / "d", videos, snapshots)
    # when validated
    code = main(["validate", str(folder)])
    # then it passes, says how many were rejected and why, and keeps them in a rejects file
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0
    assert "retention_3s: must be between 0 and 1: 2 rows, e.g. rows 6, 41" in err
    rejects = pd.read_csv(folder / "snapshots.rejects.csv")
    assert rejects["_row"].tolist() == [6, 41]
    assert rejects["_reason"].str.contains("retention_3s").all()


def test_the_reject_limit_is_configurable(base, tmp_path: Path) -> None:
    # given 5% bad rows
    videos, snapshots = base
    folder = _negative_likes(tmp_path, videos, snapshots)
    # when the limit is raised above that share, then validation passes
    assert main(["validate", str(folder), "--max-reject-share", "0.10"]) == 0


def test_clean_data_loads_with_contract_types(base, tmp_path: Path) -> None:
    # given a valid data set written as CSV, with naive timestamps
    videos, snapshots = base
    videos = videos.assign(posted_at=videos["posted_at"].dt.tz_localize(None))
    folder = write(tmp_path / "d", videos, snapshots)
    # when loaded
    dataset = load_dataset(folder)
    # then nothing is rejected, naive times were read as UTC, categories are categorical
    assert not dataset.problems
    assert str(dataset.videos["posted_at"].dt.tz) == "UTC"
    assert dataset.videos["posted_at"].iloc[0] == base[0]["posted_at"].iloc[0]
    assert isinstance(dataset.videos["category"].dtype, pd.CategoricalDtype)
    assert len(dataset.snapshots) == len(snapshots)


@pytest.mark.parametrize("dated_by", ["observed_at", "age_minutes"])
def test_a_snapshot_keeps_its_time_to_the_nanosecond(base, tmp_path: Path, dated_by: str) -> None:
    # given snapshots dated one way only, posted at odd seconds and observed at noon, as a
    # daily crawl writes them
    videos, snapshots = base
    videos = videos.assign(posted_at=videos["posted_at"].dt.floor("s") + pd.Timedelta("0.3s"))
    snapshots = snapshots.groupby("video_id").head(1)  # one a video: one noon each
    posted = snapshots["video_id"].map(videos.set_index("video_id")["posted_at"])
    observed = posted.dt.ceil("D") + pd.Timedelta("12h")
    age = observed - posted
    dated = {"observed_at": observed, "age_minutes": age.dt.total_seconds() / 60}[dated_by]
    snapshots = snapshots.drop(columns=["observed_at", "age_minutes"]).assign(**{dated_by: dated})
    folder = write(tmp_path / "d", videos, snapshots, kind="parquet")
    # when loaded
    dataset = load_dataset(folder)
    # then each is observed exactly at noon: no float round trip through its age in minutes
    assert not dataset.problems
    loaded = dataset.snapshots["observed_at"]
    assert (loaded == loaded.dt.floor("D") + pd.Timedelta("12h")).all()


def test_a_folder_of_parquet_parts_is_one_table(base, tmp_path: Path) -> None:
    videos, snapshots = base
    folder = write(tmp_path / "d", videos, snapshots, kind="parquet")
    (folder / "snapshots.parquet").unlink()
    (folder / "snapshots").mkdir()
    half = len(snapshots) // 2
    snapshots.iloc[:half].to_parquet(folder / "snapshots" / "part-0.parquet")
    snapshots.iloc[half:].to_parquet(folder / "snapshots" / "part-1.parquet")
    assert len(load_dataset(folder).snapshots) == len(snapshots)


@pytest.mark.parametrize("parts", [0, 1, 3], ids=["file", "one-part", "three-parts"])
def test_parquet_rows_are_counted_from_the_footers(base, tmp_path: Path, parts: int) -> None:
    # given the snapshots as one file, or as a folder of parts
    _, snapshots = base
    if parts:
        path = tmp_path / "snapshots"
        path.mkdir()
        for k, rows in enumerate(np.array_split(np.arange(len(snapshots)), parts)):
            snapshots.iloc[rows].to_parquet(path / f"part-{k}.parquet")
    else:
        path = tmp_path / "snapshots.parquet"
        snapshots.to_parquet(path)
    # then their rows are counted, all of them
    assert parquet_rows(path) == len(snapshots)


def test_data_error_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    from serving.cli import main

    # given a data folder that does not exist, when it is validated
    code = main(["validate", "/definitely/not/here"])
    # then the command exits 2 with one line naming the folder, as for any user error
    assert code == 2
    assert capsys.readouterr().err.strip() == "error: /definitely/not/here: no such directory"


@pytest.mark.parametrize(("suffix", "rows"), [(".parquet", 300), (".csv", 300), (".parquet", 5000)])
def test_tables_stream_in_chunks_of_at_most_the_asked_rows(
    small_data: Path, tmp_path: Path, suffix: str, rows: int
) -> None:
    from features.reading import iter_table

    # given 2,000 videos in a file (Parquet: two row groups of 1,000)
    videos = pd.read_parquet(small_data / "videos.parquet").head(2000)
    path = tmp_path / f"videos{suffix}"
    if suffix == ".parquet":
        videos.to_parquet(path, index=False, row_group_size=1000)
    else:
        videos.to_csv(path, index=False)
    # when it is read in chunks
    chunks = list(iter_table(path, rows))
    # then no chunk is larger than asked and together they are the file, in order
    assert max(len(c) for c in chunks) <= rows
    assert pd.concat(chunks)["video_id"].astype(str).tolist() == videos["video_id"].tolist()


# -- every form the contract allows loads to the same data ---------------------------------

FORMATS = ("csv", "parquet", "parts")
TIMINGS = ("age_only", "observed_only", "both")
ZONES = ("utc", "offset", "naive")


@pytest.fixture(scope="module")
def little(small_dataset: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 videos and their snapshots, as clean frames."""
    videos = small_dataset.videos.head(300).copy()
    videos["category"] = videos["category"].astype("string")
    snaps = small_dataset.snapshots
    snaps = snaps[snaps["video_id"].isin(videos["video_id"])].copy()
    snaps["video_id"] = snaps["video_id"].astype("string")
    return videos.reset_index(drop=True), snaps.reset_index(drop=True)


def _in_zone(stamps: pd.Series, zone: str, text: bool) -> pd.Series:
    if zone == "offset":
        local = stamps.dt.tz_convert("Asia/Shanghai")
        return local.map(lambda t: t.isoformat()) if text else local
    if zone == "naive":
        naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return naive.map(lambda t: t.isoformat()) if text else naive
    return stamps.map(lambda t: t.isoformat()) if text else stamps


def write_form(
    little: tuple[pd.DataFrame, pd.DataFrame], folder: Path, form: str, timing: str, zone: str
) -> Path:
    videos, snaps = little[0].copy(), little[1].copy()
    text = form == "csv"
    videos["posted_at"] = _in_zone(videos["posted_at"], zone, text)
    if timing == "age_only":
        snaps = snaps.drop(columns="observed_at")
    else:
        snaps["observed_at"] = _in_zone(snaps["observed_at"], zone, text)
        if timing == "observed_only":
            snaps = snaps.drop(columns="age_minutes")
    folder.mkdir(parents=True)
    for name, frame in (("videos", videos), ("snapshots", snaps)):
        if form == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        elif form == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            (folder / name).mkdir()
            for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
                frame.iloc[part].to_parquet(folder / name / f"part-{i}.parquet", index=False)
    return folder


MATRIX = [(f, t, z) for f in FORMATS for t in TIMINGS for z in ZONES]


# 27 forms, about 16 s in all: the whole matrix runs in `make test`, not in `make test-fast`
@pytest.mark.slow
@pytest.mark.parametrize(("form", "timing", "zone"), MATRIX, ids=["-".join(m) for m in MATRIX])
def test_every_form_of_the_contract_loads_and_validates_alike(
    little, tmp_path: Path, cli, bundle_dir: Path, form: str, timing: str, zone: str
) -> None:
    # given the same 300 videos written in one of the contract's forms
    folder = write_form(little, tmp_path / "data", form, timing, zone)
    reference = load_dataset(write_form(little, tmp_path / "ref", "parquet", "both", "utc"))
    # when it is loaded and validated
    loaded = load_dataset(folder)
    validated = cli("validate", str(folder))
    # then nothing is rejected and the data and the verdict are the reference's
    assert validated.code == 0, validated.text
    assert "clean" in validated.text
    assert not loaded.problems
    pd.testing.assert_series_equal(loaded.videos["posted_at"], reference.videos["posted_at"])
    for column in ("age_minutes", "observed_at", "likes"):
        pd.testing.assert_series_equal(
            loaded.snapshots[column], reference.snapshots[column], check_dtype=False
        )
    # and scoring reads it (a Latin square of the matrix: each file form with each timing
    # once, each zone three times; scoring reads files with the loader's own rules)
    if (FORMATS.index(form) + TIMINGS.index(timing) + ZONES.index(zone)) % 3 == 0:
        source = next(p for p in folder.iterdir() if p.name.startswith("videos"))
        snapshots = next(p for p in folder.iterdir() if p.name.startswith("snapshots"))
        out = tmp_path / "scores.parquet"
        scored = cli(
            "score", "--input", str(source), "--output", str(out), "--snapshots",
            str(snapshots), "--age-minutes", "90", "--model", str(bundle_dir),
        )  # fmt: skip
        assert scored.code == 0, scored.text
        assert len(pd.read_parquet(out)) == 300


@pytest.mark.subprocess  # logging the run asks `git` for the code version
def test_the_least_usual_form_trains(little, tmp_path: Path, cli) -> None:
    # given CSV with ages only and local times with an offset (every form loads to the same
    # frames, tested above, so one training run speaks for all of them)
    form, timing, zone = "csv", "age_only", "offset"
    folder = write_form(little, tmp_path / "data", form, timing, zone)
    params = tmp_path / "params.json"
    params.write_text('{"num_boost_round": 20}')
    # when a model is trained on it, then training succeeds and registers a version
    result = cli("train", "--data", str(folder), "--params", str(params))
    assert result.code == 0, result.text
    assert "registered" in result.text

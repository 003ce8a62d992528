"""Training examples and features built one partition at a time, for a Dask cluster.

A partition holds whole creators (their videos and those videos' snapshots), so labels,
point-in-time history and the grid of examples need nothing from another partition. Two
things are global: the split's cutoff times and the feature spec. Each is merged on the
client from small per-partition summaries (posting times; sums per age). Every step reads
and writes Parquet under a work folder that all workers share, so no partition's examples
pass through the client; only capped samples of the held-out slices are gathered, and the
few numbers per video the like curves and timing are built from (``training.curves``,
``training.timing``; the client reads the curves' a column at a time).

The functions here are what a worker runs; ``training.partitioned`` runs them on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.examples import Grid
from features.loading import load_tables
from features.matrix import build_grid_features
from features.reading import Part
from features.rows import EXAMPLE_COLUMNS, VIDEO_COLUMNS
from features.spec import UNKNOWABLE_RATES, FeatureSpec, rate_counts, spec_moments
from likecast.settings import Settings
from models.estimator import to_matrix
from training.curves import curve_rows
from training.monitor.reference import posting_times
from training.split import SLICES, slice_names
from training.timing import hour_rows
from training.train import category_counts, labeled_examples

GATHERED = ("train", *(s for s in SLICES if s != "train"))  # slices sampled for the client
_MIX = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: spreads consecutive integers


@dataclass(frozen=True)
class PartFacts:
    """What loading and labelling one partition found, small enough to gather."""

    name: str
    posted: np.ndarray  # int64 ns, each labeled video's posting time
    labels: np.ndarray  # each labeled video's label
    video_keys: np.ndarray  # uint64 hashes of every video id, to find one in two parts
    creator_keys: np.ndarray  # uint64 hashes of the partition's creators
    tables: dict[str, dict[str, Any]]  # per table: rows, rejects, problem lines, rejects file
    posted_range: tuple[int, int]  # first and last posting time of any video (int64 ns)


@dataclass(frozen=True)
class PartMoments:
    """What one partition adds to the spec and to the training facts."""

    categories: set[str]
    moments: pd.DataFrame  # per age: n, sum, sumsq (``features.spec.spec_moments``)
    rates: pd.Series  # counted rows per rate, category, age and bin (``rate_counts``)
    category_counts: pd.DataFrame  # train videos and hits per category
    train_examples: int  # open train examples
    train_hits: int


def examples_of_part(part: Part, settings: Settings, work: Path) -> PartFacts:
    """Load, validate and label one partition; write its examples under ``work``."""
    dataset = load_tables(part.videos, part.snapshots)
    rejects = dataset.write_rejects(settings.home / "rejects" / part.name)
    labeled = labeled_examples(dataset, settings, lambda _stage: None, threads=1)
    videos = labeled.grid.videos.assign(
        label=labeled.videos["label"].to_numpy(),
        posted_ns=_ns(labeled.videos["posted_at"]),
        likes_at_horizon=labeled.likes_at_horizon.to_numpy()[:: labeled.grid.ages],
    )
    observed = labeled.grid.observed.assign(open=labeled.open)
    folder = _grid_folder(work, part.name)
    folder.mkdir(parents=True, exist_ok=True)
    videos.to_parquet(folder / "videos.parquet", index=False)
    observed.to_parquet(folder / "observed.parquet", index=False)
    # the timing reads every snapshot, which only this pass holds
    _write(
        hour_rows(
            dataset.snapshots, dataset.videos, settings.timezone, settings.timing_max_gap_minutes
        ),
        timing_file(work, part.name),
    )
    posted_all = _ns(dataset.videos["posted_at"])
    return PartFacts(
        name=part.name,
        posted=videos["posted_ns"].to_numpy(),
        labels=videos["label"].to_numpy(dtype=np.int8),
        video_keys=pd.util.hash_array(dataset.videos["video_id"].to_numpy(dtype=object)),
        creator_keys=np.unique(
            pd.util.hash_array(dataset.videos["creator_id"].to_numpy(dtype=object))
        ),
        tables={
            name: {
                "rows": result.total_rows,
                "rejects": len(result.rejects),
                "problems": [p.line() for p in result.problems],
                "file": next((str(p) for p in rejects if p.name.startswith(name)), None),
            }
            for name, result in dataset.results.items()
        },
        posted_range=(int(posted_all.min()), int(posted_all.max())) if len(posted_all) else (0, 0),
    )


def moments_of_part(name: str, settings: Settings, work: Path, cutoffs: np.ndarray) -> PartMoments:
    """The partition's share of the spec (its open train examples) and of the train facts."""
    folder, ages = _grid_folder(work, name), len(settings.training_ages)
    videos = pd.read_parquet(
        folder / "videos.parquet", columns=["posted_ns", "label", "likes_at_horizon", "category"]
    )  # only what the spec reads: the captions and the rest stay on disk
    observed = pd.read_parquet(
        folder / "observed.parquet",
        columns=["age_minutes", "obs_age_minutes", "likes", *UNKNOWABLE_RATES, "open"],
    )
    slices = slice_names(videos["posted_ns"].to_numpy(), cutoffs)
    train = np.repeat(slices == "train", ages) & observed["open"].to_numpy()
    rows = observed[train].assign(category=videos["category"].to_numpy().repeat(ages)[train])
    likes_at_horizon = pd.Series(
        videos["likes_at_horizon"].to_numpy().repeat(ages)[train], index=rows.index
    )
    categories, moments = spec_moments(rows, likes_at_horizon)
    trained = slices == "train"
    y = videos["label"].to_numpy().repeat(ages)[train]
    return PartMoments(
        categories=categories,
        moments=moments,
        rates=rate_counts(rows),
        category_counts=category_counts(
            videos["category"].to_numpy()[trained], videos["label"].to_numpy()[trained]
        ),
        train_examples=int(train.sum()),
        train_hits=int(y.sum()),
    )


def features_of_part(
    name: str,
    settings: Settings,
    work: Path,
    spec: FeatureSpec,
    cutoffs: np.ndarray,
    rates: dict[str, float],
    negative_rate: float,
    booster_rate: float,
) -> dict[str, int]:
    """Build the partition's features; write what the booster trains on and the samples the
    client gathers. Returns the open examples of each slice and the decided ones.

    The booster's rows are the open train examples of whole videos kept at
    ``booster_rate``, with each negative kept at ``negative_rate``. The samples keep whole
    videos at ``rates[slice]``; the test sample also keeps its raw rows, and whether its
    creator has any train example.
    """
    grid, videos = read_grid(name, settings, work)
    features = build_grid_features(grid, spec, threads=1)
    slices = slice_names(videos["posted_ns"].to_numpy(), cutoffs).repeat(grid.ages)
    open_ = grid.observed["open"].to_numpy()
    y = videos["label"].to_numpy(dtype=np.int8).repeat(grid.ages)
    video_u = unit_interval(pd.util.hash_array(videos["video_id"].to_numpy(dtype=object)))
    example_u = unit_interval(
        pd.util.hash_array(videos["video_id"].to_numpy(dtype=object)).repeat(grid.ages)
        + np.tile(np.arange(grid.ages, dtype=np.uint64), len(videos)) * _MIX
    )

    kept_videos = video_u.repeat(grid.ages) < booster_rate
    negatives_kept = (y == 1) | (example_u < negative_rate)
    booster_rows = (slices == "train") & open_ & kept_videos & negatives_kept
    _write(
        pd.DataFrame(to_matrix(features[booster_rows]), columns=list(features.columns)).assign(
            _y=y[booster_rows]
        ),
        work / "booster" / f"{name}.parquet",
    )
    creators = pd.factorize(videos["creator_id"])[0].repeat(grid.ages)
    trained_creators = np.unique(creators[(slices == "train") & open_])
    posted = posting_times(grid.videos["posted_at"]).repeat(grid.ages)  # for the drift periods
    for slice_name in GATHERED:
        keep = (slices == slice_name) & open_ & (video_u.repeat(grid.ages) < rates[slice_name])
        sample = features[keep].assign(
            _y=y[keep],
            _video_id=grid.per_example("video_id")[keep],
            _posted_at=posted[keep],
        )
        if slice_name == "test":
            raw = _unused_categories_dropped(grid.rows(keep)).add_prefix("raw_")
            sample = pd.concat([sample, raw], axis=1).assign(
                _new_creator=~np.isin(creators[keep], trained_creators)
            )
        _write(sample, work / "sample" / slice_name / f"{name}.parquet")
    trained = slices[:: grid.ages] == "train"
    _write(curve_rows(grid, videos["label"].to_numpy(), trained), curves_file(work, name))
    counts = {s: int(((slices == s) & open_).sum()) for s in SLICES}
    return {**counts, "decided": int((~open_).sum()), "booster": int(booster_rows.sum())}


def read_grid(name: str, settings: Settings, work: Path) -> tuple[Grid, pd.DataFrame]:
    """A partition's examples as ``examples_of_part`` wrote them, and its per-video facts."""
    folder = _grid_folder(work, name)
    videos = pd.read_parquet(folder / "videos.parquet")
    observed = pd.read_parquet(folder / "observed.parquet")
    grid = Grid(
        videos[list(VIDEO_COLUMNS)],
        observed[[*EXAMPLE_COLUMNS, "open"]],
        len(settings.training_ages),
    )
    return grid, videos


def unit_interval(keys: np.ndarray) -> np.ndarray:
    """Hash keys to [0, 1), evenly: the sampling draws, fixed by the rows themselves, so
    the same rows are kept however the data is partitioned."""
    z = np.asarray(keys, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):  # splitmix64's finaliser: wrapping is the point
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _unused_categories_dropped(rows: pd.DataFrame) -> pd.DataFrame:
    """Raw rows whose text columns list only their own values: ``Grid.rows`` shares the
    whole partition's captions and ids as categories, which a sample of a few of its videos
    would otherwise carry to the client, partition after partition."""
    for name in rows.columns:
        if isinstance(rows[name].dtype, pd.CategoricalDtype):
            rows[name] = rows[name].cat.remove_unused_categories()
    return rows


def curves_file(work: Path, name: str) -> Path:
    """Where a partition's ``training.curves.curve_rows`` of its train videos are written."""
    return work / "curves" / f"{name}.parquet"


def timing_file(work: Path, name: str) -> Path:
    """Where a partition's ``training.timing.hour_rows`` are written."""
    return work / "timing" / f"{name}.parquet"


def _grid_folder(work: Path, name: str) -> Path:
    return work / "examples" / name


def _ns(stamps: pd.Series) -> np.ndarray:
    return stamps.dt.as_unit("ns").array.asi8


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)

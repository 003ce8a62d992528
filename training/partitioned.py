"""Training on data partitioned by creator, on a Dask cluster: the whole path, not only the
booster.

Three passes over the partitions (``training.parts``), each a task per partition:
1. load, validate and label; write the examples; gather posting times and labels;
2. with the split's cutoff times: each partition's sums for the feature spec;
3. with the spec: build features; write the booster's rows and the gathered samples.
Pass 1 also writes each video's likes by hour of the day, and pass 3 each train video's
likes and signals at the training ages: the like curves and timing are built from them on
the client exactly as local training builds them.
Then the booster trains with ``lightgbm.dask`` on the partitions' rows where they lie, and
the blend, the baselines and the evaluation run on the gathered samples, by the same
``fit_set`` as local training.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import DataError
from features.reading import Part, data_parts, files_digest
from features.spec import FeatureSpec, spec_from_moments
from likecast.echo import capped
from likecast.errors import UserError
from likecast.settings import Settings
from models.curves import Curves
from training.curves import KEYS, MIN_GROUP_VIDEOS, curves_of
from training.distributed import dask_trainer
from training.monitor.reference import posting_times
from training.parts import (
    GATHERED,
    PartFacts,
    PartMoments,
    curves_file,
    examples_of_part,
    features_of_part,
    moments_of_part,
    timing_file,
)
from training.split import (
    check_slices,
    cutoff_labels,
    cutoff_times,
    slice_counts,
    slice_names,
)
from training.timing import timing_of
from training.train import Slice, StageClock, TrainingSet, TrainOutcome, fit_set, rates_of

Say = Callable[[str], None]


def fit_partitioned(
    data_dir: Path,
    settings: Settings,
    params_override: dict[str, Any],
    client: Any,
    work: Path,
    negative_rate: float = 1.0,
    advance: Say = lambda _s: None,
    warn: Say = lambda _s: None,
) -> tuple[TrainOutcome, dict[str, str | int]]:
    """Train from a partitioned data set on the cluster ``client`` is connected to.

    Args:
        data_dir: The data set: folders of parts (or two single files, one partition).
        settings: As for local training; ``gather_rows`` caps each gathered sample.
        params_override: LightGBM parameters that replace the defaults.
        client: A ``dask.distributed.Client``; its workers must see ``data_dir`` and ``work``.
        work: An empty folder for the passes' Parquet files.
        negative_rate: The share of negative train examples the booster trains on.
        advance: Called with each step's name as it starts (progress display).
        warn: Called with each line of the loading report.

    Returns:
        The training outcome (as local training gives it) and the data set's fingerprint.
    """
    if not 0 < negative_rate <= 1:
        raise UserError(f"--negative-rate: expected a share in (0, 1], got {negative_rate}")
    clock = StageClock(advance)
    parts = data_parts(data_dir)
    names = [p.name for p in parts]
    facts: list[PartFacts] = _each(
        client, examples_of_part, parts, clock, "examples", settings=settings, work=work
    )
    rejected = _report_loading(facts, settings, warn)
    _check_disjoint(facts)

    posted = np.concatenate([f.posted for f in facts])
    labels = np.concatenate([f.labels for f in facts])
    ordered = np.sort(posted)
    cutoffs = cutoff_times(ordered)
    counts = slice_counts(slice_names(posted, cutoffs), labels)
    check_slices(counts)

    moments: list[PartMoments] = _each(
        client, moments_of_part, names, clock, "spec", settings=settings, work=work,
        cutoffs=cutoffs,
    )  # fmt: skip
    spec = _merged_spec(moments, settings)
    ages = len(settings.training_ages)
    videos = counts["videos"].to_dict()
    rates = {s: min(1.0, settings.gather_rows / max(1, videos[s] * ages)) for s in GATHERED}
    booster_rate = _booster_rate(moments, negative_rate, settings.booster_rows)
    built: list[dict[str, int]] = _each(
        client, features_of_part, names, clock, "features", settings=settings, work=work,
        spec=spec, cutoffs=cutoffs, rates=rates, negative_rate=negative_rate,
        booster_rate=booster_rate,
    )  # fmt: skip

    data = _training_set(
        work, spec, moments, built, cutoff_labels(int(ordered[0]), cutoffs),
        _curves(work, names, settings),
    )  # fmt: skip
    data.summary["sampled"] = {s: round(r, 6) for s, r in rates.items()}
    data.summary["negative_rate"] = negative_rate
    data.summary["booster_videos_rate"] = round(booster_rate, 6)
    outcome = fit_set(data, settings, params_override, clock, dask_trainer(client, negative_rate))
    outcome.params["negative_rate"] = negative_rate
    first = min(f.posted_range[0] for f in facts if f.tables["videos"]["rows"])
    last = max(f.posted_range[1] for f in facts if f.tables["videos"]["rows"])
    return outcome, {
        "videos": sum(f.tables["videos"]["rows"] - f.tables["videos"]["rejects"] for f in facts),
        "snapshots": sum(
            f.tables["snapshots"]["rows"] - f.tables["snapshots"]["rejects"] for f in facts
        ),
        "rejected_rows": rejected,
        "first_posted": pd.Timestamp(first, tz="UTC").isoformat(),
        "last_posted": pd.Timestamp(last, tz="UTC").isoformat(),
        "sha256": files_digest(data_dir),
        "parts": len(parts),
    }


def _each(
    client: Any,
    task: Callable[..., Any],
    items: list[Part] | list[str],
    clock: StageClock,
    step: str,
    **shared: Any,
) -> list[Any]:
    """``task(item, **shared)`` for every partition on the cluster, results in input order;
    the progress display moves on as each partition finishes."""
    from dask.distributed import as_completed

    clock.advance(step)
    # pure=False: a rerun must run again (its work folder is new), not reuse a cached result
    futures = client.map(task, items, pure=False, **shared)
    for done, _future in enumerate(as_completed(futures), start=1):
        clock.note(f"{step}: {done}/{len(items)} parts")
    return client.gather(futures)


def _report_loading(facts: list[PartFacts], settings: Settings, warn: Say) -> int:
    """Say what each partition set aside; fail when a table lost more than the limit.
    Returns the rows rejected in all."""
    rejected = 0
    for table in ("videos", "snapshots"):
        rows = sum(f.tables[table]["rows"] for f in facts)
        lost = sum(f.tables[table]["rejects"] for f in facts)
        rejected += lost
        lines = [f"({f.name}): {line}" for f in facts for line in f.tables[table]["problems"]]
        shown, more = capped(lines)  # a hundred partitions must not print a thousand lines
        for line in shown:
            warn(f"  rejected {line}")
        if more:
            warn(f"  … and {more:,} more problems, in the rejects files")
        for f in facts:
            if f.tables[table]["file"]:
                warn(f"rejected rows written to {f.tables[table]['file']}")
        if rows and lost / rows > settings.max_reject_share:
            raise DataError(
                f"{table}: {lost} of {rows} rows rejected ({lost / rows:.1%} > limit "
                f"{settings.max_reject_share:.1%}); see the lines above"
            )
    return rejected


def _check_disjoint(facts: list[PartFacts]) -> None:
    """Refuse partitions that share a creator or a video: a creator's history must be in
    one partition, and a video counted twice would be trained on twice."""
    for kind, keys in (("creator", "creator_keys"), ("video", "video_keys")):
        owner = np.concatenate([np.full(len(getattr(f, keys)), i) for i, f in enumerate(facts)])
        values = np.concatenate([getattr(f, keys) for f in facts])
        order = np.argsort(values, kind="stable")
        same = values[order][1:] == values[order][:-1]
        across = same & (owner[order][1:] != owner[order][:-1])
        if across.any():
            first = np.flatnonzero(across)[0]
            a, b = facts[owner[order][first]].name, facts[owner[order][first + 1]].name
            raise DataError(
                f"a {kind} appears in parts {a} and {b}: the Dask engine needs data "
                "partitioned by creator (all of a creator's videos and their snapshots in "
                "one part)"
            )


def _booster_rate(moments: list[PartMoments], negative_rate: float, most: int) -> float:
    """The share of train videos the booster keeps so that its rows stay under ``most``:
    lightgbm.dask holds its rows in the workers' memory, so beyond that size more data
    means a sparser sample of videos, not more memory."""
    examples = sum(m.train_examples for m in moments)
    hits = sum(m.train_hits for m in moments)
    expected = hits + negative_rate * (examples - hits)
    return min(1.0, most / max(expected, 1.0))


def _merged_spec(moments: list[PartMoments], settings: Settings) -> FeatureSpec:
    categories = set().union(*(m.categories for m in moments))
    summed = pd.concat([m.moments for m in moments]).groupby(level=0).sum()
    rates = pd.concat([m.rates for m in moments])
    return spec_from_moments(
        categories,
        summed,
        settings.threshold,
        settings.horizon_minutes,
        settings.timezone,
        settings.training_ages,
        rates.groupby(level=list(range(rates.index.nlevels))).sum(),
    )


def _training_set(
    work: Path,
    spec: FeatureSpec,
    moments: list[PartMoments],
    built: list[dict[str, int]],
    cutoffs: dict[str, str],
    curves: Curves,
) -> TrainingSet:
    """The booster's rows as Dask frames where they lie; the samples gathered here."""
    import dask.dataframe as dd

    samples = {s: _read_sample(work / "sample" / s) for s in GATHERED}
    sliced = {
        name: Slice(
            frame[list(spec.features)],
            frame["_y"].to_numpy(dtype=np.int64),
            frame["_video_id"].to_numpy(),
            frame["age_minutes"].to_numpy(),
            posting_times(frame["_posted_at"]),
        )
        for name, frame in samples.items()
    }
    files = [p for p in sorted((work / "booster").glob("*.parquet")) if _rows(p)]
    # one partition per file, read whole: read_parquet would fuse files differently for the
    # features and for the label once each is projected, and LightGBM pairs them by position
    booster = dd.from_map(pd.read_parquet, files)
    test = samples["test"]
    raw = test[[c for c in test.columns if c.startswith("raw_")]]
    train_examples = sum(m.train_examples for m in moments)
    summed_counts = pd.concat([m.category_counts for m in moments]).groupby(level=0).sum()
    return TrainingSet(
        spec=spec,
        train_x=booster[list(spec.features)],
        train_y=booster["_y"],
        train=sliced["train"],
        valid=sliced["valid"],
        calib=sliced["calib"],
        test=sliced["test"],
        test_rows=raw.rename(columns=lambda c: c.removeprefix("raw_")).assign(
            label=sliced["test"].y
        ),
        test_new_creators=test["_new_creator"].to_numpy(dtype=bool),
        prior=sum(m.train_hits for m in moments) / max(1, train_examples),
        category_rates=rates_of(summed_counts),
        cutoffs=cutoffs,
        summary={
            "rows": {s: sum(b[s] for b in built) for s in ("train", "valid", "calib", "test")},
            "decided_rows": sum(b["decided"] for b in built),
            "booster_rows": sum(b["booster"] for b in built),
        },
        curves=curves,
    )


def _curves(work: Path, names: list[str], settings: Settings) -> Curves:
    """The like curves and timing from every partition's rows, as local training builds
    them. The client holds each train video's group keys (about 20 bytes) and one measure
    at one age of every train video (8 bytes each) at a time, and 48 numbers per timed
    video, which the timing's resampling of videos needs together."""
    files = [curves_file(work, name) for name in names]
    keys = pd.concat([pd.read_parquet(p, columns=list(KEYS)) for p in files], ignore_index=True)

    def values(column: str) -> np.ndarray:
        return np.concatenate(
            [pd.read_parquet(p, columns=[column])[column].to_numpy(dtype=float) for p in files]
        )

    ages = [float(a) for a in settings.training_ages]
    curves = curves_of(keys, values, ages, settings.threshold, MIN_GROUP_VIDEOS)
    hours = pd.concat([pd.read_parquet(timing_file(work, n)) for n in names], ignore_index=True)
    return curves.model_copy(
        update={
            "timing": timing_of(
                hours, settings.timezone, settings.seed, settings.timing_max_gap_minutes
            )
        }
    )


def _read_sample(folder: Path) -> pd.DataFrame:
    """One slice's gathered sample: every partition's file, in partition order."""
    frames = [pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))]
    return pd.concat(frames, ignore_index=True)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)

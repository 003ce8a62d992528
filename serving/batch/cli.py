"""``likecast score``: score a file of videos, here in chunks or on Dask."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from likecast.console import stderr
from likecast.errors import UserError
from likecast.instants import parse_instant
from likecast.paths import check_outputs, model_folder
from likecast.settings import get_settings

if TYPE_CHECKING:  # the command imports the scoring code only when it runs
    from serving.batch.scoring import Outcome

app = typer.Typer()


class Engine(StrEnum):
    """Where a scoring job runs."""

    local = "local"
    dask = "dask"


@app.command("score")
def score_command(
    source: Path = typer.Option(
        ..., "--input", help="Videos to score: a .parquet or .csv file, or a folder of parts."
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        help="Where to write: .parquet or .csv (local engine), a folder of parts (dask).",
    ),
    snapshots: Path | None = typer.Option(
        None, "--snapshots", help="Snapshots table; each video uses its latest one by the age."
    ),
    age_minutes: float | None = typer.Option(
        None,
        "--age-minutes",
        min=0,
        help="Score every video at this age (default 0: a draft); above 0 needs --snapshots.",
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Score each video at its age at this ISO time (UTC if no offset); needs --snapshots.",
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model folder or models:/ URI (default: the registry's champion)."
    ),
    engine: Engine = typer.Option(
        Engine.local, "--engine", help="local: stream in chunks here; dask: run on Dask."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: a LocalCluster here)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="LocalCluster workers (default: one per core)."
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Add each video's top factors (as JSON); much slower."
    ),
    chunk_rows: int = typer.Option(
        100_000, "--chunk-rows", min=1, help="Rows per chunk for the local engine."
    ),
) -> None:
    """Score a file of videos with the champion (or --model) and write one row per video."""
    import time

    import pandas as pd

    from features.store import open_store
    from likecast.console import rows_progress
    from models.registry import load_model
    from serving.batch.scoring import Scorer, ScoringAge, rejects_paths, score_local
    from serving.core.answer_log import AnswerLog

    _check_options(snapshots, age_minutes, at, engine, scheduler)
    scoring_age = ScoringAge(
        age_minutes=age_minutes, at=parse_instant(at, "--at") if at is not None else None
    )
    settings = get_settings()
    check_outputs(
        {
            "--input": source,
            "--snapshots": snapshots,
            "--model": model_folder(model or settings.model_uri),
            "the creator store": settings.store_path if settings.store_url is None else None,
        },
        {"--output": [output, *rejects_paths(output).values()]},
    )
    if snapshots is not None and not snapshots.exists():
        raise UserError(f"{snapshots}: no such file")
    loaded = load_model(model or settings.model_uri, settings)
    store = open_store(settings)
    mismatch = store.target_problem(loaded.bundle.spec.target)
    if mismatch is not None:  # every creator's history would count another target's hits
        raise UserError(mismatch)
    timeline = store.timeline()
    if timeline is not None and scoring_age.at is not None:
        timeline.check(pd.Series([scoring_age.at]), "--at")
    if snapshots is None and scoring_age.at is not None:
        raise UserError(
            "--at scores each video at its age then, from its counts by that time: give "
            "--snapshots FILE (without it every posted video would have no likes)"
        )
    if timeline is None:
        # such scores look plausible but rank drafts by their own columns only (on real
        # data the drafts' ranking fell markedly: docs/adr/0052); said after any refusal
        stderr().print(
            f"warning: no creator store at {store.where}{store.trouble}: every creator is "
            "scored as "
            "a cold start, without its history; run `likecast features materialize --data "
            "DIR` first",
            soft_wrap=True,
        )
    scorer = Scorer(
        bundle=loaded.bundle,
        version=loaded.version or "local",
        timeline=timeline,
        scoring_age=scoring_age,
        snapshots=snapshots,
        explain=explain,
        log=AnswerLog.of(settings),
    )
    started = time.perf_counter()
    with rows_progress(f"scoring ({engine.value})") as advance:
        try:
            if engine is Engine.dask:
                from serving.batch.on_dask import score_dask

                outcome = score_dask(
                    scorer, source, output, settings.max_reject_share, scheduler, workers, advance
                )
            else:
                outcome = score_local(
                    scorer, source, output, chunk_rows, settings.max_reject_share, advance
                )
        finally:
            if scorer.log is not None:
                scorer.log.close()  # every answer scored is in the log when this ends
    _report(outcome, scorer.version, time.perf_counter() - started, output)


def _check_options(
    snapshots: Path | None,
    age_minutes: float | None,
    at: str | None,
    engine: Engine,
    scheduler: str | None,
) -> None:
    """Refuse, in one line, options that do not go together."""
    if age_minutes is not None and at is not None:
        raise UserError("give --age-minutes or --at, not both")
    if snapshots is not None and age_minutes is None and at is None:
        raise UserError(
            "--snapshots needs an age to read the counts at: give --age-minutes A (every "
            "video at age A) or --at T (each video at its age at time T)"
        )
    if snapshots is None and age_minutes:
        # an age after posting is answered from the counts by then: without any, every
        # video would be scored as having no likes at that age, which no user means
        raise UserError(
            f"--age-minutes {age_minutes:g} scores videos from their counts by that age: give "
            "--snapshots FILE, or --age-minutes 0 to score them as drafts"
        )
    if engine is Engine.local and scheduler:
        raise UserError("--scheduler needs --engine dask")


def _report(outcome: Outcome, version: str, seconds: float, output: Path) -> None:
    """What was scored and set aside, how fast, and the ids a spreadsheet would misread."""
    from features.csv_safe import formula_warning

    rejected = ", ".join(f"{v} {k}" for k, v in outcome.rejected.items() if v) or "none"
    files = ", ".join(str(p) for p in outcome.rejects_files)
    stderr().print(
        f"scored {outcome.scored:,} of {outcome.rows:,} videos with model {version} in "
        f"{seconds:.1f} s ({outcome.rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}; "
        f"rejected: {rejected}" + (f" (see {files})" if files else ""),
        soft_wrap=True,
    )
    if outcome.formula_ids:
        # ids are keys, written as given so the scores join back (features/csv_safe.py)
        stderr().print(
            formula_warning(
                outcome.formula_ids, "video ids", outcome.formula_example or "", str(output)
            ),
            soft_wrap=True,
            markup=False,  # an id is the user's text, not rich markup
        )

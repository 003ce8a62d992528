"""``likecast monitor``: judge a deployed model from its prediction log.

Each command exits 0 when all is well, 1 on an alert, 2 on a user error, so a scheduler can
react (README, "Monitoring").
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from likecast.console import stderr
from likecast.errors import UserError
from likecast.instants import parse_instant
from likecast.settings import Settings, get_settings

if TYPE_CHECKING:
    import pandas as pd

    from models.registry import LoadedModel
    from training.monitor.report import Drift

app = typer.Typer(no_args_is_help=True)
monitor = typer.Typer(
    no_args_is_help=True, help="Watch a deployed model: drift, outcomes, quality before labels."
)
app.add_typer(monitor, name="monitor")

ALERT = 1  # exit code of a check that raised an alert

SinceOption = typer.Option(None, "--since", help="Judge answers logged at or after (ISO time).")
UntilOption = typer.Option(None, "--until", help="Judge answers logged before (ISO time).")
ModelOption = typer.Option(
    None,
    "--model",
    help="Model folder or URI whose test figures stand for the logged version "
    "(default: each logged version from the registry).",
)
JsonOption = typer.Option(None, "--json", help="Also write the figures as JSON here.")
WIDE_TABLE = 200  # columns of a table printed to a pipe: a script gets every figure whole


def _console() -> Console:
    """A terminal's width where there is one; wide enough for the tables otherwise."""
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console(width=None if wide else WIDE_TABLE)


def _window(settings: Settings, since: str | None, until: str | None) -> pd.DataFrame:
    from training.monitor.window import read_window

    start = parse_instant(since, "--since") if since else None
    end = parse_instant(until, "--until") if until else None
    return read_window(settings.home, start, end)


def _cell(value: Any, digits: int = 3) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def _span(low: Any, high: Any) -> str:
    return "-" if low != low or high != high else f"{low:.3f}-{high:.3f}"


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for JSON, NaN as null."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(key): value for key, value in record.items()} for record in records]


@monitor.command("estimate")
def estimate_command(
    since: str | None = SinceOption,
    until: str | None = UntilOption,
    model: str | None = ModelOption,
    output: Path | None = JsonOption,
) -> None:
    """Estimate ROC AUC and calibration per age bucket from the logged answers alone,
    assuming they are calibrated; exit 1 when a trusted estimate lies below the test AUC or
    the answers no longer agree with the same videos' earlier answers (concept drift)."""
    from features.monitoring_last import write_last
    from likecast.atomic import write_text
    from training.monitor.estimate import (
        NO_LABELS,
        estimate_by_bucket,
        judged,
        model_answers,
        summary,
        with_concept_check,
    )
    from training.monitor.versions import version_figures

    settings = get_settings()
    window = _window(settings, since, until)
    answers = model_answers(window)
    if answers.empty:
        stderr().print("every logged answer in the window was decided by its counts")
        return
    figures = version_figures(sorted(answers["model_version"].unique()), model, settings)
    grids = {version: known.grid for version, known in figures.items()}
    tests = {version: known.test for version, known in figures.items()}
    estimated = estimate_by_bucket(answers, grids, settings.seed)
    table = judged(with_concept_check(estimated, window, grids, tests), tests)
    printed = Table(
        "version",
        "age",
        "answers",
        "exp. rate",
        "est. AUC",
        "90% interval",
        "test AUC",
        "exp. log loss",
        "gap noise",
        "trust",
        title="quality estimated from the answers alone (assuming they are calibrated)",
    )
    for row in table.itertuples():
        printed.add_row(
            f"{row.model_version} ({row.threshold:,}/{row.horizon_days:g}d)",
            str(row.age_bucket),
            f"{row.n:,.0f}",
            _cell(row.expected_positive_rate),
            _cell(row.expected_auc) + (" !" if row.alert else ""),
            _span(row.auc_low, row.auc_high),
            _cell(row.test_roc_auc),
            _cell(row.expected_log_loss),
            _cell(row.gap_noise),
            "ok" if not isinstance(row.untrusted, str) else f"untrusted: {row.untrusted!s}",
        )
    console = _console()
    console.print(printed)
    for version, known in figures.items():
        source = "reference found" if known.reference else "no reference"
        console.print(
            f"version {version}: test figures from {known.source}; inputs against the "
            f"training reference: {source} (see `likecast monitor drift`)",
            soft_wrap=True,
        )
    console.print(f"note: {NO_LABELS}", soft_wrap=True)
    at = datetime.now(UTC)
    path = write_last(settings.home, "estimate", summary(table, answers, at))
    stderr().print(f"summary written to {path}")
    if output:
        document = {"at": at.isoformat(timespec="seconds"), "rows": _plain(table)}
        write_text(json.dumps(document, indent=2), output)
    alerts = table[table["alert"]]
    for label, which in (
        ("estimated ROC AUC below the test slice's beyond noise", ~alerts["inconsistent"]),
        (
            "answers part from the same videos' earlier answers (concept drift?)",
            alerts["inconsistent"],
        ),
    ):
        where = ", ".join(
            f"v{r.model_version} at {r.age_bucket} min" for r in alerts[which].itertuples()
        )
        if where:
            console.print(f"alert: {label}: {where}", soft_wrap=True)
    if len(alerts):
        raise typer.Exit(ALERT)


@monitor.command("outcomes")
def outcomes_command(
    data: Path = typer.Option(
        ..., "--data", help="Folder holding the videos and snapshots tables, crawled later."
    ),
    model: str | None = ModelOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
    output: Path | None = JsonOption,
) -> None:
    """Join logged answers with the outcomes observed later and report realized ROC AUC, log
    loss, calibration and interval coverage per version and age bucket, beside the test
    slice's and the label-free estimate; exit 1 when realized AUC falls below the test AUC
    beyond its noise."""
    from features.loading import load_dataset
    from features.reading import table_paths
    from features.store import data_end
    from likecast.atomic import write_text
    from likecast.paths import check_outputs
    from models.mlflow_client import connect
    from training.monitor.outcomes import STAGES, join_outcomes, outcome_table
    from training.monitor.runs import experiment_name, log_outcomes
    from training.monitor.versions import version_figures

    settings = get_settings()
    check_outputs({"--data": table_paths(data)}, {"--json": output})
    answers = _window(settings, since, until)
    dataset = load_dataset(data)
    joined = join_outcomes(answers, dataset.videos, dataset.snapshots, data_end(dataset))
    counts = Table(
        "answers", "count", title=f"the log against {data} (data ends {joined.data_end})"
    )
    for stage, words in STAGES.items():
        counts.add_row(words, f"{joined.counts[stage]:,}")
    console = _console()
    console.print(counts)
    if joined.labeled.empty:
        raise UserError(
            f"{data}: none of the logged answers can be labeled yet (see the counts above)"
        )
    versions = sorted(joined.labeled["model_version"].unique())
    figures = version_figures(versions, model, settings)
    table = outcome_table(joined.labeled, figures, settings.seed)
    printed = Table(
        "version",
        "age",
        "labeled",
        "rate",
        "AUC",
        "90% bootstrap",
        "test AUC",
        "est. AUC",
        "est. 90%",
        "log loss",
        "test",
        "calib. gap",
        "test",
        "coverage",
        title="realized quality of the logged answers, beside the test slice and the estimate",
    )
    for row in table.itertuples():
        printed.add_row(
            f"{row.model_version} ({row.threshold:,}/{row.horizon_days:g}d)",
            str(row.age_bucket),
            f"{row.n:,.0f}",
            _cell(row.positive_rate),
            _cell(row.roc_auc) + (" !" if row.alert else ""),
            _span(row.roc_auc_low, row.roc_auc_high),
            _cell(getattr(row, "test_roc_auc", None)),
            _cell(row.estimated_auc),
            _span(row.estimated_auc_low, row.estimated_auc_high),
            _cell(row.log_loss),
            _cell(getattr(row, "test_log_loss", None)),
            _cell(row.calibration_gap),
            _cell(getattr(row, "test_calibration_gap", None)),
            _cell(row.coverage, 2),
        )
    console.print(printed)
    console.print(
        "coverage: share of equal-mass bins whose realized hit rate lies inside the bin's mean "
        "80% interval; est.: the label-free estimate of the same answers",
        soft_wrap=True,
    )
    run_ids = log_outcomes(connect(settings), settings, joined.labeled, table, joined.counts)
    stderr().print(
        f"logged to MLflow experiment {experiment_name(settings)}: runs {', '.join(run_ids)}"
    )
    if output:
        document = {
            "data_end": joined.data_end.isoformat(),
            "counts": joined.counts,
            "rows": _plain(table),
            "mlflow_runs": run_ids,
        }
        write_text(json.dumps(document, indent=2), output)
    alerts = table[table["alert"]]
    if len(alerts):
        where = ", ".join(f"v{r.model_version} at {r.age_bucket} min" for r in alerts.itertuples())
        console.print(f"alert: realized ROC AUC below the test slice's beyond noise: {where}")
        raise typer.Exit(ALERT)


@monitor.command("report")
def report_command(
    out: Path = typer.Option(..., "--out", help="The HTML file to write (plots embedded)."),
    data: Path | None = typer.Option(
        None, "--data", help="A later crawl, to add realized figures (as monitor outcomes)."
    ),
    model: str | None = ModelOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
) -> None:
    """Write an HTML report readable without a server: estimated and realized ROC AUC day by
    day and by age, drift per feature window by window, and the reliability of the labeled
    answers."""
    import tempfile

    from features.loading import load_dataset
    from features.reading import table_paths
    from features.store import data_end
    from likecast.atomic import write_text
    from likecast.paths import check_outputs
    from training.monitor.estimate import model_answers
    from training.monitor.outcomes import join_outcomes, outcome_table
    from training.monitor.report import daily_auc, render
    from training.monitor.versions import figures_of, version_models

    settings = get_settings()
    check_outputs({"--data": table_paths(data) if data else []}, {"--out": out})
    answers = model_answers(_window(settings, since, until))
    models = version_models(sorted(answers["model_version"].unique()), model, settings)
    outcomes = labeled = counts = None
    if data is not None:
        dataset = load_dataset(data)
        joined = join_outcomes(answers, dataset.videos, dataset.snapshots, data_end(dataset))
        counts = joined.counts
        if not joined.labeled.empty:
            labeled = joined.labeled
            versions = sorted(labeled["model_version"].unique())
            outcomes = outcome_table(
                labeled, figures_of({v: models[v] for v in versions}, settings), settings.seed
            )
    days = daily_auc(answers, labeled, settings.seed)
    drift = {
        version: _drift_over_time(answers, version, found, settings)
        for version, found in models.items()
    }
    with tempfile.TemporaryDirectory(prefix="likecast-report-") as folder:
        page = render(days, outcomes, labeled, counts, drift, Path(folder), "likecast monitoring")
    write_text(page, out)
    _console().print(f"report written to {out}")


def _drift_over_time(
    answers: pd.DataFrame, version: str, found: LoadedModel | str, settings: Settings
) -> Drift:
    """A version's drift window by window, or why the report has none."""
    from training.monitor.drift_over_time import drift_by_window

    if isinstance(found, str):
        return f"no drift: {found}"
    if found.bundle.reference is None:
        return "no drift: the model has no drift reference (trained before drift monitoring)"
    checks, summary = drift_by_window(
        answers,
        found.bundle.spec,
        version,
        found.bundle.reference,
        min_rows=settings.drift_min_rows,
        false_alarm=settings.drift_false_alarm,
        seed=settings.seed,
    )
    if summary.empty:
        return (
            f"no drift: fewer than {settings.drift_min_rows:,} answers of version {version} "
            "the model gave itself in the whole window (LIKECAST_DRIFT_MIN_ROWS)"
        )
    return checks, summary


@monitor.command("drift")
def drift_command(
    since: str | None = SinceOption,
    until: str | None = UntilOption,
    model: str | None = typer.Option(
        None, "--model", help="Model URI or folder (default models:/likecast@champion)."
    ),
    json_path: Path | None = JsonOption,
    track: bool = typer.Option(
        True, "--track/--no-track", help="Log the check as an MLflow run (with its plot)."
    ),
) -> None:
    """Compare the logged answers of a window with the reference the model froze at training."""
    from features.monitoring_last import write_last
    from features.prediction_log import log_folder, read_log
    from likecast.atomic import write_text
    from models.registry import load_model
    from training.monitor.drift import drift_report
    from training.monitor.drift_output import last_figures, log_to_mlflow, print_report

    settings = get_settings()
    start = parse_instant(since, "--since") if since else None
    end = parse_instant(until, "--until") if until else None
    loaded = load_model(model, settings)
    reference = loaded.bundle.reference
    if reference is None:
        raise UserError(
            f"{loaded.uri}: this model has no drift reference (trained before drift "
            "monitoring): retrain it to check drift"
        )
    version = loaded.version or "local"
    read = read_log(
        log_folder(settings.home),
        since=start.to_pydatetime() if start is not None else None,
        until=end.to_pydatetime() if end is not None else None,
    )
    report = drift_report(
        reference,
        read.answers,
        loaded.bundle.spec,
        version,
        since=start.isoformat() if start is not None else None,
        until=end.isoformat() if end is not None else None,
        min_rows=settings.drift_min_rows,
        false_alarm=settings.drift_false_alarm,
        seed=settings.seed,
    )
    print_report(report, _console())
    if json_path is not None:
        write_text(report.model_dump_json(indent=2) + "\n", json_path)
    logged = read.answers["logged_at"]
    mine = read.answers["model_version"].astype(str) == version if len(logged) else logged
    window = (logged[mine].min(), logged[mine].max()) if len(logged) else None
    write_last(settings.home, "drift", last_figures(report, window))
    if track:
        log_to_mlflow(report, settings, loaded.uri)
    if report.alert:
        raise typer.Exit(ALERT)

"""``likecast monitor``: checks of a deployed model; exit 0 all well, 1 an alert, 2 a user error."""

from __future__ import annotations

from pathlib import Path

import typer

from likecast.errors import UserError
from likecast.settings import get_settings

app = typer.Typer(name="monitor", help="Watch a deployed model: drift.", no_args_is_help=True)

ALERT = 1  # the exit code of a check that raised an alert, for a scheduler to react to


@app.command("drift")
def drift_command(
    since: str | None = typer.Option(
        None, "--since", help="First moment of the window (ISO time; UTC without an offset)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="End of the window, excluded (ISO time; default: now)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model URI or folder (default models:/likecast@champion)."
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="Also write the whole report as JSON to this file."
    ),
    track: bool = typer.Option(
        True, "--track/--no-track", help="Log the check as an MLflow run (with its plot)."
    ),
) -> None:
    """Compare the logged answers of a window with the reference the model froze at training."""
    from rich.console import Console

    from features.prediction_log import log_folder, read_log
    from likecast.atomic import write_text
    from likecast.instants import parse_instant
    from models.registry import load_model
    from training.monitor.drift import drift_report
    from training.monitor.drift_output import log_to_mlflow, print_report, write_last

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
    print_report(report, Console())
    if json_path is not None:
        write_text(report.model_dump_json(indent=2) + "\n", json_path)
    logged = read.answers["logged_at"]
    mine = read.answers["model_version"].astype(str) == version if len(logged) else logged
    window = (logged[mine].min(), logged[mine].max()) if len(logged) else None
    write_last(settings.home, report, window)
    if track:
        log_to_mlflow(report, settings, loaded.uri)
    if report.alert:
        raise typer.Exit(ALERT)

"""The ``likecast`` command: one typer app assembled from each package's commands.

It lives in ``serving`` because it is the one module allowed to import all four packages.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from features.cli import app as features_app
from features.console import UserError, stderr
from features.instants import parse_instant
from features.memory import keep_freed_memory
from features.redact import one_line
from features.settings import Settings, get_settings
from training.cli import app as training_app

app = typer.Typer(
    name="likecast",
    help="Predict whether a short video reaches 1000 likes within its horizon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(features_app)
app.add_typer(training_app)


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 3000)."),
    model: str | None = typer.Option(
        None, "--model", help="Model folder or models:/ URI (default: the registry's champion)."
    ),
) -> None:
    """Serve predictions over HTTP with BentoML (runs until Ctrl-C)."""
    settings = get_settings()
    env = {
        **os.environ,
        # workers x LightGBM threads <= the cores LightGBM may use
        "OMP_NUM_THREADS": str(max(1, settings.lgbm_threads // settings.service_workers)),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    if model:
        env["LIKECAST_MODEL_URI"] = model
    host = host or settings.host
    port = port or settings.port
    env["LIKECAST_HOST"], env["LIKECAST_PORT"] = host, str(port)
    uri = model or settings.model_uri or settings.champion_uri
    if uri.startswith("models:/"):
        _fetch_for_workers(uri, settings)
    else:
        _check_folder(uri, settings)
    env["LIKECAST_METRICS_DIR"] = str(_metrics_folder(settings))
    stderr().print(f"serving on http://{host}:{port} (page: http://{host}:{port}/ui)")
    bentoml = Path(sys.executable).with_name("bentoml")
    args = [str(bentoml), "serve", "serving.service:Likecast", "--host", host, "--port", str(port)]
    os.execve(args[0], args, env)


def _fetch_for_workers(uri: str, settings: Settings) -> None:
    """Download the registry's model once, here, and name it to the workers.

    This process becomes BentoML's supervisor (exec keeps its pid), so the service folder
    its workers will look in is known now. Without this each worker would start a fetch of
    its own (serving/fetch.py), and MLflow loaded here is gone with the exec. A registry
    that cannot give the model fails the command in one line, before anything starts.
    """
    from serving.board import SwapBoard, service_folder
    from serving.fetch import download

    folder = service_folder(settings, os.getpid())
    release = download(uri, settings, folder)
    _check_folder(release.folder, settings, name=f"{uri} (version {release.version})")
    SwapBoard(folder, 0, settings.service_workers).commit(release)


def _metrics_folder(settings: Settings) -> Path:
    """An empty folder where this service's workers keep their metrics (serving/metrics.py)."""
    import shutil

    from serving.board import service_folder

    folder = service_folder(settings, os.getpid()) / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _check_folder(folder: str, settings: Settings, name: str | None = None) -> None:
    """Load the model once here: a model no worker can load must fail the command in one
    line, not make BentoML restart crashing workers for ever."""
    from models.bundle import BundleError
    from training.registry import load_model

    try:
        load_model(folder, settings)
    except BundleError as exc:
        raise BundleError(f"{name}: {exc}" if name else str(exc)) from exc


class Engine(StrEnum):
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
        None, "--age-minutes", min=0, help="Score every video at this age (default 0: a draft)."
    ),
    at: str | None = typer.Option(
        None, "--at", help="Score each video at its age at this ISO time (UTC if no offset)."
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

    from features.console import rows_progress
    from features.store import CreatorStore
    from serving.scoring import Scorer, When, score_local
    from training.registry import load_model

    if age_minutes is not None and at is not None:
        raise UserError("give --age-minutes or --at, not both")
    if snapshots is not None and age_minutes is None and at is None:
        raise UserError(
            "--snapshots needs an age to read the counts at: give --age-minutes A (every "
            "video at age A) or --at T (each video at its age at time T)"
        )
    if engine is Engine.local and scheduler:
        raise UserError("--scheduler needs --engine dask")
    when = When(age_minutes=age_minutes, at=parse_instant(at, "--at") if at is not None else None)
    if output.resolve() == source.resolve() or source.resolve() in output.resolve().parents:
        raise UserError(f"--output {output} would overwrite the input; choose another path")
    if snapshots is not None and not snapshots.exists():
        raise UserError(f"{snapshots}: no such file")
    settings = get_settings()
    loaded = load_model(model or settings.model_uri, settings)
    timeline = CreatorStore(settings.store_path).timeline()
    if timeline is not None and when.at is not None:
        timeline.check(pd.Series([when.at]), "--at")
    scorer = Scorer(
        bundle=loaded.bundle,
        version=loaded.version or "local",
        timeline=timeline,
        when=when,
        snapshots=snapshots,
        explain=explain,
    )
    started = time.perf_counter()
    with rows_progress(f"scoring ({engine.value})") as advance:
        if engine is Engine.dask:
            from serving.dask_engine import score_dask

            outcome = score_dask(
                scorer, source, output, settings.max_reject_share, scheduler, workers, advance
            )
        else:
            outcome = score_local(
                scorer, source, output, chunk_rows, settings.max_reject_share, advance
            )
    seconds = time.perf_counter() - started
    rejected = ", ".join(f"{v} {k}" for k, v in outcome.rejected.items() if v) or "none"
    files = ", ".join(str(p) for p in outcome.rejects_files)
    stderr().print(
        f"scored {outcome.scored:,} of {outcome.rows:,} videos with model {scorer.version} in "
        f"{seconds:.1f} s ({outcome.rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}; "
        f"rejected: {rejected}" + (f" (see {files})" if files else ""),
        soft_wrap=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become one line, never a traceback."""
    command = typer.main.get_command(app)
    try:
        # standalone mode: usage errors print typer's own message and exit 2
        command.main(args=argv, prog_name="likecast", standalone_mode=True)
    except UserError as exc:
        stderr().print(f"[red]error:[/red] {one_line(exc)}", soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point: a process of its own, so its allocator can be tuned."""
    keep_freed_memory()
    sys.exit(main())

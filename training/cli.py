"""Training commands: train, evaluate, promote, retrain, models, tune, mlflow-ui."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from likecast.console import stages, stderr
from likecast.errors import UserError
from likecast.paths import check_outputs, model_folder
from likecast.redact import redact
from likecast.settings import Settings, get_settings
from likecast.target import Target, resolve_target

if TYPE_CHECKING:
    import pandas as pd

    from features.loading import Dataset
    from training.metrics import Beat

# MLflow, scikit-learn and LightGBM load inside each command: importing them takes seconds,
# which `likecast --help` and argument errors should not pay.

app = typer.Typer(no_args_is_help=True)

WIDE_TABLE = 160  # columns of a table printed to a pipe (`likecast models`)
PROMOTION_REFUSED = 3  # exit code of a promote that refused its candidate (README, "The CLI")

DataOption = typer.Option(..., "--data", help="Folder holding the videos and snapshots tables.")

# How each metric is headed in the tables the commands print.
METRIC_HEADERS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "log loss",
    "brier": "Brier",
    "ece": "ECE",
    "calibration_gap": "calib. gap",
    "positive_rate": "positive rate",
}


def metric_cells(
    row: Mapping[str, Any] | pd.Series, metrics: Sequence[str], digits: int = 4
) -> list[str]:
    """The metrics of one row as table cells; "-" where one is missing (None or NaN)."""
    return ["-" if row[m] is None or row[m] != row[m] else f"{row[m]:.{digits}f}" for m in metrics]


def metric_headers(metrics: Sequence[str]) -> list[str]:
    """The column headings of ``metrics``."""
    return [METRIC_HEADERS[m] for m in metrics]


def _settings(threshold: int | None, horizon_days: float | None, seed: int | None) -> Settings:
    """The settings of a command that builds for a target: the target given, else the
    champion's, else the default (likecast/target.py); said on stderr, since it decides
    every label."""
    from models.registry import champion_target

    base = get_settings(**({"seed": seed} if seed is not None else {}))
    settings, origin = resolve_target(base, threshold, horizon_days, champion_target)
    stderr().print(f"target: {Target.of(settings)} ({origin})", soft_wrap=True)
    return settings


ThresholdOption = typer.Option(
    None,
    "--threshold",
    min=1,
    help="Likes that count as a hit (default: the champion's, else 1000).",
)
HorizonOption = typer.Option(
    None,
    "--horizon-days",
    min=0.01,
    help="Days a video has to reach it (default: the champion's, else 7).",
)


def _load(data: Path, settings: Settings) -> Dataset:
    from features.loading import load_dataset

    dataset = load_dataset(data)
    written = dataset.write_rejects(settings.home / "rejects")
    for line in dataset.problem_lines():
        stderr().print(f"  rejected: {line}", soft_wrap=True)
    for path in written:
        stderr().print(f"rejected rows written to {path}")
    warning = dataset.formula_ids_warning()
    if warning:
        stderr().print(warning, soft_wrap=True, markup=False)
    dataset.check_reject_share(settings.max_reject_share)
    return dataset


# a params file holds a few dozen short settings; anything larger is not one
MAX_PARAMS_BYTES = 64 * 1024


def _read_params(path: Path | None) -> dict[str, Any]:
    """The ``--params`` file's overrides, refused whole when any key or value is wrong: a
    misspelt key silently left at its default would train another model than intended.

    At most ``MAX_PARAMS_BYTES`` are read (``/dev/zero`` is a file too), as UTF-8 JSON, so
    every file, however hostile, is refused in one line before the data is read.
    """
    from models.params import params_problems

    if path is None:
        return {}
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PARAMS_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot read LightGBM parameters ({exc.strerror or exc})") from exc
    if len(raw) > MAX_PARAMS_BYTES:
        raise UserError(
            f"{path}: larger than {MAX_PARAMS_BYTES // 1024} KB; a params file is a small "
            "JSON object of LightGBM parameters"
        )
    try:
        params = json.loads(
            raw.decode("utf-8-sig"), object_pairs_hook=_no_repeated_keys, parse_int=_short_int
        )
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path}: not UTF-8 (byte {exc.start}); save the params file as UTF-8 JSON"
        ) from exc
    except RecursionError as exc:
        raise UserError(f"{path}: nested too deeply to be LightGBM parameters") from exc
    except ValueError as exc:  # JSONDecodeError, a repeated key, a number of many digits
        raise UserError(f"{path}: cannot read LightGBM parameters as JSON ({exc})") from exc
    if not isinstance(params, dict):
        raise UserError(f"{path}: expected a JSON object of LightGBM parameters")
    problems = params_problems(params)
    if problems:
        raise UserError(f'{path}: {"; ".join(problems)} (README, "The params file")')
    return params


def _short_int(text: str) -> int:
    """A JSON whole number, refused past 40 digits (no parameter needs 11): Python
    refuses 4,300 with advice meant for programmers."""
    if len(text.lstrip("-")) > 40:
        raise ValueError(f"a whole number of {len(text):,} digits")
    return int(text)


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: JSON keeps the last of a repeated key,
    and the value the user meant might be the first."""
    from likecast.echo import shown

    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"{shown(key)} given twice")
        seen[key] = value
    return seen


@app.command("train")
def train_command(
    data: Path = DataOption,
    threshold: int | None = ThresholdOption,
    horizon_days: float | None = HorizonOption,
    experiment: str = typer.Option("likecast", "--experiment", help="MLflow experiment name."),
    params: Path | None = typer.Option(
        None, "--params", help="JSON file of LightGBM parameters to override."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default from settings)."),
    engine: str = typer.Option(
        "local", "--engine", help="local: train here; dask: train on a Dask cluster."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: a LocalCluster here)."
    ),
    negative_rate: float = typer.Option(
        1.0,
        "--negative-rate",
        help="Dask engine: share of negative train examples the booster trains on (0-1]; "
        "the answers are corrected and calibrated for it.",
    ),
    work: Path | None = typer.Option(
        None,
        "--work",
        help="Dask engine: folder for the passes' files, at the same path on every worker "
        "(default: under LIKECAST_HOME); emptied after.",
    ),
) -> None:
    """Train, calibrate and evaluate a model, log the run to MLflow and register a version."""
    if engine not in ("local", "dask"):
        raise UserError(f"--engine: expected local or dask, got {engine!r}")
    for name, given in (("--scheduler", scheduler), ("--work", work)):
        if given and engine != "dask":
            raise UserError(f"{name} needs --engine dask")
    if negative_rate != 1.0 and engine != "dask":
        raise UserError("--negative-rate needs --engine dask")

    overrides = _read_params(params)  # a bad file fails in one line, before anything else
    from features.loading import fingerprint
    from features.reading import data_parts, table_paths

    work = work or get_settings().home / "work"
    # the work folder is emptied after: it must hold none of the inputs
    check_outputs({"--data": table_paths(data), "--params": params}, {"--work": work})
    if scheduler:  # and a scheduler that is away or not one, before the tracking store
        from likecast.dask_cluster import check_scheduler

        check_scheduler(scheduler)
    # MLflow and the training code take seconds to import: a refusal above does not wait
    from models.mlflow_client import check_writable, connect
    from training.metrics import (
        baseline_beats,
        calibration_warning,
        describe_beats,
        disqualifying,
    )
    from training.tracking import experiment_id, log_and_register
    from training.train import fit

    settings = _settings(threshold, horizon_days, seed)
    client = connect(settings)  # fail before the work, not after it
    check_writable(client, experiment_id(client, experiment, settings), settings)
    clean_leftovers(client, experiment, work)
    if engine == "dask":
        parts = len(data_parts(data))
        with stages("train", 3 * (parts + 1) + 7) as advance:
            outcome, prints = _fit_on_dask(
                data, settings, overrides, advance, scheduler, work, negative_rate
            )
            registered = log_and_register(outcome, prints, settings, experiment, advance)
    else:
        with stages("train", 12) as advance:
            advance("loading data")
            dataset = _load(data, settings)
            outcome = fit(dataset, settings, overrides, advance)
            registered = log_and_register(
                outcome, fingerprint(data, dataset), settings, experiment, advance
            )
    beats = baseline_beats(outcome.tables)
    _print_tables(outcome.tables, beats)
    losses = disqualifying(beats)
    if losses:
        stderr().print(
            f"warning: {describe_beats(losses)}; promote will refuse this version",
            soft_wrap=True,
        )
    miscalibrated = calibration_warning(outcome.tables)
    if miscalibrated:
        stderr().print(f"warning: {miscalibrated}", soft_wrap=True)
    advice = "" if losses else "; promote it with: likecast promote"
    Console().print(
        f"registered [bold]{settings.model_name}[/bold] version {registered.version} "
        f"(run {registered.run_id}){advice}"
    )


def clean_leftovers(client: Any, experiment: str, work: Path | None = None) -> None:
    """Runs and temp folders of killed trains (see training/leftovers.py)."""
    from training.leftovers import fail_orphaned_runs, remove_stale_temp_folders

    for run_id in fail_orphaned_runs(client, experiment):
        stderr().print(f"marked run {run_id} FAILED: the train that ran it was killed")
    remove_stale_temp_folders()
    if work is not None and work.is_dir():
        remove_stale_temp_folders(work)


def _fit_on_dask(
    data: Path,
    settings: Settings,
    overrides: dict[str, Any],
    advance: Callable[[str], None],
    scheduler: str | None,
    work: Path,
    negative_rate: float,
) -> tuple[Any, dict[str, str | int]]:
    from dask.distributed import KilledWorker
    from lightgbm.basic import LightGBMError

    from likecast.dask_cluster import cluster
    from training.leftovers import temp_prefix
    from training.partitioned import fit_partitioned

    work.mkdir(parents=True, exist_ok=True)
    warn = stderr().print
    # without a scheduler: one worker per LightGBM thread allowed, the cores a local run uses
    try:
        with (
            tempfile.TemporaryDirectory(prefix=temp_prefix(), dir=work) as folder,
            cluster(scheduler, settings.lgbm_threads) as client,
        ):
            return fit_partitioned(
                data, settings, overrides, client, Path(folder), negative_rate, advance, warn
            )
    except (KilledWorker, LightGBMError, OSError) as exc:  # OSError: lost or no connection
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"training on the Dask cluster failed, nothing was registered: {reason}"
        ) from exc


def _print_tables(tables: Mapping[str, Any], beats: Sequence[Beat]) -> None:
    """Test metrics of LightGBM and each baseline; a baseline that beats LightGBM (overall or
    at an age) is starred, and the caption says where."""
    from training.metrics import RIVALS, in_words
    from training.train import BASELINES

    # Brier left to the run and its report: the calibration gap takes its place in 80 columns
    metrics = ("roc_auc", "pr_auc", "log_loss", "ece", "calibration_gap")
    where = {
        name: in_words([beat.bucket for beat in beats if beat.baseline == name])
        for name in BASELINES
    }
    notes = [f"* beats LightGBM: {name} {at}" for name, at in where.items() if at]
    references = [name for name in BASELINES if name not in RIVALS]
    notes.append(f"{', '.join(references)}: a reference, never a reason to refuse promotion")
    labels = {name: f"{name} *" if where.get(name) else name for name in ("lightgbm", *BASELINES)}
    table = Table(title="test metrics", caption="\n".join(notes))
    table.add_column("model", min_width=max(map(len, labels.values())))  # names never cut
    for header in metric_headers(metrics):
        table.add_column(header)
    for name, label in labels.items():
        table.add_row(label, *metric_cells(tables[name].loc["all"], metrics))
    Console().print(table)


@app.command("evaluate")
def evaluate_command(
    data: Path = DataOption,
    model: str | None = typer.Option(
        None, "--model", help="Model URI or folder (default models:/likecast@champion)."
    ),
    output: Path | None = typer.Option(None, "--output", help="Also write the metrics as JSON."),
) -> None:
    """Score labeled data with a model and report metrics overall and by age."""
    from features.examples import grid_rows, video_rows
    from features.labels import label_videos
    from features.reading import table_paths
    from features.store import data_end
    from models.registry import load_model
    from training.train import evaluate_bundle

    settings = get_settings()
    check_outputs(
        {"--data": table_paths(data), "--model": model_folder(model)}, {"--output": output}
    )
    loaded = load_model(model, settings)
    spec = loaded.bundle.spec
    settings = settings.model_copy(
        update={"threshold": spec.threshold, "horizon_days": spec.horizon_minutes / 1440}
    )
    dataset = _load(data, settings)
    labels = label_videos(
        dataset.videos,
        dataset.snapshots,
        spec.threshold,
        spec.horizon_minutes,
        observed_until=data_end(dataset),
    )
    labeled = labels["labeled"].to_numpy()
    if not labeled.any():
        raise UserError(f"{data}: no video's horizon has passed; nothing to evaluate")
    per_video = video_rows(
        dataset.videos, labels, spec.threshold, spec.horizon_minutes, settings.history_window
    )
    rows = grid_rows(per_video[labeled], dataset.snapshots, spec.ages, spec.horizon_minutes)
    y = labels["label"].to_numpy()[labeled].repeat(len(spec.ages))
    table = evaluate_bundle(loaded.bundle, rows, y, spec.ages)
    metrics = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "positive_rate")
    printed = Table(
        "age",
        "open rows",
        *metric_headers(metrics),
        "decided by counts",
        "of them right",
        title=f"{loaded.uri} (version {loaded.version or '-'}, {spec.target}): the model on "
        "the rows still open, and the rows the counts decided",
    )
    for age, row in table.iterrows():
        printed.add_row(
            str(age),
            f"{row['n']:,.0f}" if row["n"] == row["n"] else "0",
            *metric_cells(row, metrics),
            f"{row['decided']:,.0f}",
            f"{row['decided_right']:.1%}" if row["decided_right"] == row["decided_right"] else "-",
        )
    Console().print(printed)
    if output:
        from likecast.atomic import write_text

        plain = table.astype(object).where(table.notna(), None)  # JSON has no NaN
        write_text(json.dumps(plain.to_dict(orient="index"), indent=2), output)


@app.command("promote")
def promote_command(
    version: str | None = typer.Option(
        None, "--version", help="Version to promote (default: the newest)."
    ),
    alias: str | None = typer.Option(None, "--alias", help="Alias to move (default champion)."),
    force: bool = typer.Option(
        False, "--force", help="Move the alias without comparing with the champion or baselines."
    ),
) -> None:
    """Move the serving alias to a version not measurably worse than the current one and beaten by
    no baseline; exit 3 when the candidate is refused."""
    from models.mlflow_client import connect
    from training.promote import promote

    settings = get_settings()
    alias = alias or settings.alias
    decision = promote(connect(settings), settings, alias, version, force)
    console = Console()
    if decision.candidate_metrics and decision.champion_metrics:
        metrics = ("roc_auc", "log_loss", "ece")
        table = Table("model", *metric_headers(metrics))
        table.add_row(
            f"candidate v{decision.candidate}",
            *metric_cells(decision.candidate_metrics, metrics, digits=5),
        )
        table.add_row(
            f"champion v{decision.champion}",
            *metric_cells(decision.champion_metrics, metrics, digits=5),
        )
        console.print(table)
    if decision.moved:
        outcome = f"moved on version {decision.candidate}"
    elif decision.champion is None:
        outcome = f"left unset, not moved to version {decision.candidate}"
    else:
        outcome = f"kept on version {decision.champion}"
    console.print(f"@{alias} {outcome}: {decision.reason}", soft_wrap=True)
    if not decision.moved and decision.champion != decision.candidate:
        raise typer.Exit(PROMOTION_REFUSED)  # scripts must see the candidate was not promoted


@app.command("retrain")
def retrain_command(
    data: Path = DataOption,
    force: bool = typer.Option(
        False, "--force", help="Promote the candidate without comparing it (as promote --force)."
    ),
    experiment: str = typer.Option("likecast", "--experiment", help="MLflow experiment name."),
) -> None:
    """Train on the newest data for the champion's target with its parameters, then promote
    the candidate if it is not measurably worse; exit 3 when it is refused (as promote)."""
    from features.loading import fingerprint
    from features.reading import table_paths
    from models.mlflow_client import check_writable, connect
    from models.registry import champion_target
    from training.retrain import retrain
    from training.tracking import experiment_id

    check_outputs({"--data": table_paths(data)}, {})
    settings = get_settings()
    held = champion_target(settings)
    if held is None:
        raise UserError(
            f"no version holds @{settings.alias}: train one and promote it before retraining"
        )
    client = connect(settings)
    check_writable(client, experiment_id(client, experiment, settings), settings)
    stderr().print(f"target: {held[0]} (the champion's, version {held[1]})", soft_wrap=True)
    with stages("retrain", 13) as advance:
        advance("loading data")
        dataset = _load(data, settings)
        done = retrain(
            client, settings, dataset, fingerprint(data, dataset), experiment, force, advance
        )
    decision = done.decision
    verdict = "promoted" if decision.moved else "refused"
    Console().print(
        f"retrain: version {done.candidate} {verdict} against the champion "
        f"(version {done.champion or '-'}): {decision.reason} (run {done.run_id})",
        soft_wrap=True,
    )
    if not decision.moved and decision.champion != decision.candidate:
        raise typer.Exit(PROMOTION_REFUSED)


@app.command("models")
def models_command() -> None:
    """List registered versions, their test metrics, and which holds each alias."""
    from models.mlflow_client import connect
    from training.tracking import version_summary

    settings = get_settings()
    rows = version_summary(connect(settings), settings.model_name)
    if not rows:
        Console().print(f"no versions of {settings.model_name} registered yet")
        return
    metrics = ("roc_auc", "log_loss", "ece", "calibration_gap")
    aliases = [", ".join(f"@{a}" for a in row["aliases"]) for row in rows]
    # what each version predicts: versions of other targets are not comparable
    targets = [_short(row["target"]) for row in rows]
    table = Table()
    table.add_column("version", min_width=len("version"))
    table.add_column("aliases", min_width=max(map(len, aliases)))  # never cut short
    table.add_column("target", min_width=max(map(len, targets)))
    for header in metric_headers(metrics):
        table.add_column(header, min_width=6)  # a figure is never cut short
    table.add_column("created", overflow="fold")
    table.add_column("run", overflow="fold")  # 32 characters: folded, never cut short
    for row, held, target in zip(rows, aliases, targets, strict=True):
        table.add_row(
            row["version"],
            held,
            target,
            *metric_cells(row, metrics),
            row["created"][:16].replace("T", " "),
            row["run_id"] or "-",
        )
    # ten columns do not fit in the 80 a console assumes when nothing tells it a width:
    # piped output (a file, a script) has no terminal to fit, so it gets the room it needs
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    Console(width=None if wide else WIDE_TABLE).print(table)


def _short(target: Target | None) -> str:
    """A target in a table's few columns: "50,000/3d"; "-" when the version has none."""
    if target is None:
        return "-"
    return f"{target.threshold:,}/{target.horizon_days:g}d"


@app.command("tune")
def tune_command(
    data: Path = DataOption,
    trials: int = typer.Option(20, "--trials", min=1, help="Optuna trials to run."),
    experiment: str = typer.Option(
        "likecast-tune", "--experiment", help="MLflow experiment of the parent run."
    ),
    output: Path = typer.Option(
        Path("best_params.json"),
        "--output",
        help="Where to write the best parameters (for train --params).",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the search and of LightGBM."),
    threshold: int | None = ThresholdOption,
    horizon_days: float | None = HorizonOption,
) -> None:
    """Search LightGBM parameters with Optuna for the champion's target (or the one given);
    each trial is a nested MLflow run."""
    from features.reading import table_paths
    from likecast.atomic import write_text
    from models.mlflow_client import connect
    from training.tune import tune

    check_outputs({"--data": table_paths(data)}, {"--output": output})
    settings = _settings(threshold, horizon_days, seed)
    connect(settings)
    dataset = _load(data, settings)
    with stages("tune", trials) as advance:
        best, loss, run_id = tune(
            dataset,
            settings,
            trials,
            experiment,
            lambda i, value: advance(f"trial {i}: log loss {value:.4f}"),
        )
    write_text(json.dumps(best, indent=2), output)
    Console().print(f"best validation log loss {loss:.5f} (run {run_id}): {json.dumps(best)}")
    # the target too: parameters tuned for one target are no reason to train for another
    Console().print(
        f"train with it: likecast train --data {data} {Target.of(settings).options()} "
        f"--params {output}",
        soft_wrap=True,
    )


@app.command("mlflow-ui")
def mlflow_ui_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address the UI binds to."),
    port: int = typer.Option(5000, "--port", help="Port of the UI."),
) -> None:
    """Open MLflow's UI on likecast's tracking store (runs until Ctrl-C)."""
    settings = get_settings()
    uri = settings.resolved_tracking_uri
    if not uri.startswith("sqlite:"):
        raise UserError(
            f"the tracking store is a server ({redact(uri)}); open it in a browser instead"
        )
    args = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--default-artifact-root",
        settings.artifact_root.as_uri(),
        "--host",
        host,
        "--port",
        str(port),
    ]
    stderr().print(f"MLflow UI on http://{host}:{port} (tracking {redact(uri)})")
    os.execv(sys.executable, args)

"""Where a drift check's findings go: a table for the person, last.json for /metrics, MLflow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from features.monitoring_last import CheckFigures
from likecast.settings import Settings
from training.monitor.drift import ALL, DriftReport

PLOT = "drift.png"


def pace_gap(report: DriftReport) -> str:
    """How far the pace part was carried, or why there is none, in words."""
    if report.pace_note is not None:
        return report.pace_note
    return f"carried {report.gap_days or 0.0:.1f} days from the reference's middle"


def print_report(report: DriftReport, console: Console) -> None:
    """The comparisons (all buckets first, the moved ones on top), then what moved."""
    table = Table(
        "feature",
        "age bucket",
        "rows",
        "distance",
        "noise",
        "pace",
        "threshold",
        "moved?",
        "attribution rank",
        title=f"drift of version {report.model_version} ({report.answers:,} answers; "
        f"Jensen-Shannon divergence vs its threshold: chance's (noise: bootstrap, "
        f"{report.comparisons} comparisons at a {report.false_alarm:.0%} false-alarm rate "
        f"together) and its own pace in the reference (pace, {pace_gap(report)}), "
        f"added as distances: (sqrt noise + sqrt pace)^2)",
    )
    order = sorted(report.checks, key=lambda c: (not c.moved, c.bucket != ALL, -c.ratio))
    for check in order:
        if check.bucket != ALL and not check.moved:
            continue  # a bucket is shown when it moved; every quantity over all ages is
        table.add_row(
            check.feature,
            check.bucket,
            f"{check.rows:,}",
            f"{check.distance:.4f}",
            f"{check.noise:.4f}",
            f"{check.pace:.4f}",
            f"{check.threshold:.4f}",
            "[red]yes[/red]" if check.moved else "no",
            "-" if check.attribution_rank is None else str(check.attribution_rank),
        )
    console.print(table)
    if report.moved:
        console.print(
            f"moved: {', '.join(report.moved)}; the one the model leans on most: "
            f"[bold]{report.moved_most_attributed}[/bold]"
        )
    else:
        console.print("no feature moved beyond its threshold")
    for title, shares in (
        ("category mix", report.category_mix),
        ("answers", report.answer_distribution),
    ):
        mix = Table("bin", "reference", "window", title=title)
        for share in shares:
            mix.add_row(share.name, f"{share.reference:.1%}", f"{share.window:.1%}")
        console.print(mix)
    console.print(f"left out: {report.left_out}")


def last_figures(report: DriftReport, window: tuple[datetime, datetime] | None) -> CheckFigures:
    """The check's figures for ``home/monitoring/last.json``, where ``/metrics`` reads them."""
    return CheckFigures(
        checked_at=datetime.now(UTC),
        model_version=report.model_version,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        answers=report.answers,
        alert=report.alert,
        figures={
            "max_ratio": report.max_ratio,
            "max_distance": report.max_distance,
            "features_moved": float(len(report.moved)),
        },
    )


def plot(report: DriftReport, target: Path) -> Path:
    """Each quantity's distance over all ages against its threshold, on one bar chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks = sorted((c for c in report.checks if c.bucket == ALL), key=lambda c: c.ratio)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(checks) + 1.5))
    names = [c.feature for c in checks]
    ax.barh(names, [c.distance for c in checks], color=["C3" if c.moved else "C0" for c in checks])
    ax.scatter(
        [c.threshold for c in checks], names, marker="|", s=200, color="k", label="threshold"
    )
    ax.set_xscale("log")
    ax.set_xlabel("Jensen-Shannon distance (all ages)")
    ax.set_title(f"drift of version {report.model_version}: {report.answers:,} answers")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def log_to_mlflow(report: DriftReport, settings: Settings, model_uri: str) -> str:
    """One run in "<model name>-monitoring", tagged with the version: figures, report, plot."""
    import tempfile

    import mlflow

    from models.mlflow_client import connect
    from training.tracking import experiment_id

    client = connect(settings)
    experiment = experiment_id(client, f"{settings.model_name}-monitoring", settings)
    with tempfile.TemporaryDirectory(prefix="likecast-drift-") as folder:
        image = plot(report, Path(folder) / PLOT)
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.set_tags(
                {
                    "likecast.kind": "drift",
                    "likecast.model_version": report.model_version,
                    "likecast.model_uri": model_uri,
                    "likecast.alert": str(report.alert).lower(),
                }
            )
            mlflow.log_metrics(
                {
                    "answers": float(report.answers),
                    "max_ratio": report.max_ratio,
                    "max_distance": report.max_distance,
                    "features_moved": float(len(report.moved)),
                }
            )
            mlflow.log_dict(report.model_dump(mode="json"), "drift.json")
            mlflow.log_artifact(str(image))
    return str(run.info.run_id)

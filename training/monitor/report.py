"""The monitoring report: one HTML file, its plots embedded, readable without a server.

It shows, per model version, the ROC AUC estimated from the answers day by day and, where a
later crawl labels them, the realized AUC of the same days; the drift of the features that
moved most or matter most, window by window, by the drift check itself
(``training.monitor.drift_over_time``), with the answers' mean and spread; the outcome
table's AUC by age (realized, test slice, estimate) and the reliability of the labeled
answers. Days are those of each answer's moment (``drift_over_time.answer_moment``).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from training.metrics import ranking_scores
from training.monitor.drift_over_time import answer_moment, top_features
from training.monitor.estimate import NO_LABELS, estimate_group
from training.monitor.plots import outcome_plots

DRIFT_RULE = (
    "Each window is a day of the answers' moments, joined with the next days until it holds "
    "LIKECAST_DRIFT_MIN_ROWS answers the model gave itself (a last short one joins the window "
    "before); each is judged as `likecast monitor drift --since START --until END` would. "
    "Shown: the features farthest beyond their thresholds in any window and those the model "
    "leans on most, as distance over threshold (above 1: moved); red spans: windows that "
    "alerted (a feature or the answers moved, over all ages or in an age bucket)."
)
# a version's drift over time: (one row per window and quantity, one row per window), or why
# there is none
Drift = tuple[pd.DataFrame, pd.DataFrame] | str


def daily_auc(answers: pd.DataFrame, labeled: pd.DataFrame | None, seed: int) -> pd.DataFrame:
    """Per version and day of logging: answers, estimated AUC with its interval, and the
    realized AUC of the day's labeled answers (NaN without labels)."""
    rows = []
    days = answer_moment(answers).dt.floor("D")
    for (version, day), group in answers.groupby([answers["model_version"], days], sort=True):
        figures = estimate_group(
            group["probability"].to_numpy(), group["video_id"].to_numpy(), seed
        )
        realized = float("nan")
        if labeled is not None and len(labeled):
            mine = labeled[
                (labeled["model_version"] == version)
                & (answer_moment(labeled).dt.floor("D") == day)
            ]
            realized = ranking_scores(
                mine["label"].to_numpy(dtype="float64"),
                mine["probability"].to_numpy(dtype="float64"),
            )[0]
        rows.append(
            {
                "model_version": str(version),
                "day": day,
                "answers": len(group),
                "estimated_auc": figures["expected_auc"],
                "estimated_low": figures["auc_low"],
                "estimated_high": figures["auc_high"],
                "realized_auc": realized,
            }
        )
    return pd.DataFrame(rows)


def daily_plot(days: pd.DataFrame, version: str, path: Path) -> Path:
    """Estimated AUC per day with its 90% band, and the realized AUC where labels exist."""
    mine = days[days["model_version"] == version]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.fill_between(
        mine["day"],
        mine["estimated_low"],
        mine["estimated_high"],
        alpha=0.25,
        label="estimate's 90% interval",
    )
    ax.plot(mine["day"], mine["estimated_auc"], marker=".", label="estimated (no labels)")
    if np.isfinite(mine["realized_auc"].to_numpy(dtype="float64")).any():
        ax.plot(mine["day"], mine["realized_auc"], marker="o", linestyle="", label="realized")
    ax.set_ylabel("ROC AUC")
    ax.set_title(f"version {version}: ROC AUC of each day's answers")
    ax.legend(fontsize="small")
    return _saved(fig, path)


def drift_plot(checks: pd.DataFrame, summary: pd.DataFrame, version: str, path: Path) -> Path:
    """The top features' distance over threshold per window, the alerted windows in red, and
    below it the answers' mean with their 10th-90th percentile band."""
    middle = summary["start"] + (summary["end"] - summary["start"]) / 2
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for row in summary[summary["alert"]].itertuples():
        top.axvspan(row.start, row.end, color="tab:red", alpha=0.12, linewidth=0)
    for name in top_features(checks):
        mine = checks[checks["feature"] == name]
        top.plot(
            mine["start"] + (mine["end"] - mine["start"]) / 2,
            mine["ratio"],
            marker=".",
            label=name,
        )
    top.axhline(1.0, color="k", linestyle="--", linewidth=0.8, label="threshold")
    top.set_yscale("log")
    top.set_ylabel("distance / threshold")
    top.set_title(f"version {version}: drift per feature, window by window (red: alerted)")
    top.legend(fontsize="x-small", ncol=2)
    bottom.fill_between(
        middle, summary["answer_p10"], summary["answer_p90"], alpha=0.25, label="10th-90th pct"
    )
    bottom.plot(middle, summary["answer_p50"], linestyle=":", label="median")
    bottom.plot(middle, summary["answer_mean"], marker=".", label="mean")
    bottom.set_ylabel("answer")
    bottom.legend(fontsize="x-small")
    return _saved(fig, path)


def drift_table(checks: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per window: its span, answers, alert and moved features, the answers' mean,
    and each top feature's distance with its ratio to the threshold."""
    cells = checks.assign(
        cell=[
            f"{d:.4f} ({r:.2f}x){' *' if m else ''}"
            for d, r, m in zip(checks["distance"], checks["ratio"], checks["moved"], strict=True)
        ]
    )
    wide = cells[cells["feature"].isin(top_features(checks))].pivot(
        index="start", columns="feature", values="cell"
    )
    table = summary.set_index("start").join(wide[top_features(checks)]).reset_index()
    return table.assign(
        start=table["start"].dt.strftime("%Y-%m-%d"),
        end=(table["end"] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"),
        alert=table["alert"].map({True: "ALERT", False: ""}),
    ).drop(columns=["model_version", "answer_p10", "answer_p50", "answer_p90"])


def _drift_section(drift: dict[str, Drift], folder: Path) -> list[str]:
    parts = ["<h2>Drift per feature over time</h2>", f"<p>{html.escape(DRIFT_RULE)}</p>"]
    for version, found in sorted(drift.items()):
        parts.append(f"<h3>Version {html.escape(version)}</h3>")
        if isinstance(found, str):
            parts.append(f"<p>{html.escape(found)}</p>")
            continue
        checks, summary = found
        parts.append(_image(drift_plot(checks, summary, version, folder / f"drift_v{version}.png")))
        parts.append(
            "<p>Cells: distance (distance / threshold), * where it moved; the end day is "
            "included.</p>"
        )
        parts.append(_table(drift_table(checks, summary)))
    return parts


def _saved(fig: Figure, path: Path) -> Path:
    """The figure written to ``path`` as a PNG (dates slanted to fit), and closed."""
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-", border=0)


def render(
    days: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    labeled: pd.DataFrame | None,
    counts: dict[str, int] | None,
    drift: dict[str, Drift],
    folder: Path,
    title: str,
) -> str:
    """The report's HTML; the plots are drawn into ``folder`` and embedded as data URIs."""
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(NO_LABELS)}</p>"]
    for version in sorted(days["model_version"].unique()):
        parts.append(f"<h2>Version {html.escape(version)}</h2>")
        parts.append(_image(daily_plot(days, version, folder / f"daily_v{version}.png")))
    parts.append("<h2>Estimated and realized AUC by day</h2>")
    parts.append(_table(days.assign(day=days["day"].dt.strftime("%Y-%m-%d"))))
    if outcomes is not None and labeled is not None and counts is not None:
        parts.append("<h2>Outcomes</h2>")
        parts.append(_table(pd.DataFrame({"answers": list(counts), "count": counts.values()})))
        for path in outcome_plots(labeled, outcomes, folder):
            parts.append(_image(path))
        parts.append(_table(outcomes))
    else:
        parts.append("<p>No outcomes: give --data (a later crawl) to add realized figures.</p>")
    parts += _drift_section(drift, folder)
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;"
        "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )

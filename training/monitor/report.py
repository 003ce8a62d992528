"""The monitoring report: one HTML file, its plots embedded, readable without a server.

It shows, per model version, the ROC AUC estimated from the answers day by day and, where a
later crawl labels them, the realized AUC of the same days; the outcome table's AUC by age
(realized, test slice, estimate) and the reliability of the labeled answers. Drift per
feature over time belongs to the drift check's module (``likecast monitor drift``); the
report says where it is absent.
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

from training.metrics import ranking_scores
from training.monitor.estimate import NO_LABELS, estimate_group
from training.monitor.plots import outcome_plots

DRIFT_ABSENT = (
    "Drift per feature over time: not in this report; `likecast monitor drift` judges the "
    "inputs against the training reference."
)


def daily_auc(answers: pd.DataFrame, labeled: pd.DataFrame | None, seed: int) -> pd.DataFrame:
    """Per version and day of logging: answers, estimated AUC with its interval, and the
    realized AUC of the day's labeled answers (NaN without labels)."""
    rows = []
    days = answers["logged_at"].dt.floor("D")
    for (version, day), group in answers.groupby([answers["model_version"], days], sort=True):
        figures = estimate_group(
            group["probability"].to_numpy(), group["video_id"].to_numpy(), seed
        )
        realized = float("nan")
        if labeled is not None and len(labeled):
            mine = labeled[
                (labeled["model_version"] == version) & (labeled["logged_at"].dt.floor("D") == day)
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
    parts.append(f"<h2>Drift</h2><p>{html.escape(DRIFT_ABSENT)}</p>")
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

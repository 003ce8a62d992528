"""Explanations in a creator's words: which factors pushed the probability up or down.

Contributions are LightGBM's exact per-feature SHAP values (log-odds). They are computed
only when a request asks, because they cost far more than the prediction itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TOP = 3
TYPICAL_FEATURES = ("completion_rate", "retention_3s")
TECHNICAL = ("age_minutes", "minutes_since_obs")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _count(value: float) -> str:
    return f"{math.expm1(value):,.0f}"


def _pct(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.2f}"


# feature -> (plain name, how to show its value)
WORDS = {
    "category": ("category", str),
    "duration_log": ("duration", lambda v: f"{math.exp(v):.0f} s"),
    "post_hour": ("posting hour", lambda v: f"{int(v):02d}:{round(v % 1 * 60) % 60:02d}"),
    "post_weekday": ("posting day", lambda v: WEEKDAYS[int(v)]),
    "caption_len": ("caption length", lambda v: f"{v:.0f} characters"),
    "hashtag_count": ("hashtags", lambda v: f"{v:.0f}"),
    "music_trending": ("trending music", lambda v: "yes" if v else "no"),
    "followers_log": ("followers", _count),
    "cold_start": ("creator history", lambda v: "none yet" if v else "known"),
    "hist_videos": ("earlier videos with a known outcome", lambda v: f"{v:.0f}"),
    "hist_median_likes_log": ("creator's median likes", _count),
    "hist_p90_likes_log": ("creator's best-10% likes", _count),
    "hist_hit_rate": ("creator's share of 1000-like videos", _pct),
    "days_since_prev_post": ("days since the last post", lambda v: f"{v:.1f}"),
    "age_minutes": ("minutes since posting", lambda v: f"{v:.0f}"),
    "minutes_since_obs": ("minutes since the counts were read", lambda v: f"{v:.0f}"),
    "views_log": ("views", _count),
    "likes_log": ("likes", _count),
    "comments_log": ("comments", _count),
    "shares_log": ("shares", _count),
    "follows_log": ("follows", _count),
    "replies_log": ("replies to comments", _count),
    "completion_rate": ("completion rate", _pct),
    "retention_3s": ("3-second retention", _pct),
    "likes_per_hour": ("likes per hour lately", lambda v: f"{v:,.0f}"),
    "growth_ratio": ("growth speed-up", lambda v: f"x{math.exp(v):.2f}"),
    "projected_likes_log": ("projected likes at the horizon", _count),
    "gap_to_threshold_log": (
        "distance to the threshold",
        lambda v: f"{math.exp(v):.1f}x the likes so far",
    ),
}


def typical_values(features: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Median of each engagement rate by category (and overall), for 'above typical' words."""
    out: dict[str, dict[str, float]] = {}
    for name in TYPICAL_FEATURES:
        column = features[name]
        medians = column.groupby(features["category"], observed=True).median().dropna()
        out[name] = {str(k): float(v) for k, v in medians.items()}
        if column.notna().any():
            out[name]["_all"] = float(column.median())
    return out


def describe(
    name: str, value: object, category: object, typical: dict[str, dict[str, float]]
) -> str:
    label, show = WORDS.get(name, (name.replace("_", " "), str))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"{label} unknown"
    text = f"{label} {show(value)}"
    known = typical.get(name, {})
    where = str(category) if isinstance(category, str) and category in known else "_all"
    if where in known:
        side = "above" if float(value) > known[where] else "below"
        text += f", {side} typical" + (f" for {where}" if where != "_all" else "")
    return text


def top_factors(
    features: pd.Series, contributions: pd.Series, typical: dict[str, dict[str, float]]
) -> dict[str, list[dict]]:
    """The strongest pushes up and down, each named in plain words with its value."""
    # A draft's engagement features are all missing: their pushes only say "this is a
    # draft", which a creator cannot act on. Show factors that have a value.
    given = [n for n in features.index if not pd.isna(features[n]) and n not in TECHNICAL]
    pushes = contributions.drop("_base")[given]
    category = features.get("category")
    category = None if pd.isna(category) else str(category)

    def pick(ordered: pd.Series) -> list[dict]:
        return [
            {
                "feature": name,
                "contribution": float(push),
                "text": describe(name, features[name], category, typical),
            }
            for name, push in ordered.items()
        ]

    return {
        "up": pick(pushes[pushes > 0].sort_values(ascending=False).head(TOP)),
        "down": pick(pushes[pushes < 0].sort_values().head(TOP)),
    }

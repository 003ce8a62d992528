"""The simulated platform's fixed facts: categories, the audience's day, per-play medians.

Medians are KuaiRand-Pure's (docs/facts.md); the crawl's ages and the traffic rounds' shape
are here too, so every other module of the simulation draws from the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Category:
    """A video category and how it draws views, likes and text."""

    name: str
    weight: float  # share of creators whose home it is
    audience: float  # multiplier on recommendation pool sizes
    saturation: float  # extra bar to clear for promotion (crowded niches)
    duration_s: float  # typical duration
    mix: tuple[float, float, float]  # practical, emotional, entertainment


CATEGORIES: tuple[Category, ...] = (
    Category("food", 0.13, 1.1, 0.00, 45, (0.50, 0.20, 0.30)),
    Category("education", 0.09, 0.9, -0.20, 90, (0.75, 0.10, 0.15)),
    Category("rural_life", 0.08, 0.9, -0.25, 50, (0.30, 0.50, 0.20)),
    Category("comedy", 0.15, 1.4, 0.45, 25, (0.05, 0.15, 0.80)),
    Category("drama", 0.10, 1.3, 0.40, 60, (0.05, 0.45, 0.50)),
    Category("life_tips", 0.10, 1.0, -0.10, 35, (0.80, 0.05, 0.15)),
    Category("gaming", 0.10, 1.0, 0.20, 40, (0.10, 0.10, 0.80)),
    Category("beauty", 0.09, 1.1, 0.25, 30, (0.40, 0.20, 0.40)),
    Category("music", 0.08, 1.0, 0.15, 35, (0.05, 0.50, 0.45)),
    Category("sports", 0.08, 1.0, 0.05, 30, (0.15, 0.35, 0.50)),
)
CONTENT_TYPES = ("practical", "emotional", "entertainment")
LIKE_BY_TYPE = np.array([0.15, 0.20, -0.20])  # log-scale effect on the like rate

# Audience activity by local hour (evening peak 20:00-22:00), scaled to mean 1 so that one
# "activity hour" is one average hour of platform traffic.
_ACTIVITY = np.array(
    [
        0.55,
        0.35,
        0.22,
        0.15,
        0.12,
        0.15,
        0.30,
        0.55,
        0.80,
        0.85,
        0.85,
        0.90,
        1.10,
        1.10,
        0.90,
        0.85,
        0.90,
        1.00,
        1.20,
        1.45,
        1.75,
        1.90,
        1.70,
        1.10,
    ]
)
ACTIVITY = _ACTIVITY / _ACTIVITY.mean()
_CUM_ACTIVITY = np.concatenate([[0.0], np.cumsum(ACTIVITY)])
POSTING_HOURS = ACTIVITY**1.3 / (ACTIVITY**1.3).sum()

# Per-play medians from KuaiRand-Pure.
MEDIAN_RATES = {
    "play": 0.61,
    "retention_3s": 0.70,
    "completion": 0.175,
    "like": 0.022,
    "comment": 0.0009,
    "follow": 0.0013,
    "share": 0.0002,
}
SNAPSHOT_AGES_MINUTES = (0, 15, 30, 60, 120, 240, 360, 720, 1440, 2880, 4320, 10080)
ROUNDS = 6  # recommendation rounds after the first (cold start + followers)
POOL_GROWTH = 4.5  # each round's pool is this many times the last
COLD_POOL = 400.0
ROUND_HOURS = 2.0  # activity-hours to deliver the first round; later ones take longer
TAIL_SHARE = 0.15  # long-tail traffic after the rounds, as a share of round traffic
TAIL_HOURS = 7 * 24.0
COUNTERS = ("views", "likes", "comments", "replies", "shares", "follows", "completed", "kept_3s")


def activity_clock(local_hours: np.ndarray) -> np.ndarray:
    """Cumulative activity-hours from a local midnight to ``local_hours`` later."""
    days = np.floor(local_hours / 24.0)
    rest = local_hours - 24.0 * days
    hour = np.minimum(rest.astype(np.int64), 23)
    return days * 24.0 + _CUM_ACTIVITY[hour] + ACTIVITY[hour] * (rest - hour)

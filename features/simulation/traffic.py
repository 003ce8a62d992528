"""Traffic in rounds: a video whose feedback beats its peers' reaches a larger pool.

Each round's pool is several times the last; the promotion bar is bisected on a pilot
sample until the share of hits is the one asked for, so the platform decides who crosses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulation.config import SimConfig
from features.simulation.facts import (
    CATEGORIES,
    COLD_POOL,
    COUNTERS,
    MEDIAN_RATES,
    POOL_GROWTH,
    ROUND_HOURS,
    ROUNDS,
    TAIL_HOURS,
    TAIL_SHARE,
    activity_clock,
)
from features.simulation.parts import Seed


@dataclass
class Rounds:
    """Per video and round: start (activity-hours after posting), length, and counts."""

    start: np.ndarray  # (n, R)
    length: np.ndarray  # (n, R)
    counts: dict[str, np.ndarray]  # each (n, R), integer counts drawn for that round
    reached: np.ndarray  # (n,) last recommendation round released to


def _draw_round(
    rng: np.random.Generator, impressions: np.ndarray, rates: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    views = rng.binomial(impressions.astype(np.int64), rates["play"])
    comments = rng.binomial(views, rates["comment"])
    return {
        "views": views,
        "likes": rng.binomial(views, rates["like"]),
        "comments": comments,
        "replies": rng.poisson(comments * rates["reply_per_comment"]),
        "shares": rng.binomial(views, rates["share"]),
        "follows": rng.binomial(views, rates["follow"]),
        "completed": rng.binomial(views, rates["completion"]),
        "kept_3s": rng.binomial(views, rates["retention_3s"]),
    }


# how the platform ranks a round's feedback: (counter, its rate, weight, spread)
FEEDBACK: tuple[tuple[str, str, float, float], ...] = (
    ("kept_3s", "retention_3s", 1.0, 0.35),
    ("completed", "completion", 1.0, 0.6),
    ("likes", "like", 1.2, 0.5),
    ("comments", "comment", 0.4, 0.7),
    ("shares", "share", 0.4, 0.8),
    ("follows", "follow", 0.5, 0.7),
)


@dataclass(frozen=True)
class PoolRules:
    """The pool rules: each feedback's weight, and that of comment depth (replies per
    comment), which today's rules ignore and a revision may weigh (``scenarios``)."""

    parts: tuple[tuple[str, str, float, float], ...] = FEEDBACK
    depth: float = 0.0


def _feedback_score(
    drawn: dict[str, np.ndarray], category: np.ndarray, rules: PoolRules
) -> np.ndarray:
    """How a round's realized feedback ranks against peers: the platform's release signal."""
    views = np.maximum(drawn["views"], 1)
    score = np.zeros(len(views))
    for counter, rate, weight, spread in rules.parts:
        realized = (drawn[counter] + 0.5) / (views + 0.5 / MEDIAN_RATES[rate])
        score += weight * (np.log(realized) - np.log(MEDIAN_RATES[rate])) / spread
    if rules.depth:
        depth = (drawn["replies"] + 0.5) / (drawn["comments"] + 2.0)
        score += rules.depth * (np.log(depth) - np.log(0.25)) / 0.5
    saturation = np.array([c.saturation for c in CATEGORIES])[category]
    return score / 3.0 - saturation


def simulate_rounds(
    v: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
    offset: float,
    seed: Seed,
    rules: PoolRules = PoolRules(),
) -> Rounds:
    rng = np.random.default_rng(seed)
    n = len(v["hook"])
    audience = np.array([c.audience for c in CATEGORIES])[v["category"]]
    followers = np.nan_to_num(v["followers"])
    # followers' feeds saturate for huge accounts (the "Gini" cap on big creators)
    feed = 0.12 * followers / (1.0 + followers / 2e5)
    first = feed + COLD_POOL * audience * rng.uniform(0.75, 1.25, n)
    n_rounds = ROUNDS + 2  # first round, recommendation rounds, long tail
    start = np.zeros((n, n_rounds))
    length = np.zeros((n, n_rounds))
    counts = {k: np.zeros((n, n_rounds), dtype=np.int64) for k in COUNTERS}
    impressions = first
    active = np.ones(n, dtype=bool)
    reached = np.zeros(n, dtype=np.int64)
    clock = np.zeros(n)
    # big accounts find it harder to be boosted further: diminishing returns
    gini = 0.25 * np.log10(1.0 + followers / 1e4)
    music = 0.15 * v["music_trending"]
    for r in range(ROUNDS + 1):
        hours = ROUND_HOURS * 1.7**r
        start[:, r] = clock
        length[:, r] = hours
        drawn = _draw_round(rng, np.where(active, impressions, 0), rates)
        for k in COUNTERS:
            counts[k][:, r] = drawn[k]
        bar = offset + 0.35 * r + gini
        noise = rng.normal(0, 0.35, n)
        released = active & (_feedback_score(drawn, v["category"], rules) + music + noise > bar)
        reached = np.where(released, r + 1, reached)
        active = released
        clock = clock + hours + 0.25
        impressions = COLD_POOL * audience * POOL_GROWTH ** (r + 1)
    # long tail: search, shares and profile visits after the rounds, spread over a week
    total_views = counts["views"][:, : ROUNDS + 1].sum(axis=1)
    tail = rng.poisson(TAIL_SHARE * total_views / np.maximum(rates["play"], 1e-6))
    drawn = _draw_round(rng, tail, rates)
    start[:, -1] = 0.0
    length[:, -1] = TAIL_HOURS
    for k in COUNTERS:
        counts[k][:, -1] = drawn[k]
    return Rounds(start, length, counts, reached)


def cumulative(rounds: Rounds, activity_elapsed: np.ndarray, counter: str) -> np.ndarray:
    """Counts delivered by each activity-time point, (n, S); monotone in time by construction."""
    total = np.zeros(activity_elapsed.shape)
    for r in range(rounds.start.shape[1]):
        share = np.clip(
            (activity_elapsed - rounds.start[:, r : r + 1]) / rounds.length[:, r : r + 1], 0, 1
        )
        total += rounds.counts[counter][:, r : r + 1] * share
    return np.floor(total)


def activity_elapsed(local_hours: np.ndarray, age_minutes: np.ndarray) -> np.ndarray:
    posted = local_hours[:, None]
    return activity_clock(posted + age_minutes / 60.0) - activity_clock(posted)


def _likes_at(v: dict, rounds: Rounds, minutes: float) -> np.ndarray:
    elapsed = activity_elapsed(v["local_hours"], np.array([[minutes]]))
    return cumulative(rounds, elapsed, "likes")[:, 0]


def calibrate_offset(v: dict, rates: dict, cfg: SimConfig) -> float:
    """Bisect the promotion bar on a pilot sample until the hit share matches."""
    m = min(len(v["hook"]), cfg.pilot_videos)
    pilot_v = {k: a[:m] for k, a in v.items()}
    pilot_r = {k: a[:m] for k, a in rates.items()}
    horizon = cfg.horizon_days * 24 * 60
    low, high = -3.0, 6.0
    for _ in range(18):
        mid = (low + high) / 2
        rounds = simulate_rounds(pilot_v, pilot_r, mid, cfg.seed + 1)
        share = float(np.mean(_likes_at(pilot_v, rounds, horizon) >= cfg.threshold))
        if share > cfg.hit_share:
            low = mid
        else:
            high = mid
    return (low + high) / 2

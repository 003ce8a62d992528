"""A vectorized Kuaishou-like platform, so likecast can train and demo without real data.

It simulates the mechanisms the model is meant to learn rather than a formula for the label:
creators with heavy-tailed audiences, content whose latent quality sets per-play rates, and
traffic delivered in rounds, where a video whose feedback beats its peers' is released to a
pool several times larger. Time runs on an "activity clock" that follows the audience's day,
so the same round completes faster at 20:00 than at 04:00. Per-play medians are calibrated to
KuaiRand-Pure (docs/facts.md); the share of hits is a parameter, met by
bisection on a pilot sample because the platform, not a formula, decides who crosses.
A large platform is made in parts of about ``part_videos`` videos, each with creators of its
own, so memory is bounded by a part and a creator's history never crosses a part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from likecast.atomic import replacing
from likecast.errors import UserError

# -- the platform's fixed facts ------------------------------------------------------------


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


@dataclass(frozen=True)
class SimConfig:
    """The simulated platform's size, seed and shape."""

    videos: int = 50_000
    seed: int = 7
    hit_share: float = 0.08
    threshold: int = 1000
    horizon_days: float = 7.0
    start: str = "2026-06-01"
    window_days: float = 120.0
    timezone: str = "Asia/Shanghai"
    videos_per_creator: float = 6.0
    pilot_videos: int = 30_000
    part_videos: int = 500_000  # videos per part: memory is bounded by a part, not the total


@dataclass
class Platform:
    """A simulated platform: its videos, their snapshots, and the hidden truth."""

    videos: pd.DataFrame
    snapshots: pa.Table
    truth: pd.DataFrame
    offset: float  # promotion bar chosen to meet hit_share


# -- helpers --------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def activity_clock(local_hours: np.ndarray) -> np.ndarray:
    """Cumulative activity-hours from a local midnight to ``local_hours`` later."""
    days = np.floor(local_hours / 24.0)
    rest = local_hours - 24.0 * days
    hour = np.minimum(rest.astype(np.int64), 23)
    return days * 24.0 + _CUM_ACTIVITY[hour] + ACTIVITY[hour] * (rest - hour)


def _ids(prefix: str, first: int, n: int, total: int) -> np.ndarray:
    """Ids ``first`` to ``first + n - 1``, all as wide as the data set's ``total`` needs."""
    width = max(6, len(str(total)))
    return np.char.add(prefix, np.char.zfill(np.arange(first, first + n).astype(str), width))


# -- parts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One part of the data set: its own creators, its videos, where their ids start."""

    number: int
    videos: int
    first_video: int
    first_creator: int
    all_creators: int  # in the whole data set, for the ids' width


def part_count(cfg: SimConfig) -> int:
    """How many parts ``cfg`` is made in: as few as keep each within ``part_videos`` videos."""
    return -(-cfg.videos // cfg.part_videos)


def _creator_count(cfg: SimConfig, videos: int) -> int:
    return max(1, round(videos / cfg.videos_per_creator))


def _plan(cfg: SimConfig) -> list[_Part]:
    """Parts of nearly equal size, their ids following on from the part before."""
    count = part_count(cfg)
    sizes = [cfg.videos // count + (k < cfg.videos % count) for k in range(count)]
    creators = [_creator_count(cfg, size) for size in sizes]
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    first_creators = np.concatenate([[0], np.cumsum(creators)[:-1]])
    return [
        _Part(k, sizes[k], int(firsts[k]), int(first_creators[k]), sum(creators))
        for k in range(count)
    ]


Seed = int | np.random.SeedSequence


def _seeds(seed: int, part: int) -> tuple[Seed, Seed]:
    """The seeds of a part's draws and of its traffic rounds.

    Part 0 keeps the streams a one-part run has always used, so data sets within one part are
    the ones made before parts existed; later parts get streams of their own from (seed, part).
    """
    if part == 0:
        return seed, seed + 2
    return (
        np.random.SeedSequence(seed, spawn_key=(part, 0)),
        np.random.SeedSequence(seed, spawn_key=(part, 2)),
    )


# -- creators and videos --------------------------------------------------------------------


def _creators(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    skill = rng.normal(0.0, 1.0, n)
    followers = np.exp(rng.normal(np.log(800.0) + 0.5 * skill, 2.0))
    weights = np.array([c.weight for c in CATEGORIES])
    return {
        "skill": skill,
        "followers": np.minimum(np.round(followers), 5e7),
        "home": rng.choice(len(CATEGORIES), n, p=weights / weights.sum()),
        "activity": rng.lognormal(0.0, 1.0, n),
        "preferred_hour_shift": rng.normal(0.0, 1.5, n),
    }


def _videos(rng: np.random.Generator, cfg: SimConfig, n: int) -> tuple[dict[str, np.ndarray], dict]:
    """``n`` videos of creators of their own, posted over the data set's whole window."""
    n_creators = _creator_count(cfg, n)
    creators = _creators(rng, n_creators)
    creator = rng.choice(n_creators, n, p=creators["activity"] / creators["activity"].sum())
    own = rng.random(n) < 0.8
    category = np.where(own, creators["home"][creator], rng.integers(0, len(CATEGORIES), n))
    cat_duration = np.array([c.duration_s for c in CATEGORIES])[category]
    duration = np.clip(rng.lognormal(np.log(cat_duration), 0.6), 3, 600).round(1)
    skill = creators["skill"][creator]
    mix = np.array([c.mix for c in CATEGORIES])[category]
    content_type = (rng.random(n)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1).clip(0, 2)
    day = rng.uniform(0, cfg.window_days, n).astype(np.int64)
    hour = (rng.choice(24, n, p=POSTING_HOURS) + creators["preferred_hour_shift"][creator]).round()
    local_hours = day * 24.0 + np.mod(hour, 24) + rng.random(n)
    # small creators gain followers as they post; the table records followers at posting time
    growth = 1.0 + 0.02 * rng.random(n) * day / max(cfg.window_days, 1)
    videos = {
        "creator": creator,
        "category": category,
        "duration_s": duration,
        "skill": skill,
        "hook": rng.normal(0.3 * skill, 1.0),
        "content_type": content_type,
        "content_value": rng.normal(0.5 * skill, 1.0) + 0.1 * (content_type < 2),
        "local_hours": local_hours,
        "followers": np.round(creators["followers"][creator] * growth),
        "music_trending": rng.random(n) < 0.25,
    }
    return videos, creators


def _rates(rng: np.random.Generator, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Latent per-play probabilities; medians sit at the KuaiRand-Pure calibration."""
    n = len(v["hook"])
    hook, value, ctype = v["hook"], v["content_value"], v["content_type"]
    centred = value - 0.5 * v["skill"]  # zero-median part, keeps medians on target

    def engagement(name: str, cap: float, noise: float, *effects: np.ndarray | float) -> np.ndarray:
        """A rate around its median: effects and noise on the log scale, capped at ``cap``."""
        log_rate = np.log(MEDIAN_RATES[name])
        for effect in effects:  # added one by one, in order: the same sums as written out
            log_rate = log_rate + effect
        return np.exp(log_rate + rng.normal(0, noise, n)).clip(0, cap)

    return {
        "play": _sigmoid(_logit(MEDIAN_RATES["play"]) + 0.35 * hook + rng.normal(0, 0.3, n)),
        "retention_3s": _sigmoid(
            _logit(MEDIAN_RATES["retention_3s"]) + 0.6 * hook + rng.normal(0, 0.3, n)
        ),
        "completion": _sigmoid(
            _logit(MEDIAN_RATES["completion"])
            + 0.45 * value
            + 0.3 * hook
            - 0.6 * np.log(v["duration_s"] / 40.0)
            + rng.normal(0, 0.4, n)
        ),
        "like": engagement(
            "like", 0.5, 0.35, 0.45 * centred, 0.3 * v["skill"] * 0.5, LIKE_BY_TYPE[ctype], -0.05
        ),
        "comment": engagement("comment", 0.2, 0.5, 0.4 * centred, 0.3 * (ctype == 1), -0.1),
        "share": engagement("share", 0.1, 0.6, 0.5 * centred, 0.4 * (ctype == 0), -0.2),
        "follow": engagement("follow", 0.1, 0.5, 0.3 * centred, 0.2 * v["skill"]),
        "reply_per_comment": rng.lognormal(np.log(0.25), 0.5, n),
    }


# -- traffic rounds -------------------------------------------------------------------------


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


def _feedback_score(drawn: dict[str, np.ndarray], category: np.ndarray) -> np.ndarray:
    """How a round's realized feedback ranks against peers: the platform's release signal."""
    views = np.maximum(drawn["views"], 1)
    score = np.zeros(len(views))
    parts = (
        ("kept_3s", "retention_3s", 1.0, 0.35),
        ("completed", "completion", 1.0, 0.6),
        ("likes", "like", 1.2, 0.5),
        ("comments", "comment", 0.4, 0.7),
        ("shares", "share", 0.4, 0.8),
        ("follows", "follow", 0.5, 0.7),
    )
    for counter, rate, weight, spread in parts:
        realized = (drawn[counter] + 0.5) / (views + 0.5 / MEDIAN_RATES[rate])
        score += weight * (np.log(realized) - np.log(MEDIAN_RATES[rate])) / spread
    saturation = np.array([c.saturation for c in CATEGORIES])[category]
    return score / 3.0 - saturation


def _simulate_rounds(
    v: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
    offset: float,
    seed: Seed,
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
        released = active & (_feedback_score(drawn, v["category"]) + music + noise > bar)
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


def _cumulative(rounds: Rounds, activity_elapsed: np.ndarray, counter: str) -> np.ndarray:
    """Counts delivered by each activity-time point, (n, S); monotone in time by construction."""
    total = np.zeros(activity_elapsed.shape)
    for r in range(rounds.start.shape[1]):
        share = np.clip(
            (activity_elapsed - rounds.start[:, r : r + 1]) / rounds.length[:, r : r + 1], 0, 1
        )
        total += rounds.counts[counter][:, r : r + 1] * share
    return np.floor(total)


def _activity_elapsed(local_hours: np.ndarray, age_minutes: np.ndarray) -> np.ndarray:
    posted = local_hours[:, None]
    return activity_clock(posted + age_minutes / 60.0) - activity_clock(posted)


def _likes_at(v: dict, rounds: Rounds, minutes: float) -> np.ndarray:
    elapsed = _activity_elapsed(v["local_hours"], np.array([[minutes]]))
    return _cumulative(rounds, elapsed, "likes")[:, 0]


def _calibrate_offset(v: dict, rates: dict, cfg: SimConfig) -> float:
    """Bisect the promotion bar on a pilot sample until the hit share matches."""
    m = min(len(v["hook"]), cfg.pilot_videos)
    pilot_v = {k: a[:m] for k, a in v.items()}
    pilot_r = {k: a[:m] for k, a in rates.items()}
    horizon = cfg.horizon_days * 24 * 60
    low, high = -3.0, 6.0
    for _ in range(18):
        mid = (low + high) / 2
        rounds = _simulate_rounds(pilot_v, pilot_r, mid, cfg.seed + 1)
        share = float(np.mean(_likes_at(pilot_v, rounds, horizon) >= cfg.threshold))
        if share > cfg.hit_share:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# -- text -----------------------------------------------------------------------------------

_WORDS = {
    "food": "recipe homemade noodles spicy dumplings grandma kitchen easy dinner street",
    "education": "learn math english lesson exam tip science history explained quick",
    "rural_life": "village farm harvest hometown countryside cooking fields family simple",
    "comedy": "funny prank lol skit joke daily when you friends",
    "drama": "story episode love betrayal twist ending part revenge family",
    "life_tips": "hack trick save money home cleaning organize useful how",
    "gaming": "game win clutch rank boss strategy highlight level gameplay",
    "beauty": "makeup skincare look tutorial lipstick routine glow style",
    "music": "song cover guitar sing live beat dance melody",
    "sports": "goal match training workout basketball football fitness run",
}


def _text(rng: np.random.Generator, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Captions and hashtags as vectorized picks from each category's vocabulary."""
    n = len(category)
    captions = np.empty(n, dtype=object)
    hashtags = np.empty(n, dtype=object)
    lengths = rng.integers(2, 14, n)
    n_tags = rng.integers(0, 6, n)
    for i, cat in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == i)
        words = np.array(_WORDS[cat.name].split())
        picks = words[rng.integers(0, len(words), (len(rows), 13))]
        tags = np.char.add("#", words[rng.integers(0, len(words), (len(rows), 5))])
        for j, row in enumerate(rows):
            captions[row] = " ".join(picks[j, : lengths[row]])
            hashtags[row] = " ".join(tags[j, : n_tags[row]])
    return captions, hashtags


# -- the whole platform ---------------------------------------------------------------------

Progress = Callable[[int, str], None]  # (part number from 0, the stage it is at)


def simulate(cfg: SimConfig) -> Platform:
    """Simulate ``cfg.videos`` videos in memory, the parts joined; deterministic for a config.

    For data that fits; ``simulate_parts`` makes a large data set one part at a time.
    """
    parts = list(simulate_parts(cfg))
    if len(parts) == 1:
        return parts[0]
    return Platform(
        videos=pd.concat([p.videos for p in parts], ignore_index=True),
        snapshots=pa.concat_tables([p.snapshots for p in parts]),
        truth=pd.concat([p.truth for p in parts], ignore_index=True),
        offset=parts[0].offset,
    )


def simulate_parts(cfg: SimConfig, progress: Progress | None = None) -> Iterator[Platform]:
    """The platform part by part, each with creators of its own, made only when asked for.

    The promotion bar is calibrated on the first part and held for every part, so the hit
    share holds over the whole data set; the posting window and the crawl's "now" are the
    data set's. One part within ``part_videos`` is exactly the platform ``simulate`` made
    before parts existed.
    """
    say = progress or (lambda _part, _stage: None)
    offset: float | None = None
    for part in _plan(cfg):
        platform = _simulate_part(cfg, part, offset, partial(say, part.number))
        offset = platform.offset
        yield platform
        del platform  # the caller holds it while it needs it; the next part is made without it


def _simulate_part(
    cfg: SimConfig, part: _Part, offset: float | None, say: Callable[[str], None]
) -> Platform:
    """One part's tables; the promotion bar is calibrated here when none is given."""
    draws, rounds_seed = _seeds(cfg.seed, part.number)
    rng = np.random.default_rng(draws)
    say("creators and videos")
    v, creators = _videos(rng, cfg, part.videos)
    rates = _rates(rng, v)
    if offset is None:
        say("calibrating the hit share")
        offset = _calibrate_offset(v, rates, cfg)
    say("traffic rounds")
    rounds = _simulate_rounds(v, rates, offset, rounds_seed)

    n = part.videos
    video_ids = _ids("v", part.first_video, n, cfg.videos)
    tz = cfg.timezone
    start_local = pd.Timestamp(cfg.start)
    posted_local = start_local + pd.to_timedelta(v["local_hours"], unit="h")
    posted_at = posted_local.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT")
    posted_at = posted_at.tz_convert("UTC").floor("s")
    now = start_local.tz_localize(tz).tz_convert("UTC") + pd.Timedelta(days=cfg.window_days + 2)

    say("snapshots")
    snapshots = _snapshots(rng, cfg, v, rounds, rates, video_ids, posted_at, now)
    say("captions")
    captions, hashtags = _text(rng, v["category"])
    creator_ids = _ids("c", part.first_creator, len(creators["skill"]), part.all_creators)
    videos = pd.DataFrame(
        {
            "video_id": video_ids,
            "creator_id": creator_ids[v["creator"]],
            "posted_at": posted_at,
            "category": pd.Categorical.from_codes(
                v["category"], pd.Index([c.name for c in CATEGORIES])
            ),
            "duration_s": v["duration_s"],
            "caption": captions,
            "hashtags": hashtags,
            "creator_followers": pd.array(v["followers"], dtype="Int64"),
            "music_trending": v["music_trending"],
        }
    )
    # the noise real exports have: a few missing optional values
    videos.loc[rng.random(n) < 0.02, "creator_followers"] = pd.NA
    videos["category"] = videos["category"].where(rng.random(n) >= 0.01)
    videos.loc[rng.random(n) < 0.01, "caption"] = None
    truth = pd.DataFrame(
        {
            "video_id": video_ids,
            "creator_skill": v["skill"],
            "hook": v["hook"],
            "content_type": np.array(CONTENT_TYPES)[v["content_type"]],
            "content_value": v["content_value"],
            **{f"p_{k}": a for k, a in rates.items()},
            "rounds_reached": rounds.reached,
            "posted_local_hour": np.mod(v["local_hours"], 24.0),
            "promotion_offset": offset,
        }
    )
    return Platform(videos=videos, snapshots=snapshots, truth=truth, offset=offset)


def _snapshots(
    rng: np.random.Generator,
    cfg: SimConfig,
    v: dict[str, np.ndarray],
    rounds: Rounds,
    rates: dict[str, np.ndarray],
    video_ids: np.ndarray,
    posted_at: pd.DatetimeIndex,
    now: pd.Timestamp,
) -> pa.Table:
    n = len(video_ids)
    horizon = cfg.horizon_days * 24 * 60
    nominal = np.array(sorted({*SNAPSHOT_AGES_MINUTES, horizon, 2 * horizon}), dtype=float)
    s = len(nominal)
    # crawlers run late: about one snapshot in ten arrives up to 10% after its slot;
    # the horizon snapshot stays exact so labels are defined
    late = (rng.random((n, s)) < 0.1) & (nominal[None, :] != horizon) & (nominal[None, :] > 0)
    ages = nominal[None, :] * np.where(late, 1 + 0.1 * rng.random((n, s)), 1.0)
    ages = np.round(ages, 2)
    elapsed = _activity_elapsed(v["local_hours"], ages)
    table: dict[str, np.ndarray] = {k: _cumulative(rounds, elapsed, k) for k in COUNTERS}
    views = np.maximum(table["views"], 1)
    completion = np.where(table["views"] > 0, table.pop("completed") / views, np.nan)
    retention = np.where(table["views"] > 0, table.pop("kept_3s") / views, np.nan)
    watch = (
        v["duration_s"][:, None] * (0.2 + 0.75 * completion) * (0.9 + 0.2 * rates["play"][:, None])
    )
    # a few missing rates, as when a crawler cannot see the analytics panel
    completion[rng.random((n, s)) < 0.01] = np.nan

    posted_ns = posted_at.asi8[:, None]
    observed_ns = posted_ns + (ages * 60e9).astype(np.int64)
    keep = observed_ns <= now.value
    flat = keep.ravel()
    columns = {
        "video_id": pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(n, dtype=np.int32), s)[flat]), pa.array(video_ids)
        ),
        "observed_at": pa.array(observed_ns.ravel()[flat], type=pa.timestamp("ns", tz="UTC")),
        "age_minutes": pa.array(ages.ravel()[flat]),
        **{k: pa.array(table[k].ravel()[flat].astype(np.int64)) for k in table},
        "completion_rate": pa.array(np.round(completion.ravel()[flat], 4)),
        "retention_3s": pa.array(np.round(retention.ravel()[flat], 4)),
        "avg_watch_s": pa.array(np.round(watch.ravel()[flat], 2)),
    }
    return pa.table(columns)


TABLE_NAMES = ("videos", "snapshots", "truth")
PART_NAME = re.compile(r"part-\d{5}\.parquet")


def _tables(platform: Platform) -> dict[str, pa.Table]:
    return {
        "videos": pa.Table.from_pandas(platform.videos, preserve_index=False),
        "snapshots": platform.snapshots,
        "truth": pa.Table.from_pandas(platform.truth, preserve_index=False),
    }


def write_platform(platform: Platform, out: Path) -> dict[str, Path]:
    """Write the three tables as DIR/<table>.parquet; each file appears whole or not at all.

    An older run's parts go afterwards, so the folder never holds two data sets' tables.
    """
    paths = {name: out / f"{name}.parquet" for name in TABLE_NAMES}
    for name, table in _tables(platform).items():
        with replacing(paths[name]) as tmp:
            pq.write_table(table, tmp)
    for name in TABLE_NAMES:
        _remove_parts(out / name)
    return paths


def write_parts(
    platforms: Iterable[Platform], out: Path, progress: Progress | None = None
) -> dict[str, Path]:
    """Write part k's tables as DIR/<table>/part-0000k.parquet, one part in memory at a time.

    The parts gather in hidden folders and replace an older run's tables only once all are
    written, so a killed run leaves the older data set, never a mix or a part of one. A folder
    holding tables likecast did not write is refused before any work, in one line.
    """
    _refuse_strangers(out)
    say = progress or (lambda _part, _stage: None)
    with ExitStack() as stack:
        folders = {name: stack.enter_context(replacing(out / name)) for name in TABLE_NAMES}
        for folder in folders.values():
            folder.mkdir()
        # a count, not enumerate(): its reused result tuple holds the last part while the
        # next one is made, and doubles the peak
        number = 0
        for platform in platforms:
            say(number, "writing Parquet")
            for name, table in _tables(platform).items():
                pq.write_table(table, folders[name] / f"part-{number:05d}.parquet")
            del platform, table  # the next part is made without this one in memory
            number += 1  # noqa: SIM113 (enumerate would hold the last part, above)
        # the older tables go before the new ones take their places: a kill in between
        # leaves tables missing, not mixed
        for name in TABLE_NAMES:
            (out / f"{name}.parquet").unlink(missing_ok=True)
            _remove_parts(out / name)
    return {name: out / name for name in TABLE_NAMES}


def _remove_parts(folder: Path) -> None:
    """Remove the parts likecast wrote to ``folder``, and the folder once empty."""
    if not folder.is_dir():
        return
    for part in folder.iterdir():
        if PART_NAME.fullmatch(part.name):
            part.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def _refuse_strangers(out: Path) -> None:
    """Fail when ``out`` holds a table the loader would read instead of, or with, the parts."""
    for name in TABLE_NAMES:
        strangers = [out / f"{name}.csv"]
        folder = out / name
        if folder.is_dir():
            strangers += [p for p in folder.iterdir() if not PART_NAME.fullmatch(p.name)]
        elif folder.exists():
            strangers.append(folder)
        for path in strangers:
            if path.exists():
                raise UserError(
                    f"{path}: not written by likecast simulate, and the loader would read it "
                    "instead of or with the new parts; move it away or write to another folder"
                )

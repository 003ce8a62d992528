"""Creators and their videos: audiences, drafts, per-play rates and captions."""

from __future__ import annotations

import numpy as np

from features.simulation.config import SimConfig
from features.simulation.facts import CATEGORIES, LIKE_BY_TYPE, MEDIAN_RATES, POSTING_HOURS
from features.simulation.parts import creator_count


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


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


def draw_videos(
    rng: np.random.Generator, cfg: SimConfig, n: int
) -> tuple[dict[str, np.ndarray], dict]:
    """``n`` videos of creators of their own, posted over the data set's whole window."""
    n_creators = creator_count(cfg, n)
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


def draw_rates(rng: np.random.Generator, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
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


def draw_text(rng: np.random.Generator, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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

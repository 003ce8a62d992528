"""Scenarios: the platform changes on a date, for the drift harness (``name@YYYY-MM-DD``).

- ``revision``: the quarterly algorithm revision; the pool rules weigh completion and comment
  depth (replies per comment) more, and likes less.
- ``new_creators``: half the videos come from creators new to the platform, with small
  audiences and no history.
- ``category_rise:NAME``: a third of the videos move to the category NAME (default gaming),
  with its lengths and its captions.
- ``season``: the audience's day moves two hours later; creators post later with it.
- ``control``: nothing changes; the data set is the one made without a scenario.

Only videos posted on or after the date (local time) change, and nothing before it: every
change is drawn from a random stream of its own, after the platform's own draws were made,
and the promotion bar stays the one calibrated without the change. A video that changes has
its traffic rounds drawn again, from that stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.simulation.config import SimConfig
from features.simulation.creators import draw_rates
from features.simulation.facts import CATEGORIES
from features.simulation.parts import Seed
from features.simulation.traffic import FEEDBACK, PoolRules, Rounds, simulate_rounds

KINDS = ("control", "revision", "new_creators", "category_rise", "season")
# the revision's rules: completion and comments count more, likes less, replies count
REVISED = PoolRules(
    parts=tuple(
        (counter, rate, {"completed": 2.0, "comments": 1.2, "likes": 0.8}.get(counter, weight), s)
        for counter, rate, weight, s in FEEDBACK
    ),
    depth=0.8,
)
NEW_CREATOR_SHARE = 0.5
CATEGORY_SHARE = 0.35
SEASON_HOURS = 2.0


@dataclass(frozen=True)
class Scenario:
    """A change of the platform from a local date on."""

    kind: str
    start: str  # YYYY-MM-DD, the audience's local date
    category: str = "gaming"  # the category that rises (category_rise only)

    def __str__(self) -> str:
        name = f"{self.kind}:{self.category}" if self.kind == "category_rise" else self.kind
        return f"{name}@{self.start}"


def parse_scenario(text: str) -> Scenario:
    """``revision@2026-10-01`` or ``category_rise:food@2026-10-01`` as a Scenario.

    Raises:
        ValueError: an unknown kind or category, or no date.
    """
    name, at, start = text.partition("@")
    kind, _, category = name.partition(":")
    if kind not in KINDS:
        raise ValueError(f"unknown scenario {kind!r}: one of {', '.join(KINDS)}")
    if not at:
        raise ValueError(f"scenario {text!r} has no date: write it as {kind}@YYYY-MM-DD")
    try:
        day = pd.Timestamp(start).strftime("%Y-%m-%d")
    except ValueError as exc:
        raise ValueError(f"scenario {text!r}: {start!r} is no date") from exc
    names = [c.name for c in CATEGORIES]
    if category and (kind != "category_rise" or category not in names):
        raise ValueError(f"scenario {text!r}: a category only for category_rise, one of {names}")
    return Scenario(kind, day, category or "gaming")


@dataclass
class Changed:
    """The part's videos after the change, and which of them changed."""

    v: dict[str, np.ndarray]
    rates: dict[str, np.ndarray]
    rounds: Rounds
    rows: np.ndarray  # videos whose draft (category, creator, time) or traffic changed
    new_creators: int  # creators added after the part's own, numbered on from them


def apply_scenario(
    scenario: Scenario,
    cfg: SimConfig,
    seed: Seed,
    v: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
    offset: float,
    rounds: Rounds,
    creators: int,
) -> Changed:
    """The platform of one part with ``scenario``'s change; ``seed`` is the change's own."""
    rng = np.random.default_rng(seed)
    v = {k: a.copy() for k, a in v.items()}
    rates = {k: a.copy() for k, a in rates.items()}
    n = len(v["hook"])
    hours = (pd.Timestamp(scenario.start) - pd.Timestamp(cfg.start)).total_seconds() / 3600
    after = v["local_hours"] >= hours
    rules = PoolRules()
    added = 0
    draws = rng.random(n)  # one per video, used by the kinds that move a share of videos
    if scenario.kind == "control":
        rows = np.zeros(n, dtype=bool)
    elif scenario.kind == "revision":
        rows, rules = after, REVISED
    elif scenario.kind == "new_creators":
        rows = after & (draws < NEW_CREATOR_SHARE)
        added = max(1, int(rows.sum()) // 2)  # two videos each: new and not yet prolific
        followers = np.round(np.exp(rng.normal(np.log(150.0), 1.2, added)))
        pick = rng.integers(0, added, int(rows.sum()))
        v["creator"][rows] = creators + pick
        v["followers"][rows] = followers[pick]
    elif scenario.kind == "category_rise":
        code = [c.name for c in CATEGORIES].index(scenario.category)
        rows = after & (draws < CATEGORY_SHARE) & (v["category"] != code)
        v["category"][rows] = code
        length = np.log(CATEGORIES[code].duration_s)
        v["duration_s"][rows] = np.clip(rng.lognormal(length, 0.6, int(rows.sum())), 3, 600).round(
            1
        )
        redrawn = draw_rates(rng, {k: a[rows] for k, a in v.items()})
        for k in rates:
            rates[k][rows] = redrawn[k]
    else:  # season
        rows = after
        v["local_hours"][rows] += SEASON_HOURS
    if rows.any():
        again = simulate_rounds(
            {k: a[rows] for k, a in v.items()},
            {k: a[rows] for k, a in rates.items()},
            offset,
            np.random.SeedSequence(rng.integers(2**32)),
            rules,
        )
        rounds = replace(
            rounds,
            start=_put(rounds.start, rows, again.start),
            length=_put(rounds.length, rows, again.length),
            counts={k: _put(rounds.counts[k], rows, again.counts[k]) for k in rounds.counts},
            reached=_put(rounds.reached, rows, again.reached),
        )
    return Changed(v, rates, rounds, rows, added)


def _put(values: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[rows] = new
    return out

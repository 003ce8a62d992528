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

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa

from features.simulation.config import Platform, Progress, SimConfig
from features.simulation.creators import draw_rates, draw_text, draw_videos
from features.simulation.facts import CATEGORIES, CONTENT_TYPES, COUNTERS, SNAPSHOT_AGES_MINUTES
from features.simulation.parts import Part, ids, plan, seeds
from features.simulation.scenarios import apply_scenario, parse_scenario
from features.simulation.traffic import (
    Rounds,
    activity_elapsed,
    calibrate_offset,
    cumulative,
    simulate_rounds,
)


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
    for part in plan(cfg):
        platform = _simulate_part(cfg, part, offset, partial(say, part.number))
        offset = platform.offset
        yield platform
        del platform  # the caller holds it while it needs it; the next part is made without it


def _simulate_part(
    cfg: SimConfig, part: Part, offset: float | None, say: Callable[[str], None]
) -> Platform:
    """One part's tables; the promotion bar is calibrated here when none is given."""
    draws, rounds_seed = seeds(cfg.seed, part.number)
    rng = np.random.default_rng(draws)
    say("creators and videos")
    v, creators = draw_videos(rng, cfg, part.videos)
    rates = draw_rates(rng, v)
    if offset is None:
        say("calibrating the hit share")
        offset = calibrate_offset(v, rates, cfg)
    say("traffic rounds")
    rounds = simulate_rounds(v, rates, offset, rounds_seed)
    original_category = v["category"]
    changed = None
    if cfg.scenario is not None:
        say("the scenario's change")
        changed = apply_scenario(
            parse_scenario(cfg.scenario),
            cfg,
            np.random.SeedSequence(cfg.seed, spawn_key=(part.number, 5)),
            v,
            rates,
            offset,
            rounds,
            len(creators["skill"]),
        )
        v, rates, rounds = changed.v, changed.rates, changed.rounds

    n = part.videos
    video_ids = ids("v", part.first_video, n, cfg.videos)
    tz = cfg.timezone
    start_local = pd.Timestamp(cfg.start)
    posted_local = start_local + pd.to_timedelta(v["local_hours"], unit="h")
    posted_at = posted_local.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT")
    posted_at = posted_at.tz_convert("UTC").floor("s")
    now = start_local.tz_localize(tz).tz_convert("UTC") + pd.Timedelta(days=cfg.window_days + 2)

    say("snapshots")
    snapshots = _snapshots(rng, cfg, v, rounds, rates, video_ids, posted_at, now)
    say("captions")
    # the platform's own draws first, from the categories it drew, so a scenario's change
    # alters only the videos it moved
    captions, hashtags = draw_text(rng, original_category)
    creator_ids = ids("c", part.first_creator, len(creators["skill"]), part.all_creators)
    if changed is not None:
        moved = changed.rows & (v["category"] != original_category)
        text_rng = np.random.default_rng(
            np.random.SeedSequence(cfg.seed, spawn_key=(part.number, 6))
        )
        captions[moved], hashtags[moved] = draw_text(text_rng, v["category"][moved])
        if changed.new_creators:  # numbered from the part's first video: unlike any other's
            newcomers = ids("n", part.first_video, changed.new_creators, cfg.videos)
            creator_ids = np.concatenate([creator_ids, newcomers])
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
    elapsed = activity_elapsed(v["local_hours"], ages)
    table: dict[str, np.ndarray] = {k: cumulative(rounds, elapsed, k) for k in COUNTERS}
    views = np.maximum(table["views"], 1)
    completion = np.where(table["views"] > 0, table.pop("completed") / views, np.nan)
    retention = np.where(table["views"] > 0, table.pop("kept_3s") / views, np.nan)
    watch = (
        v["duration_s"][:, None] * (0.2 + 0.75 * completion) * (0.9 + 0.2 * rates["play"][:, None])
    )
    # a few missing rates, as when a crawler cannot see the analytics panel
    completion[rng.random((n, s)) < 0.01] = np.nan

    posted_ns = posted_at.asi8[:, None]
    # rounded, not truncated: 0.01 min times 60e9 is not exact in floating point, and a
    # truncated product left times like 12:00:00.000000002
    observed_ns = posted_ns + np.rint(ages * 60e9).astype(np.int64)
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

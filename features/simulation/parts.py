"""A large platform in parts of creators: their sizes, their ids and their random streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulation.config import SimConfig


def ids(prefix: str, first: int, n: int, total: int) -> np.ndarray:
    """Ids ``first`` to ``first + n - 1``, all as wide as the data set's ``total`` needs."""
    width = max(6, len(str(total)))
    return np.char.add(prefix, np.char.zfill(np.arange(first, first + n).astype(str), width))


@dataclass(frozen=True)
class Part:
    """One part of the data set: its own creators, its videos, where their ids start."""

    number: int
    videos: int
    first_video: int
    first_creator: int
    all_creators: int  # in the whole data set, for the ids' width


def part_count(cfg: SimConfig) -> int:
    """How many parts ``cfg`` is made in: as few as keep each within ``part_videos`` videos."""
    return -(-cfg.videos // cfg.part_videos)


def creator_count(cfg: SimConfig, videos: int) -> int:
    return max(1, round(videos / cfg.videos_per_creator))


def plan(cfg: SimConfig) -> list[Part]:
    """Parts of nearly equal size, their ids following on from the part before."""
    count = part_count(cfg)
    sizes = [cfg.videos // count + (k < cfg.videos % count) for k in range(count)]
    creators = [creator_count(cfg, size) for size in sizes]
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    first_creators = np.concatenate([[0], np.cumsum(creators)[:-1]])
    return [
        Part(k, sizes[k], int(firsts[k]), int(first_creators[k]), sum(creators))
        for k in range(count)
    ]


Seed = int | np.random.SeedSequence


def seeds(seed: int, part: int) -> tuple[Seed, Seed]:
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

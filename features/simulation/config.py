"""What a simulation is asked to make (``SimConfig``) and what it makes (``Platform``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa


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
    # a change of the platform on a date (``scenarios``: "revision@2026-10-01"); None: none
    scenario: str | None = None


@dataclass
class Platform:
    """A simulated platform: its videos, their snapshots, and the hidden truth."""

    videos: pd.DataFrame
    snapshots: pa.Table
    truth: pd.DataFrame
    offset: float  # promotion bar chosen to meet hit_share


Progress = Callable[[int, str], None]  # (part number from 0, the stage it is at)

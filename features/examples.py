"""Training examples: every labeled video at every grid age, in the raw-row shape.

A video's draft and history are the same at each of its ages, so the examples are held in
two parts (``Grid``); ``features.rows`` builds the parts, ``features.matrix`` turns them into
the model's matrix without ever repeating the per-video columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.history import history_at
from features.rows import (
    EXAMPLE_COLUMNS,
    RAW_COLUMNS,
    VIDEO_COLUMNS,
    draft_rows,
    observe,
    with_history,
)


def video_rows(
    videos: pd.DataFrame,
    labels: pd.DataFrame,
    threshold: int,
    horizon_minutes: float,
    history_window: int,
) -> pd.DataFrame:
    """Draft plus point-in-time creator history, one row per video (age not yet set)."""
    history = history_at(
        videos["creator_id"],
        videos["posted_at"],
        videos,
        labels,
        threshold,
        horizon_minutes,
        history_window,
    )
    return with_history(draft_rows(videos), history)


@dataclass(frozen=True)
class Grid:
    """Every video at every grid age (the training examples), held in two parts.

    A video's draft and history are kept once per video (``videos``) and only the
    observations once per example (``observed``, video-major: a video's ages are
    consecutive rows), so the feature step never takes repeated columns apart again.
    ``rows()`` gives the flat form where one is needed.
    """

    videos: pd.DataFrame  # VIDEO_COLUMNS, one row per video
    observed: pd.DataFrame  # EXAMPLE_COLUMNS, one row per example
    ages: int  # examples per video

    def __len__(self) -> int:
        return len(self.observed)

    def video_of_example(self) -> np.ndarray:
        """Each example's video, as its row in ``videos``."""
        return np.repeat(np.arange(len(self.videos)), self.ages)

    def per_example(self, name: str) -> np.ndarray:
        """One raw column with a value per example."""
        if name in self.observed.columns:
            return self.observed[name].to_numpy()
        return self.videos[name].to_numpy().repeat(self.ages)

    def rows(
        self, mask: np.ndarray | None = None, columns: tuple[str, ...] = RAW_COLUMNS
    ) -> pd.DataFrame:
        """Flat raw rows of the examples ``mask`` selects (all by default), indexed by example.

        Text columns come back categorical: a video's caption, repeated at each age, is then
        one integer per row instead of one string copy each.
        """
        picked = np.arange(len(self)) if mask is None else np.flatnonzero(mask)
        video = picked // self.ages
        out: dict[str, Any] = {}
        for name in columns:
            if name in self.observed.columns:
                out[name] = self.observed[name].to_numpy()[picked]
                continue
            values = self.videos[name].array
            if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
                codes, uniques = pd.factorize(values)
                out[name] = pd.Categorical.from_codes(codes[video], uniques)
            else:
                out[name] = values.take(video)
        return pd.DataFrame(out, index=pd.Index(picked), copy=False)


def grid_examples(
    per_video: pd.DataFrame,
    snapshots: pd.DataFrame,
    grid: tuple[float, ...],
    horizon_minutes: float,
    threads: int = 1,
) -> Grid:
    """Every video at every grid age: the training examples.

    Counts are looked up at the age, or at the horizon for ages past it: what happens after
    the horizon never counts, as in the label.
    """
    videos = per_video.reset_index(drop=True)[list(VIDEO_COLUMNS)]
    k = len(grid)
    ages = np.tile(np.asarray(grid, dtype="float64"), len(videos))
    seen = observe(snapshots, videos["video_id"], np.minimum(ages, horizon_minutes), k, threads)
    observed = {"age_minutes": ages, **seen}
    return Grid(videos, pd.DataFrame(observed, columns=list(EXAMPLE_COLUMNS), copy=False), k)


def grid_rows(
    per_video: pd.DataFrame,
    snapshots: pd.DataFrame,
    grid: tuple[float, ...],
    horizon_minutes: float,
) -> pd.DataFrame:
    """Every video at every grid age as flat raw rows, video-major order."""
    return grid_examples(per_video, snapshots, grid, horizon_minutes).rows()

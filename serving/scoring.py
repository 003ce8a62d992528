"""Batch scoring: a file of videos in, one probability per video out.

The same ``Scorer`` scores one chunk of rows for both engines: the local engine streams the
input chunk by chunk (Parquet row groups, CSV chunks), the Dask engine hands it partitions.
A chunk is validated with the data contract, joined with the creator store and, when asked,
the snapshots observed by the requested age, then goes through the shared feature code and
the native LightGBM model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.contract import COUNTER_COLUMNS, RATE_COLUMNS
from features.loading import DataError, attach_snapshots, clean_table, iter_table
from features.observations import HISTORY_COLUMNS, draft_rows, single_age_rows
from features.pipeline import feature_frame, feature_matrix, raw_arrays
from models.bundle import ModelBundle
from models.explain import top_factors

OUTPUT_COLUMNS = (
    "video_id",
    "age_minutes",
    "probability",
    "model_version",
    "threshold",
    "horizon_days",
)


@dataclass(frozen=True)
class When:
    """The age each video is scored at: a fixed age, the age at a moment, or 0 (a draft)."""

    age_minutes: float | None = None
    at: pd.Timestamp | None = None

    def ages(self, posted_at: pd.Series) -> np.ndarray:
        if self.at is not None:
            return ((self.at - posted_at).dt.total_seconds() / 60.0).to_numpy(dtype="float64")
        return np.full(len(posted_at), float(self.age_minutes or 0.0))


@dataclass
class Scorer:
    """Everything a chunk needs, built once per process (once per Dask worker)."""

    bundle: ModelBundle
    version: str
    histories: pd.DataFrame  # the creator store's table, indexed by creator_id
    when: When
    snapshots: Path | None = None
    explain: bool = False

    def score(self, raw: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, dict]:
        """Scores of one chunk, and its rejected rows by table (row numbers are the file's)."""
        videos = clean_table(raw, "videos")
        rejects = {"videos": _renumber(videos.rejects, first_row)}
        good = videos.clean
        ages = self.when.ages(good["posted_at"])
        early = ages < 0
        if early.any():
            late = raw.iloc[good["_row"].to_numpy()[early] - 1].copy()
            late.insert(0, "_row", good["_row"].to_numpy()[early] + first_row)
            late["_reason"] = "posted_at: after --at, nothing to score yet"
            rejects["videos"] = pd.concat([rejects["videos"], late], ignore_index=True)
            good, ages = good[~early], ages[~early]
        snapshots = _NO_SNAPSHOTS
        if self.snapshots is not None and len(good):
            videos.clean = good
            result = attach_snapshots(videos, clean_table(self._snapshots_of(good), "snapshots"))
            snapshots, rejects["snapshots"] = result.clean, result.rejects
        if good.empty:
            return pd.DataFrame(columns=list(OUTPUT_COLUMNS)), rejects
        per_video = self._with_history(draft_rows(good))
        rows = single_age_rows(per_video, snapshots, ages)
        matrix = feature_matrix(raw_arrays(rows), self.bundle.spec)
        spec = self.bundle.spec
        scores = pd.DataFrame(
            {
                "video_id": rows["video_id"].astype("string").to_numpy(),
                "age_minutes": ages,
                "probability": self.bundle.predict_matrix(matrix),
                "model_version": self.version,
                "threshold": spec.threshold,
                "horizon_days": spec.horizon_minutes / 1440,
            }
        )
        if self.explain:
            scores["factors"] = self._factors(matrix)
        return scores, rejects

    def _with_history(self, per_video: pd.DataFrame) -> pd.DataFrame:
        """The store's history per creator; a creator it does not know is a cold start."""
        known = self.histories.reindex(per_video["creator_id"].astype("string").to_numpy())
        history = known.reset_index(drop=True)
        history["hist_videos"] = history["hist_videos"].fillna(0.0)
        return pd.concat([per_video.reset_index(drop=True), history[list(HISTORY_COLUMNS)]], axis=1)

    def _snapshots_of(self, videos: pd.DataFrame) -> pd.DataFrame:
        """The snapshots of this chunk's videos only, so memory follows the chunk size."""
        assert self.snapshots is not None
        ids = videos["video_id"].astype(str).tolist()
        if self.snapshots.suffix.lower() == ".parquet":
            try:
                table = pq.read_table(self.snapshots, filters=[("video_id", "in", ids)])
            except (OSError, ValueError) as exc:
                raise DataError(f"{self.snapshots}: not a readable Parquet file ({exc})") from exc
            return table.to_pandas()
        wanted = set(ids)
        return pd.concat(
            [part[part["video_id"].isin(wanted)] for part in iter_table(self.snapshots, 200_000)],
            ignore_index=True,
        )

    def _factors(self, matrix: np.ndarray) -> list[str]:
        features = feature_frame(matrix, self.bundle.spec)
        contributions = self.bundle.contributions(features)
        typical = self.bundle.meta.get("typical", {})
        return [
            json.dumps(top_factors(features.iloc[i], contributions.iloc[i], typical))
            for i in range(len(features))
        ]


_NO_SNAPSHOTS = pd.DataFrame(
    {
        "video_id": pd.Series([], dtype="string"),
        "age_minutes": pd.Series([], dtype="float64"),
        **{name: pd.Series([], dtype="float64") for name in (*COUNTER_COLUMNS, *RATE_COLUMNS)},
    }
)


def _renumber(rejects: pd.DataFrame, first_row: int) -> pd.DataFrame:
    return rejects.assign(_row=rejects["_row"] + first_row)

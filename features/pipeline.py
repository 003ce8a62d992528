"""Raw rows -> the model's feature frame. The one code path for training, batch and serving.

Everything that depends on training data (the category list, the Szabo-Huberman offsets) is
a ``FeatureSpec`` fitted once on the training slice and saved inside the model bundle, so a
served request is transformed exactly as its training examples were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from features.observations import RAW_COLUMNS

# name -> +1 (never lowers the probability as it grows), -1, or 0 (free)
FEATURES: dict[str, int] = {
    "category": 0,
    "duration_log": 0,
    "post_hour": 0,
    "post_weekday": 0,
    "caption_len": 0,
    "hashtag_count": 0,
    "music_trending": 0,
    "followers_log": 0,
    "cold_start": 0,
    "hist_videos": 0,
    "hist_median_likes_log": 0,
    "hist_p90_likes_log": 0,
    "hist_hit_rate": 0,
    "days_since_prev_post": 0,
    "age_minutes": 0,
    "minutes_since_obs": 0,
    "views_log": 1,
    "likes_log": 1,
    "comments_log": 1,
    "shares_log": 1,
    "follows_log": 1,
    "like_rate": 1,
    "comment_rate": 1,
    "share_rate": 1,
    "follow_rate": 1,
    "completion_rate": 0,
    "retention_3s": 0,
    "reply_rate": 1,
    "likes_per_hour": 1,
    "growth_ratio": 1,
    "projected_likes_log": 1,
    "gap_to_threshold_log": -1,
}

FEATURES_SCHEMA = pa.DataFrameSchema(
    {
        name: pa.Column("category" if name == "category" else "float64", nullable=True)
        for name in FEATURES
    },
    strict=True,
    ordered=True,
)


@dataclass(frozen=True)
class FeatureSpec:
    """What the feature step learned from training data; saved as JSON with the model."""

    categories: tuple[str, ...]
    threshold: int
    horizon_minutes: float
    timezone: str
    sh_ages: tuple[float, ...] = ()
    sh_offsets: tuple[float, ...] = ()
    sh_sigmas: tuple[float, ...] = ()
    features: tuple[str, ...] = field(default_factory=lambda: tuple(FEATURES))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        raw = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    def sh_offset(self, obs_age: np.ndarray) -> np.ndarray:
        """Szabo-Huberman: ln(1+N_horizon) - ln(1+N_age), interpolated in log-age."""
        return self._interp(obs_age, self.sh_offsets)

    def sh_sigma(self, obs_age: np.ndarray) -> np.ndarray:
        return self._interp(obs_age, self.sh_sigmas)

    def _interp(self, obs_age: np.ndarray, values: tuple[float, ...]) -> np.ndarray:
        if not self.sh_ages:
            return np.full(np.shape(obs_age), np.nan)
        x = np.log1p(np.asarray(obs_age, dtype="float64"))
        return np.interp(x, np.log1p(np.array(self.sh_ages)), np.array(values))


def fit_spec(
    rows: pd.DataFrame,
    likes_at_horizon: pd.Series,
    threshold: int,
    horizon_minutes: float,
    timezone: str,
) -> FeatureSpec:
    """Learn categories and the per-age log-linear offsets from training rows only."""
    categories = tuple(sorted(str(c) for c in pd.unique(rows["category"].dropna())))
    observed = rows["obs_age_minutes"].notna() & likes_at_horizon.notna()
    gap = np.log1p(likes_at_horizon[observed]) - np.log1p(rows.loc[observed, "likes"])
    by_age = pd.DataFrame({"age": rows.loc[observed, "age_minutes"], "gap": gap})
    stats = by_age.groupby("age")["gap"].agg(["mean", "std"]).dropna()
    ages = (*stats.index.astype(float), horizon_minutes)
    offsets = (*stats["mean"].astype(float), 0.0)
    sigmas = (*stats["std"].clip(lower=0.05).astype(float), 0.05)
    order = np.argsort(ages)
    return FeatureSpec(
        categories=categories,
        threshold=threshold,
        horizon_minutes=horizon_minutes,
        timezone=timezone,
        sh_ages=tuple(float(ages[i]) for i in order),
        sh_offsets=tuple(float(offsets[i]) for i in order),
        sh_sigmas=tuple(float(sigmas[i]) for i in order),
    )


def _num(rows: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _token_count(text: pd.Series) -> np.ndarray:
    """Space- or comma-separated tokens, counted natively by Arrow (no Python per row)."""
    arrow = pa_arrow.array(text.to_numpy(dtype=object, na_value=None), type=pa_arrow.string())
    counts = pc.count_substring_regex(arrow, pattern=r"[^\s,]+")
    return counts.to_numpy(zero_copy_only=False).astype("float64")


def draft_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """What a creator knows before posting: content, timing, audience."""
    local = pd.to_datetime(rows["posted_at"], utc=True).dt.tz_convert(spec.timezone)
    caption = rows["caption"].astype("string")
    hashtags = rows["hashtags"].astype("string")
    music = rows["music_trending"].astype("boolean")
    category = rows["category"].astype("string")
    category = category.where(category.isin(spec.categories))  # unseen -> missing
    return pd.DataFrame(
        {
            "category": pd.Categorical(
                category.to_numpy(dtype=object, na_value=None), categories=list(spec.categories)
            ),
            "duration_log": np.log(_num(rows, "duration_s")),
            "post_hour": (local.dt.hour + local.dt.minute / 60.0).to_numpy(dtype="float64"),
            "post_weekday": local.dt.day_of_week.to_numpy(dtype="float64"),
            "caption_len": caption.str.len().to_numpy(dtype="float64", na_value=np.nan),
            "hashtag_count": _token_count(hashtags),
            "music_trending": music.astype("Float64").to_numpy(dtype="float64", na_value=np.nan),
            "followers_log": np.log1p(_num(rows, "creator_followers")),
        },
        index=rows.index,
    )


def history_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The creator's track record; a cold-start creator is flagged, its statistics missing."""
    videos = np.nan_to_num(_num(rows, "hist_videos"), nan=0.0)
    last = pd.to_datetime(rows["hist_last_posted_at"], utc=True)
    since = (pd.to_datetime(rows["posted_at"], utc=True) - last).dt.total_seconds() / 86400.0
    return pd.DataFrame(
        {
            "cold_start": (videos == 0).astype("float64"),
            "hist_videos": videos,
            "hist_median_likes_log": np.log1p(_num(rows, "hist_median_likes")),
            "hist_p90_likes_log": np.log1p(_num(rows, "hist_p90_likes")),
            "hist_hit_rate": _num(rows, "hist_hit_rate"),
            "days_since_prev_post": since.to_numpy(dtype="float64", na_value=np.nan),
        },
        index=rows.index,
    )


def engagement_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """What the platform's audience did by the prediction age; all missing for a draft."""
    age, obs_age = _num(rows, "age_minutes"), _num(rows, "obs_age_minutes")
    views, likes = _num(rows, "views"), _num(rows, "likes")
    comments, replies = _num(rows, "comments"), _num(rows, "replies")
    shares, follows = _num(rows, "shares"), _num(rows, "follows")
    lag1_age, lag1_likes = _num(rows, "lag1_age_minutes"), _num(rows, "lag1_likes")
    lag2_age, lag2_likes = _num(rows, "lag2_age_minutes"), _num(rows, "lag2_likes")
    speed = _ratio(likes - lag1_likes, (obs_age - lag1_age) / 60.0)
    before = _ratio(lag1_likes - lag2_likes, (lag1_age - lag2_age) / 60.0)
    projected = np.log1p(likes) + spec.sh_offset(np.nan_to_num(obs_age, nan=1.0))
    return pd.DataFrame(
        {
            "age_minutes": age,
            "minutes_since_obs": age - obs_age,
            "views_log": np.log1p(views),
            "likes_log": np.log1p(likes),
            "comments_log": np.log1p(comments),
            "shares_log": np.log1p(shares),
            "follows_log": np.log1p(follows),
            "like_rate": _ratio(likes, views),
            "comment_rate": _ratio(comments, views),
            "share_rate": _ratio(shares, views),
            "follow_rate": _ratio(follows, views),
            "completion_rate": _num(rows, "completion_rate"),
            "retention_3s": _num(rows, "retention_3s"),
            # replies per view, not per comment: per comment would make more comments
            # lower the probability, breaking the monotone promise on comments
            "reply_rate": _ratio(replies, views),
            "likes_per_hour": speed,
            "growth_ratio": np.log1p(np.maximum(speed, 0)) - np.log1p(np.maximum(before, 0)),
            "projected_likes_log": np.where(np.isnan(likes), np.nan, projected),
            "gap_to_threshold_log": np.log1p(spec.threshold) - np.log1p(likes),
        },
        index=rows.index,
    )


def build_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The model's input frame, columns in the spec's order; unseen categories become missing.

    Rows that share a ``video_id`` share their draft and history (a video seen at several
    ages), so those features are computed once per video and broadcast: training rows repeat
    each video once per prediction age, and text work per row would dominate the cost.
    """
    missing = [c for c in RAW_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"raw rows lack columns {missing}")
    codes, uniques = pd.factorize(rows["video_id"])
    if len(uniques) < len(rows):
        _, first = np.unique(codes, return_index=True)
        per_video = rows.iloc[first]
        static = (
            pd.concat([draft_features(per_video, spec), history_features(per_video, spec)], axis=1)
            .iloc[codes]
            .set_axis(rows.index)
        )
    else:
        static = pd.concat([draft_features(rows, spec), history_features(rows, spec)], axis=1)
    frame = pd.concat([static, engagement_features(rows, spec)], axis=1)
    return FEATURES_SCHEMA.validate(frame[list(spec.features)])

"""Every feature the model can use, declared once.

A ``Feature`` names its group, the raw columns it reads, how it is computed, its monotone
sign and how to say it and its value to a creator, in English and Chinese. Everything else is
derived from ``CATALOG``: the feature list and order (``FEATURES``), LightGBM's monotone
constraints (``MONOTONE``), the frame's schema (``features_schema``), the raw columns each
group reads (``inputs_of``) and the explanation texts (``models.explain``).

Adding a feature computed from existing raw columns is one entry here (plus its tests).
A feature that needs a new raw column also needs that column where rows come from: the data
contract (``features/contract.py``) and the request schema (``serving/api/schemas.py``); for
an engagement count, ``OBSERVED_COUNTERS`` in ``features/rows.py``; for a history statistic,
``features/history.py``; for text, times or flags, their sets in ``features/arrays.py``.
Saved models list their features by name, so a model keeps working as long as each of its
features stays in the catalogue.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandera.pandas as pa

from features.arrays import NAT, RowArrays
from features.clock import local_clock
from features.text import category_codes, char_count, token_count

if TYPE_CHECKING:
    from features.spec import FeatureSpec

Group = Literal["draft", "history", "engagement"]
Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")


class Inputs:
    """One group's raw arrays and the spec, as a transform reads them.

    ``shared`` computes an intermediate two features need (the local clock, the recent like
    speed) once per call instead of once per feature.
    """

    def __init__(self, arrays: RowArrays, spec: FeatureSpec) -> None:
        self.arrays = arrays
        self.spec = spec
        self._shared: dict[Callable, Any] = {}

    def __getitem__(self, name: str) -> Any:
        return self.arrays[name]

    def shared(self, compute: Callable[[Inputs], Any]) -> Any:
        """``compute(self)``, computed at most once for these inputs."""
        if compute not in self._shared:
            self._shared[compute] = compute(self)
        return self._shared[compute]


Transform = Callable[[Inputs], np.ndarray]
Show = Callable[[float, Language], str]


@dataclass(frozen=True)
class Words:
    """A plain phrase in each language the explanations speak."""

    en: str
    zh: str

    def __getitem__(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class Feature:
    """One model feature: what it reads, how it is computed, how a creator reads it.

    Attributes:
        name: the column name, as saved models list it.
        group: ``draft`` (known before posting), ``history`` (the creator's track record)
            or ``engagement`` (what the audience did by the prediction age). Draft and
            history features are computed once per video and shared by its ages.
        inputs: the raw columns ``transform`` reads.
        transform: raw arrays -> the feature's float64 values.
        words: the feature's plain name.
        show: its value as a creator reads it, in a language.
        monotone: +1 when more never lowers the probability, -1 never raises it, 0 free.
    """

    name: str
    group: Group
    inputs: tuple[str, ...]
    transform: Transform
    words: Words
    show: Show
    monotone: int = 0

    def __post_init__(self) -> None:
        if self.monotone not in (-1, 0, 1):
            raise ValueError(f"{self.name}: monotone must be -1, 0 or 1")


# -- how values are shown ------------------------------------------------------------------


def _count(value: float, language: Language) -> str:
    """A log1p count back as the count."""
    return f"{math.expm1(value):,.0f}"


def _share(value: float, language: Language) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.2f}"


def _number(pattern: str) -> Show:
    """The value formatted the same way in every language."""
    return lambda value, language: pattern.format(value)


def _units(en: str, zh: str) -> Show:
    """The value formatted with a unit that depends on the language."""
    return lambda value, language: (zh if language == "zh" else en).format(value)


def _yes_no(yes: Words, no: Words) -> Show:
    return lambda value, language: (yes if value else no)[language]


def _clock_time(value: float, language: Language) -> str:
    return f"{int(value):02d}:{round(value % 1 * 60) % 60:02d}"


WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}


def _weekday(value: float, language: Language) -> str:
    return WEEKDAYS[language][int(value)]


def _category(value: Any, language: Language) -> str:
    return str(value)


# -- transforms that need more than one line ------------------------------------------------
#
# They run under ``np.errstate(divide="ignore", invalid="ignore")``, set once by the matrix
# assembly: a zero or missing input is meant to give inf/NaN here.


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.where(denominator > 0, numerator / denominator, np.nan)


def _filled(values: np.ndarray, fill: float) -> np.ndarray:
    """NaN replaced by ``fill``; np.nan_to_num does the same at several times the cost."""
    return np.where(np.isnan(values), fill, values)


def _clock(x: Inputs) -> tuple[np.ndarray, np.ndarray]:
    return local_clock(x["posted_at"], x.spec.timezone)


def _days_since_prev_post(x: Inputs) -> np.ndarray:
    posted, last = x["posted_at"], x["hist_last_posted_at"]
    known = (posted != NAT) & (last != NAT)
    return np.where(known, (posted - last) / 86_400e9, np.nan)


def _likes_per_hour(x: Inputs) -> np.ndarray:
    return _ratio(
        x["likes"] - x["lag1_likes"], (x["obs_age_minutes"] - x["lag1_age_minutes"]) / 60.0
    )


def _growth_ratio(x: Inputs) -> np.ndarray:
    before = _ratio(
        x["lag1_likes"] - x["lag2_likes"], (x["lag1_age_minutes"] - x["lag2_age_minutes"]) / 60.0
    )
    speed = x.shared(_likes_per_hour)
    return np.log1p(np.maximum(speed, 0)) - np.log1p(np.maximum(before, 0))


def _projected_likes_log(x: Inputs) -> np.ndarray:
    likes = x["likes"]
    offset = x.spec.szabo_huberman_offset(_filled(x["obs_age_minutes"], 1.0))
    return np.where(np.isnan(likes), np.nan, np.log1p(likes) + offset)


def _log_count(column: str, group: Group, en: str, zh: str) -> Feature:
    """A count on a log scale: an audience count at the observation, or a statistic of the
    creator's earlier likes. More never lowers the probability."""
    return Feature(
        f"{column}_log",
        group,
        (column,),
        lambda x: np.log1p(x[column]),
        Words(en, zh),
        _count,
        monotone=1,
    )


def _rate(name: str, en: str, zh: str) -> Feature:
    """A rate the platform reports as such (not a count per view, see below)."""
    return Feature(name, "engagement", (name,), lambda x: x[name], Words(en, zh), _share)


# -- the catalogue --------------------------------------------------------------------------

CATALOG: tuple[Feature, ...] = (
    # draft: what a creator knows before posting (content, timing, audience)
    Feature(
        "category",
        "draft",
        ("category",),
        lambda x: category_codes(x["category"], x.spec.category_lookup, x.spec.categories),
        Words("category", "类别"),
        _category,
    ),
    Feature(
        "duration_log",
        "draft",
        ("duration_s",),
        lambda x: np.log(x["duration_s"]),
        Words("duration", "时长"),
        lambda v, language: _units("{:.0f} s", "{:.0f} 秒")(math.exp(v), language),
    ),
    Feature(
        "post_hour",
        "draft",
        ("posted_at",),
        lambda x: x.shared(_clock)[0],
        Words("posting hour", "发布时间"),
        _clock_time,
    ),
    Feature(
        "post_weekday",
        "draft",
        ("posted_at",),
        lambda x: x.shared(_clock)[1],
        Words("posting day", "发布日"),
        _weekday,
    ),
    Feature(
        "caption_len",
        "draft",
        ("caption",),
        lambda x: char_count(x["caption"]),
        Words("caption length", "标题长度"),
        _units("{:.0f} characters", "{:.0f} 个字"),
    ),
    Feature(
        "hashtag_count",
        "draft",
        ("hashtags",),
        lambda x: token_count(x["hashtags"]),
        Words("hashtags", "话题标签"),
        _units("{:.0f}", "{:.0f} 个"),
    ),
    Feature(
        "music_trending",
        "draft",
        ("music_trending",),
        lambda x: x["music_trending"],
        Words("trending music", "热门音乐"),
        _yes_no(Words("yes", "是"), Words("no", "否")),
    ),
    Feature(
        "followers_log",
        "draft",
        ("creator_followers",),
        lambda x: np.log1p(x["creator_followers"]),
        Words("followers", "粉丝数"),
        _count,
    ),
    # history: the creator's track record; a cold-start creator is flagged, its statistics
    # missing. A better track record never lowers the probability: unconstrained, raising a
    # creator's median likes or hit rate lowered some drafts' probability
    # (tests/models/test_behaviour.py).
    Feature(
        "cold_start",
        "history",
        ("hist_videos",),
        lambda x: (_filled(x["hist_videos"], 0.0) == 0).astype("float64"),
        Words("creator history", "创作者往期记录"),
        _yes_no(Words("none yet", "暂无"), Words("known", "已有")),
    ),
    Feature(
        "hist_videos",
        "history",
        ("hist_videos",),
        lambda x: _filled(x["hist_videos"], 0.0),
        Words("earlier videos with a known outcome", "已有结果的往期视频"),
        _units("{:.0f}", "{:.0f} 个"),
    ),
    _log_count("hist_median_likes", "history", "creator's median likes", "往期视频点赞数的中位数"),
    _log_count(
        "hist_p90_likes", "history", "creator's best-10% likes", "往期最好的 10% 视频的点赞数"
    ),
    Feature(
        "hist_hit_rate",
        "history",
        ("hist_hit_rate",),
        lambda x: x["hist_hit_rate"],
        Words("creator's share of 1000-like videos", "往期点赞过千视频的占比"),
        _share,
        monotone=1,
    ),
    Feature(
        "days_since_prev_post",
        "history",
        ("posted_at", "hist_last_posted_at"),
        _days_since_prev_post,
        Words("days since the last post", "距上次发布"),
        _units("{:.1f}", "{:.1f} 天"),
    ),
    # engagement: what the audience did by the prediction age; all missing for a draft
    Feature(
        "age_minutes",
        "engagement",
        ("age_minutes",),
        lambda x: x["age_minutes"],
        Words("minutes since posting", "发布后的分钟数"),
        _number("{:.0f}"),
    ),
    Feature(
        "minutes_since_obs",
        "engagement",
        ("age_minutes", "obs_age_minutes"),
        lambda x: x["age_minutes"] - x["obs_age_minutes"],
        Words("minutes since the counts were read", "读取数据后过去的分钟数"),
        _number("{:.0f}"),
    ),
    _log_count("views", "engagement", "views", "播放量"),
    _log_count("likes", "engagement", "likes", "点赞数"),
    _log_count("comments", "engagement", "comments", "评论数"),
    _log_count("shares", "engagement", "shares", "分享数"),
    _log_count("follows", "engagement", "follows", "带来的关注数"),
    _log_count("replies", "engagement", "replies to comments", "评论的回复数"),
    # No counts per view (likes per view and the like): at the same likes, more views would
    # be a lower rate and could lower the probability, breaking the promise that more views
    # never do. Completion and 3-second retention stay, as the audience's own rates.
    _rate("completion_rate", "completion rate", "完播率"),
    _rate("retention_3s", "3-second retention", "3 秒留存率"),
    Feature(
        "likes_per_hour",
        "engagement",
        ("likes", "obs_age_minutes", "lag1_likes", "lag1_age_minutes"),
        lambda x: x.shared(_likes_per_hour),
        Words("likes per hour lately", "最近每小时点赞数"),
        _number("{:,.0f}"),
        monotone=1,
    ),
    Feature(
        "growth_ratio",
        "engagement",
        (
            "likes",
            "obs_age_minutes",
            "lag1_likes",
            "lag1_age_minutes",
            "lag2_likes",
            "lag2_age_minutes",
        ),
        _growth_ratio,
        Words("growth speed-up", "增长加速"),
        lambda v, language: _units("x{:.2f}", "{:.2f} 倍")(math.exp(v), language),
        monotone=1,
    ),
    Feature(
        "projected_likes_log",
        "engagement",
        ("likes", "obs_age_minutes"),
        _projected_likes_log,
        Words("projected likes at the horizon", "预计到期时的点赞数"),
        _count,
        monotone=1,
    ),
    Feature(
        "gap_to_threshold_log",
        "engagement",
        ("likes",),
        lambda x: np.log1p(x.spec.threshold) - np.log1p(x["likes"]),
        Words("distance to the threshold", "离目标的距离"),
        lambda v, language: _units("{:.1f}x the likes so far", "目前点赞数的 {:.1f} 倍")(
            math.exp(v), language
        ),
        monotone=-1,
    ),
)

BY_NAME: dict[str, Feature] = {feature.name: feature for feature in CATALOG}
if len(BY_NAME) != len(CATALOG):
    raise ValueError("two features in the catalogue share a name")
FEATURES: tuple[str, ...] = tuple(BY_NAME)
MONOTONE: dict[str, int] = {feature.name: feature.monotone for feature in CATALOG}


@functools.cache
def features_schema(names: tuple[str, ...] = FEATURES) -> pa.DataFrameSchema:
    """The feature frame's schema for a model's own feature list.

    A saved model lists the features it was trained on; the frame it gets is checked against
    that list, so a feature added to the catalogue later does not break it.
    """
    return pa.DataFrameSchema(
        {
            name: pa.Column("category" if name == "category" else "float64", nullable=True)
            for name in names
        },
        strict=True,
        ordered=True,
    )


def inputs_of(*groups: Group) -> tuple[str, ...]:
    """The raw columns the features of ``groups`` read, in catalogue order, each once."""
    names = (n for f in CATALOG if f.group in groups for n in f.inputs)
    return tuple(dict.fromkeys(names))

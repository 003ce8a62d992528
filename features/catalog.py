"""Every feature the model can use, declared once.

A ``Feature`` names its group, the raw columns it reads, how it is computed, its monotone
sign and how to say it and its value to a creator, in English and Chinese. Everything else is
derived from ``CATALOG``: the feature list and order (``FEATURES``), LightGBM's monotone
constraints (``MONOTONE``), the frame's schema (``features_schema``), the raw columns each
group reads (``inputs_of``) and the explanation texts (``models.explain``).

Adding a feature computed from existing raw columns is one entry here (plus its tests).
A feature that needs a new raw column also needs that column where rows come from: the data
contract (``features/contract.py``) and the request schema (``serving/core/requests.py``); for
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
class Choices:
    """What a creator could pick instead before posting, so an explanation can say which way
    to change a draft (``models.explain``).

    Attributes:
        measured_as: the name under which training records whether this choice measurably
            changes answers on held-out drafts (``training.choices``); the features sharing a
            name are one choice (a posting time is an hour and a day).
        values: the options, in the feature's own scale and in order, tried one at a time.
        show: one option as a creator reads it, without its unit (``better`` carries it).
        better: the advice, with ``{span}`` (an option or a range of them) and ``{where}``
            (the category, or nothing).
    """

    measured_as: str
    values: tuple[float, ...]
    show: Show
    better: Words


@dataclass(frozen=True)
class Feature:
    """One model feature: what it reads, how it is computed, how a creator reads it.

    Attributes:
        name: the column name, as saved models list it.
        group: ``draft`` (known before posting), ``history`` (the creator's track record)
            or ``engagement`` (what the audience did by the prediction age). Draft and
            history features are computed once per video and shared by its ages.
        inputs: the raw columns ``transform`` reads.
        transform: raw arrays -> the feature's float64 values; also one row's values as
            numpy scalars -> a float64 scalar (``features.matrix``, docs/adr/0045), so numpy
            ufuncs and ``_where``, not ``np.where`` or ``len``.
        words: the feature's plain name.
        show: its value as a creator reads it, in a language.
        monotone: +1 when more never lowers the probability, -1 never raises it, 0 free.
        choices: what a creator could pick instead at the draft; none for what a creator
            cannot change by editing a draft (history, followers, the audience's counts).
    """

    name: str
    group: Group
    inputs: tuple[str, ...]
    transform: Transform
    words: Words
    show: Show
    monotone: int = 0
    choices: Choices | None = None

    def __post_init__(self) -> None:
        if self.monotone not in (-1, 0, 1):
            raise ValueError(f"{self.name}: monotone must be -1, 0 or 1")


# -- how values are shown ------------------------------------------------------------------


def _count(value: float, language: Language) -> str:
    """A log1p count back as the count."""
    return f"{math.expm1(value):,.0f}"


def _share(value: float, language: Language) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


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


def _seconds(value: float, language: Language) -> str:
    """A log duration back as whole seconds."""
    return f"{math.exp(value):.0f}"


def _sound(value: float, language: Language) -> str:
    return (TRENDING_SOUND if value else NO_TRENDING_SOUND)[language]


TRENDING_SOUND = Words("a trending sound", "用热门音乐")
NO_TRENDING_SOUND = Words("no trending sound", "不用热门音乐")


# Names a creator reads for the category codes of the simulator and of common short-video
# platforms; any other code is shown as itself, underscores as spaces.
CATEGORY_NAMES: dict[str, Words] = {
    "food": Words("food", "美食"),
    "education": Words("education", "教育"),
    "rural_life": Words("rural life", "乡村生活"),
    "comedy": Words("comedy", "搞笑"),
    "drama": Words("drama", "剧情"),
    "life_tips": Words("life tips", "生活技巧"),
    "gaming": Words("gaming", "游戏"),
    "beauty": Words("beauty", "美妆"),
    "music": Words("music", "音乐"),
    "sports": Words("sports", "体育"),
    "travel": Words("travel", "旅行"),
    "pets": Words("pets", "萌宠"),
    "fashion": Words("fashion", "时尚"),
    "tech": Words("tech", "科技"),
    "news": Words("news", "新闻"),
    "dance": Words("dance", "舞蹈"),
    "parenting": Words("parenting", "亲子"),
    "cars": Words("cars", "汽车"),
}


def category_name(value: Any, language: Language) -> str:
    """A category code as a creator reads it: "rural_life" -> "rural life" / "乡村生活"."""
    known = CATEGORY_NAMES.get(str(value))
    return known[language] if known else str(value).replace("_", " ")


# -- transforms that need more than one line ------------------------------------------------
#
# They run under ``np.errstate(divide="ignore", invalid="ignore")``, set once by the matrix
# assembly: a zero or missing input is meant to give inf/NaN here.


def _where(condition: Any, yes: Any, no: Any) -> Any:
    """``np.where``; for one row's scalars (``features.matrix``) the plain choice, as a
    float64 scalar: np.where would first make arrays of all three."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, yes, no)
    return np.float64(yes if condition else no)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return _where(denominator > 0, numerator / denominator, np.nan)


def _filled(values: np.ndarray, fill: float) -> np.ndarray:
    """NaN replaced by ``fill``; np.nan_to_num does the same at several times the cost."""
    return _where(np.isnan(values), fill, values)


def _clock(x: Inputs) -> tuple[np.ndarray, np.ndarray]:
    return local_clock(x["posted_at"], x.spec.timezone)


def _days_since_prev_post(x: Inputs) -> np.ndarray:
    posted, last = x["posted_at"], x["hist_last_posted_at"]
    known = (posted != NAT) & (last != NAT)
    return _where(known, (posted - last) / 86_400e9, np.nan)


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
    return _where(np.isnan(likes), np.nan, np.log1p(likes) + offset)


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
        category_name,
    ),
    Feature(
        "duration_log",
        "draft",
        ("duration_s",),
        lambda x: np.log(x["duration_s"]),
        Words("video length", "视频时长"),
        lambda v, language: _units("{:.0f} s", "{:.0f} 秒")(math.exp(v), language),
        choices=Choices(
            "duration",
            tuple(math.log(s) for s in (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300)),
            _seconds,
            Words("videos of {span} seconds do better{where}", "{where}{span} 秒的视频效果更好"),
        ),
    ),
    Feature(
        "post_hour",
        "draft",
        ("posted_at",),
        lambda x: x.shared(_clock)[0],
        Words("posting time ({zone})", "发布时间（{zone}）"),
        _clock_time,
        choices=Choices(
            "posting_time",
            tuple(float(h) for h in range(24)),
            _clock_time,
            Words("posting at {span} does better{where}", "{where}在 {span} 发布效果更好"),
        ),
    ),
    Feature(
        "post_weekday",
        "draft",
        ("posted_at",),
        lambda x: x.shared(_clock)[1],
        Words("posting day ({zone})", "发布日（{zone}）"),
        _weekday,
        choices=Choices(
            "posting_time",
            tuple(float(d) for d in range(7)),
            _weekday,
            Words("posting on {span} does better{where}", "{where}在{span}发布效果更好"),
        ),
    ),
    Feature(
        "caption_len",
        "draft",
        ("caption",),
        lambda x: char_count(x["caption"]),
        Words("caption length", "标题长度"),
        _units("{:.0f} characters", "{:.0f} 个字"),
        choices=Choices(
            "caption",
            (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0, 120.0, 200.0),
            _number("{:.0f}"),
            Words(
                "captions of {span} characters do better{where}", "{where}{span} 个字的标题效果更好"
            ),
        ),
    ),
    Feature(
        "hashtag_count",
        "draft",
        ("hashtags",),
        lambda x: token_count(x["hashtags"]),
        Words("hashtags", "话题标签"),
        _units("{:.0f}", "{:.0f} 个"),
        choices=Choices(
            "hashtags",
            tuple(float(n) for n in range(11)),
            _number("{:.0f}"),
            Words("{span} hashtags do better{where}", "{where}用 {span} 个话题标签效果更好"),
        ),
    ),
    Feature(
        "music_trending",
        "draft",
        ("music_trending",),
        lambda x: x["music_trending"],
        Words("trending music", "热门音乐"),
        _yes_no(Words("yes", "是"), Words("no", "否")),
        choices=Choices(
            "music", (0.0, 1.0), _sound, Words("{span} does better{where}", "{where}{span}效果更好")
        ),
    ),
    Feature(
        "followers_log",
        "draft",
        ("creator_followers",),
        lambda x: np.log1p(x["creator_followers"]),
        Words("followers", "粉丝数"),
        _count,
        monotone=1,  # a larger audience sees the draft first: more never lowers the chance
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
        Words("your earlier videos on record", "你的往期视频记录"),
        _yes_no(Words("none yet", "暂无"), Words("some", "有")),
    ),
    Feature(
        "hist_videos",
        "history",
        ("hist_videos",),
        lambda x: _filled(x["hist_videos"], 0.0),
        Words("your earlier videos with a final like count", "已有最终点赞数的往期视频"),
        _units("{:.0f}", "{:.0f} 个"),
    ),
    _log_count(
        "hist_median_likes",
        "history",
        "your earlier videos' typical likes",
        "你往期视频的典型点赞数",
    ),
    _log_count(
        "hist_p90_likes",
        "history",
        "likes of your best earlier videos (top 10%)",
        "你往期最好的 10% 视频的点赞数",
    ),
    Feature(
        "hist_hit_rate",
        "history",
        ("hist_hit_rate",),
        lambda x: x["hist_hit_rate"],
        # the model's own threshold, filled in where the words are said (models.explain)
        Words(
            "your earlier videos that reached {threshold:,} likes",
            "你往期视频中点赞达到 {threshold:,} 的比例",
        ),
        _share,
        monotone=1,
    ),
    Feature(
        "days_since_prev_post",
        "history",
        ("posted_at", "hist_last_posted_at"),
        _days_since_prev_post,
        Words("days since your last post", "距你上次发布的天数"),
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
        Words("likes per hour now against before", "每小时点赞数与之前相比"),
        lambda v, language: _units("x{:.2f}", "{:.2f} 倍")(math.exp(v), language),
        monotone=1,
    ),
    Feature(
        "projected_likes_log",
        "engagement",
        ("likes", "obs_age_minutes"),
        _projected_likes_log,
        # the count grown by the training videos' mean log growth from this age: one input
        # among many, worded so that it is not read as the forecast, which weighs them all
        # and may well disagree (#27: "projected ... 141" beside 85.8% for 1,000 likes)
        Words(
            "likes by the horizon at a typical video's growth (one signal, not the forecast)",
            "按一般视频的增长推算的期限时点赞数（只是一个信号，不是预测）",
        ),
        _count,
        monotone=1,
    ),
    Feature(
        "gap_to_threshold_log",
        "engagement",
        ("likes",),
        lambda x: np.log1p(x.spec.threshold) - np.log1p(x["likes"]),
        Words("likes needed to reach the goal", "达到目标所需的点赞数"),
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

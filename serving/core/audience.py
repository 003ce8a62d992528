"""When the audience likes, on the creator's clock: the share of likes arriving in each hour
of the day (``training.timing``, frozen in the bundle), beside the what-if's posting hours.

A fact of the training data, not advice: the what-if advises on a posting hour only where it
changes the chance measurably, while this says when likes come in. Data crawled too rarely
to time likes say so instead of showing a peak.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from features.catalog import Language, Words, category_name
from models.curves import ALL, Curves
from serving.core.answers import HourOption
from serving.core.context import percent

PEAK_HOURS = 2  # the peak said is the two hours in a row with the most likes
PEAK = Words(
    "Likes on {group} peak {start:02d}:00-{end:02d}:00 ({zone}): {share} of a day's likes "
    "arrive in those two hours",
    "{group}的点赞高峰在 {start:02d}:00-{end:02d}:00（{zone}）："
    "一天中 {share} 的点赞在这两个小时到来",
)
CANNOT_TELL = Words(
    "When likes arrive cannot be told: the data this model learned from were crawled too "
    "rarely (snapshots more than {gap:g} hours apart)",
    "看不出点赞在一天中什么时候到来：这个模型的训练数据抓取间隔太长"
    "（两次抓取相隔超过 {gap:g} 小时）",
)
GROUP = Words("{category} videos", "{category}类视频")
ALL_VIDEOS = Words("this platform", "这个平台上")


def audience(
    curves: Curves | None,
    category: str | None,
    hours: list[HourOption],
    zone: str,
    language: Language,
) -> dict[str, Any] | None:
    """``serving.core.answers.Audience`` fields on the creator's clock (``hours``: the
    what-if's options, one per local hour); none from a bundle saved without the timing."""
    timing = None if curves is None else curves.timing
    if timing is None:
        return None
    key = category if category is not None and category in timing.groups else ALL
    shares = timing.groups.get(key)
    if shares is None:
        text = CANNOT_TELL[language].format(gap=timing.max_gap_minutes / 60)
        return {"known": False, "group": None, "hours": [], "peak_start_hour": None, "text": text}
    model_clock = ZoneInfo(timing.zone)
    by_hour = []
    for option in sorted(hours, key=lambda o: o.local_hour):
        there = option.posted_at.astimezone(model_clock).hour  # the same instant's hour there
        by_hour.append(
            {
                "local_hour": option.local_hour,
                "share": shares.share[there],
                "low": shares.low[there],
                "high": shares.high[there],
            }
        )
    windows = [
        sum(by_hour[(start + k) % 24]["share"] for k in range(PEAK_HOURS)) for start in range(24)
    ]
    start = max(range(24), key=windows.__getitem__)
    group = (
        ALL_VIDEOS[language]
        if key == ALL
        else GROUP[language].format(category=category_name(key, language))
    )
    text = PEAK[language].format(
        group=group,
        start=by_hour[start]["local_hour"],
        end=(by_hour[start]["local_hour"] + PEAK_HOURS) % 24,
        zone=zone,
        share=percent(windows[start]),
    )
    return {
        "known": True,
        "group": key,
        "hours": by_hour,
        "peak_start_hour": by_hour[start]["local_hour"],
        "text": text,
    }

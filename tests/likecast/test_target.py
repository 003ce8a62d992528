"""The target a model predicts: how it is written down, compared and chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from likecast.settings import Settings, get_settings
from likecast.target import Target, resolve_target


@pytest.mark.parametrize(
    "target",
    [Target(1000, 7 * 1440), Target(50_000, 3 * 1440), Target(7, 1440 / 24), Target(3, 0.1 * 1440)],
    ids=str,
)
def test_a_target_survives_the_registry_tags(target: Target) -> None:
    # given a target, when it is written as a version's tags and read back
    read = Target.from_tags(target.tags())
    # then it is the same target
    assert read == target


@pytest.mark.parametrize(
    "tags",
    [{}, {"likecast.threshold": "1000"}, {"likecast.threshold": "x", "likecast.horizon_days": "7"}],
)
def test_tags_without_a_whole_target_give_none(tags: dict[str, str]) -> None:
    # given the tags of a version registered before the target was tagged (or broken ones)
    # when the target is read, then there is none to read
    assert Target.from_tags(tags) is None


def test_a_horizon_in_days_equals_the_same_horizon_in_minutes() -> None:
    # given 0.1 days written in minutes two ways (0.1 * 24 * 60 != 0.1 * 1440 in floats)
    settings = Settings(home=Path("/nonexistent"), horizon_days=0.1)
    # when compared, then they are one target
    assert Target.of(settings) == Target(1000, 0.1 * 1440)


@pytest.mark.parametrize(
    ("ours", "theirs", "said"),
    [
        (
            Target(3000, 5 * 1440),
            Target(1000, 7 * 1440),
            "threshold 3,000 vs 1,000 likes and horizon 5 vs 7 days",
        ),
        (Target(3000, 7 * 1440), Target(1000, 7 * 1440), "threshold 3,000 vs 1,000 likes"),
        (Target(1000, 3 * 1440), Target(1000, 7 * 1440), "horizon 3 vs 7 days"),
        (Target(1000, 7 * 1440), Target(1000, 7 * 1440), ""),
    ],
)
def test_differences_name_what_differs(ours: Target, theirs: Target, said: str) -> None:
    # given two targets, when their differences are said, then only what differs is named
    assert ours.differences(theirs) == said


@pytest.mark.parametrize(
    ("options", "environment", "expected", "source"),
    [
        ((None, None), {}, Target(1000, 7 * 1440), "the default"),
        ((50_000, 3.0), {}, Target(50_000, 3 * 1440), "given"),
        (
            (None, None),
            {"LIKECAST_THRESHOLD": "50000", "LIKECAST_HORIZON_DAYS": "3"},
            Target(50_000, 3 * 1440),
            "given",
        ),
        ((2000, None), {"LIKECAST_HORIZON_DAYS": "3"}, Target(2000, 3 * 1440), "given"),
        ((2000, None), {}, Target(2000, 7 * 1440), "given in part, the rest the default"),
    ],
)
def test_without_a_champion_a_given_target_beats_the_default(
    options: tuple[int | None, float | None],
    environment: dict[str, str],
    expected: Target,
    source: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given options and settings, and no registry to ask for a champion
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # when the target to build for is chosen
    settings, origin = resolve_target(get_settings(), *options, champion=None)
    # then each part comes from the option, else the setting, else the default, as said
    assert (Target.of(settings), origin) == (expected, source)

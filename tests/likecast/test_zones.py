"""Time zones by name: a known zone passes unchanged, any other is named in the error."""

from __future__ import annotations

import pytest

from likecast.zones import known_time_zone


def test_a_known_zone_passes_unchanged() -> None:
    assert known_time_zone("Asia/Shanghai") == "Asia/Shanghai"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Asia/Shanghai\x00"])
def test_an_unknown_zone_is_named(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        known_time_zone(name)

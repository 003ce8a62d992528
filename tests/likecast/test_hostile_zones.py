"""Hostile time zone names (#32, item 4): names of the zone database's folders and files that
are no zones are refused as unknown (never an ``OSError`` that becomes a 500 or a traceback),
in settings as in requests, and every real IANA zone still passes."""

from __future__ import annotations

import pytest

from likecast.zones import known_time_zone

# folders of the zone database, files in it that are no zones, and near misses
NOT_ZONES = [
    "Asia",
    "Etc",
    "US",
    "America",
    "America/Argentina",
    "__pycache__",
    "zone.tab",
    "tzdata.zi",
    "localtime",
    "asia/shanghai",
    "Asia/Shanghai/",
    "Asia//Shanghai",
    "./Asia/Shanghai",
    " Asia/Shanghai",
]
REAL_ZONES = [
    "Asia/Shanghai",
    "America/Argentina/Buenos_Aires",
    "Etc/GMT+5",
    "UTC",
    "Australia/Lord_Howe",
    "Europe/London",
]


@pytest.mark.parametrize("name", NOT_ZONES)
def test_a_name_that_is_no_zone_is_refused_as_unknown(name: str) -> None:
    # given a name the zone database holds as a folder or a plain file, or a near miss,
    # when it is checked, then it is refused, named, with what was expected
    with pytest.raises(ValueError, match="unknown time zone") as refused:
        known_time_zone(name)
    assert "expected an IANA name such as Asia/Shanghai" in str(refused.value)


@pytest.mark.parametrize("name", REAL_ZONES)
def test_every_real_zone_passes_unchanged(name: str) -> None:
    assert known_time_zone(name) == name


def test_a_huge_name_is_cut_in_the_refusal() -> None:
    # given a zone name of 100,000 characters, when it is refused, then the error is short
    with pytest.raises(ValueError, match="unknown time zone") as refused:
        known_time_zone("Asia/" + "x" * 100_000)
    assert len(str(refused.value)) < 300
    assert "100,005 characters" in str(refused.value)


@pytest.mark.parametrize("name", ["Asia", "__pycache__", "Etc"])
def test_a_setting_that_is_no_zone_fails_a_command_in_one_line(cli, name: str) -> None:
    # given LIKECAST_TIMEZONE set to a folder of the zone database
    # when any command runs
    result = cli("models", env={"LIKECAST_TIMEZONE": name})
    # then it fails in one line naming the setting and the value, without a traceback
    assert result.code != 0
    assert "Traceback" not in result.text
    line = result.err.strip()
    assert len(line.splitlines()) == 1, result.err
    assert "LIKECAST_TIMEZONE" in line
    assert f"unknown time zone '{name}'" in line

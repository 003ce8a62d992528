"""Time zones by IANA name, checked in one place for settings and requests alike, and the
one rule that turns a wall-clock time into an instant (docs/adr/0036).

A wall-clock time with no offset means UTC on every path (files, ``--at``, training, the
API) unless a request names its zone. In a named zone, a daylight-saving change makes some
wall-clock times happen twice (the clocks go back) and skips others (the clocks go
forward). Both are read by RFC 5545's rule, which is also Python's (PEP 495, ``fold=0``):
a repeated time is its first occurrence; a skipped time is read with the offset before the
change, which moves it forward by the length of the jump (New York 02:30 -> 03:30, Lord
Howe 02:15 -> 02:45). The caller says so in a warning; neither is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Literal
from zoneinfo import available_timezones

from likecast.echo import shown

Reading = Literal["exact", "repeated", "skipped"]


# Debian links the machine's own zone into the zone folder under this name: it would
# mean another clock on each machine, and is no IANA name (docs/facts.md)
MACHINE_ZONE = "localtime"


@cache
def _zone_names() -> frozenset[str]:
    """Every IANA zone name this machine can load, read once (a walk of the zone folders)."""
    return frozenset(available_timezones() - {MACHINE_ZONE})


def known_time_zone(name: str) -> str:
    """``name`` unchanged when it is an IANA time zone such as ``Asia/Shanghai``.

    Checked against the list of zones, not by loading ``name``: ``ZoneInfo("Asia")`` opens
    the folder of Asia's zones and fails with an ``OSError``, and other names of the zone
    folders (``__pycache__``, ``zone.tab``) are files but no zones.

    Raises:
        ValueError: naming the zone, which pydantic turns into a field error.
    """
    if name not in _zone_names():
        raise ValueError(
            f"unknown time zone {shown(name)}: expected an IANA name such as Asia/Shanghai"
        )
    return name


def wall_to_utc(stamp: datetime, zone: tzinfo) -> tuple[datetime, Reading]:
    """``stamp`` as an instant in UTC, and how its wall-clock time was read.

    A ``stamp`` with an offset is that instant (``exact``); without one it is read in
    ``zone``: ``repeated`` and ``skipped`` name the two daylight-saving cases, resolved by
    the module's rule.
    """
    if stamp.tzinfo is not None:
        return stamp.astimezone(UTC), "exact"
    first = stamp.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == stamp.replace(tzinfo=zone, fold=1).utcoffset():
        return first.astimezone(UTC), "exact"
    instant = first.astimezone(UTC)
    # a skipped time does not come back from its instant: the clock read something else
    back = instant.astimezone(zone).replace(tzinfo=None)
    return instant, "repeated" if back == stamp else "skipped"


def offset_name(offset: timedelta | None) -> str:
    """An offset as a creator reads it: ``UTC``, ``UTC+08:00``, ``UTC-03:30``."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"

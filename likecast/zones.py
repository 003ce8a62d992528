"""Time zones by IANA name, checked in one place for settings and requests alike."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_time_zone(name: str) -> str:
    """``name`` unchanged when it is an IANA time zone such as ``Asia/Shanghai``.

    Raises:
        ValueError: naming the zone, which pydantic turns into a field error.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name

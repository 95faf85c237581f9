"""Quiet hours of a push subscription: {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"}.

The phone's owner knows their night in their own time zone, not the server's, so the
window carries an IANA zone (default: the server's local zone). A window may cross midnight.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _clock(value: Any, name: str) -> time:
    if not isinstance(value, str):
        raise ValueError(f"quiet_hours.{name} must be a string like \"22:00\"")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"quiet_hours.{name} must be HH:MM, got {value!r}") from None


def validate(value: Any) -> dict[str, str] | None:
    """The cleaned window, or None for no quiet hours; ValueError with a reason otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("quiet_hours must be an object {\"start\": \"22:00\", \"end\": \"07:00\", \"tz\": ...}")
    start, end = _clock(value.get("start"), "start"), _clock(value.get("end"), "end")
    if start == end:
        raise ValueError("quiet_hours.start and end must differ")
    out = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    tz = value.get("tz")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"quiet_hours.tz {tz!r} is not an IANA time zone such as \"Europe/Paris\"") from None
        out["tz"] = str(tz)
    return out


def in_quiet_hours(window: dict[str, str], at: datetime) -> bool:
    """Is the aware datetime `at` inside the window (in the window's zone)?"""
    tz = ZoneInfo(window["tz"]) if window.get("tz") else None
    local = at.astimezone(tz).time()
    start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
    if start < end:
        return start <= local < end
    return local >= start or local < end

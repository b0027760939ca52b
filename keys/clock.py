"""The clock, injectable: key generation and rotation take ``clock: Clock`` so tests can fix "now"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed(at: dt.datetime) -> Clock:
    """A clock that always answers ``at`` (for tests and reproducible plans)."""
    return lambda: at


def rfc3339(when: dt.datetime | None) -> str:
    """``2024-10-14T19:45:30Z`` (what kubectl shows); empty for None."""
    if when is None:
        return ""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""When to make a new sealing key. Pure logic: the caller passes "now" (an injectable clock) and
the newest key's NotBefore; nothing here sleeps, reads a store or generates a key.

Bitnami's controller (pkg/controller/main.go initKeyRenewal), which this follows:
- at start, a new key is made if there is none, or if the newest is older than the cutoff time
  (``--key-cutoff-time``); the cutoff is checked at start only: with a cutoff in the future every
  new key would be "older" than it, and a check on each tick would rotate forever;
- with a renew period (``--key-renew-period``, default 720h = 30 days; 0 disables automatic
  rotation), the next key is due when the newest key is ``period`` old:
  ``delay = max(0, period - age)``, then every ``period``;
- a manual rotation (rotate-now; SIGUSR1 for Bitnami) makes a key at once, period 0 or not.

One refinement: the delay is also capped at ``period``. A newest key whose NotBefore lies in the
future (a writer's clock ahead of ours) would otherwise postpone rotation by the skew.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from keys.durations import DurationError, parse_duration

DEFAULT_RENEW_PERIOD = dt.timedelta(hours=720)
_ZERO = dt.timedelta(0)


@dataclass(frozen=True)
class RotationPolicy:
    period: dt.timedelta = DEFAULT_RENEW_PERIOD  # zero: no automatic rotation
    cutoff: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.period < _ZERO:
            raise ValueError("the key renew period must not be negative")
        if self.cutoff is not None and self.cutoff.tzinfo is None:
            raise ValueError("the cutoff time needs a time zone")

    @property
    def automatic(self) -> bool:
        return self.period > _ZERO

    def new_key_at_start(self, newest_not_before: dt.datetime | None) -> bool:
        """Whether starting up must make a key: none yet, or the newest predates the cutoff."""
        if newest_not_before is None:
            return True
        return self.cutoff is not None and newest_not_before < self.cutoff

    def delay(self, newest_not_before: dt.datetime, now: dt.datetime) -> dt.timedelta | None:
        """How long until the next automatic rotation (None: never, the period is 0)."""
        if not self.automatic:
            return None
        age = now - newest_not_before
        return min(self.period, max(_ZERO, self.period - age))

    def next_rotation(self, newest_not_before: dt.datetime, now: dt.datetime) -> dt.datetime | None:
        delay = self.delay(newest_not_before, now)
        return None if delay is None else now + delay


@dataclass(frozen=True)
class RotationPlan:
    generate_now: bool
    next_rotation: dt.datetime | None  # counted from the key made now, if one is


def plan(
    policy: RotationPolicy,
    newest_not_before: dt.datetime | None,
    now: dt.datetime,
    *,
    at_start: bool = False,
    rotate_now: bool = False,
) -> RotationPlan:
    """What a controller should do now: at start (``at_start``), on a timer tick, or when asked
    to rotate (``rotate_now``). A timer tick that finds the newest key due generates too."""
    if rotate_now or newest_not_before is None:
        generate = True
    elif at_start and policy.new_key_at_start(newest_not_before):
        generate = True
    else:
        # Due (or overdue, e.g. the controller was down): Bitnami's first run then has delay 0.
        generate = policy.automatic and policy.delay(newest_not_before, now) == _ZERO
    basis = now if generate or newest_not_before is None else newest_not_before
    return RotationPlan(generate, policy.next_rotation(basis, now))


# --- flags ---------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123Z = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (" + "|".join(_MONTHS) + r") (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$"
)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_cutoff(text: str) -> dt.datetime:
    """A cutoff time as Bitnami's ``--key-cutoff-time`` takes it, RFC 1123 with a numeric zone
    (``Mon, 14 Oct 2024 21:45:30 +0200``), or RFC 3339 (``2024-10-14T21:45:30+02:00``).
    The zone is required: a cutoff that means different instants on different machines is a trap.
    Month and weekday names are English whatever the locale (as in Go)."""
    text = text.strip()
    try:
        if m := _RFC1123Z.match(text):
            day, month, year, hh, mm, ss, sign, zh, zm = m.groups()
            offset = dt.timedelta(hours=int(zh), minutes=int(zm))
            tz = dt.timezone(-offset if sign == "-" else offset)
            return dt.datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=tz)
        if m := _RFC3339.match(text):
            year, month, day, hh, mm, ss, frac, zulu, sign, zh, zm = m.groups()
            if zulu:
                tz = dt.UTC
            else:
                offset = dt.timedelta(hours=int(zh), minutes=int(zm))
                tz = dt.timezone(-offset if sign == "-" else offset)
            micro = int((frac or "0")[:6].ljust(6, "0"))
            return dt.datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), micro, tzinfo=tz)
    except ValueError:  # e.g. day 31 of a 30-day month, or an offset of 24h or more
        pass
    raise ValueError(
        f'invalid cutoff time "{text}": expected RFC 1123 with a numeric zone '
        '(e.g. "Mon, 14 Oct 2024 21:45:30 +0200") or RFC 3339 (e.g. "2024-10-14T21:45:30+02:00")'
    )


def parse_period(text: str) -> dt.timedelta:
    """A renew period flag: a Go duration, not negative ("0" disables rotation)."""
    try:
        period = parse_duration(text)
    except DurationError as e:
        raise ValueError(str(e)) from None
    if period < _ZERO:
        raise ValueError(f'invalid key renew period "{text}": must not be negative')
    return period

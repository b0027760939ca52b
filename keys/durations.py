"""Go-style durations (``720h``, ``1h30m``, ``90s``, ``1.5h``, ``-2m``), as Bitnami's controller
flags (``--key-renew-period``, ``--key-ttl``) take them. A port of Go's ``time.ParseDuration``
so a flag value means the same thing to both programs; ``format_duration`` is ``Duration.String``.

Python's timedelta stops at microseconds, so nanoseconds are truncated towards zero.

Why not durationpy (which the kubernetes client pulls in): it does a different job. It accepts
units Go rejects (``1d``, ``1w``, ``2mm``, ``1y``: a flag Bitnami's controller refuses would mean
something here), sums in floats (``9007199254740993ns`` is off by one microsecond) with no int64
bound (``9223372036854775808ns`` passes), and its ``to_str`` is not Go's ``Duration.String``
(``0`` for ``0s``, ``87600h`` for ``87600h0m0s``, ``us`` for ``µs``). tests/keys/test_durations.py
holds Go's own cases, which it fails.
"""

from __future__ import annotations

import datetime as dt

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_LIMIT = 2**63  # Go accumulates in uint64 and allows -2**63; time.Duration is an int64 of nanoseconds


class DurationError(ValueError):
    pass


def parse_duration_ns(text: str) -> int:
    """Nanoseconds in a Go duration string, computed as Go computes them (fractions included, in
    float64: ``0.3333333333333333333h`` is exactly 20m in both). Raises DurationError."""
    orig = text
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError(f'invalid duration "{orig}"')
    total = 0
    while s:
        if not (s[0] == "." or _digit(s[0])):
            raise DurationError(f'invalid duration "{orig}"')
        before = len(s)
        whole, s = _leading_int(s, orig)
        had_whole = len(s) != before
        fraction, scale, had_fraction = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            before = len(s)
            fraction, scale, s = _leading_fraction(s)
            had_fraction = len(s) != before
        if not had_whole and not had_fraction:
            raise DurationError(f'invalid duration "{orig}"')  # e.g. ".s"
        i = 0
        while i < len(s) and s[i] != "." and not _digit(s[i]):
            i += 1
        unit_name, s = s[:i], s[i:]
        if not unit_name:
            raise DurationError(f'missing unit in duration "{orig}"')
        unit = _UNITS_NS.get(unit_name)
        if unit is None:
            raise DurationError(f'unknown unit "{unit_name}" in duration "{orig}"')
        if whole > _LIMIT // unit:
            raise DurationError(f'invalid duration "{orig}"')
        value = whole * unit
        if fraction > 0:
            value += int(float(fraction) * (float(unit) / scale))
            if value > _LIMIT:
                raise DurationError(f'invalid duration "{orig}"')
        total += value
        if total > _LIMIT:
            raise DurationError(f'invalid duration "{orig}"')
    if negative:
        return -total
    if total > _LIMIT - 1:
        raise DurationError(f'invalid duration "{orig}"')
    return total


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _leading_int(s: str, orig: str) -> tuple[int, str]:
    x, i = 0, 0
    while i < len(s) and _digit(s[i]):
        if x > _LIMIT // 10:
            raise DurationError(f'invalid duration "{orig}"')
        x = x * 10 + ord(s[i]) - 48
        if x > _LIMIT:
            raise DurationError(f'invalid duration "{orig}"')
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    # Digits past what fits in 63 bits are consumed but ignored, as in Go.
    x, scale, i, overflow = 0, 1.0, 0, False
    while i < len(s) and _digit(s[i]):
        if not overflow:
            if x > (_LIMIT - 1) // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > _LIMIT:
                    overflow = True
                else:
                    x = y
                    scale *= 10
        i += 1
    return x, scale, s[i:]


def parse_duration(text: str) -> dt.timedelta:
    ns = parse_duration_ns(text)
    micros = abs(ns) // 1000
    return dt.timedelta(microseconds=-micros if ns < 0 else micros)


def to_ns(delta: dt.timedelta) -> int:
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def format_duration(delta: dt.timedelta) -> str:
    """Go's ``Duration.String``: ``87600h0m0s``, ``1h30m0s``, ``1.5s``, ``250ms``, ``0s``."""
    ns = to_ns(delta)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if ns >= scale:
                return sign + _decimal(ns, scale) + unit
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    seconds = _decimal(rest, 1_000_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _decimal(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")

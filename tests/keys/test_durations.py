"""Go durations: the cases of Go's own time.ParseDuration tests, and a round trip."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.durations import DurationError, format_duration, parse_duration, parse_duration_ns

S = 1_000_000_000
MS, US = 1_000_000, 1_000
M, H = 60 * S, 3600 * S

GO_CASES = [
    ("0", 0),
    ("5s", 5 * S),
    ("30s", 30 * S),
    ("1478s", 1478 * S),
    ("-5s", -5 * S),
    ("+5s", 5 * S),
    ("-0", 0),
    ("+0", 0),
    ("5.0s", 5 * S),
    ("5.6s", 5 * S + 600 * MS),
    ("5.s", 5 * S),
    (".5s", 500 * MS),
    ("1.0s", S),
    ("1.00s", S),
    ("1.004s", S + 4 * MS),
    ("1.0040s", S + 4 * MS),
    ("100.00100s", 100 * S + 1 * MS),
    ("10ns", 10),
    ("11us", 11 * US),
    ("12\u00b5s", 12 * US),
    ("12\u03bcs", 12 * US),
    ("13ms", 13 * MS),
    ("14s", 14 * S),
    ("15m", 15 * M),
    ("16h", 16 * H),
    ("3h30m", 3 * H + 30 * M),
    ("10.5s4m", 4 * M + 10 * S + 500 * MS),
    ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
    ("1h2m3s4ms5us6ns", H + 2 * M + 3 * S + 4 * MS + 5 * US + 6),
    ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
    ("52763797000ns", 52763797000),
    ("0.3333333333333333333h", 20 * M),
    ("9007199254740993ns", (1 << 53) + 1),
    ("9223372036854775807ns", (1 << 63) - 1),
    ("9223372036854775.807us", (1 << 63) - 1),
    ("9223372036s854ms775us807ns", (1 << 63) - 1),
    ("-9223372036s854ms775us808ns", -(1 << 63)),
    ("-9223372036854775808ns", -(1 << 63)),
    ("-9223372036854775.808us", -(1 << 63)),
    ("0.100000000000000000000h", 6 * M),
    ("0.830103483285477580700h", 49 * M + 48 * S + 372539827),
    ("720h", 720 * H),
    ("87600h", 87600 * H),
    ("1h30m", 90 * M),
    ("90s", 90 * S),
]


@pytest.mark.parametrize(("text", "ns"), GO_CASES)
def test_parses_like_go(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "1 h",
        " 1h",
        "\x85\x85",
        "\u00ffff",
        "hello \u00ffff world",
        "9223372036854775808ns",
        "9223372036854775.808us",
        "9223372036s854ms775us808ns",
        "-9223372036854775809ns",
    ],
)
def test_rejects_like_go(text):
    with pytest.raises(DurationError):
        parse_duration_ns(text)


def test_error_messages_name_the_problem():
    with pytest.raises(DurationError, match='missing unit in duration "3"'):
        parse_duration("3")
    with pytest.raises(DurationError, match='unknown unit "d" in duration "1d"'):
        parse_duration("1d")


def test_timedelta_truncates_nanoseconds():
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("1500ns") == dt.timedelta(microseconds=1)
    assert parse_duration("-1500ns") == dt.timedelta(microseconds=-1)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(0), "0s"),
        (dt.timedelta(hours=87600), "87600h0m0s"),
        (dt.timedelta(minutes=90), "1h30m0s"),
        (dt.timedelta(seconds=1.5), "1.5s"),
        (dt.timedelta(milliseconds=250), "250ms"),
        (dt.timedelta(microseconds=3), "3\u00b5s"),
        (dt.timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_formats_like_go(delta, text):
    assert format_duration(delta) == text


@given(st.timedeltas(min_value=dt.timedelta(days=-100_000), max_value=dt.timedelta(days=100_000)))
def test_format_parse_round_trip(delta):
    assert parse_duration(format_duration(delta)) == delta

"""Rotation schedule: properties over arbitrary clocks, periods and cutoffs, and the flag parsers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.rotation import DEFAULT_RENEW_PERIOD, RotationPolicy, parse_cutoff, parse_period, plan

UTC = dt.UTC
ZERO = dt.timedelta(0)

instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC))
periods = st.one_of(st.just(ZERO), st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=dt.timedelta(days=3650)))
cutoffs = st.one_of(st.none(), instants)


@given(newest=instants, now=instants, period=periods, cutoff=cutoffs)
def test_next_rotation_is_never_in_the_past_nor_beyond_one_period(newest, now, period, cutoff):
    nxt = RotationPolicy(period, cutoff).next_rotation(newest, now)
    if period == ZERO:
        assert nxt is None
        return
    assert now <= nxt <= now + period
    # Never later than one period after the newest key, unless that moment is already past.
    assert nxt <= max(now, newest + period)
    if newest <= now:
        assert nxt == max(now, newest + period)  # Bitnami: delay = max(0, period - age)


@given(newest=instants, now=instants, cutoff=instants, period=periods)
def test_cutoff_forces_a_new_key_at_start_iff_the_newest_key_predates_it(newest, now, cutoff, period):
    policy = RotationPolicy(period, cutoff)
    assert policy.new_key_at_start(newest) == (newest < cutoff)
    decision = plan(policy, newest, now, at_start=True)
    overdue = period > ZERO and now - newest >= period
    assert decision.generate_now == (newest < cutoff or overdue)


@given(now=instants, period=periods, cutoff=cutoffs)
def test_no_key_means_a_new_key(now, period, cutoff):
    for at_start in (True, False):
        decision = plan(RotationPolicy(period, cutoff), None, now, at_start=at_start)
        assert decision.generate_now
        assert decision.next_rotation == (None if period == ZERO else now + period)


@given(newest=instants, now=instants, cutoff=cutoffs)
def test_period_zero_never_schedules_nor_rotates_by_itself(newest, now, cutoff):
    policy = RotationPolicy(ZERO, cutoff)
    tick = plan(policy, newest, now)
    assert not tick.generate_now and tick.next_rotation is None
    assert plan(policy, newest, now, at_start=True).next_rotation is None
    assert policy.delay(newest, now) is None


@given(newest=instants, now=instants, period=periods, cutoff=cutoffs)
def test_rotate_now_always_generates_and_restarts_the_period(newest, now, period, cutoff):
    decision = plan(RotationPolicy(period, cutoff), newest, now, rotate_now=True)
    assert decision.generate_now
    assert decision.next_rotation == (None if period == ZERO else now + period)


@given(newest=instants, now=instants, period=periods)
def test_the_cutoff_is_not_checked_on_timer_ticks(newest, now, period):
    # A cutoff in the future would make every new key "too old": checking it on each tick would
    # rotate forever. Only an elapsed period rotates on a tick.
    far_future = dt.datetime(2200, 1, 1, tzinfo=UTC)
    decision = plan(RotationPolicy(period, far_future), newest, now)
    assert decision.generate_now == (period > ZERO and now - newest >= period)


def test_monthly_rotation_example():
    policy = RotationPolicy()  # 720h
    newest = dt.datetime(2024, 10, 1, tzinfo=UTC)
    assert policy.next_rotation(newest, newest + dt.timedelta(days=10)) == newest + DEFAULT_RENEW_PERIOD
    assert policy.next_rotation(newest, newest + dt.timedelta(days=45)) == newest + dt.timedelta(days=45)


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        RotationPolicy(dt.timedelta(hours=-1))
    with pytest.raises(ValueError):
        RotationPolicy(cutoff=dt.datetime(2024, 1, 1))  # no time zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 14 Oct 2024 21:45:30 +0200", dt.datetime(2024, 10, 14, 19, 45, 30, tzinfo=UTC)),
        ("Mon, 14 Oct 2024 21:45:30 -0130", dt.datetime(2024, 10, 14, 23, 15, 30, tzinfo=UTC)),
        ("2024-10-14T21:45:30+02:00", dt.datetime(2024, 10, 14, 19, 45, 30, tzinfo=UTC)),
        ("2024-10-14T19:45:30Z", dt.datetime(2024, 10, 14, 19, 45, 30, tzinfo=UTC)),
        ("2024-10-14T19:45:30.123456789Z", dt.datetime(2024, 10, 14, 19, 45, 30, 123456, tzinfo=UTC)),
    ],
)
def test_parse_cutoff(text, expected):
    assert parse_cutoff(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 14 Oct 2024 21:45:30 GMT",  # RFC1123 with a zone name: Bitnami wants a numeric zone
        "Mon, 14 Oct 2024 21:45:30",
        "14 Oct 2024 21:45:30 +0200",
        "Mon, 4 Oct 2024 21:45:30 +0200",
        "Mon, 31 Sep 2024 21:45:30 +0200",
        "2024-10-14T21:45:30",  # RFC3339 needs a zone
        "2024-10-14",
        "yesterday",
    ],
)
def test_parse_cutoff_refuses(text):
    with pytest.raises(ValueError, match="invalid cutoff time"):
        parse_cutoff(text)


def test_parse_period():
    assert parse_period("720h") == DEFAULT_RENEW_PERIOD
    assert parse_period("0") == ZERO
    with pytest.raises(ValueError, match="negative"):
        parse_period("-1h")
    with pytest.raises(ValueError, match="invalid duration"):
        parse_period("monthly")

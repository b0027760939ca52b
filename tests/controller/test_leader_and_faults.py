"""Leader election's decision, fault classification, value-free refusal reasons, rate-limited
logging and the takeover rule: pure logic, no cluster (the I/O is tested in tests/e2e/test_ha.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller import config, faults, takeover
from controller.leader import ElectionConfig, election_config, next_spec, released_spec
from controller.ratelimit import RateLimiter
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION
from sealer.kube import ApiError

NOW = "2026-12-01T09:00:00.000000Z"
LATER = "2026-12-01T09:00:02.000000Z"


# --- leader election ----------------------------------------------------------------------


def test_no_lease_creates_one_held_by_us():
    assert next_spec(None, "a", 15, expired=False, now=NOW) == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": NOW,
        "renewTime": NOW,
        "leaseTransitions": 0,
    }


def test_another_holders_live_lease_is_left_alone():
    held = next_spec(None, "a", 15, expired=False, now=NOW)
    assert next_spec(held, "b", 15, expired=False, now=LATER) is None


def test_renewal_keeps_acquire_time_and_transitions():
    held = next_spec(None, "a", 15, expired=False, now=NOW)
    renewed = next_spec(held, "a", 15, expired=False, now=LATER)
    assert renewed["renewTime"] == LATER and renewed["acquireTime"] == NOW and renewed["leaseTransitions"] == 0


def test_expired_lease_is_taken_over_as_a_transition():
    held = dict(next_spec(None, "a", 15, expired=False, now=NOW), leaseTransitions=4)
    taken = next_spec(held, "b", 15, expired=True, now=LATER)
    assert taken["holderIdentity"] == "b" and taken["acquireTime"] == LATER and taken["leaseTransitions"] == 5


def test_released_lease_is_taken_at_once_even_if_not_expired():
    held = next_spec(None, "a", 15, expired=False, now=NOW)
    released = released_spec(held, NOW)
    assert released["holderIdentity"] == "" and released["leaseDurationSeconds"] == 1
    taken = next_spec(released, "b", 15, expired=False, now=LATER)
    assert taken["holderIdentity"] == "b" and taken["leaseTransitions"] == 1


@given(st.sampled_from(["a", "b", ""]), st.booleans(), st.integers(0, 10))
def test_at_most_one_holder_and_transitions_never_go_back(holder, expired, transitions):
    current = {
        "holderIdentity": holder,
        "leaseDurationSeconds": 15,
        "acquireTime": NOW,
        "renewTime": NOW,
        "leaseTransitions": transitions,
    }
    new = next_spec(current, "a", 15, expired=expired, now=LATER)
    if holder == "b" and not expired:
        assert new is None
    else:
        assert new["holderIdentity"] == "a"
        assert new["leaseTransitions"] == transitions + (holder != "a")


def test_client_go_timing_constraints():
    ElectionConfig("ns", "l", "me").validate()  # 15 / 10 / 2
    with pytest.raises(ValueError, match="lease-duration"):
        ElectionConfig("ns", "l", "me", 10, 10, 2).validate()
    with pytest.raises(ValueError, match="1.2"):
        ElectionConfig("ns", "l", "me", 15, 2.2, 2).validate()


def test_flags_and_env(monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("SEALED_SECRETS_"):
            monkeypatch.delenv(k)
    args = config.parser().parse_args([])
    assert args.leader_elect is True and args.leader_election_id == "sealed-secrets-controller"
    assert (
        args.leader_election_lease_duration,
        args.leader_election_renew_deadline,
        args.leader_election_retry_period,
    ) == (dt.timedelta(seconds=15), dt.timedelta(seconds=10), dt.timedelta(seconds=2))
    assert args.kubeclient_qps == -1 and args.kubeclient_burst == 10
    assert config.parser().parse_args(["--leader-elect=false"]).leader_elect is False
    monkeypatch.setenv("SEALED_SECRETS_LEADER_ELECTION_LEASE_DURATION", "30s")
    monkeypatch.setenv("SEALED_SECRETS_LEADER_ELECT", "false")
    monkeypatch.setenv("SEALED_SECRETS_KUBECLIENT_QPS", "50")
    args = config.parser().parse_args([])
    assert args.leader_elect is False and args.kubeclient_qps == 50
    monkeypatch.setenv("POD_NAME", "ctrl-7d9f")
    election = election_config(args, "kube-system")
    assert election.lease_duration == 30 and election.identity.startswith("ctrl-7d9f_")
    assert election_config(args, "kube-system").identity != election.identity  # a restart is a new candidate


def test_bad_timing_flags_are_refused():
    args = config.parser().parse_args(["--leader-election-renew-deadline", "20s"])
    with pytest.raises(ValueError, match="greater than"):
        election_config(args, "ns")
    with pytest.raises(ValueError, match="must not be empty"):
        election_config(argparse.Namespace(**{**vars(config.parser().parse_args([])), "leader_election_id": ""}), "ns")


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ApiError(503, "ServiceUnavailable", ""), True),
        (ApiError(429, "TooManyRequests", ""), True),
        (ApiError(409, "Conflict", ""), True),
        (ApiError(500, "InternalError", ""), True),
        (ApiError(500, "InternalError", "etcdserver: request is too large"), False),
        (ApiError(422, "Invalid", ""), False),
        (ApiError(403, "Forbidden", ""), True),
        (ApiError(404, "NotFound", ""), False),
        (ApiError(413, "RequestEntityTooLarge", ""), False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (ValueError("x"), False),
        (KeyError("x"), False),
    ],
)
def test_transient_or_not(error, transient):
    assert faults.is_transient(error) is transient


def test_urllib3_errors_are_transient_and_named_by_their_cause():
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    inner = NewConnectionError(None, "refused")
    e = MaxRetryError(None, "/api", inner)
    assert faults.is_transient(e)
    assert faults.kind_of(e).startswith("MaxRetryError: NewConnectionError")
    assert (
        faults.kind_of(ApiError(503, "ServiceUnavailable", "x", "503 ServiceUnavailable")) == "503 ServiceUnavailable"
    )


def test_too_large_is_explained_without_values():
    value = "s3cr3t-" * 10
    e = ApiError(
        422,
        "Invalid",
        f'Secret "big" is invalid: [data: Too long: must have at most 1048576 bytes, '
        f'data[x]: Invalid value: "{value}": a valid config key must consist of ...]',
        "422 Invalid (fields: data, data[x])",
    )
    reason = faults.refusal_reason(e)
    assert reason.startswith(
        "422 Invalid (fields: data, data[x]): data is over the API server's limit of 1048576 bytes"
    )
    assert "1 MiB" in reason and "s3cr3t" not in reason and "Invalid value" not in reason
    assert faults.is_refused(e)
    e = ApiError(
        413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", "413 RequestEntityTooLarge"
    )
    assert faults.refusal_reason(e).endswith("over the API server's size limit of 3145728 bytes")
    plain = ApiError(
        422, "Invalid", f'Secret "x" is invalid: type: Invalid value: "{value}"', "422 Invalid (fields: type)"
    )
    assert faults.refusal_reason(plain) == "422 Invalid (fields: type)"


@given(st.text(max_size=300))
def test_refusal_reason_never_repeats_free_text(message):
    reason = faults.refusal_reason(ApiError(422, "Invalid", message, "422 Invalid"))
    assert reason.startswith("422 Invalid")
    # Whatever the server said, only field paths and digits come through.
    for word in reason.replace(":", " ").replace(";", " ").split():
        assert (
            word in message
            or word.isdigit()
            or word
            in (
                "422",
                "Invalid",
                "is",
                "over",
                "the",
                "API",
                "server's",
                "limit",
                "of",
                "bytes",
                "characters",
                "items",
                "has",
                "more",
                "than",
                "a",
                "Secret's",
                "data",
                "may",
                "not",
                "exceed",
                "1",
                "MiB",
                "in",
                "total",
            )
        )


def test_once_per_kind_then_a_count(caplog):
    t = [0.0]
    once = faults.OncePer(logging.getLogger("t"), 30, clock=lambda: t[0])
    with caplog.at_level(logging.WARNING):
        for _ in range(100):
            once.warning("503", "API server trouble (%s)", "503")
        once.warning("refused", "other kind")
        t[0] = 31
        once.warning("503", "API server trouble (%s)", "503")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "API server trouble (503)",
        "other kind",
        "API server trouble (503) (99 more like this in the last 30 s)",
    ]


def test_backoff_is_bounded_grows_and_resets():
    b = faults.Backoff(0.25, 30, rand=lambda: 1.0)
    delays = [b.next("k") for _ in range(12)]
    assert delays[:3] == [0.25, 0.5, 1.0] and max(delays) == 30 and delays == sorted(delays)
    b.forget("k")
    assert b.next("k") == 0.25
    assert faults.Backoff(0.25, 30, rand=lambda: 0.0).next("k") == 0.125  # jitter: half to full


def test_client_throttle_waits_for_tokens():
    t = [0.0]
    slept: list[float] = []
    limiter = RateLimiter(5, 2, clock=lambda: t[0])

    def sleep(s):
        slept.append(s)
        t[0] += s

    for _ in range(4):
        limiter.wait("kube", sleep)
    assert len(slept) == 2 and abs(sum(slept) - 0.4) < 1e-9  # burst 2, then 5 per second


# --- takeover ------------------------------------------------------------------------------


def _secret(annotations=None):
    return {"metadata": {"name": "s", "namespace": "n", "annotations": annotations or {}}}


FAILING = {"metadata": {"name": "s"}, "status": {"conditions": [{"type": "Synced", "status": "False"}]}}
SYNCED = {"metadata": {"name": "s"}, "status": {"conditions": [{"type": "Synced", "status": "True"}]}}


@pytest.mark.parametrize("annotation", [MANAGED_ANNOTATION, PATCH_ANNOTATION])
def test_annotating_a_foreign_secret_lets_the_waiting_sealed_secret_go(annotation):
    assert takeover.wanted("MODIFIED", _secret({annotation: "true"}), _secret(), FAILING)
    assert not takeover.wanted("MODIFIED", _secret({annotation: "true"}), _secret({annotation: "true"}), FAILING)
    assert not takeover.wanted("MODIFIED", _secret({annotation: "false"}), _secret(), FAILING)
    assert not takeover.wanted("MODIFIED", _secret({annotation: "true"}), _secret(), SYNCED)
    assert not takeover.wanted("MODIFIED", _secret({annotation: "true"}), _secret(), None)


def test_deleting_the_blocking_secret_lets_it_go():
    assert takeover.wanted("DELETED", _secret(), _secret(), FAILING)
    assert takeover.wanted("DELETED", _secret(), _secret(), {"metadata": {"name": "s"}})  # no status yet
    # A deleted patch-only or managed Secret never blocked anything: no takeover, even before the
    # SealedSecret's status reached the cache (a patch-only one stays deleted; a managed one the
    # Secret watch recreates).
    for claimed in (PATCH_ANNOTATION, MANAGED_ANNOTATION):
        assert not takeover.wanted("DELETED", _secret({claimed: "true"}), None, {"metadata": {"name": "s"}})
    owned = {"metadata": {"name": "s", "ownerReferences": [{"kind": "SealedSecret", "controller": True}]}}
    assert not takeover.wanted("DELETED", owned, None, FAILING)
    assert not takeover.wanted("ADDED", _secret({MANAGED_ANNOTATION: "true"}), None, FAILING)

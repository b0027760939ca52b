"""Argo CD's own SealedSecret health check (its health.lua, run by a real Lua 5.1: tests/argocd.py) on
the statuses controller/status.py writes: Healthy, Degraded with our message, Progressing."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller import record
from controller.status import Result, next_status
from tests import argocd

WAITING = {"status": "Progressing", "message": "Waiting for Sealed Secret to be decrypted"}
BAD = Result(False, "ErrUnsealFailed", "no key could decrypt secret (password)")


def sealed_secret(generation: int, status: dict | None) -> dict:
    obj = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod", "generation": generation},
        "spec": {"encryptedData": {"password": "AgA="}},
    }
    if status is not None:
        obj["status"] = status
    return obj


def test_the_harness_gives_argos_own_expected_verdicts():
    """Argo CD's health_test.yaml cases, through our Lua runner: proof that the runner is faithful."""
    directory = argocd.check_dir()
    cases = yaml.safe_load((directory / "health_test.yaml").read_text())["tests"]
    assert len(cases) >= 4
    for case in cases:
        obj = yaml.safe_load((directory / case["inputPath"]).read_text())
        assert argocd.health(obj) == case["healthStatus"], case["inputPath"]


def test_unsealed_is_healthy():
    status = next_status(None, 1, Result(True, "Unsealed"), "T1")
    assert argocd.health(sealed_secret(1, status)) == {"status": "Healthy", "message": ""}


def test_failed_unseal_is_degraded_with_our_message():
    status = next_status(None, 1, BAD, "T1")
    assert argocd.health(sealed_secret(1, status)) == {"status": "Degraded", "message": BAD.message}


def test_recovery_after_a_failure_is_healthy():
    failed = next_status(None, 1, BAD, "T1")
    status = next_status(failed, 2, Result(True, "Unsealed"), "T2")
    assert argocd.health(sealed_secret(2, status)) == {"status": "Healthy", "message": ""}


def test_not_reconciled_yet_is_progressing():
    assert argocd.health(sealed_secret(1, None)) == WAITING
    assert argocd.health(sealed_secret(1, {"observedGeneration": 0})) == WAITING  # deploy/crd.yaml's default


def test_a_status_for_an_older_generation_is_progressing():
    for result in (Result(True, "Unsealed"), BAD):
        assert argocd.health(sealed_secret(2, next_status(None, 1, result, "T1"))) == WAITING


def test_other_tools_conditions_do_not_change_the_verdict():
    theirs = {"conditions": [{"type": "Example", "status": "False", "message": "not ours"}]}
    status = next_status(theirs, 1, BAD, "T1")
    assert status["conditions"][-1]["type"] == "Example"
    assert argocd.health(sealed_secret(1, status)) == {"status": "Degraded", "message": BAD.message}


def test_the_controllers_record_condition_does_not_change_the_verdict():
    status = next_status(None, 1, Result(True, "Unsealed"), "T1", record=(record.CONDITION, True, "Recorded", ""))
    assert {c["type"] for c in status["conditions"]} >= {"Synced", record.CONDITION}
    assert argocd.health(sealed_secret(1, status)) == {"status": "Healthy", "message": ""}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ok=st.booleans(),
    message=st.text(st.characters(blacklist_categories=["Cs"]), max_size=200),
    generation=st.integers(1, 2**53),
)
def test_argo_reads_ok_as_healthy_and_shows_our_failure_message_verbatim(ok, message, generation):
    status = next_status(None, generation, Result(ok, "Unsealed" if ok else "ErrUnsealFailed", message), "T1")
    expected = {"status": "Healthy", "message": ""} if ok else {"status": "Degraded", "message": message}
    assert argocd.health(sealed_secret(generation, status)) == expected

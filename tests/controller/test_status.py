"""Status decisions: no write when nothing changed; transition times; kstatus/Argo CD readability."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controller.status import Result, condition_value, next_status

OK = Result(True, "Unsealed")
BAD = Result(False, "ErrUnsealFailed", "Failed to unseal: no key could decrypt secret (foo)")


def cond(status, kind):
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_first_sync_sets_synced_first_and_equal_times():
    s = next_status(None, 1, OK, "T1")
    assert s["observedGeneration"] == 1
    assert s["conditions"][0]["type"] == "Synced"  # Bitnami's printer columns read conditions[0]
    synced = cond(s, "Synced")
    assert synced["status"] == "True" and synced["message"] == ""
    assert synced["lastTransitionTime"] == synced["lastUpdateTime"] == "T1"
    assert cond(s, "Ready")["status"] == "True"
    assert "Stalled" not in {c["type"] for c in s["conditions"]}


def test_same_result_same_generation_is_no_write():
    s = next_status(None, 1, OK, "T1")
    assert next_status(s, 1, OK, "T2") is None
    failed = next_status(None, 1, BAD, "T1")
    assert next_status(failed, 1, BAD, "T2") is None


def test_new_generation_keeps_transition_time():
    s = next_status(None, 1, OK, "T1")
    s2 = next_status(s, 2, OK, "T2")
    assert s2["observedGeneration"] == 2
    synced = cond(s2, "Synced")
    assert synced["lastTransitionTime"] == "T1" and synced["lastUpdateTime"] == "T2"


def test_failure_then_recovery():
    s = next_status(next_status(None, 1, OK, "T1"), 2, BAD, "T2")
    assert cond(s, "Synced")["status"] == "False" and cond(s, "Synced")["lastTransitionTime"] == "T2"
    assert cond(s, "Synced")["message"] == BAD.message
    assert cond(s, "Stalled")["status"] == "True"  # kstatus: Failed, not InProgress forever
    assert condition_value(s) == -1
    back = next_status(s, 3, OK, "T3")
    assert cond(back, "Synced")["status"] == "True" and "Stalled" not in {c["type"] for c in back["conditions"]}
    assert condition_value(back) == 1


def test_foreign_conditions_and_fields_are_kept():
    old = {"conditions": [{"type": "Other", "status": "True"}], "extra": 1}
    s = next_status(old, 1, OK, "T1")
    assert {"type": "Other", "status": "True"} in s["conditions"] and s["extra"] == 1


@given(st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=1, max_size=12))
def test_properties_over_any_history(history):
    status, t = None, 0
    for generation, ok in history:
        t += 1
        result = OK if ok else BAD
        new = next_status(status, generation, result, f"T{t}")
        if new is None:
            # Only skipped when the status already says exactly this.
            assert status["observedGeneration"] == generation and cond(status, "Synced")["status"] == (
                "True" if ok else "False"
            )
            continue
        assert new["observedGeneration"] == generation
        synced = cond(new, "Synced")
        assert synced["status"] == ("True" if ok else "False") and synced["lastUpdateTime"] == f"T{t}"
        if status is not None and cond(status, "Synced")["status"] == synced["status"]:
            assert synced["lastTransitionTime"] == cond(status, "Synced")["lastTransitionTime"]
        else:
            assert synced["lastTransitionTime"] == f"T{t}"
        status = new


def test_a_record_condition_is_set_compared_and_forgotten():
    rec = ("SecretInSync", True, "Recorded", "Secret verified at resourceVersion 1; record v1 ...")
    s = next_status(None, 1, OK, "T1", rec)
    assert [c["type"] for c in s["conditions"]] == ["Synced", "Ready", "SecretInSync"]
    assert next_status(s, 1, OK, "T2", rec) is None  # the same record: no write
    moved = next_status(s, 1, OK, "T2", (*rec[:3], "Secret verified at resourceVersion 2; record v1 ..."))
    assert cond(moved, "SecretInSync")["lastTransitionTime"] == "T1"  # still True: no transition
    assert next_status(s, 1, OK, "T2") is None  # no record given: the one there is kept
    failed = next_status(s, 1, BAD, "T3", forget="SecretInSync")
    assert "SecretInSync" not in {c["type"] for c in failed["conditions"]}
    assert next_status(failed, 1, BAD, "T4", forget="SecretInSync") is None


def test_a_handled_reconcile_request_is_written_once_and_kept():
    from sealer.core.sealed_status import handled, request_condition

    rec = ("SecretInSync", True, "Recorded", "Secret verified at resourceVersion 1; record v1 ...")
    s = next_status(None, 1, OK, "T1", rec)
    asked = request_condition("2026-12-01T12:00:00Z", True, "Secret verified, unchanged")
    done = next_status(s, 1, OK, "T2", rec, request=asked)
    assert done is not None  # the same Synced and record, but the answer is news: one write
    assert [c["type"] for c in done["conditions"]] == ["Synced", "Ready", "SecretInSync", "ReconcileRequest"]
    assert handled(done) == ("2026-12-01T12:00:00Z", True, "Secret verified, unchanged")
    assert next_status(done, 1, OK, "T3", rec, request=asked) is None  # handled already: no write
    later = next_status(done, 1, OK, "T3", (*rec[:3], "Secret verified at resourceVersion 2; record v1 ..."))
    assert handled(later) == handled(done)  # other syncs keep the last answer
    failed = next_status(done, 1, BAD, "T4", forget="SecretInSync")
    assert handled(failed) is not None

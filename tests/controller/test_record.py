"""controller.record: what a restart trusts without decrypting, and what it must not trust."""

from __future__ import annotations

import base64
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller import record, status
from controller.reconcile import DRIFTED, decide, drift_fields, drifted
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from sealer.core.certs import parse_certificate
from sealer.core.scope import CLUSTER_WIDE_ANNOTATION, PATCH_ANNOTATION
from sealer.core.sealing import Sealer

B = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
VALUE = "correct-horse-battery-staple"


def pair(test_key) -> KeyPair:
    from cryptography import x509

    return KeyPair.of(test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem))


@pytest.fixture(scope="module")
def ours(test_key):
    return pair(test_key)


@pytest.fixture(scope="module")
def theirs(other_key):
    return pair(other_key)


@pytest.fixture(scope="module")
def registry(ours):
    return KeyRegistry([ours])


@pytest.fixture(scope="module")
def sealed(test_key):
    sealer = Sealer(parse_certificate(test_key.cert_pem))
    doc = {
        "kind": "Secret",
        "metadata": {"name": "app", "namespace": "ns", "labels": {"tier": "db"}, "annotations": {"team": "a"}},
        "stringData": {"password": VALUE, "user": "admin"},
    }
    out = sealer.seal_secret(doc)
    out["metadata"].update(uid="uid-1", generation=1)
    return out


def synced(sealed, registry):
    """The Secret the controller creates, as the API server returns it, and its record."""
    plan = decide(sealed, registry, None)
    secret = copy.deepcopy(plan.secret)
    secret["metadata"]["resourceVersion"] = "100"
    keys = record.RecordKeys(registry)
    return secret, keys, keys.make(sealed, secret, plan.keys_used, "100"), plan


def with_record(sealed, rec):
    out = copy.deepcopy(sealed)
    out["status"] = status.next_status(
        None, 1, status.Result(True, "Unsealed"), "2026-01-01T00:00:00Z", rec.condition()
    )
    return out


def test_a_record_round_trips_through_the_status(sealed, registry):
    secret, keys, rec, plan = synced(sealed, registry)
    assert plan.keys_used == (registry.fingerprints[0],)
    obj = with_record(sealed, rec)
    assert [c["type"] for c in obj["status"]["conditions"]] == ["Synced", "Ready", record.CONDITION]
    parsed = record.parse(obj["status"])
    assert parsed == rec and keys.valid(obj, parsed)
    assert keys.assess(obj, {"metadata": {"resourceVersion": "100"}}, True) == (record.CURRENT, rec)
    assert keys.assess(obj, {"metadata": {"resourceVersion": "101"}}, True) == (record.VERIFY, rec)
    assert keys.assess(obj, None, True) == (record.FULL, rec)  # Secret gone: it must be made again
    assert keys.assess(obj, None, False) == (record.VERIFY, rec)  # no cache: one GET tells
    assert keys.matches(obj, parsed, secret)


def change_data(s):
    s["spec"]["encryptedData"]["password"] = s["spec"]["encryptedData"]["user"]


def change_template(s):
    s["spec"]["template"]["metadata"]["labels"]["tier"] = "web"


def change_scope(s):
    s["metadata"].setdefault("annotations", {})[CLUSTER_WIDE_ANNOTATION] = "true"


def change_uid(s):
    s["metadata"]["uid"] = "uid-2"


@pytest.mark.parametrize("change", [change_data, change_template, change_scope, change_uid])
def test_a_changed_sealed_secret_invalidates_its_record(sealed, registry, change):
    _, keys, rec, _ = synced(sealed, registry)
    obj = with_record(sealed, rec)
    change(obj)
    assert not keys.valid(obj, rec)
    assert keys.assess(obj, {"metadata": {"resourceVersion": "100"}}, True) == (record.FULL, None)


def test_a_forged_or_foreign_record_is_not_trusted(sealed, registry, theirs):
    _, keys, rec, _ = synced(sealed, registry)
    obj = with_record(sealed, rec)
    forged = record.Record(True, "999", rec.keys, rec.state, rec.check)  # a tampered Secret's resourceVersion
    assert not keys.valid(obj, forged)
    # Made by another controller's key (not loaded here): its keys are not ours.
    other = record.RecordKeys(KeyRegistry([theirs]))
    assert not keys.valid(obj, record.Record(True, "100", (record.key_id(theirs.fingerprint),), rec.state, rec.check))
    assert other.valid(obj, rec) is False


def test_a_dropped_key_invalidates_the_record(sealed, registry, ours, theirs):
    _, keys, rec, _ = synced(sealed, registry)
    obj = with_record(sealed, rec)
    later = record.RecordKeys(KeyRegistry([theirs]))  # the key that opened it was relabelled compromised
    assert later.assess(obj, {"metadata": {"resourceVersion": "100"}}, True) == (record.FULL, None)
    again = record.RecordKeys(KeyRegistry([theirs, ours]))  # a key added: still valid
    assert again.assess(obj, {"metadata": {"resourceVersion": "100"}}, True)[0] == record.CURRENT


def edit(secret, fn):
    out = copy.deepcopy(secret)
    fn(out)
    return out


@pytest.mark.parametrize(
    "what, fn, drift",
    [
        ("a value", lambda s: s["data"].update(password=B("hacked")), True),
        ("an added key", lambda s: s["data"].update(extra=B("x")), True),
        ("a removed key", lambda s: s["data"].pop("user"), True),
        ("a template label", lambda s: s["metadata"]["labels"].update(tier="web"), True),
        ("a template annotation removed", lambda s: s["metadata"]["annotations"].pop("team"), True),
        ("the owner reference", lambda s: s["metadata"].pop("ownerReferences"), True),
        ("another tool's annotation", lambda s: s["metadata"]["annotations"].update({"reflector/at": "now"}), False),
        ("another label", lambda s: s["metadata"]["labels"].update(extra="1"), False),
    ],
)
def test_state_mac_tells_drift_from_harmless_writes(sealed, registry, what, fn, drift):
    secret, keys, rec, _ = synced(sealed, registry)
    assert keys.matches(sealed, rec, edit(secret, fn)) is not drift, what


def test_patch_secrets_keep_their_own_keys(sealed, registry):
    secret, keys, _, plan = synced(sealed, registry)
    patched = edit(secret, lambda s: s["metadata"]["annotations"].update({PATCH_ANNOTATION: "true"}))
    rec = keys.make(sealed, patched, plan.keys_used, "5")
    assert keys.matches(sealed, rec, edit(patched, lambda s: s["data"].update(theirs=B("kept"))))
    assert not keys.matches(sealed, rec, edit(patched, lambda s: s["data"].update(password=B("x"))))


def test_the_record_reveals_nothing(sealed, registry, ours):
    secret, keys, rec, _ = synced(sealed, registry)
    text = rec.message()
    assert VALUE not in text and B(VALUE) not in text and B(VALUE)[:8] not in text
    # Keyed: the same Secret under another key gives unrelated MACs (no dictionary attack from the status).
    other = record.RecordKeys(KeyRegistry([ours]))
    other._derived[rec.keys[0]] = b"\x00" * 32
    assert other.state_mac(rec.keys[0], sealed, secret) != rec.state


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), st.binary(max_size=12), max_size=4))
def test_any_data_change_is_drift(sealed, registry, data):
    secret, keys, rec, _ = synced(sealed, registry)
    changed = edit(secret, lambda s: s["data"].update({k: base64.b64encode(v).decode() for k, v in data.items()}))
    assert keys.matches(sealed, rec, changed) == (changed["data"] == secret["data"])


def test_drift_plans_name_fields_never_values(sealed, registry):
    secret, _, _, _ = synced(sealed, registry)
    hacked = edit(
        secret,
        lambda s: (s["data"].update(password=B("hacked"), extra=B("x")), s["metadata"]["labels"].update(tier="web")),
    )
    plan = decide(sealed, registry, hacked)
    assert plan.action == "update"
    assert drift_fields(hacked, plan.secret) == ["data.extra added", "data.password", "labels.tier"]
    repaired = drifted(plan, sealed, hacked, repair=True)
    assert repaired.action == "update" and repaired.drift == "repaired" and repaired.result.ok
    assert [(e.type, e.reason) for e in repaired.events] == [("Warning", DRIFTED)]
    reported = drifted(plan, sealed, hacked, repair=False)
    assert reported.action == "none" and reported.drift == "reported" and not reported.result.ok
    assert "--repair-drift=false" in reported.result.message
    for p in (repaired, reported):
        assert "hacked" not in p.events[0].message and VALUE not in p.events[0].message

"""What the certificate ConfigMap holds for a set of key Secrets (controller.certificates.published),
and which retired keys the key manager deletes (KeysManager._delete_retired). The writes themselves
are tested on the real API server in tests/e2e/test_retire.py and tests/e2e/test_restart.py."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from controller.certificates import published
from keys.generate import generate_key_pair
from keys.registry import KeyRegistry
from keys.secret_format import RETIRED, RETIRED_AT_ANNOTATION, StoredKey, to_secret
from sealer.core import certmap


def clock(days: int):
    return lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=days)


def manager(active: list[StoredKey], others: list[StoredKey], annotations: dict[str, str] | None = None):
    cache = {}
    for key in [*active, *others]:
        doc = to_secret(key, "kube-system")
        if key in others and annotations:
            doc["metadata"]["annotations"] = annotations
        cache[("kube-system", key.name)] = doc
    return SimpleNamespace(registry=KeyRegistry(active), informer=SimpleNamespace(cache=cache))


def test_published_lists_every_key_with_its_label_and_no_private_key():
    old = StoredKey("sealed-secrets-key0old", generate_key_pair(2048, clock=clock(0)))
    new = StoredKey("sealed-secrets-key1new", generate_key_pair(2048, clock=clock(30)))
    gone = StoredKey("sealed-secrets-key2ret", generate_key_pair(2048, clock=clock(10)), RETIRED)
    keys = manager([new, old], [gone], {RETIRED_AT_ANNOTATION: "2026-02-01T00:00:00Z"})
    data = published(keys)
    assert data is not None and "PRIVATE KEY" not in json.dumps(data)  # certificates only
    assert data[certmap.CERT_FIELD] == new.pair.published_pem().decode()
    listed = certmap.published_keys({"data": data}, "cm")
    assert [(k.name, k.status, k.sealing, k.retiredAt) for k in listed] == [
        ("sealed-secrets-key0old", "active", False, None),
        ("sealed-secrets-key2ret", "retired", False, "2026-02-01T00:00:00Z"),
        ("sealed-secrets-key1new", "active", True, None),
    ]
    assert [k.fingerprint for k in listed] == [old.fingerprint, gone.fingerprint, new.fingerprint]
    assert all(k.certificate.startswith("-----BEGIN CERTIFICATE-----") for k in listed)
    # The same keys, in any order: the same bytes (no write at a restart).
    assert published(manager([old, new], [gone], {RETIRED_AT_ANNOTATION: "2026-02-01T00:00:00Z"})) == data


def test_nothing_to_publish_without_a_key():
    assert published(manager([], [])) is None


# --- the deletion of retired keys (KeysManager._delete_retired) ---------------------------------


class RecordingKube:
    """Records the DELETEs the key manager sends (a unit test of its choice, not of the API server:
    tests/e2e/test_retire.py deletes for real); answers each with ``answer``."""

    def __init__(self, answer=None):
        self.deleted, self.answer = [], answer

    def request(self, method, path, body=None, **kw):
        assert method == "DELETE"
        self.deleted.append((path.rsplit("/", 1)[-1], body["preconditions"]))
        if self.answer is not None:
            raise self.answer
        return {}


def keys_manager(kube, grace: dt.timedelta, now: dt.datetime):
    from controller.keys_manager import KeySettings, KeysManager

    return KeysManager(kube, KeySettings("kube-system", retired_grace=grace), clock=lambda: now)


def key_secret(name: str, label: str, retired_at: str | None, rv: str = "7") -> dict:
    annotations = {RETIRED_AT_ANNOTATION: retired_at} if retired_at else {}
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "resourceVersion": rv,
            "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": label},
            "annotations": annotations,
        }
    }


def test_only_retired_keys_past_their_grace_are_deleted_with_preconditions():
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    kube = RecordingKube()
    km = keys_manager(kube, dt.timedelta(days=30), now)
    for doc in (
        key_secret("due", RETIRED, "2026-01-15T00:00:00Z"),
        key_secret("later", RETIRED, "2026-02-20T00:00:00Z"),
        key_secret("by-hand", RETIRED, None),  # labelled by hand, no annotation: kept
        key_secret("active", "active", "2026-01-01T00:00:00Z"),
        key_secret("compromised", "compromised", "2026-01-01T00:00:00Z"),
        key_secret("garbled", RETIRED, "last tuesday"),
    ):
        km.informer.cache[("kube-system", doc["metadata"]["name"])] = doc
    due = km._delete_retired()
    assert kube.deleted == [("due", {"uid": "uid-due", "resourceVersion": "7"})]
    assert due == dt.datetime(2026, 3, 22, tzinfo=dt.UTC)  # when "later" falls due


def test_a_key_changed_meanwhile_is_not_deleted_and_errors_retry():
    from sealer.kube.errors import api_error

    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    conflict = RecordingKube(api_error(409, "Conflict", "precondition failed"))
    km = keys_manager(conflict, dt.timedelta(0), now)
    km.informer.cache[("kube-system", "k")] = key_secret("k", RETIRED, "2026-02-01T00:00:00Z")
    assert km._delete_retired() is None and len(conflict.deleted) == 1  # unretired meanwhile: left alone
    refused = RecordingKube(api_error(403, "Forbidden", "no"))
    km = keys_manager(refused, dt.timedelta(0), now)
    km.informer.cache[("kube-system", "k")] = key_secret("k", RETIRED, "2026-02-01T00:00:00Z")
    assert km._delete_retired() == now + dt.timedelta(seconds=30)  # tried again soon

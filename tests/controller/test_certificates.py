"""controller.certificates.published: what the certificate ConfigMap holds for a set of key Secrets
(the writes themselves are tested on the real API server in tests/e2e/test_retire.py and
tests/e2e/test_restart.py)."""

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

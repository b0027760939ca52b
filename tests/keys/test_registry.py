"""The registry: newest seals, every active key opens, and opening costs few RSA operations."""

from __future__ import annotations

import datetime as dt

import pytest

from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core import crypto
from sealer.core.certs import parse_certificate
from sealer.core.scope import KEY_HINT_ANNOTATION
from sealer.core.sealing import Sealer
from sealer.core.unsealing import open_items

from .conftest import T0

LABEL = b"app/db"


def year_of_monthly_keys(make_stored) -> list[StoredKey]:
    return [make_stored(f"sealed-secrets-key{m:05d}", months=m) for m in range(13)]


def test_newest_seals_and_order_is_by_not_before(make_stored):
    keys = year_of_monthly_keys(make_stored)
    registry = KeyRegistry(reversed(keys))  # input order does not matter
    assert registry.newest.fingerprint == keys[-1].fingerprint
    assert registry.fingerprints == [k.fingerprint for k in keys]
    assert registry.sealing_certificate_pem() == keys[-1].pair.cert_pem
    assert registry.name_of(keys[0].fingerprint) == keys[0].name


def test_empty_registry():
    registry = KeyRegistry()
    assert registry.newest is None and len(registry) == 0
    with pytest.raises(LookupError):
        registry.sealing_certificate_pem()
    blob = b"\x01\x00" + b"\x00" * 300
    with pytest.raises(crypto.UndecryptableError):
        registry.open(blob, LABEL)


def test_opens_values_sealed_by_any_active_key(make_stored):
    keys = year_of_monthly_keys(make_stored)
    registry = KeyRegistry(keys)
    for key in keys:
        blob = crypto.seal(key.pair.private_key.public_key(), b"secret-" + key.name.encode(), LABEL)
        assert registry.open(blob, LABEL) == b"secret-" + key.name.encode()
        assert registry.which(blob, LABEL) == key.fingerprint


def test_one_private_key_operation_when_the_hint_is_right(make_stored):
    keys = year_of_monthly_keys(make_stored)
    oldest = keys[0]
    blob = crypto.seal(oldest.pair.private_key.public_key(), b"v", LABEL)

    hinted = KeyRegistry(keys)
    assert hinted.open(blob, LABEL, [oldest.fingerprint]) == b"v"
    assert hinted.private_key_operations == 1

    unhinted = KeyRegistry(keys)
    assert unhinted.open(blob, LABEL) == b"v"
    without_hint = unhinted.private_key_operations
    assert without_hint == 13  # newest first: the oldest key is tried last

    # The second time, the cache knows which key opened this very value.
    assert unhinted.open(blob, LABEL) == b"v"
    assert unhinted.private_key_operations - without_hint == 1


def test_a_wrong_hint_costs_one_extra_operation_not_a_wrong_answer(make_stored):
    keys = year_of_monthly_keys(make_stored)
    blob = crypto.seal(keys[5].pair.private_key.public_key(), b"v", LABEL)
    registry = KeyRegistry(keys)
    assert registry.open(blob, LABEL, [keys[12].fingerprint, "SHA256:unknown"]) == b"v"
    assert registry.private_key_operations == 8  # the (wrong) hinted newest, then keys 11, 10, ..., 5


def test_label_cache_helps_the_other_items_of_a_secret(make_stored):
    keys = year_of_monthly_keys(make_stored)
    public = keys[0].pair.private_key.public_key()
    items = [crypto.seal(public, b"item%d" % i, LABEL) for i in range(5)]
    registry = KeyRegistry(keys)
    for blob in items:
        registry.open(blob, LABEL)
    assert registry.private_key_operations == 13 + 4  # the first item finds the key, the rest use it
    # Interleaving another SealedSecret (other label, other key) does not lose the first one's key.
    other = crypto.seal(keys[12].pair.private_key.public_key(), b"x", b"app/other")
    registry.open(other, b"app/other")
    before = registry.private_key_operations
    registry.open(crypto.seal(public, b"more", LABEL), LABEL)
    assert registry.private_key_operations - before == 1


def test_whole_sealed_secret_with_and_without_the_annotation(make_stored):
    """End to end through sealer's own sealing and unsealing, with 13 keys, sealed by the oldest."""
    keys = year_of_monthly_keys(make_stored)
    cert = parse_certificate(keys[0].pair.cert_pem, now=T0)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app"},
        "stringData": {f"k{i}": f"v{i}" for i in range(3)},
    }
    sealed = Sealer(cert).seal_secret(secret)
    assert sealed["metadata"]["annotations"][KEY_HINT_ANNOTATION] == keys[0].fingerprint

    with_hint = KeyRegistry(keys)
    assert open_items(sealed, with_hint) == {f"k{i}": f"v{i}".encode() for i in range(3)}
    assert with_hint.private_key_operations == 3  # one per item

    del sealed["metadata"]["annotations"][KEY_HINT_ANNOTATION]
    without = KeyRegistry(keys)
    open_items(sealed, without)
    assert without.private_key_operations == 13 + 2
    open_items(sealed, without)  # the controller's next resync
    assert without.private_key_operations == 13 + 2 + 3


def test_relabelled_keys_are_dropped(make_stored):
    keys = year_of_monthly_keys(make_stored)
    blob = crypto.seal(keys[3].pair.private_key.public_key(), b"v", LABEL)
    registry = KeyRegistry.from_stored(keys)
    assert registry.open(blob, LABEL) == b"v"

    keys[3] = StoredKey(keys[3].name, keys[3].pair, "compromised")
    keys[12] = StoredKey(keys[12].name, keys[12].pair, "compromised")
    registry.replace([k for k in keys if k.usable()])
    assert keys[3].fingerprint not in registry and len(registry) == 11
    assert registry.newest.fingerprint == keys[11].fingerprint  # a retired key never seals
    with pytest.raises(crypto.UndecryptableError):
        registry.open(blob, LABEL, [keys[3].fingerprint])  # not even with a hint or a cached entry
    assert KeyRegistry.from_stored(keys).fingerprints == registry.fingerprints


def test_legacy_key_is_used_whatever_its_label(make_stored):
    legacy = make_stored("sealed-secrets-key", status=None)
    registry = KeyRegistry.from_stored([legacy, make_stored("other", status=None)])
    assert registry.fingerprints == [legacy.fingerprint]


def test_operation_count_survives_replace_and_add(make_stored, make_pair):
    keys = year_of_monthly_keys(make_stored)[:2]
    registry = KeyRegistry(keys)
    blob = crypto.seal(keys[0].pair.private_key.public_key(), b"v", LABEL)
    registry.open(blob, LABEL)
    spent = registry.private_key_operations
    newer = make_pair(T0 + dt.timedelta(days=400))
    registry.add(newer)
    assert registry.newest.fingerprint == newer.fingerprint
    assert registry.name_of(keys[0].fingerprint) == keys[0].name
    assert registry.private_key_operations == spent
    registry.open(blob, LABEL)
    assert registry.private_key_operations == spent + 1  # the cache survived the change


def test_cache_is_bounded(make_stored):
    keys = year_of_monthly_keys(make_stored)[:2]
    registry = KeyRegistry(keys, cache_size=4)
    public = keys[0].pair.private_key.public_key()
    for i in range(10):
        registry.open(crypto.seal(public, b"v", b"label%d" % i), b"label%d" % i)
    assert len(registry._cache) == 4


def test_framing_errors_cost_nothing(make_stored):
    registry = KeyRegistry(year_of_monthly_keys(make_stored)[:3])
    with pytest.raises(crypto.SealedValueError):
        registry.open(b"\x00", LABEL)
    assert registry.private_key_operations == 0


def test_opens_run_in_parallel(make_stored, monkeypatch):
    """The lock guards bookkeeping, not RSA: two threads' private-key operations overlap in time.
    (Measured on wall-clock spans, so it holds on a loaded machine too: a lock or the GIL held
    across the decryption makes the overlap 0.)"""
    import threading
    import time

    key = make_stored("sealed-secrets-keyabcde", months=0)
    registry = KeyRegistry([key])
    blobs = [crypto.seal(key.pair.private_key.public_key(), b"v%d" % i, LABEL) for i in range(40)]
    real_unwrap = crypto.unwrap_key
    spans: dict[int, list[tuple[float, float]]] = {0: [], 1: []}

    def timed_unwrap(private_key, blob, label):
        started = time.perf_counter()
        try:
            return real_unwrap(private_key, blob, label)
        finally:
            spans[current[threading.get_ident()]].append((started, time.perf_counter()))

    current: dict[int, int] = {}
    monkeypatch.setattr(crypto, "unwrap_key", timed_unwrap)

    def work(i: int) -> None:
        current[threading.get_ident()] = i
        for blob in blobs[i::2]:
            registry.open(blob, LABEL)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    overlap = sum(max(0.0, min(e, e2) - max(s, s2)) for s, e in spans[0] for s2, e2 in spans[1])
    busy = min(sum(e - s for s, e in spans[i]) for i in (0, 1))
    assert registry.private_key_operations == len(blobs)
    # Serialised operations overlap 0%; under heavy load on 2 cores, parallel ones were seen at 29%.
    assert overlap / busy > 0.1, f"private-key operations overlapped {overlap / busy:.0%} only"

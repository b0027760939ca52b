"""The keyring store against a real Secret Service (gnome-keyring on a private D-Bus), and the
refusal of backends that would store keys in plaintext or drop them."""

from __future__ import annotations

import json
import secrets

import pytest
from keyring.backends import chainer, fail, null

from keys.errors import InsecureKeyringError, KeyFormatError, KeyStoreError
from keys.registry import KeyRegistry
from keys.stores.keyring import INDEX_USER, KeyringKeyStore
from sealer.core import crypto

from .conftest import MemoryKeyring


def store_name() -> str:
    return f"test-{secrets.token_hex(4)}"


def test_round_trip_in_gnome_keyring(keyring_backend, make_pair):
    name = store_name()
    store = KeyringKeyStore(name, backend=keyring_backend)
    assert store.list() == []
    first, second = make_pair(), make_pair()
    n1 = store.add(first)
    n2 = store.add(second, "sealed-secrets-keyretired", status="compromised")
    again = KeyringKeyStore(name, backend=keyring_backend)  # a fresh store: everything came from the keyring
    listed = {k.name: k for k in again.list()}
    assert set(listed) == {n1, n2}
    assert listed[n1].fingerprint == first.fingerprint and listed[n2].status == "compromised"
    blob = crypto.seal(first.certificate.public_key(), b"v", b"l")
    assert KeyRegistry.from_stored(listed.values()).open(blob, b"l") == b"v"
    with pytest.raises(KeyStoreError, match="exists already"):
        again.add(second, n1)
    index = json.loads(keyring_backend.get_password(f"sealer:{name}", INDEX_USER))
    assert index == {"format": "sealer.dev/keyring-index/v1", "keys": [n1, n2]}


def test_stores_are_separate(keyring_backend, make_pair):
    a, b = (
        KeyringKeyStore(store_name(), backend=keyring_backend),
        KeyringKeyStore(store_name(), backend=keyring_backend),
    )
    a.add(make_pair())
    assert b.list() == []


@pytest.mark.parametrize("backend", [null.Keyring(), fail.Keyring()], ids=["null", "fail"])
def test_refuses_backends_that_drop_data(backend):
    with pytest.raises(InsecureKeyringError, match="allow-insecure-keyring"):
        KeyringKeyStore("dev", backend=backend)


def test_refuses_plaintext_keyring(tmp_path):
    file_backends = pytest.importorskip("keyrings.alt.file", reason="keyrings.alt is not installed")
    backend = file_backends.PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    with pytest.raises(InsecureKeyringError, match="plaintext"):
        KeyringKeyStore("dev", backend=backend)


def test_refuses_a_chainer_with_nothing_to_chain(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    with pytest.raises(InsecureKeyringError, match="no keyring backend"):
        KeyringKeyStore("dev", backend=chainer.ChainerBackend())


def test_refuses_a_chainer_that_could_fall_back_to_an_insecure_backend(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), null.Keyring()])
    with pytest.raises(InsecureKeyringError, match="null"):
        KeyringKeyStore("dev", backend=chainer.ChainerBackend())


def test_insecure_allowed_on_request_but_a_dropping_backend_is_still_caught(make_pair):
    store = KeyringKeyStore("dev", backend=null.Keyring(), allow_insecure=True)
    with pytest.raises(KeyStoreError, match="did not keep"):
        store.add(make_pair())


def test_unreadable_keyring():
    class Broken(MemoryKeyring):
        def get_password(self, service, username):
            raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    with pytest.raises(KeyStoreError, match=r"^keyring dev: cannot read the keyring \(RuntimeError: org.freedesktop"):
        KeyringKeyStore("dev", backend=Broken()).list()


def test_dead_session_bus_is_a_clear_error(secret_service, monkeypatch, tmp_path):
    from keyring.backends import SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(KeyStoreError, match="^keyring dev: cannot read the keyring"):
        KeyringKeyStore("dev", backend=SecretService.Keyring()).list()


def test_corrupt_entries(make_pair):
    backend = MemoryKeyring()
    store = KeyringKeyStore("dev", backend=backend)
    name = store.add(make_pair())
    key_entry = ("sealer:dev", f"key:{name}")
    good = backend.entries[key_entry]

    backend.entries[key_entry] = "{not json"
    with pytest.raises(KeyFormatError, match=f"keyring dev, key {name}: corrupt entry"):
        store.list()
    doc = json.loads(good)
    doc["data"]["tls.key"] = doc["data"]["tls.key"][:100]
    backend.entries[key_entry] = json.dumps(doc)
    with pytest.raises(KeyFormatError, match="tls.key"):
        store.list()
    del backend.entries[key_entry]
    with pytest.raises(KeyStoreError, match="missing from the keyring"):
        store.list()
    backend.entries[("sealer:dev", INDEX_USER)] = "[]"
    with pytest.raises(KeyStoreError, match="index entry is corrupt"):
        store.list()


def test_an_unlisted_entry_is_not_overwritten(make_pair):
    backend = MemoryKeyring()
    store = KeyringKeyStore("dev", backend=backend)
    pair, other = make_pair(), make_pair()
    store.add(pair, "k1")
    del backend.entries[("sealer:dev", INDEX_USER)]  # as if the index write had been interrupted
    with pytest.raises(KeyStoreError, match="unlisted entry"):
        store.add(other, "k1")
    assert store.add(pair, "k1") == "k1"  # the same key: a retry completes
    assert [k.fingerprint for k in store.list()] == [pair.fingerprint]

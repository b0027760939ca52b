"""The directory store: round trip, permissions from creation, never overwriting."""

from __future__ import annotations

import os
import stat

import pytest

from keys.errors import KeyFormatError, KeyStoreError
from keys.registry import KeyRegistry
from keys.secret_format import from_secret
from keys.stores.directory import DirectoryKeyStore
from sealer.core import crypto, manifests


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_round_trip_and_permissions(tmp_path, make_pair):
    store = DirectoryKeyStore(str(tmp_path / "keys"))
    first, second = make_pair(), make_pair()
    name1 = store.add(first)
    name2 = store.add(second, "sealed-secrets-keymanual", status="compromised")
    assert name1.startswith("sealed-secrets-key") and name2 == "sealed-secrets-keymanual"
    assert mode(tmp_path / "keys") == 0o700
    for name in (name1, name2):
        assert mode(tmp_path / "keys" / f"{name}.yaml") == 0o600
    assert sorted(os.listdir(tmp_path / "keys")) == sorted([f"{name1}.yaml", f"{name2}.yaml"])  # no leftovers

    listed = {k.name: k for k in store.list()}
    assert listed[name1].fingerprint == first.fingerprint and listed[name1].status == "active"
    assert listed[name2].status == "compromised"
    assert KeyRegistry.from_stored(listed.values()).fingerprints == [first.fingerprint]


def test_files_are_0600_even_with_a_permissive_umask(tmp_path, make_pair):
    old = os.umask(0)
    try:
        store = DirectoryKeyStore(str(tmp_path / "keys"))
        name = store.add(make_pair())
    finally:
        os.umask(old)
    assert mode(tmp_path / "keys") == 0o700
    assert mode(tmp_path / "keys" / f"{name}.yaml") == 0o600


def test_each_file_is_a_key_secret(tmp_path, make_pair):
    store = DirectoryKeyStore(str(tmp_path))
    os.chmod(tmp_path, 0o700)
    pair = make_pair()
    name = store.add(pair)
    (doc,) = manifests.parse_stream((tmp_path / f"{name}.yaml").read_bytes())
    assert doc.body["type"] == "kubernetes.io/tls"
    assert from_secret(doc.body, "file").fingerprint == pair.fingerprint


def test_never_overwrites(tmp_path, make_pair):
    store = DirectoryKeyStore(str(tmp_path / "keys"))
    store.add(make_pair(), "k1")
    with pytest.raises(KeyStoreError, match="exists already"):
        store.add(make_pair(), "k1")
    (tmp_path / "keys" / "k2.yaml").write_text("placeholder")  # a file the listing cannot parse
    with pytest.raises(KeyFormatError):
        store.add(make_pair(), "k3")


def test_refuses_a_directory_others_can_read(tmp_path, make_pair):
    os.chmod(tmp_path, 0o755)
    with pytest.raises(KeyStoreError, match="chmod 700"):
        DirectoryKeyStore(str(tmp_path)).add(make_pair())
    assert os.listdir(tmp_path) == []


def test_missing_directory(tmp_path):
    store = DirectoryKeyStore(str(tmp_path / "nope"))
    with pytest.raises(KeyStoreError, match="no such directory"):
        store.list()
    assert store.list(missing_ok=True) == []


def test_does_not_follow_symlinks(tmp_path, make_pair):
    store = DirectoryKeyStore(str(tmp_path / "keys"))
    store.add(make_pair(), "k1")
    os.symlink("/etc/hostname", tmp_path / "keys" / "k2.yaml")
    with pytest.raises(KeyStoreError, match="symbolic link"):
        store.list()


def test_opens_what_was_sealed_for_its_keys(tmp_path, make_pair):
    store = DirectoryKeyStore(str(tmp_path / "keys"))
    pair = make_pair()
    store.add(pair)
    blob = crypto.seal(pair.certificate.public_key(), b"v", b"l")
    assert KeyRegistry.from_stored(store.list()).open(blob, b"l") == b"v"

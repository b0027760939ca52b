"""Backups: a List of key Secrets (optionally passphrase-encrypted); restoring from store A into
store B gives B keys that open what was sealed against A's certificates."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import yaml

from keys import envelope
from keys.backup import backup_document, encrypt, read_backup, render
from keys.errors import BackupError, KeyFormatError
from keys.registry import KeyRegistry
from keys.stores.base import find_conflicts
from keys.stores.directory import DirectoryKeyStore
from keys.stores.keyring import KeyringKeyStore
from sealer.core import crypto

from .conftest import MemoryKeyring


def test_backup_is_a_v1_list_of_key_secrets(make_stored):
    keys = [make_stored("k-new", months=2), make_stored("k-old", months=0)]
    doc = backup_document(keys)
    assert doc["apiVersion"] == "v1" and doc["kind"] == "List"
    assert [i["metadata"]["name"] for i in doc["items"]] == ["k-old", "k-new"]  # oldest first
    assert all(i["type"] == "kubernetes.io/tls" for i in doc["items"])
    for fmt in ("yaml", "json"):
        again = read_backup(render(doc, fmt).encode(), f"backup.{fmt}")
        assert [k.fingerprint for k in again] == [keys[1].fingerprint, keys[0].fingerprint]


def test_reads_what_kubectl_writes(make_stored):
    # kubectl get secret -l ... -o yaml: server fields everywhere; also a bare SecretList in JSON.
    doc = backup_document([make_stored("k1")], namespace="kube-system")
    doc["metadata"] = {"resourceVersion": ""}
    doc["items"][0]["metadata"].update(uid="0d5b", resourceVersion="42", creationTimestamp="2024-01-01T00:00:00Z")
    assert len(read_backup(yaml.safe_dump(doc).encode(), "kubectl.yaml")) == 1
    bare = {"items": doc["items"]}
    assert len(read_backup(json.dumps(bare).encode(), "list.json")) == 1
    stream = "---\n".join(yaml.safe_dump(i) for i in doc["items"] * 2)
    assert len(read_backup(stream.encode(), "stream.yaml")) == 2


def test_round_trip_store_a_to_store_b(tmp_path, make_stored):
    a = DirectoryKeyStore(str(tmp_path / "a"))
    for key in (make_stored("k1", 0), make_stored("k2", 1), make_stored("k3", 2, status="compromised")):
        a.add(key.pair, key.name, key.status)
    sealed = {k.name: crypto.seal(k.pair.certificate.public_key(), k.name.encode(), b"ns/name") for k in a.list()}
    text = encrypt(render(backup_document(a.list()), "yaml"), "yaml", "correct horse")

    store_b = KeyringKeyStore("b", backend=MemoryKeyring())
    restored = read_backup(text.encode(), "backup", lambda: "correct horse")
    to_write, notes = find_conflicts(store_b.list(), restored)
    assert notes == []
    for key in to_write:
        store_b.add(key.pair, key.name, key.status)
    registry = KeyRegistry.from_stored(store_b.list())
    assert registry.open(sealed["k1"], b"ns/name") == b"k1"
    assert registry.open(sealed["k2"], b"ns/name") == b"k2"
    with pytest.raises(crypto.UndecryptableError):
        registry.open(sealed["k3"], b"ns/name")  # retired in A, retired in B
    assert {k.name: k.status for k in store_b.list()} == {"k1": "active", "k2": "active", "k3": "compromised"}


def test_conflicts(make_stored, make_pair):
    present = make_stored("k1")
    same_key_other_name = type(present)("k9", present.pair)
    other_key_same_name = type(present)("k1", make_pair())
    fresh = make_stored("k2", 1)
    to_write, notes = find_conflicts([present], [present, same_key_other_name, fresh])
    assert to_write == [fresh]
    assert notes == ["k1: already present", "k9: already present as k1"]
    with pytest.raises(BackupError, match="refusing to overwrite: k1 .*nothing was restored"):
        find_conflicts([present], [fresh, other_key_same_name])
    with pytest.raises(BackupError, match="twice in the backup"):
        find_conflicts([], [present, other_key_same_name])


def test_envelope(make_stored):
    plain = render(backup_document([make_stored("k1")]), "yaml")
    text = encrypt(plain, "yaml", "pässword")
    doc = yaml.safe_load(text)
    assert doc["kind"] == "SealerEncryptedBackup" and doc["apiVersion"] == "sealer.dev/v1"
    assert doc["kdf"]["name"] == "scrypt" and (doc["kdf"]["n"], doc["kdf"]["r"], doc["kdf"]["p"]) == (2**15, 8, 1)
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16 and len(base64.b64decode(doc["cipher"]["nonce"])) == 12
    assert "PRIVATE" not in text and plain.split("tls.key: ")[1][:40] not in text
    # NFC normalisation: the same passphrase typed as composed or decomposed characters.
    assert envelope.decrypt(doc, "pa\u0308ssword") == plain.encode()


def test_envelope_errors(make_stored):
    doc = yaml.safe_load(encrypt(render(backup_document([make_stored("k1")]), "json"), "json", "pw"))
    with pytest.raises(BackupError, match="wrong passphrase"):
        envelope.decrypt(doc, "PW", "b.enc")
    tampered = copy.deepcopy(doc)
    tampered["kdf"]["p"] = 2  # a header change, even one that does not change the key, breaks the tag
    with pytest.raises(BackupError, match="wrong passphrase, or the encrypted backup was modified"):
        envelope.decrypt(tampered, "pw", "b.enc")
    for path, message in [
        (("kdf", "salt"), "missing kdf.salt"),
        (("cipher", "nonce"), "missing cipher.nonce"),
        (("ciphertext",), "missing ciphertext"),
        (("kdf",), "missing kdf"),
    ]:
        broken = copy.deepcopy(doc)
        target = broken
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
        with pytest.raises(BackupError, match=f"^b.enc: {message}"):
            envelope.decrypt(broken, "pw", "b.enc")
    huge = copy.deepcopy(doc)
    huge["kdf"]["n"] = 2**30
    with pytest.raises(BackupError, match="out of bounds"):
        envelope.decrypt(huge, "pw", "b.enc")
    with pytest.raises(BackupError, match="encrypted; give its passphrase"):
        read_backup(json.dumps(doc).encode(), "b.enc")
    with pytest.raises(BackupError, match="empty"):
        envelope.encrypt(b"x", "")


def test_bad_backups(make_stored):
    good = backup_document([make_stored("k1"), make_stored("k2", 1)])
    missing = copy.deepcopy(good)
    del missing["items"][1]["data"]["tls.crt"]
    with pytest.raises(KeyFormatError, match=r"^backup.yaml, document 1, item 2 \(k2\): missing data.tls.crt$"):
        read_backup(render(missing, "yaml").encode(), "backup.yaml")
    with pytest.raises(BackupError, match="no key Secrets found"):
        read_backup(b"apiVersion: v1\nkind: List\nitems: []\n", "backup.yaml")
    with pytest.raises(BackupError, match="missing items"):
        read_backup(b"apiVersion: v1\nkind: List\n", "backup.yaml")
    with pytest.raises(BackupError, match="malformed YAML"):
        read_backup(b"items: [\n", "backup.yaml")

"""Backups: every key as a ``v1`` ``List`` of key Secrets, the format of
``kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml``,
which Bitnami documents for backups and ``kubeseal --recovery-private-key`` reads. Optionally
wrapped in a passphrase envelope (keys.envelope).

Reading validates every key (PEM, RSA, key/certificate match) before anything is restored: a
restore is all or nothing, and errors name the item, never its contents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from keys import envelope
from keys.errors import BackupError
from keys.secret_format import StoredKey, from_secret, to_secret
from sealer.core import manifests
from sealer.core.errors import InputError

MAX_BACKUP_BYTES = 64 * 1024 * 1024


def backup_document(keys: Iterable[StoredKey], namespace: str | None = None) -> dict[str, Any]:
    """The List. Server-set fields (uid, resourceVersion...) are left out, so the file can be
    applied to another cluster as is; ``namespace`` overrides the keys' own."""
    ordered = sorted(keys, key=lambda k: (k.pair.not_before, k.name))
    return {"apiVersion": "v1", "kind": "List", "items": [to_secret(k, namespace) for k in ordered]}


def render(doc: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    return manifests.dump_yaml(doc)


def encrypt(text: str, fmt: str, passphrase: str) -> str:
    return render(envelope.encrypt(text.encode("utf-8"), passphrase), fmt)


def read_backup(data: bytes, source: str, passphrase: Callable[[], str] | None = None) -> list[StoredKey]:
    """The keys in a backup file (plain, or encrypted: then ``passphrase()`` is asked once)."""
    if len(data) > MAX_BACKUP_BYTES:
        raise BackupError(f"{source}: too large to be a key backup")
    docs = _parse(data, source)
    if any(envelope.is_envelope(d.body) for d in docs):
        if len(docs) != 1:
            raise BackupError(f"{source}: an encrypted backup must be the only document in its file")
        if passphrase is None:
            raise BackupError(f"{source}: the backup is encrypted; give its passphrase")
        plaintext = envelope.decrypt(docs[0].body, passphrase(), source)
        docs = _parse(plaintext, f"{source} (decrypted)")
        if any(envelope.is_envelope(d.body) for d in docs):
            raise BackupError(f"{source}: encrypted twice")
    keys: list[StoredKey] = []
    for doc in docs:
        body = doc.body
        if not isinstance(body, dict):
            raise BackupError(f"{source}, document {doc.index}: expected a List of key Secrets or a key Secret")
        # A List may come without apiVersion/kind (client-go's json.Marshal of a SecretList).
        if body.get("kind") == "List" or body.get("kind") == "SecretList" or ("items" in body and "data" not in body):
            items = body.get("items")
            if not isinstance(items, list):
                raise BackupError(f"{source}, document {doc.index}: missing items")
            for i, item in enumerate(items, 1):
                keys.append(from_secret(item, f"{source}, document {doc.index}, item {i}"))
        else:
            keys.append(from_secret(body, f"{source}, document {doc.index}"))
    if not keys:
        raise BackupError(f"{source}: no key Secrets found")
    return keys


def _parse(data: bytes, source: str) -> list[manifests.Document]:
    try:
        return manifests.parse_stream(data, source)
    except InputError as e:
        raise BackupError(str(e)) from None

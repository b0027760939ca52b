"""The key-store interface, and what every store shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from keys.errors import BackupError
from keys.keypair import KeyPair
from keys.secret_format import ACTIVE, DEFAULT_PREFIX, StoredKey


class KeyStore(Protocol):
    #: Names the store in messages: "directory ./keys", "keyring dev", "namespace kube-system".
    description: str
    #: Key names are <prefix><5 random characters>; the key named exactly <prefix> is the legacy key.
    prefix: str

    def list(self) -> list[StoredKey]:
        """Every key in the store, whatever its label (callers filter with StoredKey.usable)."""
        ...

    def add(self, pair: KeyPair, name: str | None = None, status: str | None = ACTIVE) -> str:
        """Store a new key under ``name`` (or a fresh ``<prefix>xxxxx``); returns the name.
        Never replaces an existing key: raises KeyStoreError if the name is taken."""
        ...


def usable_keys(keys: Iterable[StoredKey], prefix: str = DEFAULT_PREFIX) -> list[StoredKey]:
    return [k for k in keys if k.usable(prefix)]


def newest(keys: Iterable[StoredKey], prefix: str = DEFAULT_PREFIX) -> StoredKey | None:
    """The key that seals: the usable key with the latest NotBefore (ties: the last name)."""
    candidates = usable_keys(keys, prefix)
    return max(candidates, key=lambda k: (k.pair.not_before, k.name, k.fingerprint), default=None)


def find_conflicts(existing: Iterable[StoredKey], incoming: Iterable[StoredKey]) -> tuple[list[StoredKey], list[str]]:
    """Split a restore into (keys to write, notes about keys skipped). Raises BackupError when an
    incoming key would replace a *different* key of the same name: restoring never overwrites."""
    by_name = {k.name: k for k in existing}
    by_fingerprint = {k.fingerprint: k for k in existing}
    to_write: list[StoredKey] = []
    notes: list[str] = []
    clashes: list[str] = []
    seen: dict[str, StoredKey] = {}
    for key in incoming:
        if key.name in seen:
            if seen[key.name].fingerprint != key.fingerprint:
                clashes.append(f"{key.name} (twice in the backup, with different keys)")
            continue
        seen[key.name] = key
        present = by_name.get(key.name)
        if present is not None:
            if present.fingerprint != key.fingerprint:
                clashes.append(f"{key.name} (the store holds another key, {present.fingerprint}, under that name)")
            else:
                notes.append(f"{key.name}: already present")
            continue
        same = by_fingerprint.get(key.fingerprint)
        if same is not None:
            notes.append(f"{key.name}: already present as {same.name}")
            continue
        to_write.append(key)
    if clashes:
        raise BackupError("refusing to overwrite: " + "; ".join(clashes) + "; nothing was restored")
    return to_write, notes

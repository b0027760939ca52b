"""A set of private keys that opens sealed values, trying the likely key first.

Each key tried costs one RSA private-key operation (~2 ms at 4096 bits), so the order matters when
a cluster has many keys: keys named by the SealedSecret's key hint come first, then the key that
opened the last value, then the rest, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from sealer.core import crypto


class Opener(Protocol):
    """What opens sealed values: a KeySet here, keys.registry.KeyRegistry in the controller
    (sealer.core.unsealing takes either; the core cannot name the registry, a layer above it)."""

    def open(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> bytes:
        """The plaintext of one sealed value; raises crypto.UndecryptableError if no key opens it,
        crypto.SealedValueError if it is malformed or was tampered with."""
        ...


class KeySet:
    def __init__(self, keys: Iterable[rsa.RSAPrivateKey] = ()):
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._last_success: str | None = None
        self.private_key_operations = 0
        for key in keys:
            self.add(key)

    def add(self, key: rsa.RSAPrivateKey) -> str:
        """Add a key (newest last); returns its fingerprint. Duplicates collapse."""
        fp = crypto.fingerprint(key.public_key())
        self._keys.pop(fp, None)
        self._keys[fp] = key
        return fp

    def remove(self, fingerprint: str) -> None:
        self._keys.pop(fingerprint, None)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._keys

    @property
    def fingerprints(self) -> list[str]:
        return list(self._keys)

    @property
    def last_opened_by(self) -> str | None:
        """The fingerprint of the key that opened the most recent value (None before any)."""
        return self._last_success

    def candidates(self, hints: Sequence[str] = ()) -> list[str]:
        order = [fp for fp in hints if fp in self._keys]
        if self._last_success in self._keys:
            order.append(self._last_success)
        order.extend(reversed(self._keys))
        return list(dict.fromkeys(order))

    def in_order(self, hints: Sequence[str] = ()) -> list[tuple[str, rsa.RSAPrivateKey]]:
        """The keys to try for a value, likeliest first (a snapshot: safe to use without a lock)."""
        return [(fp, self._keys[fp]) for fp in self.candidates(hints)]

    def open(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> bytes:
        """Open one sealed value, or raise SealedValueError naming why."""
        wrapped, _ = crypto.split(blob)  # framing errors need no key to find
        for fp in self.candidates(hints):
            key = self._keys[fp]
            if key.key_size // 8 != len(wrapped):
                continue  # no RSA operation needed to know a key of another size cannot fit
            self.private_key_operations += 1
            try:
                session_key = crypto.unwrap_key(key, blob, label)
            except crypto.UndecryptableError:
                continue
            self._last_success = fp
            # A key that unwraps but whose GCM tag fails means the value was tampered with.
            return crypto.open_with_session_key(session_key, blob)
        raise crypto.UndecryptableError("no key could decrypt it")

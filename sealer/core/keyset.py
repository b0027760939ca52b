"""A set of private keys that opens sealed values, trying the likely key first.

Each key tried costs one RSA private-key operation (~2 ms at 4096 bits), so the order matters when
a cluster has many keys: keys named by the SealedSecret's key hint come first, then the key that
opened the last value, then the rest, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import mlkem, rsa

from sealer.core import crypto


class Opener(Protocol):
    """What opens sealed values: a KeySet here, keys.registry.KeyRegistry in the controller
    (sealer.core.unsealing takes either; the core cannot name the registry, a layer above it)."""

    def open(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> bytes:
        """The plaintext of one sealed value; raises crypto.UndecryptableError if no key opens it,
        crypto.SealedValueError if it is malformed or was tampered with."""
        ...


class KeySet:
    def __init__(
        self, keys: Iterable[rsa.RSAPrivateKey] = (), mlkem_keys: Mapping[str, mlkem.MLKEM768PrivateKey] | None = None
    ):
        """``mlkem_keys``: the ML-KEM key kept beside an RSA key, by the RSA key's fingerprint
        (hybrid values open with the pair; an RSA key without one opens classic values only)."""
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._mlkem: dict[str, mlkem.MLKEM768PrivateKey] = {}
        self._last_success: str | None = None
        self.private_key_operations = 0
        for key in keys:
            fp = self.add(key)
            if mlkem_keys and fp in mlkem_keys:
                self._mlkem[fp] = mlkem_keys[fp]

    def add(self, key: rsa.RSAPrivateKey, mlkem_key: mlkem.MLKEM768PrivateKey | None = None) -> str:
        """Add a key (newest last); returns its fingerprint. Duplicates collapse."""
        fp = crypto.fingerprint(key.public_key())
        self._keys.pop(fp, None)
        self._keys[fp] = key
        if mlkem_key is not None:
            self._mlkem[fp] = mlkem_key
        return fp

    def mlkem_key(self, fingerprint: str) -> mlkem.MLKEM768PrivateKey | None:
        return self._mlkem.get(fingerprint)

    def remove(self, fingerprint: str) -> None:
        self._keys.pop(fingerprint, None)
        self._mlkem.pop(fingerprint, None)

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
        """Open one sealed value of either format, or raise SealedValueError naming why."""
        parts = crypto.parse(blob)  # framing errors need no key to find
        for fp in self.candidates(hints):
            key = self._keys[fp]
            if key.key_size // 8 != len(parts.wrapped):
                continue  # no RSA operation needed to know a key of another size cannot fit
            if parts.hybrid and fp not in self._mlkem:
                continue  # an RSA key without its ML-KEM half cannot open a hybrid value
            self.private_key_operations += 1
            try:
                session_key = crypto.unwrap_key(key, blob, label)
            except crypto.UndecryptableError:
                continue
            self._last_success = fp
            # A key that unwraps but whose GCM tag fails means the value was tampered with.
            return crypto.open_unwrapped(session_key, blob, label, self._mlkem.get(fp))
        raise crypto.UndecryptableError("no key could decrypt it")

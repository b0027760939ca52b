"""The key registry: the ordered set of key pairs a controller (or ``sealer unseal``) works with.

- Ordered by certificate NotBefore (Bitnami's default ``--key-order-priority=CertNotBefore``);
  the newest key seals, every key in the registry can open.
- Opening tries the likely key first, because each key tried is one RSA private-key operation
  (~2 ms at 4096 bits) and a cluster rotating monthly holds 13 keys after a year. In order:
    1. the key that opened this very value before (a bounded LRU keyed by a hash of the wrapped
       session key: a controller re-opens the same SealedSecret on every resync);
    2. the fingerprints the SealedSecret's key-hint annotation names (``sealer.dev/sealing-key``);
    3. the key that last opened a value with the same OAEP label (the other items of the same
       SealedSecret, when it has no hint: e.g. sealed by kubeseal);
    4. then sealer.core.keyset.KeySet's order: the key that opened the previous value, then newest first.
  Every entry is only an ordering hint: a wrong or stale one costs one extra operation, never a
  wrong answer (OAEP and GCM authenticate).
- ``private_key_operations`` counts every RSA decryption spent, for tests and metrics.

Thread-safe, and parallel: the lock guards the bookkeeping only, never an RSA operation.
pyca/cryptography releases the GIL inside RSA decryption (measured with cryptography 50: two threads'
decryptions overlap 100% in time), so the controller's workers decrypt on all cores at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from keys.keypair import KeyPair
from keys.secret_format import DEFAULT_PREFIX, StoredKey
from sealer.core import crypto
from sealer.core.keyset import KeySet

DEFAULT_CACHE_SIZE = 65536  # entries of ~100 bytes: a few MiB at most


class KeyRegistry:
    def __init__(self, keys: Iterable[KeyPair | StoredKey] = (), *, cache_size: int = DEFAULT_CACHE_SIZE):
        self._lock = threading.RLock()
        self._cache: OrderedDict[bytes, str] = OrderedDict()
        self._cache_size = max(0, cache_size)
        self._pairs: dict[str, KeyPair] = {}
        self._names: dict[str, str] = {}
        self._keyset = KeySet()
        self._last: str | None = None  # the key that opened the previous value
        self._operations = 0
        self.replace(keys)

    @classmethod
    def from_stored(cls, stored: Iterable[StoredKey], prefix: str = DEFAULT_PREFIX, **kwargs: Any) -> KeyRegistry:
        """A registry of the keys a controller may use: active ones and the legacy key."""
        return cls([k for k in stored if k.usable(prefix)], **kwargs)

    # --- membership --------------------------------------------------------------------------

    def replace(self, keys: Iterable[KeyPair | StoredKey]) -> None:
        """Hold exactly ``keys`` from now on: keys no longer given (deleted, relabelled) are
        dropped, so they neither seal nor open any more."""
        pairs: dict[str, KeyPair] = {}
        names: dict[str, str] = {}
        for key in keys:
            pair = key.pair if isinstance(key, StoredKey) else key
            pairs[pair.fingerprint] = pair
            if isinstance(key, StoredKey):
                names[pair.fingerprint] = key.name
        # Ties (keys made in the same second) go by name, as keys.stores.base.newest does.
        ordered = sorted(pairs.values(), key=lambda p: (p.not_before, names.get(p.fingerprint, ""), p.fingerprint))
        keyset = KeySet(
            (p.private_key for p in ordered),  # KeySet keeps "newest last"
            {p.fingerprint: p.mlkem_key for p in ordered if p.mlkem_key is not None},
        )
        with self._lock:
            self._keyset = keyset
            self._pairs = {p.fingerprint: p for p in ordered}
            self._names = names
            # Entries naming dropped keys would only cost a dictionary miss, but drop them anyway.
            for cache_key in [k for k, fp in self._cache.items() if fp not in self._pairs]:
                del self._cache[cache_key]

    def add(self, key: KeyPair | StoredKey) -> None:
        """Add one key (e.g. just generated) keeping the order."""
        with self._lock:
            current: list[KeyPair | StoredKey] = [
                StoredKey(self._names[fp], p) if fp in self._names else p for fp, p in self._pairs.items()
            ]
            self.replace([*current, key])

    def __len__(self) -> int:
        return len(self._pairs)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._pairs

    @property
    def pairs(self) -> list[KeyPair]:
        """Oldest first."""
        return list(self._pairs.values())

    @property
    def fingerprints(self) -> list[str]:
        return list(self._pairs)

    def name_of(self, fingerprint: str) -> str | None:
        return self._names.get(fingerprint)

    @property
    def newest(self) -> KeyPair | None:
        """The key that seals: the one with the latest NotBefore."""
        with self._lock:
            return next(reversed(self._pairs.values()), None)

    def sealing_certificate_pem(self) -> bytes:
        """The newest certificate, followed by its ML-KEM public key if it has one."""
        newest = self.newest
        if newest is None:
            raise LookupError("the key registry has no keys")
        return newest.published_pem()

    # --- opening -----------------------------------------------------------------------------

    @property
    def private_key_operations(self) -> int:
        with self._lock:
            return self._operations

    def open(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> bytes:
        """Open one sealed value (same contract as KeySet.open, so sealer.core.unsealing takes either)."""
        return self.open_with_key(blob, label, hints)[0]

    def open_with_key(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> tuple[bytes, str]:
        """The opened value and the fingerprint of the key that opened it."""
        parts = crypto.parse(blob)  # framing errors cost no key
        wrapped = parts.wrapped
        value_key = b"v" + hashlib.sha256(wrapped).digest()[:16]
        label_key = b"l" + hashlib.sha256(label).digest()[:16]
        with self._lock:
            order = [self._cache.get(value_key), *hints, self._cache.get(label_key), self._last]
            keyset = self._keyset  # one snapshot: a concurrent replace() must not mix two sets
            candidates = keyset.in_order([fp for fp in order if fp])
        for fp, key in candidates:
            if key.key_size // 8 != len(wrapped):
                continue  # no RSA operation needed to know a key of another size cannot fit
            mlkem_key = keyset.mlkem_key(fp)
            if parts.hybrid and mlkem_key is None:
                continue  # nor for an RSA key without the ML-KEM half a hybrid value needs
            with self._lock:
                self._operations += 1
            try:
                session_key = crypto.unwrap_key(key, blob, label)  # outside the lock: it runs in parallel
            except crypto.UndecryptableError:
                continue
            with self._lock:
                self._last = fp
                self._remember(value_key, fp)
                self._remember(label_key, fp)
            # A key that unwraps but whose GCM tag fails means the value was tampered with.
            return crypto.open_unwrapped(session_key, blob, label, mlkem_key), fp
        raise crypto.UndecryptableError("no key could decrypt it")

    def which(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> str | None:
        """The fingerprint of the key that opens ``blob`` (None if none does)."""
        try:
            return self.open_with_key(blob, label, hints)[1]
        except crypto.SealedValueError:
            return None

    def _remember(self, cache_key: bytes, fingerprint: str) -> None:
        if not self._cache_size:
            return
        self._cache[cache_key] = fingerprint
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

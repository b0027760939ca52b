"""Keys in the system keyring (Secret Service / GNOME Keyring / KWallet, macOS Keychain, Windows
Credential Locker) through the ``keyring`` package: a developer's local key, recovery keys.

A keyring holds strings per (service, username). Layout, for ``--keyring NAME``:

    service "sealer:NAME", username "index"       {"format": "sealer.dev/keyring-index/v1", "keys": [names]}
    service "sealer:NAME", username "key:<name>"  the key Secret, as compact JSON

The index exists because keyring backends cannot list entries. A key is written (and read back)
before the index names it, so an interrupted write leaves at worst an unlisted entry, never an
index naming a missing key.

Backends that would keep keys in plaintext or silently drop them are refused unless the caller
allows them (``--allow-insecure-keyring``): the null and fail backends, keyrings.alt's plaintext
file keyrings, and a chainer with no backend to chain. Each write is also read back, which catches
any other backend that drops data.
"""

from __future__ import annotations

import json
from typing import Any

import keyring  # ~50 ms: this module is loaded only by the commands that use a keyring
from keyring.backends.chainer import ChainerBackend

from keys.errors import InsecureKeyringError, KeyFormatError, KeyStoreError
from keys.keypair import KeyPair
from keys.secret_format import (
    ACTIVE,
    DEFAULT_PREFIX,
    StoredKey,
    from_secret,
    generate_name,
    to_secret,
    validate_name,
    validate_prefix,
)

INDEX_USER = "index"
_HINT = "; is a keyring service running, and unlocked?"
INDEX_FORMAT = "sealer.dev/keyring-index/v1"
KEY_USER_PREFIX = "key:"

# Backends (by class, subclasses included) that must not hold private keys, and why.
INSECURE_BACKENDS = {
    "keyring.backends.null.Keyring": "drops everything stored in it",
    "keyring.backends.fail.Keyring": "cannot store anything",
    "keyrings.alt.file.PlaintextKeyring": "stores secrets in a plaintext file",
    "keyrings.alt.pyfs.PlaintextKeyring": "stores secrets in a plaintext file",
}


def backend_problems(backend: Any) -> list[str]:
    """Why ``backend`` is unfit for private keys (empty: fit)."""
    if isinstance(backend, ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            return ["no keyring backend is available (keyring's chainer has nothing to chain)"]
        return [problem for b in chained for problem in backend_problems(b)]
    problems = []
    for cls in type(backend).__mro__:
        reason = INSECURE_BACKENDS.get(f"{cls.__module__}.{cls.__qualname__}")
        if reason:
            problems.append(f"{_backend_name(backend)} {reason}")
            break
    return problems


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class KeyringKeyStore:
    def __init__(self, name: str, *, backend: Any = None, allow_insecure: bool = False, prefix: str = DEFAULT_PREFIX):
        if not name or any(c in name for c in "\n\r\0"):
            raise KeyStoreError("the keyring store needs a name (--keyring NAME)")
        self.name = name
        self.prefix = validate_prefix(prefix)
        self.service = f"sealer:{name}"
        self.description = f"keyring {name}"
        if backend is None:
            try:
                backend = keyring.get_keyring()
            except Exception as e:  # noqa: BLE001 - e.g. a bad PYTHON_KEYRING_BACKEND
                raise KeyStoreError(
                    f"{self.description}: cannot load the keyring backend ({_one_line(e)}){_HINT}"
                ) from None
        self.backend = backend
        problems = backend_problems(backend)
        if problems and not allow_insecure:
            raise InsecureKeyringError(
                f"{self.description}: refusing to keep private keys there: {'; '.join(problems)} "
                "(pass --allow-insecure-keyring to use it anyway)"
            )

    # --- raw access, every backend failure turned into one clear line --------------------------

    def _get(self, user: str) -> str | None:
        try:
            password: str | None = self.backend.get_password(self.service, user)  # the backend is untyped (Any)
            return password
        except Exception as e:  # noqa: BLE001 - backends raise anything from D-Bus errors to KeyringLocked
            raise KeyStoreError(f"{self.description}: cannot read the keyring ({_one_line(e)}){_HINT}") from None

    def _set(self, user: str, value: str) -> None:
        try:
            self.backend.set_password(self.service, user, value)
        except Exception as e:  # noqa: BLE001
            raise KeyStoreError(f"{self.description}: cannot write to the keyring ({_one_line(e)}){_HINT}") from None
        if self._get(user) != value:
            raise KeyStoreError(
                f"{self.description}: the keyring backend {_backend_name(self.backend)} did not keep what was stored"
            )

    # --- the store ---------------------------------------------------------------------------

    def _index(self) -> list[str]:
        raw = self._get(INDEX_USER)
        if raw is None:
            return []
        try:
            doc = json.loads(raw)
        except ValueError:
            raise KeyStoreError(f"{self.description}: the index entry is corrupt (not JSON)") from None
        names = doc.get("keys") if isinstance(doc, dict) and doc.get("format") == INDEX_FORMAT else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise KeyStoreError(f"{self.description}: the index entry is corrupt (expected {INDEX_FORMAT})")
        return names

    def list(self) -> list[StoredKey]:
        keys = []
        for name in self._index():
            raw = self._get(KEY_USER_PREFIX + name)
            source = f"{self.description}, key {name}"
            if raw is None:
                raise KeyStoreError(f"{source}: listed in the index but missing from the keyring")
            try:
                doc = json.loads(raw)
            except ValueError:
                raise KeyFormatError(f"{source}: corrupt entry (not JSON)") from None
            key = from_secret(doc, source)
            if key.name != name:
                raise KeyFormatError(f"{source}: the entry holds key {key.name}")
            keys.append(key)
        return keys

    def add(self, pair: KeyPair, name: str | None = None, status: str | None = ACTIVE) -> str:
        names = self._index()
        if name is None:
            name = generate_name(self.prefix)
            while name in names or self._get(KEY_USER_PREFIX + name) is not None:
                name = generate_name(self.prefix)
        validate_name(name)
        if name in names:
            raise KeyStoreError(f"{self.description}: a key named {name} exists already")
        self._check_unlisted_entry(name, pair)
        secret = to_secret(StoredKey(name, pair, status))
        self._set(KEY_USER_PREFIX + name, json.dumps(secret, separators=(",", ":"), sort_keys=True))
        self._set(INDEX_USER, json.dumps({"format": INDEX_FORMAT, "keys": [*names, name]}, separators=(",", ":")))
        return name

    def _check_unlisted_entry(self, name: str, pair: KeyPair) -> None:
        """An entry the index does not name is left by an interrupted write. Replacing it is fine
        when it holds this very key (a retry); otherwise it is a key, and keys are not overwritten."""
        raw = self._get(KEY_USER_PREFIX + name)
        if raw is None:
            return
        try:
            same = from_secret(json.loads(raw), name).fingerprint == pair.fingerprint
        except (ValueError, KeyFormatError):
            same = False
        if not same:
            raise KeyStoreError(
                f"{self.description}: an unlisted entry for {name} (left by an interrupted write?) holds another key; "
                "refusing to overwrite it"
            )

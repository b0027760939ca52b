"""Key management for sealer: key pairs, the registry, rotation, stores and backups.

Used by the CLI (``sealer keys ...``, ``sealer cert``) and by the controller. The private keys
are the crown jewels: lose them and every SealedSecret in Git is lost; leak them and every secret
is exposed. So nothing here prints or logs key material or passphrases, files are created 0600,
and restoring never replaces a key.

Modules (each with one job; heavy dependencies are imported only when used):

    keys.generate        new RSA key pairs with a self-signed certificate (Bitnami's shape)
    keys.keypair         KeyPair: loading and checking a private key + certificate
    keys.secret_format   the Bitnami key Secret format, key names, labels
    keys.registry        KeyRegistry: newest seals, all open, few private-key operations
    keys.rotation        when to rotate (pure logic), --key-cutoff-time parsing
    keys.durations       Go durations (720h, 1h30m)
    keys.stores          Kubernetes Secrets, a local directory, the system keyring
    keys.backup          backups as a List of key Secrets; keys.envelope encrypts them
"""

from __future__ import annotations

from typing import Any

_API = {
    "KeyPair": "keys.keypair",
    "StoredKey": "keys.secret_format",
    "generate_key_pair": "keys.generate",
    "KeyRegistry": "keys.registry",
    "RotationPolicy": "keys.rotation",
    "plan": "keys.rotation",
    "parse_cutoff": "keys.rotation",
    "parse_duration": "keys.durations",
    "format_duration": "keys.durations",
    "DirectoryKeyStore": "keys.stores.directory",
    "KeyringKeyStore": "keys.stores.keyring",
    "KubernetesKeyStore": "keys.stores.kubernetes",
    "backup_document": "keys.backup",
    "read_backup": "keys.backup",
}

__all__ = list(_API)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'keys' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

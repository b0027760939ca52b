"""Errors of key management. All are SealerErrors, so the CLI prints ``error: <message>`` (one line,
exit 1). Messages name the store, key or field; they never contain key material or a passphrase."""

from __future__ import annotations

from sealer.core.errors import PrivateKeyError, SealerError

__all__ = ["BackupError", "InsecureKeyringError", "KeyFormatError", "KeyStoreError", "PrivateKeyError"]


class KeyFormatError(PrivateKeyError):
    """A key Secret (or PEM pair) is malformed: bad PEM, not RSA, key and certificate do not match."""


class KeyStoreError(SealerError):
    """A key store cannot be read or written (missing directory, API error, locked keyring...)."""


class InsecureKeyringError(KeyStoreError):
    """The keyring backend would store keys in plaintext or drop them."""


class BackupError(SealerError):
    """A backup file cannot be read, decrypted or restored."""

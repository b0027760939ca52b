"""Passphrase encryption for backups: a small, documented envelope any language can open.

    apiVersion: sealer.dev/v1
    kind: SealerEncryptedBackup
    kdf:    {name: scrypt, n: 32768, r: 8, p: 1, salt: <base64, 16 bytes>}
    cipher: {name: AES-256-GCM, nonce: <base64, 12 bytes>}
    ciphertext: <base64: AES-256-GCM(key, nonce, plaintext, aad) including the 16-byte tag>

key = scrypt(UTF-8 of the NFC-normalised passphrase, salt, n, r, p, 32 bytes);
aad = the header as canonical JSON (keys sorted, no spaces) of {apiVersion, kind, kdf, cipher},
so no header field can be changed without the tag failing. The plaintext is the backup itself
(the YAML or JSON List of key Secrets). scrypt n=2**15, r=8 costs 32 MiB and ~0.1 s.

Reading a file refuses KDF parameters beyond sane bounds, so a crafted file cannot make us
allocate gigabytes before the passphrase is even checked.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import unicodedata
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.errors import BackupError

API_VERSION = "sealer.dev/v1"
KIND = "SealerEncryptedBackup"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES, NONCE_BYTES, KEY_BYTES = 16, 12, 32
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024  # 128 * n * r bytes


def is_envelope(doc: object) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(secret)


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def encrypt(plaintext: bytes, passphrase: str) -> dict[str, Any]:
    if not passphrase:
        raise BackupError("the backup passphrase is empty")
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    header = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    key = _key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(header))
    return {**header, "ciphertext": _b64(ciphertext)}


def decrypt(doc: dict[str, Any], passphrase: str, source: str = "backup") -> bytes:
    """The plaintext, or BackupError naming the missing/bad field or the wrong passphrase."""
    if doc.get("apiVersion") != API_VERSION:
        raise BackupError(
            f"{source}: unsupported encrypted backup version {doc.get('apiVersion')!r} (expected {API_VERSION})"
        )
    kdf = _section(doc, "kdf", source)
    cipher = _section(doc, "cipher", source)
    if kdf.get("name") != "scrypt":
        raise BackupError(f"{source}: unsupported kdf.name {kdf.get('name')!r} (expected scrypt)")
    if cipher.get("name") != "AES-256-GCM":
        raise BackupError(f"{source}: unsupported cipher.name {cipher.get('name')!r} (expected AES-256-GCM)")
    n, r, p = (_int(kdf, f, source) for f in ("n", "r", "p"))
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or 128 * n * r > MAX_SCRYPT_MEMORY:
        raise BackupError(f"{source}: kdf parameters out of bounds (n={n}, r={r}, p={p})")
    salt = _bytes(kdf, "salt", source, "kdf.")
    nonce = _bytes(cipher, "nonce", source, "cipher.")
    ciphertext = _bytes(doc, "ciphertext", source)
    if len(salt) < 8:
        raise BackupError(f"{source}: kdf.salt is too short")
    if len(nonce) != NONCE_BYTES:
        raise BackupError(f"{source}: cipher.nonce must be {NONCE_BYTES} bytes")
    header = {"apiVersion": doc["apiVersion"], "kind": doc["kind"], "kdf": kdf, "cipher": cipher}
    key = _key(passphrase, salt, n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        raise BackupError(f"{source}: wrong passphrase, or the encrypted backup was modified") from None


def _section(doc: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise BackupError(f"{source}: missing {name}")
    return value


def _int(section: dict[str, Any], name: str, source: str) -> int:
    value = section.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BackupError(f"{source}: missing or non-integer kdf.{name}")
    return value


def _bytes(section: dict[str, Any], name: str, source: str, where: str = "") -> bytes:
    value = section.get(name)
    if not isinstance(value, str) or not value:
        raise BackupError(f"{source}: missing {where}{name}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BackupError(f"{source}: {where}{name} is not valid base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

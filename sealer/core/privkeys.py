"""Reading private keys: PEM files, Bitnami-style key Secrets (``tls.key``, and sealer's
``mlkem768.key`` beside it), and Lists of them."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem, rsa

from sealer.core import manifests
from sealer.core.errors import InputError, PrivateKeyError
from sealer.core.files import read_limited

MAX_KEY_FILE_BYTES = 16 * 1024 * 1024
# The key Secret's data key for the ML-KEM-768 key kept beside the RSA key (docs/format.md).
MLKEM_FIELD = "mlkem768.key"
MAX_MLKEM_PEM_BYTES = 4096  # a seed-only PKCS#8 PEM is ~160 bytes; an expanded key ~3.5 KiB

KeyPairs = list[tuple[rsa.RSAPrivateKey, "mlkem.MLKEM768PrivateKey | None"]]


def load_pem_private_key(pem: bytes, source: str, *, trusted: bool = True) -> rsa.RSAPrivateKey:
    """Parse one PEM private key (PKCS#1 or PKCS#8). ``trusted`` skips OpenSSL's RSA consistency
    check, which costs ~300 ms per 4096-bit key; it guards against maliciously crafted keys, and
    our keys come from our own key Secrets or the user's own backups."""
    try:
        key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=trusted)
    except TypeError:
        raise PrivateKeyError(f"{source}: the private key is encrypted with a passphrase") from None
    except (ValueError, binascii.Error):
        raise PrivateKeyError(f"{source}: not a valid PEM private key") from None
    except Exception:  # noqa: BLE001 - e.g. an unsupported algorithm: still the user's input
        raise PrivateKeyError(f"{source}: unsupported private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PrivateKeyError(f"{source}: unexpected private key type {type(key).__name__.lstrip('_')}, expected RSA")
    return key


def load_mlkem_private_key(pem: bytes, source: str) -> mlkem.MLKEM768PrivateKey:
    """The ML-KEM-768 key of a key Secret's ``mlkem768.key``: PEM PKCS#8 (the FIPS 203 seed)."""
    if len(pem) > MAX_MLKEM_PEM_BYTES or b"-----BEGIN PRIVATE KEY-----" not in pem:
        raise PrivateKeyError(f"{source}: not a PEM ML-KEM-768 private key")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except Exception:  # noqa: BLE001 - corrupt or unsupported: the input's fault, never quoted
        raise PrivateKeyError(f"{source}: not a valid PEM ML-KEM-768 private key") from None
    if not isinstance(key, mlkem.MLKEM768PrivateKey):
        raise PrivateKeyError(
            f"{source}: unexpected private key type {type(key).__name__.lstrip('_')}, expected ML-KEM-768"
        )
    return key


def mlkem_private_pem(key: mlkem.MLKEM768PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _secret_field(doc: dict[str, Any], field: str, source: str, index: int) -> bytes | None:
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    if field in string_data:
        return str(string_data[field]).encode()
    if field in data:
        try:
            return base64.b64decode("".join(str(data[field]).split()), validate=True)
        except (binascii.Error, ValueError):
            raise InputError("is not valid base64", doc=index, field=f"data.{field}", source=source) from None
    return None


def key_pairs_from_secret(doc: dict[str, Any], source: str, index: int) -> KeyPairs:
    """The RSA key of a key Secret, with its ML-KEM key if it has one."""
    (rsa_key,) = keys_from_secret(doc, source, index)
    pem = _secret_field(doc, MLKEM_FIELD, source, index)
    kem = None if pem is None else load_mlkem_private_key(pem, f"{source}, document {index}, field data.{MLKEM_FIELD}")
    return [(rsa_key, kem)]


def keys_from_secret(doc: dict[str, Any], source: str, index: int) -> list[rsa.RSAPrivateKey]:
    for field in ("data", "stringData"):
        if not isinstance(doc.get(field) or {}, dict):
            raise InputError("must be a map", doc=index, field=field, source=source)
    pem = _secret_field(doc, "tls.key", source, index)
    if pem is None:
        raise InputError("key Secret has no tls.key", doc=index, field="data.tls.key", source=source)
    return [load_pem_private_key(pem, f"{source}, document {index}, field data.tls.key")]


def load_private_keys(path: str) -> list[rsa.RSAPrivateKey]:
    """All RSA private keys in a file: a PEM key, or key Secret documents / Lists (JSON or YAML)."""
    return [key for key, _ in load_key_pairs(path)]


def load_key_pairs(path: str) -> KeyPairs:
    """All private keys in a file, each RSA key with the ML-KEM key kept beside it (or None)."""
    data = read_limited(path, MAX_KEY_FILE_BYTES, error=PrivateKeyError, what="key file")
    if (
        b"-----BEGIN" in data
        and b"PRIVATE KEY-----" in data
        and not data.lstrip().startswith((b"{", b"apiVersion", b"kind"))
    ):
        return [(load_pem_private_key(data, path), None)]
    keys: KeyPairs = []
    for doc in manifests.parse_stream(data, path):
        body = doc.body
        if not isinstance(body, dict):
            raise InputError("expected a key Secret or a List of them", doc=doc.index, source=path)
        # A List may come without apiVersion/kind (client-go's json.Marshal of a SecretList).
        if isinstance(body.get("items"), list) and "data" not in body:
            for item in body["items"]:
                if not isinstance(item, dict):
                    raise InputError("List item is not a Secret", doc=doc.index, field="items", source=path)
                keys.extend(key_pairs_from_secret(item, path, doc.index))
        else:
            keys.extend(key_pairs_from_secret(body, path, doc.index))
    if not keys:
        raise PrivateKeyError(f"{path}: no private keys found")
    return keys

"""Reading private keys: PEM files, Bitnami-style key Secrets (``tls.key``), and Lists of them."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealer.core import manifests
from sealer.core.errors import InputError, PrivateKeyError
from sealer.core.files import read_limited

MAX_KEY_FILE_BYTES = 16 * 1024 * 1024


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


def keys_from_secret(doc: dict[str, Any], source: str, index: int) -> list[rsa.RSAPrivateKey]:
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    for field, value in (("data", data), ("stringData", string_data)):
        if not isinstance(value, dict):
            raise InputError("must be a map", doc=index, field=field, source=source)
    if "tls.key" in string_data:
        pem = str(string_data["tls.key"]).encode()
    elif "tls.key" in data:
        try:
            pem = base64.b64decode(str(data["tls.key"]), validate=True)
        except (binascii.Error, ValueError):
            raise InputError("is not valid base64", doc=index, field="data.tls.key", source=source) from None
    else:
        raise InputError("key Secret has no tls.key", doc=index, field="data.tls.key", source=source)
    return [load_pem_private_key(pem, f"{source}, document {index}, field data.tls.key")]


def load_private_keys(path: str) -> list[rsa.RSAPrivateKey]:
    """All private keys in a file: a PEM key, or key Secret documents / Lists (JSON or YAML)."""
    data = read_limited(path, MAX_KEY_FILE_BYTES, error=PrivateKeyError, what="key file")
    if b"-----BEGIN" in data and b"PRIVATE KEY-----" in data and not data.lstrip().startswith((b"{", b"apiVersion", b"kind")):
        return [load_pem_private_key(data, path)]
    keys: list[rsa.RSAPrivateKey] = []
    for doc in manifests.parse_stream(data, path):
        body = doc.body
        if not isinstance(body, dict):
            raise InputError("expected a key Secret or a List of them", doc=doc.index, source=path)
        # A List may come without apiVersion/kind (client-go's json.Marshal of a SecretList).
        if isinstance(body.get("items"), list) and "data" not in body:
            for item in body["items"]:
                if not isinstance(item, dict):
                    raise InputError("List item is not a Secret", doc=doc.index, field="items", source=path)
                keys.extend(keys_from_secret(item, path, doc.index))
        else:
            keys.extend(keys_from_secret(body, path, doc.index))
    if not keys:
        raise PrivateKeyError(f"{path}: no private keys found")
    return keys

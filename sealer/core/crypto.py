"""The sealed-value wire format, and nothing else. Every other module seals and opens through here.

A sealed value is the format Bitnami Sealed Secrets uses (pkg/crypto HybridEncrypt):

    uint16_be(len(R)) || R || G
    R = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(K)     K: a fresh random 32-byte key
    G = AES-256-GCM(K, nonce = 12 zero bytes, no associated data)(plaintext) || 16-byte tag

The all-zero nonce is safe only because K is used once; never reuse K.
The label binds a value to where it may be opened (see ``encryption_label``).
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import TYPE_CHECKING

from sealer.core.scope import Scope

# The cryptography imports are deferred to the functions that use them: the framing checks below
# (``split``, ``check_framing``, ``decode``) are all the pre-commit hooks need, and importing
# cryptography's RSA/AES costs tens of milliseconds per hook process.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

SESSION_KEY_BYTES = 32
GCM_NONCE = b"\x00" * 12
GCM_TAG_BYTES = 16
_LEN = struct.Struct(">H")


class SealedValueError(ValueError):
    """A sealed value is malformed or does not open with the key and label given."""


class UndecryptableError(SealedValueError):
    """Well-formed, but no key at hand opens it (another key or label, or tampered with)."""


def encryption_label(scope: Scope, namespace: str, name: str) -> bytes:
    """The OAEP label that ties a value to its SealedSecret: strict binds namespace and name,
    namespace-wide only the namespace, cluster-wide nothing."""
    if scope is Scope.STRICT:
        return f"{namespace}/{name}".encode()
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    return b""


def _oaep(label: bytes) -> padding.OAEP:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)


def seal(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """Seal ``plaintext`` for whoever holds the private half of ``public_key``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session_key = os.urandom(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    return _LEN.pack(len(wrapped)) + wrapped + AESGCM(session_key).encrypt(GCM_NONCE, plaintext, None)


def split(blob: bytes) -> tuple[bytes, memoryview]:
    """Split a sealed value into (wrapped key, GCM ciphertext+tag), checking only the framing."""
    if len(blob) < 2:
        raise SealedValueError("sealed value is too short")
    (n,) = _LEN.unpack_from(blob)
    if len(blob) < 2 + n + GCM_TAG_BYTES:
        raise SealedValueError("sealed value is too short")
    view = memoryview(blob)  # a bytes slice of a large value would copy it
    return bytes(view[2 : 2 + n]), view[2 + n :]


def check_framing(blob: bytes, key_bytes: int | None = None) -> None:
    """Raise SealedValueError unless ``blob`` is well framed (and, if given, wraps a key of that size)."""
    wrapped, _ = split(blob)
    if key_bytes is not None and len(wrapped) != key_bytes:
        raise SealedValueError(f"wrapped key is {len(wrapped)} bytes, expected {key_bytes} for this certificate")
    if len(wrapped) not in (128, 256, 384, 512, 768, 1024):
        raise SealedValueError(f"wrapped key length {len(wrapped)} is not an RSA block size")


def unwrap_key(private_key: rsa.RSAPrivateKey, blob: bytes, label: bytes) -> bytes:
    """The one private-key operation of opening a value. Raises SealedValueError if this key/label do not fit."""
    wrapped, _ = split(blob)
    if len(wrapped) != private_key.key_size // 8:
        raise UndecryptableError("sealed for a key of another size")
    try:
        session_key = private_key.decrypt(wrapped, _oaep(label))
    except ValueError:
        raise UndecryptableError("wrong key or label") from None
    if len(session_key) != SESSION_KEY_BYTES:
        raise UndecryptableError("wrong key or label")
    return session_key


def open_with_session_key(session_key: bytes, blob: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _, body = split(blob)
    try:
        return AESGCM(session_key).decrypt(GCM_NONCE, body, None)
    except InvalidTag:
        raise UndecryptableError("sealed value was tampered with") from None


def open_sealed(private_key: rsa.RSAPrivateKey, blob: bytes, label: bytes) -> bytes:
    """Open a sealed value with one private key."""
    return open_with_session_key(unwrap_key(private_key, blob, label), blob)


def encode(blob: bytes) -> str:
    """Sealed values are stored as standard base64 with padding."""
    return base64.b64encode(blob).decode("ascii")


def decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SealedValueError("not valid base64") from None


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OpenSSH-style SHA-256 fingerprint (``SHA256:<base64, no padding>``) of the SSH wire encoding
    of the key: the string ``ssh-keygen -lf`` and Bitnami's key registry use."""
    import hashlib

    n = public_key.public_numbers()
    blob = _ssh_string(b"ssh-rsa") + _ssh_mpint(n.e) + _ssh_mpint(n.n)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _ssh_mpint(value: int) -> bytes:
    # RFC 4251 mpint: big-endian two's complement, so a leading 1 bit needs a zero byte in front.
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return _ssh_string(raw)

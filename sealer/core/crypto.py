"""The sealed-value wire format, and nothing else. Every other module seals and opens through here.

A sealed value is the format Bitnami Sealed Secrets uses (pkg/crypto HybridEncrypt):

    uint16_be(len(R)) || R || G
    R = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(K)     K: a fresh random 32-byte key
    G = AES-256-GCM(K, nonce = 12 zero bytes, no associated data)(plaintext) || 16-byte tag

The all-zero nonce is safe only because K is used once; never reuse K.
The label binds a value to where it may be opened (see ``encryption_label``).

The hybrid (post-quantum) value, opt-in, which Bitnami's tools cannot open (docs/format.md):

    HYBRID_TAG || uint16_be(len(R)) || R || C || G
    HYBRID_TAG = ff 50 51 01                     never the start of a classic value (see below)
    R = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(S1)    S1: a fresh random 32-byte secret
    C, S2 = ML-KEM-768.Encaps(ek)                    C: 1088 bytes, S2: 32 bytes
    K = HKDF-SHA256(salt = none, IKM = S1 || S2,
                    info = HYBRID_TAG || lp(label) || lp(R) || lp(C), 32 bytes)   lp: uint32_be length prefix
    G = AES-256-GCM(K, nonce = 12 zero bytes, no associated data)(plaintext) || 16-byte tag

K depends on both secrets, so opening needs both RSA and ML-KEM broken; it also binds the tag, the
label and both ciphertexts. A classic parser reads the tag as a wrapped key of 0xff50 = 65360 bytes,
which is no RSA block size (16384-bit keys wrap into 2048 bytes), so it refuses the value; and no
classic value starts with 0xff, so neither format can pass for the other.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import TYPE_CHECKING, NamedTuple

from sealer.core.scope import Scope

# The cryptography imports are deferred to the functions that use them: the framing checks below
# (``split``, ``check_framing``, ``decode``) are all the pre-commit hooks need, and importing
# cryptography's RSA/AES costs tens of milliseconds per hook process.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import mlkem, padding, rsa

SESSION_KEY_BYTES = 32
GCM_NONCE = b"\x00" * 12
GCM_TAG_BYTES = 16
_LEN = struct.Struct(">H")
_LP = struct.Struct(">I")

HYBRID_TAG = b"\xffPQ\x01"  # 0xff: beyond any classic length prefix; "PQ"; format version 1
MLKEM768_CIPHERTEXT_BYTES = 1088
MLKEM768_PUBLIC_KEY_BYTES = 1184
MLKEM_SEED_BYTES = 64  # FIPS 203 (d || z): the private key's seed form
RSA_BLOCK_SIZES = (128, 256, 384, 512, 768, 1024)


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
    """Seal ``plaintext`` (classic format) for whoever holds the private half of ``public_key``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session_key = os.urandom(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    return _LEN.pack(len(wrapped)) + wrapped + AESGCM(session_key).encrypt(GCM_NONCE, plaintext, None)


class Parts(NamedTuple):
    """A sealed value cut along its framing: nothing is decrypted or checked cryptographically."""

    hybrid: bool
    wrapped: bytes  # the RSA-OAEP block
    kem_ciphertext: bytes  # the ML-KEM-768 ciphertext (empty in a classic value)
    body: memoryview  # the AES-GCM ciphertext and tag


def is_hybrid(blob: bytes) -> bool:
    """Whether ``blob`` claims the hybrid format (its framing is checked by ``parse``)."""
    return blob[: len(HYBRID_TAG)] == HYBRID_TAG


def parse(blob: bytes) -> Parts:
    """Split a sealed value of either format, checking only the framing."""
    view = memoryview(blob)  # a bytes slice of a large value would copy it
    if is_hybrid(blob):
        start = len(HYBRID_TAG)
        if len(blob) < start + 2:
            raise SealedValueError("hybrid sealed value is too short")
        (n,) = _LEN.unpack_from(blob, start)
        kem_at = start + 2 + n
        body_at = kem_at + MLKEM768_CIPHERTEXT_BYTES
        if len(blob) < body_at + GCM_TAG_BYTES:
            raise SealedValueError("hybrid sealed value is too short")
        return Parts(True, bytes(view[start + 2 : kem_at]), bytes(view[kem_at:body_at]), view[body_at:])
    if blob[:1] == HYBRID_TAG[:1]:  # no classic value starts so: a format this version does not know
        raise SealedValueError("unknown sealed value format (made by a newer sealer?)")
    if len(blob) < 2:
        raise SealedValueError("sealed value is too short")
    (n,) = _LEN.unpack_from(blob)
    if len(blob) < 2 + n + GCM_TAG_BYTES:
        raise SealedValueError("sealed value is too short")
    return Parts(False, bytes(view[2 : 2 + n]), b"", view[2 + n :])


def split(blob: bytes) -> tuple[bytes, memoryview]:
    """Split a sealed value of either format into (RSA-wrapped key, GCM ciphertext+tag)."""
    parts = parse(blob)
    return parts.wrapped, parts.body


def check_framing(blob: bytes, key_bytes: int | None = None) -> None:
    """Raise SealedValueError unless ``blob`` is well framed (and, if given, wraps a key of that size)."""
    wrapped = parse(blob).wrapped
    if key_bytes is not None and len(wrapped) != key_bytes:
        raise SealedValueError(f"wrapped key is {len(wrapped)} bytes, expected {key_bytes} for this certificate")
    if len(wrapped) not in RSA_BLOCK_SIZES:
        raise SealedValueError(f"wrapped key length {len(wrapped)} is not an RSA block size")


def unwrap_key(private_key: rsa.RSAPrivateKey, blob: bytes, label: bytes) -> bytes:
    """The RSA step of opening a value of either format (the session key of a classic value, S1 of
    a hybrid one). Raises SealedValueError if this key/label do not fit."""
    wrapped = parse(blob).wrapped
    if len(wrapped) != private_key.key_size // 8:
        raise UndecryptableError("sealed for a key of another size")
    try:
        session_key = private_key.decrypt(wrapped, _oaep(label))
    except ValueError:
        raise UndecryptableError("wrong key or label") from None
    if len(session_key) != SESSION_KEY_BYTES:
        raise UndecryptableError("wrong key or label")
    return session_key


def open_unwrapped(
    unwrapped: bytes, blob: bytes, label: bytes, mlkem_key: mlkem.MLKEM768PrivateKey | None = None
) -> bytes:
    """Finish opening a value whose RSA block ``unwrap_key`` opened. A hybrid value needs the
    ML-KEM key kept beside that RSA key."""
    parts = parse(blob)
    if not parts.hybrid:
        return _gcm_open(unwrapped, parts.body)
    if mlkem_key is None:
        raise UndecryptableError("sealed in the post-quantum format, but this key has no ML-KEM key")
    kem_secret = mlkem_key.decapsulate(parts.kem_ciphertext)  # a wrong key gives a random secret, not an error
    return _gcm_open(hybrid_key(unwrapped, kem_secret, label, parts.wrapped, parts.kem_ciphertext), parts.body)


def open_with_session_key(session_key: bytes, blob: bytes) -> bytes:
    """Open a classic value with its session key. A hybrid value never opens this way: its GCM key
    is derived, never the RSA-wrapped secret itself."""
    parts = parse(blob)
    if parts.hybrid:
        raise UndecryptableError("a post-quantum value needs its ML-KEM key")
    return _gcm_open(session_key, parts.body)


def _gcm_open(key: bytes, body: memoryview) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(GCM_NONCE, body, None)
    except InvalidTag:
        raise UndecryptableError("sealed value was tampered with") from None


def open_sealed(
    private_key: rsa.RSAPrivateKey, blob: bytes, label: bytes, mlkem_key: mlkem.MLKEM768PrivateKey | None = None
) -> bytes:
    """Open a sealed value of either format with one key (and its ML-KEM key, for a hybrid value)."""
    return open_unwrapped(unwrap_key(private_key, blob, label), blob, label, mlkem_key)


# --- the hybrid format -------------------------------------------------------------------------


def hybrid_key(rsa_secret: bytes, kem_secret: bytes, label: bytes, wrapped: bytes, kem_ciphertext: bytes) -> bytes:
    """K of a hybrid value: HKDF-SHA256 over both secrets, bound to the tag, label and ciphertexts."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = b"".join((HYBRID_TAG, _lp(label), _lp(wrapped), _lp(kem_ciphertext)))
    return HKDF(hashes.SHA256(), SESSION_KEY_BYTES, salt=None, info=info).derive(rsa_secret + kem_secret)


def _lp(field: bytes) -> bytes:
    return _LP.pack(len(field)) + field


def assemble_hybrid(
    rsa_secret: bytes, wrapped: bytes, kem_secret: bytes, kem_ciphertext: bytes, plaintext: bytes, label: bytes
) -> bytes:
    """The hybrid value from its parts. Deterministic: ``seal_hybrid`` feeds it fresh randomness,
    the known-answer vectors (tests/vectors/) fixed parts."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(rsa_secret) != SESSION_KEY_BYTES or len(kem_secret) != SESSION_KEY_BYTES:
        raise ValueError("both shared secrets are 32 bytes")
    if len(kem_ciphertext) != MLKEM768_CIPHERTEXT_BYTES or len(wrapped) not in RSA_BLOCK_SIZES:
        raise ValueError("not an RSA block and an ML-KEM-768 ciphertext")
    key = hybrid_key(rsa_secret, kem_secret, label, wrapped, kem_ciphertext)
    header = HYBRID_TAG + _LEN.pack(len(wrapped)) + wrapped + kem_ciphertext
    return header + AESGCM(key).encrypt(GCM_NONCE, plaintext, None)


def seal_hybrid(
    public_key: rsa.RSAPublicKey, mlkem_public: mlkem.MLKEM768PublicKey, plaintext: bytes, label: bytes
) -> bytes:
    """Seal ``plaintext`` in the hybrid format: opening it needs both private keys."""
    rsa_secret = os.urandom(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(rsa_secret, _oaep(label))
    kem_secret, kem_ciphertext = mlkem_public.encapsulate()
    return assemble_hybrid(rsa_secret, wrapped, kem_secret, kem_ciphertext, plaintext, label)


def load_mlkem_public(raw: bytes) -> mlkem.MLKEM768PublicKey:
    from cryptography.hazmat.primitives.asymmetric import mlkem

    return mlkem.MLKEM768PublicKey.from_public_bytes(raw)


def mlkem_fingerprint(public_key: mlkem.MLKEM768PublicKey) -> str:
    """``SHA256:<base64, no padding>`` of the raw encapsulation key (FIPS 203 ek), for messages and docs."""
    import hashlib

    return "SHA256:" + base64.b64encode(hashlib.sha256(public_key.public_bytes_raw()).digest()).decode().rstrip("=")


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

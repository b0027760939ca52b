"""Looking for a private key in the clear in an escrow object (or any text): PEM headers, and each
key's DER, PEM and raw numbers, as they are and inside any base64 value. Used by the escrow format
tests and the end-to-end escrow tests."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.hazmat.primitives import serialization

_B64 = re.compile(r"[A-Za-z0-9+/=\s]{24,}")


def encodings(pair) -> dict[str, bytes]:
    """What a leaked key would look like: its DER (PKCS#1, PKCS#8), PEM, ML-KEM PEM and prime p."""
    key = pair.private_key
    none = serialization.NoEncryption()
    out = {
        "PKCS#8 DER": key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, none),
        "PKCS#1 DER": key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, none
        ),
        "PEM": pair.key_pem(),
        "prime p": (p := key.private_numbers().p).to_bytes((p.bit_length() + 7) // 8, "big"),
    }
    if pair.mlkem_pem() is not None:
        out["ML-KEM PEM"] = pair.mlkem_pem()
    return out


def leaks(text: str, pairs) -> list[str]:
    """Every way ``text`` shows one of these keys (empty: none)."""
    found = [f"PEM header {m.group()!r}" for m in re.finditer(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----", text)]
    blobs = [text.encode()]
    for m in _B64.finditer(text):
        compact = "".join(m.group().split())
        compact = compact[: len(compact) - len(compact) % 4]
        try:
            blobs.append(base64.b64decode(compact, validate=True))
        except (binascii.Error, ValueError):
            continue
    for pair in pairs:
        for name, raw in encodings(pair).items():
            # A 32-byte piece from the middle: enough to be unique, wherever the value was cut.
            piece = raw[len(raw) // 2 : len(raw) // 2 + 32]
            if any(piece in blob for blob in blobs):
                found.append(f"{name} of {pair.fingerprint}")
            if base64.b64encode(piece).decode()[4:36] in "".join(text.split()):
                found.append(f"base64 of the {name} of {pair.fingerprint}")
    if "LS0tLS1CRUdJTi" in text:
        for m in re.finditer(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{50}", text):
            head = base64.b64decode(m.group()[:64])
            if b"PRIVATE KEY" in head:
                found.append("base64 of a PEM private key")
    return found

"""Private keys, wherever they are: PEM blocks in any file, and base64-encoded PEM (how a key sits
in a Secret's data, e.g. a sealing-key backup's ``tls.key``)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

_HEADER = r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----"
# A header alone is prose, a test pattern or a scanner's regex (like this one); a key has a base64
# body after it, possibly after RFC 1421 headers (Proc-Type:, DEK-Info:). Line breaks may also be
# the two characters backslash-n (a key in a JSON or YAML double-quoted string), and lines may
# start with comment marks or quotes (a key commented out, or split over string literals).
_GAP = r"""(?:\\[nr]|[\s#;*/'"+])+"""
_BODY = _GAP + r"(?:[A-Za-z-]+:[^\n\\]*" + _GAP + r")*[A-Za-z0-9+/=]{32}"
_PEM_BYTES = re.compile((_HEADER + _BODY).encode())
_PEM_TEXT = re.compile(_HEADER + _BODY)
_HEADER_BYTES = re.compile(_HEADER.encode())
# base64 of "-----BEGIN ": every base64-encoded PEM block starts so (certificates too, hence the
# decoding below to tell keys from certificates).
B64_MARK = "LS0tLS1CRUdJTi"
_B64_BYTES = re.compile(rb"LS0tLS1CRUdJTi[A-Za-z0-9+/]{50}")
_B64_TEXT = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{50}")


def worth_looking(data: bytes) -> bool:
    """The cheap check: no file without these bytes holds a key in a form found here."""
    return b"PRIVATE KEY" in data or b"LS0tLS1CRUdJTi" in data


def scan_bytes(data: bytes) -> Iterator[tuple[int, str]]:
    """(offset, description) of each private key in a file of any type."""
    if b"PRIVATE KEY" in data:
        for m in _PEM_BYTES.finditer(data):
            yield m.start(), _describe(m.group(1).decode(), encoded=False)
    if b"LS0tLS1CRUdJTi" in data:
        for m in _B64_BYTES.finditer(data):
            kind = _b64_key_kind(m.group())
            if kind is not None:
                yield m.start(), _describe(kind, encoded=True)


def scan_text(value: str) -> str | None:
    """A description if the string value holds a private key (raw or base64 PEM), else None."""
    if "PRIVATE KEY" in value:
        m = _PEM_TEXT.search(value)
        if m:
            return _describe(m.group(1), encoded=False)
    if B64_MARK in value:
        for m in _B64_TEXT.finditer(value):
            kind = _b64_key_kind(m.group().encode())
            if kind is not None:
                return _describe(kind, encoded=True)
    return None


def is_private_key_pem(data: bytes) -> bool:
    """For a field that is meant to hold a key (a key Secret's tls.key): the header is enough."""
    return _HEADER_BYTES.search(data) is not None


def decode_base64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def _b64_key_kind(encoded: bytes) -> str | None:
    # 64 base64 characters decode to 48 bytes: room for the longest header, "-----BEGIN
    # ENCRYPTED PRIVATE KEY-----" or "-----BEGIN PGP PRIVATE KEY BLOCK-----".
    try:
        head = base64.b64decode(encoded[:64])
    except (binascii.Error, ValueError):
        return None
    m = _HEADER_BYTES.match(head)
    return m.group(1).decode() if m else None


def _describe(kind: str, *, encoded: bool) -> str:
    kind = kind.strip()
    what = f"{kind} private key" if kind else "private key"
    return f"base64-encoded PEM {what}" if encoded else f"PEM {what}"

"""Loading the certificate to seal with: from a file, a URL, or PEM bytes (e.g. from a cluster)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from sealer.core import crypto
from sealer.core.errors import CertificateError
from sealer.core.files import read_limited

MAX_CERT_BYTES = 1024 * 1024
_PUBLIC_KEY_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]{1,8192}-----END PUBLIC KEY-----")


@dataclass(frozen=True)
class Certificate:
    public_key: rsa.RSAPublicKey
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    pem: bytes
    fingerprint: str
    # The ML-KEM-768 public key published after the certificate by a controller run with
    # --pq-keys (docs/format.md), for `sealer seal --pq`; None for Bitnami's certificates.
    mlkem_public: Any = None

    @property
    def key_bytes(self) -> int:
        return self.public_key.key_size // 8


def parse_certificate(pem: bytes, source: str = "certificate", *, now: dt.datetime | None = None) -> Certificate:
    """The first certificate (or bare public key) in ``pem``; refuses non-RSA and expired certificates."""
    if b"-----BEGIN" not in pem:
        raise CertificateError(f"{source}: not a PEM certificate")
    key: PublicKeyTypes
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    if b"-----BEGIN CERTIFICATE-----" in pem:
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise CertificateError(f"{source}: the PEM certificate is corrupt") from None
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
        try:
            key = cert.public_key()
        except Exception:  # noqa: BLE001 - an unsupported algorithm in the cert is a user error
            raise CertificateError(f"{source}: unsupported public key algorithm") from None
    elif b"PUBLIC KEY-----" in pem:
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError:
            raise CertificateError(f"{source}: the PEM public key is corrupt") from None
        not_before = not_after = None
    else:
        raise CertificateError(f"{source}: expected a PEM certificate, found another PEM block")
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateError(f"{source}: expected RSA public key but found {type(key).__name__.lstrip('_')}")
    now = now or dt.datetime.now(dt.UTC)
    if not_after is not None and not_after < now:
        raise CertificateError(
            f"{source}: failed to encrypt using an expired certificate on {not_after:%B} {not_after.day}, {not_after.year}"
        )
    return Certificate(key, not_before, not_after, pem, crypto.fingerprint(key), _mlkem_public(pem, source))


def _mlkem_public(pem: bytes, source: str) -> Any:
    """The one ML-KEM-768 ``PUBLIC KEY`` block of ``pem`` (None if there is none). Other public
    keys (the RSA key of a bare-key file) are not ours to judge here."""
    from cryptography.hazmat.primitives.asymmetric import mlkem

    found = None
    for block in _PUBLIC_KEY_BLOCK.findall(pem):
        try:
            key = serialization.load_pem_public_key(block)
        except Exception:  # noqa: BLE001 - corrupt or an unsupported algorithm: the input's fault
            raise CertificateError(f"{source}: a PEM public key after the certificate is corrupt") from None
        if not isinstance(key, mlkem.MLKEM768PublicKey):
            continue
        if found is not None and found.public_bytes_raw() != key.public_bytes_raw():
            raise CertificateError(f"{source}: holds two different ML-KEM-768 public keys")
        found = key
    return found


def read_certificate_source(location: str, *, timeout: float = 30.0) -> bytes:
    """Bytes of a certificate given as a path, a ``file://`` URL, or an ``http(s)://`` URL."""
    lower = location.lower()
    if lower.startswith(("http://", "https://")):
        return _fetch_url(location, timeout)
    path = location[len("file://") :] if lower.startswith("file://") else location
    return read_limited(path, MAX_CERT_BYTES, error=CertificateError, what="certificate")


def _redacted(url: str) -> str:
    """A URL fit for an error message: no credentials, query or fragment (a presigned URL's
    query is a credential)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _fetch_url(url: str, timeout: float) -> bytes:
    import urllib.error  # only this path needs the HTTP stack
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/x-pem-file, */*"})  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-chosen URL
            body: bytes = response.read(MAX_CERT_BYTES)  # urlopen's result is untyped (Any)
            return body
    except urllib.error.HTTPError as e:
        raise CertificateError(f'cannot fetch "{_redacted(url)}": {e.code} {e.reason}') from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CertificateError(f'cannot fetch "{_redacted(url)}": {reason}') from None


def load_certificate(location: str, *, now: dt.datetime | None = None) -> Certificate:
    source = _redacted(location) if location.lower().startswith(("http://", "https://")) else location
    return parse_certificate(read_certificate_source(location), source, now=now)

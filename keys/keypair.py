"""A key pair as the registry and the stores hold it: an RSA private key and its certificate(s),
and, for post-quantum sealing (docs/format.md), the ML-KEM-768 key kept beside them.

Loading is where untrusted-looking bytes (backups, key Secrets edited by hand) become keys, so
every check lives here: PEM syntax, RSA only, the key consistent with itself, and the key matching
its certificate. OpenSSL's full RSA check costs ~300 ms per 4096-bit key (primality tests), so it
is skipped and replaced by the cheap arithmetic checks below, which catch corruption and
mismatched pairs; primality only matters against a deliberately crafted key, and these keys come
from our own stores and backups.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem, rsa

from keys.errors import KeyFormatError
from sealer.core import crypto
from sealer.core.errors import PrivateKeyError
from sealer.core.privkeys import load_mlkem_private_key, load_pem_private_key, mlkem_private_pem


@dataclass(frozen=True)
class KeyPair:
    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    # The PEM certificate(s) exactly as stored: Bitnami writes a chain-shaped field, first cert first.
    cert_pem: bytes = field(repr=False)
    fingerprint: str
    # Optional: keys made without --pq-keys have none and open classic values only.
    mlkem_key: mlkem.MLKEM768PrivateKey | None = field(default=None, repr=False, compare=False)

    @property
    def not_before(self) -> dt.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def key_size(self) -> int:
        return self.private_key.key_size

    def key_pem(self) -> bytes:
        """PKCS#1 ``RSA PRIVATE KEY`` PEM: what Bitnami's controller writes to ``tls.key``."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )

    def mlkem_pem(self) -> bytes | None:
        """``mlkem768.key``: PKCS#8 PEM of the ML-KEM seed (None without an ML-KEM key)."""
        return None if self.mlkem_key is None else mlkem_private_pem(self.mlkem_key)

    def mlkem_public_pem(self) -> bytes | None:
        """The ML-KEM public key as a PEM ``PUBLIC KEY`` block (published after the certificate)."""
        if self.mlkem_key is None:
            return None
        return self.mlkem_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def published_pem(self) -> bytes:
        """What ``/v1/cert.pem`` serves: the certificate(s), then the ML-KEM public key if any
        (client-go's ParseCertsPEM, hence kubeseal, reads only the CERTIFICATE blocks)."""
        public = self.mlkem_public_pem()
        if public is None:
            return self.cert_pem
        return self.cert_pem.rstrip(b"\n") + b"\n" + public

    def same_key(self, other: KeyPair) -> bool:
        return self.fingerprint == other.fingerprint

    @classmethod
    def of(
        cls,
        private_key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        mlkem_key: mlkem.MLKEM768PrivateKey | None = None,
    ) -> KeyPair:
        """A freshly generated pair (no parsing, nothing to check)."""
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        return cls(private_key, certificate, pem, crypto.fingerprint(private_key.public_key()), mlkem_key)

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, source: str, mlkem_pem: bytes | None = None) -> KeyPair:
        """Parse and check a pair. ``source`` names where it came from in error messages
        (e.g. ``backup.yaml, item 2 (sealed-secrets-keyx7k2p)``); no message quotes the PEM."""
        try:
            key = load_pem_private_key(key_pem, f"{source}: tls.key", trusted=True)
        except PrivateKeyError as e:
            raise KeyFormatError(str(e)) from None
        check_consistent(key, source)
        certificate = parse_first_certificate(cert_pem, source)
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise KeyFormatError(f"{source}: tls.crt holds a non-RSA certificate")
        if public.public_numbers() != key.public_key().public_numbers():
            raise KeyFormatError(f"{source}: tls.key does not match the certificate in tls.crt")
        kem = None
        if mlkem_pem is not None:
            try:
                kem = load_mlkem_private_key(mlkem_pem, f"{source}: mlkem768.key")
            except PrivateKeyError as e:
                raise KeyFormatError(str(e)) from None
        return cls(key, certificate, cert_pem, crypto.fingerprint(public), kem)


def parse_first_certificate(cert_pem: bytes, source: str) -> x509.Certificate:
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise KeyFormatError(f"{source}: tls.crt is not a PEM certificate")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise KeyFormatError(f"{source}: tls.crt is not a valid PEM certificate") from None
    try:
        certs[0].public_key()
    except Exception:  # noqa: BLE001 - an unsupported algorithm is the input's fault
        raise KeyFormatError(f"{source}: tls.crt has an unsupported public key algorithm") from None
    return certs[0]


def check_consistent(key: rsa.RSAPrivateKey, source: str) -> None:
    """Cheap self-consistency of an RSA key (microseconds, unlike OpenSSL's primality tests): a
    flipped bit anywhere in the PEM makes one of these fail instead of decrypting garbage."""
    numbers = key.private_numbers()
    p, q, d = numbers.p, numbers.q, numbers.d
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    ok = (
        p > 1
        and q > 1
        and p * q == n
        and (d * e) % math.lcm(p - 1, q - 1) == 1
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and (numbers.iqmp * q) % p == 1
    )
    if not ok:
        raise KeyFormatError(f"{source}: tls.key is not a consistent RSA private key (corrupt?)")

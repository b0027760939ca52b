"""New key pairs with a self-signed certificate, shaped like the ones Bitnami's controller makes
(pkg/crypto.SignKeyWithNotBefore), so a key from either tool serves the other:

- RSA, default 4096 bits, public exponent 65537;
- serial: random, below 2**128;
- Subject = Issuer = CN=<cn> (an empty CN gives an empty DN, as Go's pkix.Name{} does);
- NotBefore = now, NotAfter = now + ttl (default 10 years = Go's 87600h);
- BasicConstraints CA=true (critical), SubjectKeyIdentifier (Go adds one to CA certificates).

One deliberate difference: Go sets KeyUsage = EncipherOnly, which X.509 defines only together
with keyAgreement, and pyca/cryptography refuses it alone. We set keyEncipherment (what the key
is for: wrapping session keys with RSA-OAEP) and keyCertSign (it signs itself as a CA). Nothing
reads the key usage: kubeseal and the controller use only the public key and the validity dates.
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, rsa
from cryptography.x509.oid import NameOID

from keys.clock import Clock, utc_now
from keys.errors import KeyFormatError
from keys.keypair import KeyPair

DEFAULT_BITS = 4096
DEFAULT_TTL = dt.timedelta(hours=87600)  # Bitnami's --key-ttl default: 10*365*24h
DEFAULT_CN = ""  # Bitnami's --my-cn default
MIN_BITS = 2048
MAX_BITS = 16384
PUBLIC_EXPONENT = 65537


def clock_after(previous: dt.datetime | None, clock: Clock = utc_now) -> Clock:
    """A clock for a key that must sort after ``previous`` (the current newest key). Certificate
    times have whole seconds, and keys are ordered by NotBefore: a key made within the same second
    as the newest one would tie with it, and could lose the tie and never seal. So its NotBefore is
    moved to one second after the newest key's if need be (harmless: validity starts are not checked
    when sealing, only expiry)."""
    if previous is None:
        return clock
    floor = previous.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    return lambda: max(clock(), floor)


def check_bits(bits: int) -> None:
    if bits < MIN_BITS:
        raise KeyFormatError(f"key size {bits} is too small: use at least {MIN_BITS} bits")
    if bits > MAX_BITS or bits % 8:
        raise KeyFormatError(f"key size {bits} is not supported: use a multiple of 8 up to {MAX_BITS} bits")


def generate_key_pair(
    bits: int = DEFAULT_BITS,
    ttl: dt.timedelta = DEFAULT_TTL,
    cn: str = DEFAULT_CN,
    *,
    clock: Clock = utc_now,
    pq: bool = False,
) -> KeyPair:
    """``pq``: also an ML-KEM-768 key beside the RSA key, for post-quantum sealing (docs/format.md)."""
    check_bits(bits)
    if ttl <= dt.timedelta(0):
        raise KeyFormatError("the certificate validity (ttl) must be positive")
    key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)
    kem = mlkem.MLKEM768PrivateKey.generate() if pq else None
    return KeyPair.of(key, self_signed_certificate(key, not_before=clock(), ttl=ttl, cn=cn), kem)


def self_signed_certificate(
    key: rsa.RSAPrivateKey, *, not_before: dt.datetime, ttl: dt.timedelta, cn: str
) -> x509.Certificate:
    # X.509 times have whole seconds; dropping the fraction here keeps not_before == what is read back.
    start = not_before.astimezone(dt.UTC).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1 + secrets.randbelow(2**128 - 1))  # positive, as RFC 5280 asks
        .not_valid_before(start)
        .not_valid_after(start + ttl)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )

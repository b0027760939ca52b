"""New key pairs: the certificate Bitnami's controller would make, and the OpenSSH fingerprint."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from keys.clock import fixed
from keys.errors import KeyFormatError
from keys.generate import DEFAULT_BITS, DEFAULT_TTL, check_bits, clock_after, generate_key_pair, self_signed_certificate

from .conftest import T0

NOW = dt.datetime(2024, 10, 14, 19, 45, 30, 123456, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def generated():
    return generate_key_pair(2048, dt.timedelta(hours=24), "sealer-test", clock=fixed(NOW))


def test_certificate_shape(generated):
    cert = generated.certificate
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealer-test")])
    assert cert.subject == cert.issuer == name
    assert cert.not_valid_before_utc == NOW.replace(microsecond=0)
    assert cert.not_valid_after_utc == NOW.replace(microsecond=0) + dt.timedelta(hours=24)
    assert 0 < cert.serial_number < 2**128
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment and usage.key_cert_sign  # Go's EncipherOnly is not expressible alone
    assert generated.key_size == 2048
    assert generated.private_key.public_key().public_numbers().e == 65537
    cert.verify_directly_issued_by(cert)  # self-signed


def test_empty_cn_gives_an_empty_dn(rsa_pool):
    cert = self_signed_certificate(rsa_pool[0], not_before=T0, ttl=DEFAULT_TTL, cn="")
    assert len(cert.subject) == 0 and len(cert.issuer) == 0
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=3650)


def test_serials_are_random(rsa_pool):
    serials = {
        self_signed_certificate(rsa_pool[0], not_before=T0, ttl=DEFAULT_TTL, cn="").serial_number for _ in range(5)
    }
    assert len(serials) == 5


def test_defaults_match_bitnami():
    assert DEFAULT_BITS == 4096
    assert DEFAULT_TTL == dt.timedelta(hours=87600)


def test_key_is_pkcs1(generated):
    assert generated.key_pem().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")


@pytest.mark.parametrize("bits", [1024, 2047, 2049, 32768])
def test_refuses_bad_sizes(bits):
    with pytest.raises(KeyFormatError):
        check_bits(bits)


def test_refuses_nonpositive_ttl():
    with pytest.raises(KeyFormatError, match="positive"):
        generate_key_pair(2048, dt.timedelta(0))


def test_fingerprint_matches_ssh_keygen(generated, tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not found (apt-get install openssh-client)")
    pub = tmp_path / "key.pub"
    pub.write_bytes(
        generated.private_key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        + b" test\n"
    )
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True).stdout
    # "2048 SHA256:<base64> test (RSA)"
    assert out.split()[1] == generated.fingerprint


def test_clock_after_keeps_a_new_key_after_the_newest():
    newest = NOW.replace(microsecond=0)
    assert clock_after(None, fixed(NOW))() == NOW
    assert clock_after(newest, fixed(NOW))() == newest + dt.timedelta(seconds=1)  # same second: moved on
    later = NOW + dt.timedelta(minutes=5)
    assert clock_after(newest, fixed(later))() == later  # normally the clock itself

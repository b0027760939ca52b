"""The wire format: round trips, scope binding, tamper detection, and the fixed byte layout."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.core import crypto
from sealer.core.scope import Scope

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=40)
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fast
@given(plaintext=st.binary(max_size=4096), scope=st.sampled_from(Scope), ns=names, name=names)
def test_round_trip_any_bytes_any_scope(test_key, plaintext, scope, ns, name):
    label = crypto.encryption_label(scope, ns, name)
    blob = crypto.seal(test_key.private_key.public_key(), plaintext, label)
    assert crypto.open_sealed(test_key.private_key, blob, label) == plaintext
    assert crypto.decode(crypto.encode(blob)) == blob


def test_layout_is_length_prefix_rsa_block_then_gcm(test_key):
    """Decrypt by hand with the primitives, so the layout cannot drift from Bitnami's."""
    blob = crypto.seal(test_key.private_key.public_key(), b"hello", b"ns/name")
    (n,) = struct.unpack(">H", blob[:2])
    assert n == 256  # a 2048-bit key wraps into one 256-byte block
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=b"ns/name")
    session_key = test_key.private_key.decrypt(blob[2 : 2 + n], oaep)
    assert len(session_key) == 32
    assert AESGCM(session_key).decrypt(b"\0" * 12, blob[2 + n :], None) == b"hello"
    assert len(blob) == 2 + 256 + len(b"hello") + 16
    assert crypto.encode(blob).startswith("AQ")  # 0x0100 prefix, as kubeseal's 2048-bit values


def test_labels_per_scope():
    assert crypto.encryption_label(Scope.STRICT, "ns", "name") == b"ns/name"
    assert crypto.encryption_label(Scope.NAMESPACE_WIDE, "ns", "name") == b"ns"
    assert crypto.encryption_label(Scope.CLUSTER_WIDE, "ns", "name") == b""


@fast
@given(ns=names, name=names, other=names)
def test_strict_is_bound_to_name_and_namespace(test_key, ns, name, other):
    blob = crypto.seal(test_key.private_key.public_key(), b"v", crypto.encryption_label(Scope.STRICT, ns, name))
    if other != name:
        with pytest.raises(crypto.UndecryptableError):
            crypto.open_sealed(test_key.private_key, blob, crypto.encryption_label(Scope.STRICT, ns, other))
    if other != ns:
        with pytest.raises(crypto.UndecryptableError):
            crypto.open_sealed(test_key.private_key, blob, crypto.encryption_label(Scope.STRICT, other, name))


@fast
@given(ns=names, other_ns=names, name=names, other_name=names)
def test_namespace_wide_survives_rename_not_move(test_key, ns, other_ns, name, other_name):
    blob = crypto.seal(test_key.private_key.public_key(), b"v", crypto.encryption_label(Scope.NAMESPACE_WIDE, ns, name))
    assert (
        crypto.open_sealed(test_key.private_key, blob, crypto.encryption_label(Scope.NAMESPACE_WIDE, ns, other_name))
        == b"v"
    )
    if other_ns != ns:
        with pytest.raises(crypto.UndecryptableError):
            crypto.open_sealed(
                test_key.private_key, blob, crypto.encryption_label(Scope.NAMESPACE_WIDE, other_ns, name)
            )


@fast
@given(ns=names, name=names)
def test_cluster_wide_opens_anywhere(test_key, ns, name):
    blob = crypto.seal(test_key.private_key.public_key(), b"v", b"")
    assert crypto.open_sealed(test_key.private_key, blob, crypto.encryption_label(Scope.CLUSTER_WIDE, ns, name)) == b"v"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.binary(min_size=0, max_size=64), data=st.data())
def test_flipping_any_byte_fails(test_key, plaintext, data):
    blob = bytearray(crypto.seal(test_key.private_key.public_key(), plaintext, b"l"))
    i = data.draw(st.integers(0, len(blob) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    blob[i] ^= 1 << bit
    with pytest.raises(crypto.SealedValueError):
        crypto.open_sealed(test_key.private_key, bytes(blob), b"l")


@fast
@given(cut=st.integers(min_value=0, max_value=279))  # the whole value is 280 bytes
def test_truncated_values_fail_cleanly(test_key, cut):
    blob = crypto.seal(test_key.private_key.public_key(), b"secret", b"l")
    with pytest.raises(crypto.SealedValueError):
        crypto.open_sealed(test_key.private_key, blob[:cut], b"l")


def test_wrong_key_fails(test_key, other_key):
    blob = crypto.seal(test_key.private_key.public_key(), b"v", b"l")
    with pytest.raises(crypto.UndecryptableError):
        crypto.open_sealed(other_key.private_key, blob, b"l")


def test_each_seal_uses_a_fresh_session_key(test_key):
    pub = test_key.private_key.public_key()
    assert crypto.seal(pub, b"same", b"l") != crypto.seal(pub, b"same", b"l")


def test_decode_refuses_bad_base64():
    with pytest.raises(crypto.SealedValueError):
        crypto.decode("not base64!")


def test_check_framing(test_key):
    blob = crypto.seal(test_key.private_key.public_key(), b"v", b"")
    crypto.check_framing(blob, 256)
    with pytest.raises(crypto.SealedValueError):
        crypto.check_framing(blob, 512)
    with pytest.raises(crypto.SealedValueError):
        crypto.check_framing(b"\x00\x05abcde" + b"x" * 16)


def test_fingerprint_matches_openssh(test_key, tmp_path):
    import shutil
    import subprocess

    from cryptography.hazmat.primitives import serialization

    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen is not installed")
    pub = test_key.private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    (tmp_path / "k.pub").write_bytes(pub)
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[1] == crypto.fingerprint(test_key.private_key.public_key())


def test_fingerprint_matches_ssh_wire_blob(test_key):
    import hashlib

    from cryptography.hazmat.primitives import serialization

    pub = test_key.private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    wire = base64.b64decode(pub.split()[1])
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")
    assert crypto.fingerprint(test_key.private_key.public_key()) == expected

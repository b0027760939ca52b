"""The hybrid (post-quantum) value format: known-answer vectors, round trips in every scope,
tamper and truncation detection, and the separation from the classic format (docs/format.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.core import crypto
from sealer.core.keyset import KeySet
from sealer.core.scope import Scope

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "hybrid-v1.json").read_text())
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=40)
fast = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def kem_key():
    return mlkem.MLKEM768PrivateKey.generate()


@pytest.fixture(scope="module")
def vector_keys():
    rsa_key = serialization.load_pem_private_key(VECTORS["rsa_private_key"].encode(), None)
    return rsa_key, mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes.fromhex(VECTORS["mlkem768_seed"]))


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 by hand, so the KDF of the specification is checked independently of crypto.py."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


# --- known answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['scope']}-{len(v['plaintext']) // 2}B")
def test_known_answer(vector, vector_keys):
    rsa_key, kem_key = vector_keys
    assert kem_key.public_key().public_bytes_raw().hex() == VECTORS["mlkem768_public_key"]
    h = {k: bytes.fromhex(v) for k, v in vector.items() if k not in ("scope", "namespace", "name", "value")}
    label = crypto.encryption_label(Scope(vector["scope"]), vector["namespace"], vector["name"])
    assert label == h["label"]
    value = crypto.decode(vector["value"])
    # The byte layout, read by hand.
    assert value[:4] == b"\xffPQ\x01"
    assert struct.unpack(">H", value[4:6])[0] == len(h["wrapped"]) == 256
    assert value[6:262] == h["wrapped"]
    assert value[262:1350] == h["kem_ciphertext"]
    assert len(value) == 1350 + len(h["plaintext"]) + 16
    # Each primitive gives the recorded intermediate values.
    assert crypto.unwrap_key(rsa_key, value, label) == h["rsa_secret"]
    assert kem_key.decapsulate(h["kem_ciphertext"]) == h["kem_secret"]
    info = b"\xffPQ\x01" + lp(label) + lp(h["wrapped"]) + lp(h["kem_ciphertext"])
    assert hkdf_sha256(h["rsa_secret"] + h["kem_secret"], info) == h["key"]
    assert crypto.hybrid_key(h["rsa_secret"], h["kem_secret"], label, h["wrapped"], h["kem_ciphertext"]) == h["key"]
    # Sealing is deterministic given its parts, and opening gives the plaintext.
    assert (
        crypto.assemble_hybrid(
            h["rsa_secret"], h["wrapped"], h["kem_secret"], h["kem_ciphertext"], h["plaintext"], label
        )
        == value
    )
    assert crypto.open_sealed(rsa_key, value, label, kem_key) == h["plaintext"]


def test_vectors_cover_every_scope():
    assert {v["scope"] for v in VECTORS["vectors"]} == {s.value for s in Scope}


# --- properties ------------------------------------------------------------------------------


@fast
@given(plaintext=st.binary(max_size=4096), scope=st.sampled_from(Scope), ns=names, name=names)
def test_round_trip_any_scope(test_key, kem_key, plaintext, scope, ns, name):
    label = crypto.encryption_label(scope, ns, name)
    blob = crypto.seal_hybrid(test_key.private_key.public_key(), kem_key.public_key(), plaintext, label)
    assert crypto.is_hybrid(blob)
    crypto.check_framing(blob, 256)
    assert crypto.open_sealed(test_key.private_key, blob, label, kem_key) == plaintext
    keys = KeySet([test_key.private_key], {crypto.fingerprint(test_key.private_key.public_key()): kem_key})
    assert keys.open(crypto.decode(crypto.encode(blob)), label) == plaintext


@fast
@given(data=st.data(), plaintext=st.binary(max_size=64))
def test_any_flipped_bit_fails(test_key, kem_key, data, plaintext):
    blob = bytearray(crypto.seal_hybrid(test_key.private_key.public_key(), kem_key.public_key(), plaintext, b"ns/n"))
    at = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[at // 8] ^= 1 << (at % 8)
    with pytest.raises(crypto.SealedValueError):
        crypto.open_sealed(test_key.private_key, bytes(blob), b"ns/n", kem_key)


@fast
@given(data=st.data())
def test_any_truncation_fails(test_key, kem_key, data):
    blob = crypto.seal_hybrid(test_key.private_key.public_key(), kem_key.public_key(), b"some secret", b"ns/n")
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(crypto.SealedValueError):
        crypto.open_sealed(test_key.private_key, blob[:cut], b"ns/n", kem_key)


@fast
@given(scope=st.sampled_from(Scope), ns=names, name=names, other=names)
def test_wrong_label_fails(test_key, kem_key, scope, ns, name, other):
    label = crypto.encryption_label(scope, ns, name)
    wrong = crypto.encryption_label(scope, other, name) if scope is not Scope.CLUSTER_WIDE else b"x"
    if wrong == label:
        return
    blob = crypto.seal_hybrid(test_key.private_key.public_key(), kem_key.public_key(), b"v", label)
    with pytest.raises(crypto.UndecryptableError):
        crypto.open_sealed(test_key.private_key, blob, wrong, kem_key)


def test_wrong_mlkem_key_fails(test_key, kem_key):
    blob = crypto.seal_hybrid(test_key.private_key.public_key(), kem_key.public_key(), b"v", b"l")
    with pytest.raises(crypto.UndecryptableError):
        crypto.open_sealed(test_key.private_key, blob, b"l", mlkem.MLKEM768PrivateKey.generate())
    with pytest.raises(crypto.UndecryptableError, match="no ML-KEM key"):
        crypto.open_sealed(test_key.private_key, blob, b"l")
    # A KeySet whose RSA key lacks its ML-KEM half spends no RSA operation on a hybrid value.
    keys = KeySet([test_key.private_key])
    with pytest.raises(crypto.UndecryptableError):
        keys.open(blob, b"l")
    assert keys.private_key_operations == 0


@fast
@given(plaintext=st.binary(max_size=256))
def test_classic_never_passes_for_hybrid_or_back(test_key, kem_key, plaintext):
    public = test_key.private_key.public_key()
    classic = crypto.seal(public, plaintext, b"l")
    hybrid = crypto.seal_hybrid(public, kem_key.public_key(), plaintext, b"l")
    assert not crypto.is_hybrid(classic) and crypto.is_hybrid(hybrid)
    # The RSA-wrapped secret of a hybrid value is never its GCM key: opening it as classic fails.
    with pytest.raises(crypto.UndecryptableError):
        crypto.open_with_session_key(crypto.unwrap_key(test_key.private_key, hybrid, b"l"), hybrid)
    # Stripped of its tag (a downgrade), a hybrid value is no valid classic value.
    downgraded = hybrid[4 : 4 + 2 + 256] + hybrid[4 + 2 + 256 + 1088 :]
    with pytest.raises(crypto.UndecryptableError):
        crypto.open_sealed(test_key.private_key, downgraded, b"l")
    # A classic parser (Bitnami's framing: uint16 length, then the RSA block) refuses the tag.
    (n,) = struct.unpack(">H", hybrid[:2])
    assert n == 0xFF50 and n not in crypto.RSA_BLOCK_SIZES and n > 16384 // 8
    # A classic value given a hybrid tag does not frame or open as hybrid.
    with pytest.raises(crypto.SealedValueError):
        crypto.open_sealed(test_key.private_key, crypto.HYBRID_TAG + classic, b"l", kem_key)
    assert crypto.open_sealed(test_key.private_key, classic, b"l", kem_key) == plaintext


def test_no_valid_classic_value_starts_with_the_tag():
    """Every RSA size a classic value may carry gives a first byte far below 0xff."""
    assert all(struct.pack(">H", n)[0] < 0xFF for n in (*crypto.RSA_BLOCK_SIZES, 16384 // 8))


def test_framing_errors_name_no_bytes():
    with pytest.raises(crypto.SealedValueError, match="hybrid sealed value is too short"):
        crypto.parse(crypto.HYBRID_TAG + b"\x01\x00" + b"x" * 300)

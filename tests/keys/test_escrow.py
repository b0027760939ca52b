"""The escrow format (keys.escrow) and the recipients' checks (keys.escrow_recipients): round trips
for any M of N, refusals for fewer, tampering and mixing, and no private key in the clear."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import escrow
from keys.escrow_recipients import RecipientError, from_objects, parse_recipient
from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.secret_format import StoredKey
from tests.escrow_leaks import encodings, leaks

NOW = dt.datetime.now(dt.UTC)


def cert_pem(key, *, not_before=None, ttl=dt.timedelta(days=365)) -> bytes:
    cert = self_signed_certificate(key, not_before=not_before or NOW - dt.timedelta(days=1), ttl=ttl, cn="backup")
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def people():
    """(private key, recipient) for five people."""
    out = []
    for i in range(5):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        out.append((key, parse_recipient(cert_pem(key), f"person {i}", NOW)))
    return out


@pytest.fixture(scope="module")
def sealing_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pair = KeyPair.of(key, self_signed_certificate(key, not_before=NOW, ttl=dt.timedelta(days=3650), cn=""))
    return StoredKey("sealed-secrets-keyabcde", pair)


@pytest.fixture(scope="module")
def pq_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, not_before=NOW, ttl=dt.timedelta(days=3650), cn="")
    return StoredKey("sealed-secrets-keypqpqp", KeyPair.of(key, cert, mlkem.MLKEM768PrivateKey.generate()))


def roundtrip(doc):
    """As exported: YAML out, YAML in."""
    return escrow.parse(yaml.safe_load(yaml.safe_dump(doc)), "escrow.yaml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_m_of_n_recipients_restore_the_key_and_fewer_are_refused(people, sealing_key, data):
    n = data.draw(st.integers(1, len(people)), label="n")
    m = data.draw(st.integers(1, n), label="m")
    chosen = data.draw(st.permutations(people)).__getitem__(slice(n))
    obj = roundtrip(escrow.build(sealing_key, [r for _, r in chosen], m, "kube-system"))
    assert obj.threshold == m and len(obj.shares) == n
    assert obj.fingerprint == sealing_key.fingerprint and obj.key_name == sealing_key.name
    for subset in itertools.combinations([k for k, _ in chosen], m):
        restored = escrow.restore_key(obj, subset)
        assert restored.pair.key_pem() == sealing_key.pair.key_pem()
        assert restored.name == sealing_key.name and restored.status == "active"
    if m > 1:
        with pytest.raises(escrow.EscrowError, match=f"of the {m} shares needed"):
            escrow.restore_key(obj, [k for k, _ in chosen[: m - 1]])


def test_the_ml_kem_key_is_escrowed_too(people, pq_key):
    obj = roundtrip(escrow.build(pq_key, [people[0][1]], 1, "ns"))
    restored = escrow.restore_key(obj, [people[0][0]])
    assert restored.pair.mlkem_pem() == pq_key.pair.mlkem_pem()


def test_a_key_that_is_no_recipient_opens_nothing(people, sealing_key):
    obj = escrow.parse(escrow.build(sealing_key, [people[0][1]], 1, "ns"), "e")
    with pytest.raises(escrow.EscrowError, match="none of the recovery keys"):
        escrow.restore_key(obj, [people[1][0]])


def test_shares_do_not_move_between_objects_or_splits(people, sealing_key):
    """The OAEP label binds each share to its key, split and threshold."""
    a = escrow.build(sealing_key, [r for _, r in people[:3]], 2, "ns")
    b = escrow.build(sealing_key, [r for _, r in people[:3]], 2, "ns")
    mixed = json.loads(json.dumps(a))
    first = next(k for k in a["data"] if k.startswith("share."))
    mixed["data"][first] = b["data"][first]
    with pytest.raises(escrow.EscrowError, match="does not open"):
        escrow.restore_key(escrow.parse(mixed, "mixed"), [k for k, _ in people[:3]])
    lowered = json.loads(json.dumps(a))
    lowered["data"]["threshold"] = "1"
    with pytest.raises(escrow.EscrowError, match="does not open"):
        escrow.restore_key(escrow.parse(lowered, "lowered"), [people[0][0]])


def test_a_certificate_of_another_key_is_refused(people, sealing_key, pq_key):
    doc = escrow.build(sealing_key, [people[0][1]], 1, "ns")
    doc["data"]["key.crt"] = pq_key.pair.cert_pem.decode()
    with pytest.raises(escrow.EscrowError, match="does not match the certificate"):
        escrow.restore_key(escrow.parse(doc, "swapped"), [people[0][0]])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("format", "sealer.dev/escrow/v9", "data.format"),
        ("threshold", "0", "data.threshold"),
        ("threshold", "3", "holds only 1 share"),
        ("key.name", "Not_A_Name", "data.key.name"),
        ("share.x", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "data.share.x is not a sealed share"),
        ("share.x", "bm90IHNlYWxlZA==", "data.share.x is not a sealed share"),
    ],
)
def test_malformed_objects_are_one_line_errors(people, sealing_key, field, value, message):
    doc = escrow.build(sealing_key, [people[0][1]], 1, "ns")
    doc["data"][field] = value
    with pytest.raises(escrow.EscrowError, match=message) as e:
        escrow.parse(doc, "escrow.yaml")
    assert "\n" not in str(e.value) and "MIIE" not in str(e.value)


def test_no_private_key_in_the_clear(people, pq_key):
    """PEM, DER, base64 of DER or PEM: none of the key's encodings is anywhere in the object."""
    text = yaml.safe_dump(escrow.build(pq_key, [r for _, r in people[:3]], 2, "ns"))
    assert leaks(text, [pq_key.pair]) == []
    # The scanner finds each of them where they are (so the empty list above means something).
    plain = yaml.safe_dump({"data": {"k": base64.b64encode(encodings(pq_key.pair)["PKCS#1 DER"]).decode()}})
    assert "PKCS#1 DER of " + pq_key.fingerprint in leaks(plain, [pq_key.pair])
    assert leaks(pq_key.pair.key_pem().decode(), [pq_key.pair])


# --- recipients ---------------------------------------------------------------------------------


def test_recipient_checks_are_one_line_and_name_the_entry():
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the check under test
    curve = ec.generate_private_key(ec.SECP256R1())
    cm = {
        "kind": "ConfigMap",
        "data": {
            "alice.pem": cert_pem(good).decode(),
            "bob.pem": cert_pem(curve).decode(),
            "carol.pem": cert_pem(good, not_before=NOW - dt.timedelta(days=30), ttl=dt.timedelta(days=2)).decode(),
            "dave.pem": cert_pem(small).decode(),
            "eve.pem": "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n",
            "frank.pem": good.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        },
    }
    got = from_objects([(cm, "ConfigMap kube-system/r")], NOW)
    assert [r.source for r in got.recipients] == ["ConfigMap kube-system/r, data.alice.pem"]
    problems = dict(p.split(": ", 1) for p in got.problems)
    assert problems["ConfigMap kube-system/r, data.bob.pem"] == (
        "not an RSA certificate (EC); escrow recipients must be RSA"
    )
    assert problems["ConfigMap kube-system/r, data.carol.pem"].startswith("the certificate expired on ")
    assert problems["ConfigMap kube-system/r, data.dave.pem"] == "RSA key of 1024 bits; at least 2048 needed"
    assert problems["ConfigMap kube-system/r, data.eve.pem"] == "not a valid PEM certificate"
    assert "holds a private key" in problems["ConfigMap kube-system/r, data.frank.pem"]
    assert all("\n" not in p and "BEGIN" not in p for p in got.problems)
    assert got.usable and got.threshold == 1


def test_threshold_and_secret_recipients():
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    secret = {"kind": "Secret", "data": {"a.pem": base64.b64encode(cert_pem(keys[0])).decode(), "threshold": "Mg=="}}
    cm = {"kind": "ConfigMap", "data": {"b.pem": cert_pem(keys[1]).decode()}}
    got = from_objects([(cm, "cm"), (secret, "secret")], NOW)
    assert got.threshold == 2 and len(got.recipients) == 2 and got.usable and not got.problems
    too_many = from_objects([({"kind": "ConfigMap", "data": {"threshold": "3"}}, "cm"), (secret, "s")], NOW)
    assert not too_many.usable and any("disagree" in p for p in too_many.problems)
    bad = from_objects([({"kind": "ConfigMap", "data": {"threshold": "two"}}, "cm")], NOW)
    assert bad.threshold is None and bad.problems == ("cm, data.threshold: must be a whole number from 1 to 64",)
    assert from_objects([], NOW).configured is False


def test_parse_recipient_refuses_with_recipient_error():
    with pytest.raises(RecipientError, match="^x: not a PEM certificate$"):
        parse_recipient(b"hello", "x", NOW)

"""Key Secrets: the exact format of Bitnami's controller, and every way one can be wrong."""

from __future__ import annotations

import base64
import copy

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keys.errors import KeyFormatError
from keys.keypair import KeyPair
from keys.secret_format import (
    KEY_LABEL,
    NAME_ALPHABET,
    StoredKey,
    from_secret,
    generate_name,
    to_secret,
    validate_name,
    validate_prefix,
)


@pytest.fixture
def secret(make_stored):
    return to_secret(make_stored("sealed-secrets-keyx7k2p"), "kube-system")


def test_format_matches_bitnami(secret):
    assert secret["apiVersion"] == "v1" and secret["kind"] == "Secret"
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"] == {
        "name": "sealed-secrets-keyx7k2p",
        "namespace": "kube-system",
        "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
    }
    assert set(secret["data"]) == {"tls.crt", "tls.key"}
    assert base64.b64decode(secret["data"]["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert base64.b64decode(secret["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----\n")


def test_generate_name_form(make_stored):
    body = to_secret(make_stored("x"), "ns", generate_name_prefix="sealed-secrets-key")
    assert body["metadata"]["generateName"] == "sealed-secrets-key" and "name" not in body["metadata"]
    name = generate_name()
    assert name.startswith("sealed-secrets-key") and len(name) == len("sealed-secrets-key") + 5
    assert set(name[-5:]) <= set(NAME_ALPHABET)


def test_round_trip(secret):
    key = from_secret(secret, "test")
    assert key.name == "sealed-secrets-keyx7k2p" and key.status == "active" and key.namespace == "kube-system"
    assert to_secret(key) == secret


def test_relabelled_and_legacy_keys(secret):
    relabelled = copy.deepcopy(secret)
    relabelled["metadata"]["labels"][KEY_LABEL] = "compromised"
    key = from_secret(relabelled, "test")
    assert key.status == "compromised" and not key.usable()
    legacy = copy.deepcopy(secret)
    legacy["metadata"] = {"name": "sealed-secrets-key"}  # pre-0.9: no label at all
    key = from_secret(legacy, "test")
    assert key.status is None and key.usable("sealed-secrets-key") and not key.usable("other-prefix")


def test_reads_string_data_and_folded_base64(secret):
    doc = copy.deepcopy(secret)
    doc["stringData"] = {"tls.key": base64.b64decode(doc["data"].pop("tls.key")).decode()}
    doc["data"]["tls.crt"] = "\n".join(
        doc["data"]["tls.crt"][i : i + 76] for i in range(0, len(doc["data"]["tls.crt"]), 76)
    )
    assert from_secret(doc, "test").fingerprint == from_secret(secret, "test").fingerprint


def _with(secret, field, value):
    doc = copy.deepcopy(secret)
    if value is None:
        del doc["data"][field]
    else:
        doc["data"][field] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return doc


def test_bad_secrets_give_one_clear_line(secret, make_pair, rsa_pool):
    other = make_pair()  # the next pool key: not the secret's
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    cases = {
        "missing data.tls.key": _with(secret, "tls.key", None),
        "missing data.tls.crt": _with(secret, "tls.crt", None),
        "not valid base64": _with(secret, "tls.key", "%%%"),
        "not a valid PEM private key": _with(
            secret, "tls.key", b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        ),
        "expected RSA": _with(secret, "tls.key", ec_pem),
        "tls.crt is not a PEM certificate": _with(secret, "tls.crt", b"hello"),
        "tls.crt is not a valid PEM certificate": _with(
            secret, "tls.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        ),
        "does not match the certificate": _with(secret, "tls.crt", other.cert_pem),
        "missing metadata.name": {**secret, "metadata": {}},
        "not a valid Kubernetes name": {**secret, "metadata": {"name": "../../etc/passwd"}},
        "is a ConfigMap": {**secret, "kind": "ConfigMap"},
    }
    key_b64 = secret["data"]["tls.key"]
    for expected, doc in cases.items():
        with pytest.raises(KeyFormatError) as err:
            from_secret(doc, "backup.yaml, item 1")
        message = str(err.value)
        assert expected in message, message
        assert message.startswith("backup.yaml, item 1") and "\n" not in message
        assert key_b64[:40] not in message and "PRIVATE KEY-----" not in message


def test_corrupt_but_parseable_key_is_caught(make_pair):
    pair = make_pair()
    n = pair.private_key.private_numbers()
    from cryptography.hazmat.primitives.asymmetric import rsa

    bad = rsa.RSAPrivateNumbers(n.p, n.q, n.d ^ (1 << 100), n.dmp1, n.dmq1, n.iqmp, n.public_numbers)
    bad_key = bad.private_key(unsafe_skip_rsa_key_validation=True)
    pem = bad_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    with pytest.raises(KeyFormatError, match="not a consistent RSA private key"):
        KeyPair.from_pem(pem, pair.cert_pem, "test")


def test_names_and_prefixes():
    assert validate_name("sealed-secrets-keyabcde") == "sealed-secrets-keyabcde"
    for bad in ("", "UPPER", "a/b", "-a", "a" * 254, None):
        with pytest.raises(KeyFormatError):
            validate_name(bad)
    assert validate_prefix("") == ""
    with pytest.raises(KeyFormatError):
        validate_prefix("Bad_Prefix")


def test_repr_shows_no_key_material(make_stored):
    text = repr(make_stored("k"))
    assert "PRIVATE" not in text and "BEGIN" not in text and "SHA256:" in text


def test_stored_key_default_is_active(make_pair):
    assert StoredKey("k", make_pair()).status == "active"

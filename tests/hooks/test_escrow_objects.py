"""Escrow objects in Git: sealer-no-plaintext-secrets lets the ones the controller writes pass (they
hold no plaintext key), still refuses a plain key backup beside them, and catches a malformed one:
a PEM private key pasted in, or a key's DER in base64 standing in for a share."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keys import escrow
from keys.escrow_recipients import parse_recipient
from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.secret_format import StoredKey, to_secret

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def made():
    """(escrow object 2-of-2, the escrowed key) as the controller makes them."""
    recipients = []
    for _ in range(2):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = self_signed_certificate(k, not_before=NOW - dt.timedelta(hours=1), ttl=dt.timedelta(days=9), cn="r")
        recipients.append(parse_recipient(cert.public_bytes(serialization.Encoding.PEM), "r", NOW))
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = StoredKey(
        "sealed-secrets-keyabcde",
        KeyPair.of(k, self_signed_certificate(k, not_before=NOW, ttl=dt.timedelta(days=9), cn="")),
    )
    return escrow.build(key, recipients, 2, "kube-system"), key


def test_escrow_objects_pass_and_a_plain_backup_beside_them_does_not(check, made):
    doc, key = made
    listed = {"apiVersion": "v1", "kind": "List", "items": [doc]}
    assert check({"escrow.yaml": yaml.safe_dump(doc), "list.yaml": yaml.safe_dump(listed)}).rc == 0
    backup = to_secret(key, "kube-system")
    r = check({"escrow.yaml": yaml.safe_dump(doc), "backup.yaml": yaml.safe_dump(backup)})
    assert r.rc == 1 and {(f["path"], f["rule"]) for f in r.findings} == {("backup.yaml", "sealing-key-backup")}


def test_a_pasted_private_key_is_caught(check, made):
    doc, key = made
    pasted = {**doc, "data": {**doc["data"], "note": key.pair.key_pem().decode()}}
    r = check({"escrow.yaml": yaml.safe_dump(pasted)})
    assert r.rc == 1 and {"private-key", "escrow-malformed"} <= set(r.rules)
    share = next(k for k in doc["data"] if k.startswith("share."))
    as_share = {**doc, "data": {**doc["data"], share: base64.b64encode(key.pair.key_pem()).decode()}}
    assert "private-key" in check({"escrow.yaml": yaml.safe_dump(as_share)}).rules


def test_a_key_in_disguise_is_caught(check, made):
    """DER in base64 has no PEM header for the key scan to see; it is no sealed value either."""
    doc, key = made
    der = key.pair.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    share = next(k for k in doc["data"] if k.startswith("share."))
    disguised = {**doc, "data": {**doc["data"], share: base64.b64encode(der).decode()}}
    r = check({"escrow.yaml": yaml.safe_dump(disguised)})
    assert r.rc == 1 and r.rules == ["escrow-malformed"]
    assert f'escrow object "{doc["metadata"]["name"]}": data.{share} is not a sealed share' in r.findings[0]["message"]
    # Found by the format alone, even without the label (the data.format names it).
    unlabelled = {**disguised, "metadata": {"name": "x"}}
    assert check({"e.yaml": yaml.safe_dump(unlabelled)}).rules == ["escrow-malformed"]

"""``sealer keys restore --escrow`` and ``sealer keys escrow verify``, offline (a key directory and
files): the keys come back only with enough recipients' keys, and verify names each key it cannot
prove. Against a real cluster: tests/e2e/test_escrow.py."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keys import escrow
from keys.escrow_recipients import parse_recipient
from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.secret_format import StoredKey

NOW = dt.datetime.now(dt.UTC)


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Three recipients (key files), two sealing keys, escrow objects 2-of-3 in one file."""
    d = tmp_path_factory.mktemp("escrow")
    people = []
    for i in range(3):
        key = _key()
        cert = self_signed_certificate(key, not_before=NOW - dt.timedelta(hours=1), ttl=dt.timedelta(days=30), cn="p")
        path = d / f"person{i}.key"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        people.append((path, parse_recipient(cert.public_bytes(serialization.Encoding.PEM), f"p{i}", NOW)))
    keys = []
    for name in ("sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb"):
        k = _key()
        keys.append(
            StoredKey(name, KeyPair.of(k, self_signed_certificate(k, not_before=NOW, ttl=dt.timedelta(days=9), cn="")))
        )
    docs = [escrow.build(k, [r for _, r in people], 2, "kube-system") for k in keys]
    (d / "escrow.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}))
    for k in keys:
        (d / f"{k.name}.crt").write_bytes(k.pair.cert_pem)
    return d, [p for p, _ in people], keys


def test_restore_needs_m_keys_and_then_restores_every_key(cli, setup, tmp_path):
    d, people, keys = setup
    target = tmp_path / "restored"
    one = cli(
        "keys",
        "restore",
        "--escrow",
        str(d / "escrow.yaml"),
        "--recovery-private-key",
        str(people[0]),
        "--to-dir",
        str(target),
    )
    assert one.status == 1 and "1 of the 2 shares needed opened" in one.err
    assert not target.exists()  # nothing half-written
    two = cli(
        "keys", "restore", "--escrow", str(d / "escrow.yaml"),
        "--recovery-private-key", f"{people[2]},{people[0]}", "--to-dir", str(target),
    )  # fmt: skip
    assert two.status == 0, two.err
    assert sorted(two.out.split("\n")[:-1]) == sorted(f"restored {k.name} {k.fingerprint}" for k in keys)
    listed = cli("keys", "list", "--dir", str(target), "-o", "json")
    assert sorted(r["fingerprint"] for r in yaml.safe_load(listed.out)) == sorted(k.fingerprint for k in keys)
    assert "PRIVATE KEY" not in two.out + two.err


def test_verify_proves_each_key_or_names_why_not(cli, setup):
    d, people, keys = setup
    certs = [a for k in keys for a in ("--cert", str(d / f"{k.name}.crt"))]
    keyflags = ["--recovery-private-key", str(people[0]), "--recovery-private-key", str(people[1])]
    good = cli("keys", "escrow", "verify", "--escrow", str(d / "escrow.yaml"), *keyflags, *certs)
    assert good.status == 0, good.err
    assert good.out.count("ok   ") == 2
    # A key whose escrow object is missing, and a recovery key too few: one FAIL line per key, exit 1.
    only_first = yaml.safe_load((d / "escrow.yaml").read_text())
    only_first["items"] = only_first["items"][:1]
    (d / "partial.yaml").write_text(yaml.safe_dump(only_first))
    bad = cli("keys", "escrow", "verify", "--escrow", str(d / "partial.yaml"), *keyflags, *certs)
    assert bad.status == 1
    assert f"FAIL {keys[1].fingerprint}: no escrow object" in bad.out
    assert f"ok   {keys[0].fingerprint}" in bad.out
    assert "error: 1 of 2 key(s) cannot be restored" in bad.err
    few = cli(
        "keys", "escrow", "verify", "--escrow", str(d / "escrow.yaml"), "--recovery-private-key", str(people[2]), *certs
    )
    assert few.status == 1 and few.out.count("1 of the 2 shares needed opened") == 2


def test_malformed_escrow_file_is_one_line(cli, setup, tmp_path):
    d, people, _ = setup
    doc = yaml.safe_load((d / "escrow.yaml").read_text())["items"][0]
    doc["data"]["split"] = ""
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(doc))
    r = cli(
        "keys",
        "restore",
        "--escrow",
        str(tmp_path / "bad.yaml"),
        "--recovery-private-key",
        str(people[0]),
        "--to-dir",
        str(tmp_path / "x"),
    )
    assert r.status == 1 and r.err.strip().count("\n") == 0 and "missing data.split" in r.err
    none = cli("keys", "restore", "--escrow", str(d / "escrow.yaml"), "--to-dir", str(tmp_path / "x"))
    assert none.status == 1 and "--recovery-private-key" in none.err


def test_recipients_check_is_the_controllers(cli, tmp_path):
    """`keys escrow recipients FILE`: the controller's checks, one line per recipient, exit 1 on any problem."""
    from cryptography.hazmat.primitives.asymmetric import ec

    good = _key()
    good_pem = self_signed_certificate(good, not_before=NOW - dt.timedelta(hours=1), ttl=dt.timedelta(days=9), cn="")
    curve = ec.generate_private_key(ec.SECP256R1())
    ec_pem = self_signed_certificate(curve, not_before=NOW - dt.timedelta(hours=1), ttl=dt.timedelta(days=9), cn="")
    pem = serialization.Encoding.PEM
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sealed-secrets-escrow-recipients"},
        "data": {"a.pem": good_pem.public_bytes(pem).decode(), "b.pem": ec_pem.public_bytes(pem).decode()},
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(cm))
    r = cli("keys", "escrow", "recipients", str(tmp_path / "r.yaml"))
    assert r.status == 1
    fingerprint = parse_recipient(good_pem.public_bytes(pem), "x", NOW).fingerprint
    assert r.out.splitlines() == [
        f"ok   {fingerprint} {tmp_path / 'r.yaml'}, document 1 (ConfigMap), data.a.pem",
        f"FAIL {tmp_path / 'r.yaml'}, document 1 (ConfigMap), data.b.pem: not an RSA certificate (EC); escrow recipients must be RSA",
    ]
    assert "Traceback" not in r.err and r.err.count("\n") == 1
    (tmp_path / "a.pem").write_bytes(good_pem.public_bytes(pem))
    ok = cli("keys", "escrow", "recipients", str(tmp_path / "a.pem"))
    assert ok.status == 0 and ok.out.startswith(f"ok   {fingerprint}") and "1 of them restore a key" in ok.err

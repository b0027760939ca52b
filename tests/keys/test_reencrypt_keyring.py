"""`sealer reencrypt --keyring NAME`: the keys kept in the system keyring (the real SecretService
over a private gnome-keyring, as tests/keys/test_cli.py runs it) open what is re-sealed."""

from __future__ import annotations

import os

import yaml

from sealer.core.keyset import KeySet
from sealer.core.unsealing import open_items
from tests.keys.test_cli import sealer_process

SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: kr-s3cr3t}\n"


def test_reencrypt_with_the_keys_of_a_keyring(secret_service, tmp_path, other_key):
    env = {**secret_service.env, "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    name = f"reencrypt-{os.getpid()}"
    assert sealer_process("keys", "generate", "--bits", "2048", "--keyring", name, env=env).returncode == 0
    cert = tmp_path / "cert.pem"
    assert sealer_process("cert", "--keyring", name, "-w", str(cert), env=env).returncode == 0
    sealed = tmp_path / "db.yaml"
    r = sealer_process("seal", "--cert", str(cert), "-w", str(sealed), input=SECRET, env=env)
    assert r.returncode == 0, r.stderr
    r = sealer_process("reencrypt", "--cert", str(other_key.cert_path), "--keyring", name, str(sealed), env=env)
    assert r.returncode == 0, r.stderr
    assert "kr-s3cr3t" not in r.stderr + r.stdout
    doc = yaml.safe_load(sealed.read_text())
    assert open_items(doc, KeySet([other_key.private_key])) == {"password": b"kr-s3cr3t"}

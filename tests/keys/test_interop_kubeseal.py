"""Bitnami's kubeseal uses our keys both ways: it seals against our certificate (our registry
opens the result), and its offline recovery reads our backups."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
import yaml

from keys.backup import backup_document, render
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core.unsealing import open_items
from tests.peers import peer_bin_dir

from .conftest import T0

pytestmark = pytest.mark.interop

SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\nstringData: {password: hunter2}\n"


@pytest.fixture(scope="module")
def kubeseal():
    return str(peer_bin_dir("bitnami") / "kubeseal")


def run(kubeseal, tmp_path, *args, stdin):
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": str(tmp_path)}
    proc = subprocess.run([kubeseal, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_kubeseal_seals_for_our_key_and_recovers_with_our_backup(kubeseal, tmp_path, make_pair):
    import datetime as dt

    keys = [StoredKey(f"sealed-secrets-key{i:05d}", make_pair(T0 + dt.timedelta(days=30 * i))) for i in range(3)]
    cert = tmp_path / "cert.pem"
    cert.write_bytes(keys[0].pair.cert_pem)  # an older, still active key
    sealed = yaml.safe_load(run(kubeseal, tmp_path, "--cert", str(cert), "-o", "yaml", stdin=SECRET))

    registry = KeyRegistry(keys)
    assert open_items(sealed, registry) == {"password": b"hunter2"}

    backup = tmp_path / "backup.yaml"
    backup.write_text(render(backup_document(keys), "yaml"))
    recovered = yaml.safe_load(
        run(
            kubeseal,
            tmp_path,
            "--recovery-unseal",
            "--recovery-private-key",
            str(backup),
            "-o",
            "yaml",
            stdin=yaml.safe_dump(sealed),
        )
    )
    assert recovered["data"]["password"] == base64.b64encode(b"hunter2").decode()

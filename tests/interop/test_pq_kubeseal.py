"""Post-quantum keys beside Bitnami's kubeseal (issue 16): the published PEM (certificate, then
the ML-KEM public key) still serves kubeseal; a key Secret with mlkem768.key still serves its
--recovery-unseal; a hybrid SealedSecret fails there cleanly."""

from __future__ import annotations

import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import mlkem

from keys.backup import backup_document, render
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core import crypto
from tests.interop.test_kubeseal import SECRET, run

pytestmark = pytest.mark.interop


@pytest.fixture
def pq_files(test_key, tmp_path):
    pair = KeyPair.of(
        test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    published = tmp_path / "cert.pem"
    published.write_bytes(KeyRegistry([pair]).sealing_certificate_pem())  # what /v1/cert.pem serves
    assert b"-----BEGIN PUBLIC KEY-----" in published.read_bytes()
    backup = tmp_path / "backup.json"
    backup.write_text(render(backup_document([StoredKey("sealed-secrets-keyq7b2x", pair)]), "json"))
    assert "mlkem768.key" in backup.read_text()
    return pair, published, backup


def test_kubeseal_seals_with_the_published_pem(kubeseal, run_cli, pq_files, tmp_path):
    pair, published, backup = pq_files
    sealed = run([kubeseal, "--cert", published], json.dumps(SECRET).encode(), tmp_path).stdout
    doc = json.loads(sealed)
    blobs = [crypto.decode(v) for v in doc["spec"]["encryptedData"].values()]
    assert blobs and not any(crypto.is_hybrid(b) for b in blobs)
    assert sorted(crypto.open_sealed(pair.private_key, b, b"prod/db") for b in blobs) == sorted(
        [b"admin", "p@ss: wörd\n".encode(), b"\x00\x01\x02\xff"]
    )
    # kubeseal reads a key Secret with the extra data key, and so does sealer.
    theirs = run([kubeseal, "--recovery-unseal", "--recovery-private-key", backup], sealed, tmp_path).stdout
    ours = run_cli("unseal", "--recovery-private-key", str(backup), input=sealed)
    assert ours.returncode == 0, ours.stderr
    assert json.loads(theirs)["data"] == json.loads(ours.stdout)["data"]
    raw = run([kubeseal, "--raw", "--cert", published, "--name", "db", "--namespace", "prod"], b"v", tmp_path).stdout
    assert crypto.open_sealed(pair.private_key, crypto.decode(raw.decode()), b"prod/db") == b"v"


def test_kubeseal_fails_cleanly_on_a_hybrid_sealed_secret(kubeseal, run_cli, pq_files, tmp_path):
    pair, published, backup = pq_files
    sealed = run_cli("seal", "--pq", "--cert", str(published), input=json.dumps(SECRET))
    assert sealed.returncode == 0, sealed.stderr
    proc = run([kubeseal, "--recovery-unseal", "--recovery-private-key", backup], sealed.stdout, tmp_path, check=False)
    err = proc.stderr.decode()
    assert proc.returncode != 0 and "panic" not in err and "goroutine" not in err
    assert "no key could decrypt secret" in err, err
    assert proc.stdout == b""
    # sealer opens it with the same backup.
    assert run_cli("unseal", "--recovery-private-key", str(backup), input=sealed.stdout).returncode == 0

"""`sealer seal --pq` and `sealer unseal` with the hybrid format, as a user runs them (issue 16)."""

from __future__ import annotations

import base64
import http.server
import json
import threading

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem

from keys.backup import backup_document, render
from keys.keypair import KeyPair
from keys.secret_format import StoredKey
from sealer.core import crypto
from sealer.core.certs import parse_certificate
from sealer.core.errors import CertificateError
from tests.sealer.test_cli import PLAINTEXT, SECRET, assert_clean_error


@pytest.fixture(scope="module")
def pq_key(test_key, tmp_path_factory):
    """The test RSA key with an ML-KEM key beside it: its published PEM and its backup file."""
    pair = KeyPair.of(
        test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    directory = tmp_path_factory.mktemp("pq")
    cert = directory / "cert.pem"
    cert.write_bytes(pair.published_pem())
    backup = directory / "backup.yaml"
    backup.write_text(render(backup_document([StoredKey("sealed-secrets-keyabcde", pair)]), "yaml"))
    return pair, cert, backup


def values(doc: dict) -> list[bytes]:
    return [crypto.decode(v) for v in doc["spec"]["encryptedData"].values()]


def test_seal_pq_then_unseal(run_cli, pq_key, test_key):
    pair, cert, backup = pq_key
    sealed = run_cli("seal", "--pq", "--cert", str(cert), "-o", "yaml", input=SECRET)
    assert sealed.returncode == 0, sealed.stderr
    doc = yaml.safe_load(sealed.stdout)
    assert all(crypto.is_hybrid(v) for v in values(doc))
    assert doc["metadata"]["annotations"]["sealer.dev/sealing-key"] == pair.fingerprint  # the hint is the RSA key's
    opened = run_cli("unseal", "--recovery-private-key", str(backup), input=sealed.stdout)
    assert opened.returncode == 0, opened.stderr
    assert base64.b64decode(json.loads(opened.stdout)["data"]["password"]).decode() == PLAINTEXT
    # The RSA key alone (a PEM file, no ML-KEM key) cannot open it.
    alone = run_cli("unseal", "--recovery-private-key", str(test_key.key_path), input=sealed.stdout)
    assert_clean_error(alone, "no key could decrypt secret (password)")


def test_without_pq_the_same_certificate_seals_classic(run_cli, pq_key):
    _, cert, _ = pq_key
    sealed = run_cli("seal", "--cert", str(cert), input=SECRET)
    assert sealed.returncode == 0, sealed.stderr
    assert not any(crypto.is_hybrid(v) for v in values(json.loads(sealed.stdout)))


def test_raw_pq(run_cli, pq_key):
    pair, cert, _ = pq_key
    out = run_cli("seal", "--raw", "--pq", "--cert", str(cert), "-n", "prod", "--name", "db", input="v4lue")
    assert out.returncode == 0, out.stderr
    blob = crypto.decode(out.stdout.decode())
    assert crypto.open_sealed(pair.private_key, blob, b"prod/db", pair.mlkem_key) == b"v4lue"


def test_pq_with_a_certificate_without_mlkem_key_is_a_one_line_error(run_cli, test_key):
    result = run_cli("seal", "--pq", "--cert", str(test_key.cert_path), input=SECRET)
    assert_clean_error(result, "no ML-KEM-768 public key", "--pq-keys")
    assert result.stdout == b""


def test_pq_from_a_url(run_cli, pq_key):
    pair, cert, _ = pq_key
    body = cert.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/x-pem-file")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1/cert.pem"
        sealed = run_cli("seal", "--pq", "--cert", url, input=SECRET)
        fetched = run_cli("seal", "--fetch-cert", "--cert", url)
    finally:
        server.shutdown()
    assert sealed.returncode == 0, sealed.stderr
    (blob,) = values(json.loads(sealed.stdout))
    assert crypto.open_sealed(pair.private_key, blob, b"prod/db", pair.mlkem_key) == PLAINTEXT.encode()
    assert fetched.stdout == body  # --fetch-cert passes both blocks on


def test_certificate_parsing_of_the_published_pem(pq_key, test_key):
    pair, cert, _ = pq_key
    parsed = parse_certificate(cert.read_bytes())
    assert parsed.fingerprint == pair.fingerprint
    assert parsed.mlkem_public.public_bytes_raw() == pair.mlkem_key.public_key().public_bytes_raw()
    assert parse_certificate(test_key.cert_pem).mlkem_public is None
    assert parse_certificate(cert.read_bytes() + pair.mlkem_public_pem()).mlkem_public is not None  # same key twice
    other = mlkem.MLKEM768PrivateKey.generate().public_key()
    other_pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(CertificateError, match="two different ML-KEM-768 public keys"):
        parse_certificate(cert.read_bytes() + other_pem)

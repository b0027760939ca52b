"""The controller's HTTP API with post-quantum keys: /v1/cert.pem publishes the ML-KEM key,
/v1/verify opens both formats, /v1/rotate keeps each SealedSecret's format (issue 16)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem

from controller.http_api import Api
from controller.metrics import Metrics
from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from sealer.core import crypto
from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from sealer.core.unsealing import open_items

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "prod"},
    "stringData": {"pw": "x", "user": "y"},
}


T0 = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
TEN_YEARS = dt.timedelta(days=3650)


@pytest.fixture
def pairs(test_key, other_key):
    """An older key with an ML-KEM key, and a newer RSA key without one."""
    pq = KeyPair.of(
        test_key.private_key,
        self_signed_certificate(test_key.private_key, not_before=T0, ttl=TEN_YEARS, cn=""),
        mlkem.MLKEM768PrivateKey.generate(),
    )
    newer = self_signed_certificate(other_key.private_key, not_before=T0 + dt.timedelta(days=1), ttl=TEN_YEARS, cn="")
    return KeyPair.of(other_key.private_key, newer), pq


def api(registry: KeyRegistry) -> Api:
    return Api(registry, Metrics(), lambda: True, rate=1000, burst=1000)


def post(registry, path, doc):
    return api(registry).handle("POST", path, json.dumps(doc).encode(), "c")


def test_cert_pem_carries_the_mlkem_key_and_seals_both_formats(pairs):
    plain, pq = pairs
    registry = KeyRegistry([pq])
    status, ctype, body, _ = api(registry).handle("GET", "/v1/cert.pem", b"", "c")
    assert status == 200 and ctype == "application/x-pem-file"
    cert = parse_certificate(body)
    assert cert.fingerprint == pq.fingerprint and cert.mlkem_public is not None
    hybrid = Sealer(cert, pq=True).seal_secret(SECRET)
    classic = Sealer(cert).seal_secret(SECRET)
    for doc in (hybrid, classic):
        assert post(registry, "/v1/verify", doc)[0] == 200
        assert open_items(doc, registry) == {"pw": b"x", "user": b"y"}
    # A registry holding the RSA key without its ML-KEM key refuses the hybrid one only.
    rsa_only = KeyRegistry([KeyPair.of(pq.private_key, pq.certificate)])
    assert post(rsa_only, "/v1/verify", classic)[0] == 200
    assert post(rsa_only, "/v1/verify", hybrid)[0] == 409


def test_rotate_keeps_the_format(pairs):
    plain, pq = pairs
    cert = parse_certificate(KeyRegistry([pq]).sealing_certificate_pem())
    hybrid, classic = Sealer(cert, pq=True).seal_secret(SECRET), Sealer(cert).seal_secret(SECRET)
    newer_pq = KeyPair.of(plain.private_key, plain.certificate, mlkem.MLKEM768PrivateKey.generate())
    registry = KeyRegistry([pq, newer_pq])
    assert registry.newest is newer_pq
    for doc, want_hybrid in ((hybrid, True), (classic, False)):
        status, _, body, _ = post(registry, "/v1/rotate", doc)
        assert status == 200, body
        out = json.loads(body)
        blobs = [crypto.decode(v) for v in out["spec"]["encryptedData"].values()]
        assert all(crypto.is_hybrid(b) is want_hybrid for b in blobs)
        assert open_items(out, KeyRegistry([newer_pq])) == {"pw": b"x", "user": b"y"}
    # A newest key without an ML-KEM key cannot re-seal a post-quantum SealedSecret: no downgrade.
    status, _, body, _ = post(KeyRegistry([pq, plain]), "/v1/rotate", hybrid)
    assert status == 409 and b"no ML-KEM-768 key" in body
    assert post(KeyRegistry([pq, plain]), "/v1/rotate", classic)[0] == 200

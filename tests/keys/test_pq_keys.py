"""ML-KEM-768 keys beside RSA keys (issue 16): carried by key Secrets, backups and stores; the
registry opens hybrid values with them and classic values without them; /v1/cert.pem's PEM."""

from __future__ import annotations

import base64

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem

from keys.backup import backup_document, read_backup, render
from keys.errors import KeyFormatError
from keys.generate import generate_key_pair
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey, from_secret, to_secret
from keys.stores.directory import DirectoryKeyStore
from sealer.core import crypto
from sealer.core.privkeys import MLKEM_FIELD, load_key_pairs

from .conftest import T0

LABEL = b"app/db"


@pytest.fixture
def pq_pair(make_pair):
    plain = make_pair(T0)
    return KeyPair.of(plain.private_key, plain.certificate, mlkem.MLKEM768PrivateKey.generate())


def hybrid(pair: KeyPair, plaintext: bytes = b"v") -> bytes:
    return crypto.seal_hybrid(pair.certificate.public_key(), pair.mlkem_key.public_key(), plaintext, LABEL)


def test_key_secret_carries_the_mlkem_key(pq_pair):
    doc = to_secret(StoredKey("k1", pq_pair))
    assert set(doc["data"]) == {"tls.crt", "tls.key", MLKEM_FIELD}
    pem = base64.b64decode(doc["data"][MLKEM_FIELD])
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    # PKCS#8 of the 64-byte seed: the same key comes back.
    seed_key = serialization.load_pem_private_key(pem, None)
    assert seed_key.private_bytes_raw() == pq_pair.mlkem_key.private_bytes_raw()
    again = from_secret(doc, "k")
    assert crypto.open_sealed(again.pair.private_key, hybrid(pq_pair, b"x"), LABEL, again.pair.mlkem_key) == b"x"


def test_key_secret_without_mlkem_key_still_works(make_pair):
    pair = make_pair(T0)
    doc = to_secret(StoredKey("k1", pair))
    assert MLKEM_FIELD not in doc["data"]
    assert from_secret(doc, "k").pair.mlkem_key is None


@pytest.mark.parametrize("bad", [b"not pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_corrupt_mlkem_key_is_a_one_line_error(pq_pair, bad):
    doc = to_secret(StoredKey("k1", pq_pair))
    doc["data"][MLKEM_FIELD] = base64.b64encode(bad).decode()
    with pytest.raises(KeyFormatError, match=r"^k \(k1\): mlkem768.key: not a (valid )?PEM ML-KEM-768 private key$"):
        from_secret(doc, "k")


def test_an_rsa_key_in_the_mlkem_field_is_refused(pq_pair):
    doc = to_secret(StoredKey("k1", pq_pair))
    pkcs8 = pq_pair.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    doc["data"][MLKEM_FIELD] = base64.b64encode(pkcs8).decode()
    with pytest.raises(KeyFormatError, match="expected ML-KEM-768"):
        from_secret(doc, "k")


def test_backup_and_directory_store_carry_it(tmp_path, pq_pair, make_pair):
    plain = StoredKey("k-plain", make_pair(T0))
    keys = [StoredKey("k-pq", pq_pair), plain]
    restored = read_backup(render(backup_document(keys), "yaml").encode(), "backup.yaml")
    by_name = {k.name: k for k in restored}
    assert by_name["k-plain"].pair.mlkem_key is None
    registry = KeyRegistry(restored)
    assert registry.open(hybrid(pq_pair, b"kept"), LABEL) == b"kept"
    store = DirectoryKeyStore(str(tmp_path / "store"))
    store.add(pq_pair, "k-pq", "active")
    (listed,) = store.list()
    assert listed.pair.mlkem_key.private_bytes_raw() == pq_pair.mlkem_key.private_bytes_raw()
    # sealer unseal --recovery-private-key reads the same file.
    path = tmp_path / "backup.yaml"
    path.write_text(render(backup_document(keys), "yaml"))
    loaded = dict((crypto.fingerprint(k.public_key()), m) for k, m in load_key_pairs(str(path)))
    assert loaded[plain.fingerprint] is None
    assert loaded[pq_pair.fingerprint].private_bytes_raw() == pq_pair.mlkem_key.private_bytes_raw()


def test_registry_opens_both_formats_and_skips_keys_without_mlkem(make_pair, pq_pair):
    others = [make_pair(T0) for _ in range(3)]
    registry = KeyRegistry([*others, pq_pair])
    classic = crypto.seal(pq_pair.certificate.public_key(), b"classic", LABEL)
    assert registry.open(classic, LABEL) == b"classic"
    before = registry.private_key_operations
    value = hybrid(pq_pair, b"pq")
    assert registry.open_with_key(value, LABEL) == (b"pq", pq_pair.fingerprint)
    # Only the one key with an ML-KEM half was tried.
    assert registry.private_key_operations - before == 1
    # The same RSA key without its ML-KEM key cannot open it.
    without = KeyRegistry([KeyPair.of(pq_pair.private_key, pq_pair.certificate)])
    with pytest.raises(crypto.UndecryptableError):
        without.open(value, LABEL)
    assert without.private_key_operations == 0


def test_published_pem_keeps_the_certificate_first(pq_pair, make_pair):
    pem = KeyRegistry([pq_pair]).sealing_certificate_pem()
    assert pem.startswith(pq_pair.cert_pem.rstrip(b"\n"))
    assert pem.count(b"-----BEGIN PUBLIC KEY-----") == 1
    certs = x509.load_pem_x509_certificates(pem)
    assert len(certs) == 1 and certs[0] == pq_pair.certificate
    public = serialization.load_pem_public_key(pem[pem.index(b"-----BEGIN PUBLIC KEY-----") :])
    assert public.public_bytes_raw() == pq_pair.mlkem_key.public_key().public_bytes_raw()
    plain = make_pair(T0)
    assert KeyRegistry([plain]).sealing_certificate_pem() == plain.cert_pem


def test_generate_with_pq():
    pair = generate_key_pair(2048, pq=True)
    assert isinstance(pair.mlkem_key, mlkem.MLKEM768PrivateKey)
    assert generate_key_pair(2048).mlkem_key is None
    doc = yaml.safe_load(yaml.safe_dump(to_secret(StoredKey("k", pair))))
    assert from_secret(doc, "k").pair.mlkem_key is not None

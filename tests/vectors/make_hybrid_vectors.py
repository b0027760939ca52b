"""Generate tests/vectors/hybrid-v1.json, the known-answer vectors of the hybrid value format
(docs/format.md). Run once; the file is committed and checked by tests/sealer/test_hybrid.py.

    .venv/bin/python tests/vectors/make_hybrid_vectors.py > tests/vectors/hybrid-v1.json

Fixed inputs: a 2048-bit RSA key (made once, kept in the file: RSA key generation cannot be
seeded), the ML-KEM-768 seed 00 01 .. 3f, the RSA secrets S1 and the OAEP seeds (OAEP is applied
here by hand over raw RSA, RFC 8017 7.1.1, so the wrapped block is reproducible). The one input
that cannot be fixed is ML-KEM's encapsulation randomness (cryptography exposes no deterministic
Encaps), so C and S2 are recorded as made; the tests check that the seed's key decapsulates C to S2.
Everything after that is deterministic: crypto.assemble_hybrid(parts) must give the value exactly.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sealer.core import crypto  # noqa: E402
from sealer.core.scope import Scope  # noqa: E402

MLKEM_SEED = bytes(range(64))


def mgf1(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def oaep_encrypt(public: rsa.RSAPublicKey, message: bytes, label: bytes, seed: bytes) -> bytes:
    """RSAES-OAEP-ENCRYPT with SHA-256 and MGF1-SHA-256 and a given seed (RFC 8017 7.1.1)."""
    numbers = public.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    h = hashlib.sha256(label).digest()
    db = h + b"\x00" * (k - len(message) - 2 * len(h) - 2) + b"\x01" + message
    masked_db = bytes(a ^ b for a, b in zip(db, mgf1(seed, len(db)), strict=True))
    masked_seed = bytes(a ^ b for a, b in zip(seed, mgf1(masked_db, len(h)), strict=True))
    em = b"\x00" + masked_seed + masked_db
    return pow(int.from_bytes(em, "big"), numbers.e, numbers.n).to_bytes(k, "big")


def main() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(MLKEM_SEED)
    cases = [
        (Scope.STRICT, "prod", "db", b"hunter2"),
        (Scope.NAMESPACE_WIDE, "prod", "db", b"a namespace-wide value\n"),
        (Scope.CLUSTER_WIDE, "", "", b""),
        (Scope.STRICT, "kube-system", "blob", bytes(range(256))),
    ]
    vectors = []
    for i, (scope, namespace, name, plaintext) in enumerate(cases):
        label = crypto.encryption_label(scope, namespace, name)
        rsa_secret = hashlib.sha256(b"S1 %d" % i).digest()
        oaep_seed = hashlib.sha256(b"OAEP seed %d" % i).digest()
        wrapped = oaep_encrypt(rsa_key.public_key(), rsa_secret, label, oaep_seed)
        kem_secret, kem_ciphertext = kem_key.public_key().encapsulate()
        value = crypto.assemble_hybrid(rsa_secret, wrapped, kem_secret, kem_ciphertext, plaintext, label)
        assert crypto.open_sealed(rsa_key, value, label, kem_key) == plaintext
        vectors.append(
            {
                "scope": scope.value,
                "namespace": namespace,
                "name": name,
                "label": label.hex(),
                "plaintext": plaintext.hex(),
                "rsa_secret": rsa_secret.hex(),
                "oaep_seed": oaep_seed.hex(),
                "wrapped": wrapped.hex(),
                "kem_ciphertext": kem_ciphertext.hex(),
                "kem_secret": kem_secret.hex(),
                "key": crypto.hybrid_key(rsa_secret, kem_secret, label, wrapped, kem_ciphertext).hex(),
                "value": crypto.encode(value),
            }
        )
    doc = {
        "format": "sealer hybrid value, version 1 (docs/format.md)",
        "rsa_private_key": rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "mlkem768_seed": MLKEM_SEED.hex(),
        "mlkem768_public_key": kem_key.public_key().public_bytes_raw().hex(),
        "vectors": vectors,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

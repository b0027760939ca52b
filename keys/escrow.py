"""Escrow objects: a key's private material sealed for the escrow recipients, safe to export and to
commit (docs/format.md, "Escrow objects").

    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: sealed-secrets-keyx7k2p-escrow       # <key Secret name>-escrow
      namespace: kube-system
      labels: {sealer.dev/escrow: v1}
    data:
      format: sealer.dev/escrow/v1
      key.name: sealed-secrets-keyx7k2p
      key.fingerprint: SHA256:...                # the key's (crypto.fingerprint)
      key.crt: <PEM certificate, tls.crt as stored>
      threshold: "2"                             # shares needed (M); 1: any one recipient alone
      split: <base64, 16 random bytes>           # one Shamir split; shares of two splits never mix
      share.<recipient id>: <base64 sealed value>   # one per recipient (N)

The recipient id is the recipient certificate's fingerprint without ``SHA256:``, in base64url.

What is shared: the key material as canonical JSON (``{"mlkem768.key": PEM, "tls.key": PEM}``,
keys sorted, no spaces; ``mlkem768.key`` only when the key has one), split with Shamir over
GF(256) (keys.shamir) into one share per recipient. Share ``x`` of ``y`` is the plaintext
``x || y``, sealed with our classic format (sealer.core.crypto.seal, RSA-OAEP + AES-256-GCM) for
the recipient's RSA key, with the OAEP label

    "sealer.dev/escrow/v1\\n" + key fingerprint + "\\n" + split + "\\n" + threshold

so a share opens only as a share of this key, this split and this threshold. With threshold 1
every share is the whole key material. Restoring opens the shares, combines them, and accepts
the result only if it is an RSA key matching ``key.crt`` whose fingerprint is ``key.fingerprint``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from keys import shamir
from keys.errors import KeyFormatError
from keys.escrow_recipients import Recipient, fingerprint_of_id, recipient_id
from keys.keypair import KeyPair
from keys.secret_format import ACTIVE, StoredKey, validate_name
from sealer.core import crypto, escrow_format
from sealer.core.errors import SealerError
from sealer.core.escrow_format import ESCROW_LABEL, FORMAT, SHARE_PREFIX
from sealer.core.privkeys import MLKEM_FIELD

LABEL_VALUE = "v1"
SPLIT_BYTES = 16


class EscrowError(SealerError):
    """An escrow object is malformed, or its keys cannot be restored from what was given."""


def escrow_name(key_name: str) -> str:
    name = f"{key_name}-escrow"
    if len(name) <= 253:
        return name
    return "escrow-" + hashlib.sha256(key_name.encode()).hexdigest()[:32]  # a key name near the limit


def _label(fingerprint: str, split_id: str, threshold: int) -> bytes:
    return f"{FORMAT}\n{fingerprint}\n{split_id}\n{threshold}".encode()


def key_material(pair: KeyPair) -> bytes:
    material = {"tls.key": pair.key_pem().decode("ascii")}
    mlkem_pem = pair.mlkem_pem()
    if mlkem_pem is not None:
        material[MLKEM_FIELD] = mlkem_pem.decode("ascii")
    return json.dumps(material, sort_keys=True, separators=(",", ":")).encode()


def build(key: StoredKey, recipients: Sequence[Recipient], threshold: int, namespace: str) -> dict[str, Any]:
    """A new escrow object for ``key``: a fresh split, one sealed share per recipient."""
    if not recipients:
        raise EscrowError("no escrow recipients")
    split_id = base64.b64encode(secrets.token_bytes(SPLIT_BYTES)).decode("ascii")
    label = _label(key.fingerprint, split_id, threshold)
    shares = shamir.split(key_material(key.pair), threshold, len(recipients))
    data = {
        "format": FORMAT,
        "key.name": key.name,
        "key.fingerprint": key.fingerprint,
        "key.crt": key.pair.cert_pem.decode("ascii"),
        "threshold": str(threshold),
        "split": split_id,
    }
    for recipient, (x, y) in zip(recipients, shares, strict=True):
        data[SHARE_PREFIX + recipient.entry_id] = crypto.encode(
            crypto.seal(recipient.public_key, bytes([x]) + y, label)
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": escrow_name(key.name), "namespace": namespace, "labels": {ESCROW_LABEL: LABEL_VALUE}},
        "data": data,
    }


@dataclass(frozen=True)
class EscrowObject:
    """A parsed escrow object: nothing is decrypted yet."""

    source: str
    key_name: str
    fingerprint: str
    cert_pem: bytes = field(repr=False)
    threshold: int
    split_id: str
    shares: dict[str, bytes] = field(repr=False)  # recipient id -> sealed share

    @property
    def recipient_fingerprints(self) -> list[str]:
        return [fingerprint_of_id(i) for i in self.shares]

    @property
    def label(self) -> bytes:
        return _label(self.fingerprint, self.split_id, self.threshold)


def parse(doc: object, source: str) -> EscrowObject:
    """Check an escrow object's shape (sealer.core.escrow_format: every share well framed);
    EscrowError names the field."""
    # Items of a List may come without their kind (client libraries' ConfigMapList).
    if not isinstance(doc, dict) or doc.get("kind", "ConfigMap") != "ConfigMap":
        raise EscrowError(f"{source}: not an escrow object (a ConfigMap)")
    for problem in escrow_format.problems(doc):
        raise EscrowError(f"{source}: {problem}")
    data: dict[str, str] = doc["data"]
    try:
        key_name = validate_name(data["key.name"], source)
    except KeyFormatError:
        raise EscrowError(f"{source}: data.key.name is not a valid key Secret name") from None
    shares = {
        key.removeprefix(SHARE_PREFIX): crypto.decode(value)
        for key, value in data.items()
        if key.startswith(SHARE_PREFIX)
    }
    return EscrowObject(
        source,
        key_name,
        data["key.fingerprint"],
        data["key.crt"].encode(),
        int(data["threshold"]),
        data["split"],
        shares,
    )


def open_share(obj: EscrowObject, private_key: rsa.RSAPrivateKey) -> tuple[int, bytes] | None:
    """This recipient's share (x, y), or None if the object holds none for this key. A share that
    is there but does not open is an error: it was tampered with, or mixed from another object."""
    entry = recipient_id(crypto.fingerprint(private_key.public_key()))
    blob = obj.shares.get(entry)
    if blob is None:
        return None
    try:
        plain = crypto.open_sealed(private_key, blob, obj.label)
    except crypto.SealedValueError:
        raise EscrowError(f"{obj.source}: data.{SHARE_PREFIX}{entry} does not open (tampered with?)") from None
    if len(plain) < 2 or not 1 <= plain[0] <= shamir.MAX_SHARES:
        raise EscrowError(f"{obj.source}: data.{SHARE_PREFIX}{entry} is not a share")
    return plain[0], plain[1:]


def restore_key(obj: EscrowObject, private_keys: Iterable[rsa.RSAPrivateKey]) -> StoredKey:
    """The key of ``obj``, from the shares the given recipients' keys open; EscrowError (one
    line, no key material) if too few open or the result is not the key of ``key.crt``."""
    shares = {}
    for key in private_keys:
        share = open_share(obj, key)
        if share is not None:
            shares[share[0]] = share[1]
    if not shares:
        raise EscrowError(f"{obj.source}: sealed for none of the recovery keys given")
    if len(shares) < obj.threshold:
        raise EscrowError(
            f"{obj.source}: {len(shares)} of the {obj.threshold} shares needed opened "
            f"(give {obj.threshold} recipients' recovery keys)"
        )
    try:
        material = json.loads(shamir.combine(list(shares.items()), obj.threshold))
    except (shamir.ShareError, ValueError, UnicodeDecodeError):
        raise EscrowError(f"{obj.source}: the shares do not combine into key material") from None
    if not isinstance(material, dict) or not isinstance(material.get("tls.key"), str):
        raise EscrowError(f"{obj.source}: the shares do not combine into key material")
    mlkem_pem = material.get(MLKEM_FIELD)
    try:
        pair = KeyPair.from_pem(
            material["tls.key"].encode(),
            obj.cert_pem,
            f"{obj.source} ({obj.key_name})",
            mlkem_pem.encode() if isinstance(mlkem_pem, str) else None,
        )
    except KeyFormatError as e:
        raise EscrowError(str(e)) from None
    if pair.fingerprint != obj.fingerprint:
        raise EscrowError(f"{obj.source}: the restored key is {pair.fingerprint}, not data.key.fingerprint")
    return StoredKey(obj.key_name, pair, ACTIVE)


def read_objects(docs: Iterable[tuple[object, str]]) -> list[EscrowObject]:
    """The escrow objects among documents (Lists unwrapped); other documents are an error."""
    found: list[EscrowObject] = []
    for body, source in docs:
        if isinstance(body, dict) and isinstance(body.get("items"), list) and "data" not in body:
            for i, item in enumerate(body["items"], 1):
                found.append(parse(item, f"{source}, item {i}"))
        else:
            found.append(parse(body, source))
    if not found:
        raise EscrowError("no escrow objects found")
    return found

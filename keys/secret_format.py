"""Key Secrets in the format of Bitnami's controller (pkg/controller/keys.go writeKey/readKey):

    apiVersion: v1
    kind: Secret
    type: kubernetes.io/tls
    metadata:
      name: sealed-secrets-keyx7k2p        # generateName: <prefix> + 5 random characters
      namespace: kube-system               # the controller's namespace
      labels: {sealedsecrets.bitnami.com/sealed-secrets-key: active}
    data:
      tls.crt: <base64 PEM CERTIFICATE>
      tls.key: <base64 PEM RSA PRIVATE KEY>   # PKCS#1
      mlkem768.key: <base64 PEM PRIVATE KEY>  # sealer only, optional: ML-KEM-768 seed, PKCS#8
                                              # (docs/format.md); Bitnami ignores other data keys

Only keys labelled ``active`` are used; relabelling one (e.g. ``compromised``) retires it. The
pre-0.9 single key, a Secret named exactly ``<prefix>``, counts whatever its labels say.

``sealer keys retire`` labels a key ``retired`` (neither controller loads it: it neither seals nor
opens) and records when in the ``sealer.dev/retired-at`` annotation; our controller deletes the key
Secret once the grace period (--retired-key-grace-period) has passed since (docs/keys.md).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from keys.errors import KeyFormatError
from keys.keypair import KeyPair
from sealer.core.privkeys import MLKEM_FIELD

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
ACTIVE = "active"
RETIRED = "retired"
RETIRED_AT_ANNOTATION = "sealer.dev/retired-at"  # RFC 3339, UTC: when `sealer keys retire` retired it
SECRET_TYPE = "kubernetes.io/tls"
DEFAULT_PREFIX = "sealed-secrets-key"
DEFAULT_NAMESPACE = "kube-system"
# The alphabet of apimachinery's generateName (no vowels, so no accidental words); names we make
# locally look like the ones the API server makes for the controller.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SUFFIX_LENGTH = 5
MAX_PREFIX_LENGTH = 245  # Bitnami's limit: 253 for a name, minus room for the suffix
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_PREFIX = re.compile(r"^[-a-z0-9]*$")


@dataclass(frozen=True)
class StoredKey:
    """A key pair under its name in a store, with its label (None when unlabelled)."""

    name: str
    pair: KeyPair
    status: str | None = ACTIVE
    namespace: str | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        return self.pair.fingerprint

    def usable(self, prefix: str = DEFAULT_PREFIX) -> bool:
        """Whether the controller may use this key: labelled active, or the legacy key."""
        return self.status == ACTIVE or self.name == prefix


def validate_prefix(prefix: str) -> str:
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise KeyFormatError(f"key prefix is too long: at most {MAX_PREFIX_LENGTH} characters")
    if not _PREFIX.match(prefix):
        raise KeyFormatError(f'key prefix "{prefix}" may only hold lowercase letters, digits and "-"')
    return prefix


def validate_name(name: object, source: str = "key") -> str:
    """A Kubernetes object name (DNS subdomain). Store file names derive from it, so this also
    keeps a backup from writing outside its directory."""
    if not isinstance(name, str) or not name:
        raise KeyFormatError(f"{source}: missing metadata.name")
    if len(name) > 253 or not _NAME.match(name):
        raise KeyFormatError(f"{source}: metadata.name {name!r} is not a valid Kubernetes name")
    return name


def generate_name(prefix: str = DEFAULT_PREFIX) -> str:
    return validate_prefix(prefix) + "".join(secrets.choice(NAME_ALPHABET) for _ in range(SUFFIX_LENGTH))


def to_secret(
    key: StoredKey, namespace: str | None = None, *, generate_name_prefix: str | None = None
) -> dict[str, Any]:
    """The key Secret for ``key``. With ``generate_name_prefix`` the name is left to the API server."""
    metadata: dict[str, Any] = {}
    if generate_name_prefix is not None:
        metadata["generateName"] = generate_name_prefix
    else:
        metadata["name"] = key.name
    namespace = namespace if namespace is not None else key.namespace
    if namespace:
        metadata["namespace"] = namespace
    if key.status is not None:
        metadata["labels"] = {KEY_LABEL: key.status}
    data = {
        "tls.crt": base64.b64encode(key.pair.cert_pem).decode("ascii"),
        "tls.key": base64.b64encode(key.pair.key_pem()).decode("ascii"),
    }
    mlkem_pem = key.pair.mlkem_pem()
    if mlkem_pem is not None:
        data[MLKEM_FIELD] = base64.b64encode(mlkem_pem).decode("ascii")
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": SECRET_TYPE, "data": data}


def status_of(doc: dict[str, Any]) -> str | None:
    labels = (doc.get("metadata") or {}).get("labels") or {}
    value = labels.get(KEY_LABEL) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else None


def from_secret(doc: object, source: str) -> StoredKey:
    """Parse and check a key Secret. ``source`` locates it in messages (file, item...)."""
    if not isinstance(doc, dict):
        raise KeyFormatError(f"{source}: expected a key Secret (an object)")
    kind = doc.get("kind")
    if kind is not None and kind != "Secret":
        raise KeyFormatError(f"{source}: is a {kind}, not a key Secret")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise KeyFormatError(f"{source}: missing metadata")
    name = validate_name(metadata.get("name"), source)
    where = f"{source} ({name})"
    key_pem = _field(doc, "tls.key", where)
    cert_pem = _field(doc, "tls.crt", where)
    mlkem_pem = _field(doc, MLKEM_FIELD, where) if _has_field(doc, MLKEM_FIELD) else None
    pair = KeyPair.from_pem(key_pem, cert_pem, where, mlkem_pem)
    namespace = metadata.get("namespace")
    return StoredKey(name, pair, status_of(doc), namespace if isinstance(namespace, str) else None)


def _has_field(doc: dict[str, Any], key: str) -> bool:
    return any(isinstance(doc.get(f), dict) and doc[f].get(key) is not None for f in ("data", "stringData"))


def _field(doc: dict[str, Any], key: str, where: str) -> bytes:
    string_data = doc.get("stringData")
    text = string_data.get(key) if isinstance(string_data, dict) else None
    if isinstance(text, str):
        return text.encode()
    data = doc.get("data")
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        raise KeyFormatError(f"{where}: missing data.{key}")
    if not isinstance(value, str):
        raise KeyFormatError(f"{where}: data.{key} must be a base64 string")
    try:
        return base64.b64decode("".join(value.split()), validate=True)  # YAML may fold long lines
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"{where}: data.{key} is not valid base64") from None

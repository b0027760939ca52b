"""The certificate ConfigMap: the controller's certificates, published where every authenticated
user may read them (docs/controller.md, "The certificate ConfigMap"). Pure: the format, no I/O.

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: sealed-secrets-controller-certs, namespace: kube-system}
    data:
      cert.pem: <the sealing certificate, as /v1/cert.pem serves it (with its ML-KEM key, if any)>
      keys.json: [{"fingerprint": "SHA256:...", "keyId": "...", "name": "sealed-secrets-keyx7k2p",
                   "notBefore": "...", "notAfter": "...", "status": "active", "sealing": true,
                   "certificate": "<PEM>"}, ...]   oldest first; retired keys too, with "retiredAt"

It is the controller's public state only: certificates are public, private keys never come near it.
``sealer seal`` reads ``cert.pem`` before trying the service proxy (a private cluster whose API
server cannot reach Pods still works); ``sealer keys usage`` reads ``keys.json`` to name the keys
the SealedSecrets' records point at, without reading any Secret.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sealer.core.errors import CertificateError

CERT_FIELD = "cert.pem"
KEYS_FIELD = "keys.json"
SUFFIX = "-certs"
DEFAULT_NAME = "sealed-secrets-controller" + SUFFIX
MAX_BYTES = 1024 * 1024  # a ConfigMap's own limit


def name_for(controller_name: str) -> str:
    """The ConfigMap of the controller whose Service is ``controller_name`` (the chart and deploy/ agree)."""
    return controller_name + SUFFIX


@dataclass(frozen=True)
class PublishedKey:
    fingerprint: str
    keyId: str  # noqa: N815 - the JSON field's name
    name: str
    notBefore: str  # noqa: N815
    notAfter: str  # noqa: N815
    status: str  # the key Secret's label: active, retired, compromised...
    sealing: bool
    certificate: str
    retiredAt: str | None = None  # noqa: N815

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def configmap_data(sealing_pem: bytes, keys: list[PublishedKey]) -> dict[str, str]:
    """The ConfigMap's data: canonical (sorted, no timestamps of its own), so unchanged keys give
    byte-identical data and the controller writes nothing."""
    entries = [json.dumps(k.to_json(), sort_keys=True) for k in keys]
    ordered = sorted(zip(keys, entries, strict=True), key=lambda e: (e[0].notBefore, e[0].name, e[0].fingerprint, e[1]))
    return {
        CERT_FIELD: sealing_pem.decode("ascii"),
        KEYS_FIELD: "[\n" + ",\n".join(text for _, text in ordered) + "\n]\n",
    }


def _data(configmap: object, where: str) -> dict[str, Any]:
    data = configmap.get("data") if isinstance(configmap, dict) else None
    if not isinstance(data, dict):
        raise CertificateError(f"{where}: no data")
    if sum(len(v) for v in data.values() if isinstance(v, str)) > MAX_BYTES:
        raise CertificateError(f"{where}: larger than {MAX_BYTES} bytes")
    return data


def sealing_certificate(configmap: object, where: str) -> bytes:
    """The PEM to seal with (parse it with sealer.core.certs.parse_certificate)."""
    pem = _data(configmap, where).get(CERT_FIELD)
    if not isinstance(pem, str) or "-----BEGIN" not in pem:
        raise CertificateError(f"{where}: field data.{CERT_FIELD} holds no PEM certificate")
    return pem.encode("ascii", "replace")


def published_keys(configmap: object, where: str) -> list[PublishedKey]:
    """Every key the ConfigMap lists, oldest first."""
    text = _data(configmap, where).get(KEYS_FIELD)
    if not isinstance(text, str):
        raise CertificateError(f"{where}: no field data.{KEYS_FIELD}")
    try:
        items = json.loads(text)
    except ValueError:
        raise CertificateError(f"{where}: field data.{KEYS_FIELD} is not JSON") from None
    if not isinstance(items, list):
        raise CertificateError(f"{where}: field data.{KEYS_FIELD} is not a list")
    keys = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CertificateError(f"{where}: field data.{KEYS_FIELD}[{i}] is not an object")
        try:
            keys.append(
                PublishedKey(
                    fingerprint=_text(item, "fingerprint"),
                    keyId=_text(item, "keyId"),
                    name=_text(item, "name"),
                    notBefore=_text(item, "notBefore"),
                    notAfter=_text(item, "notAfter"),
                    status=_text(item, "status"),
                    sealing=item.get("sealing") is True,
                    certificate=_text(item, "certificate"),
                    retiredAt=item["retiredAt"] if isinstance(item.get("retiredAt"), str) else None,
                )
            )
        except KeyError as e:
            raise CertificateError(f"{where}: field data.{KEYS_FIELD}[{i}].{e.args[0]} is missing") from None
    return keys


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise KeyError(key)
    return value

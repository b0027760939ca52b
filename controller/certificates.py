"""The certificate ConfigMap (sealer/core/certmap.py has its format): the leader publishes the
sealing certificate and every other key's, with fingerprints, validity and label, so that anyone
authenticated can fetch them without the service proxy (private clusters, firewalls) and
``sealer keys usage`` can name keys without reading a Secret.

Only the leader writes, and only when the data differs from what is there: the data holds nothing
time-dependent, so a restart over unchanged keys reads the ConfigMap once and writes nothing."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from controller.keys_manager import KeysManager
from keys.clock import rfc3339
from keys.errors import KeyFormatError
from keys.keypair import parse_first_certificate
from keys.opened_by import key_id
from keys.secret_format import ACTIVE, RETIRED_AT_ANNOTATION, status_of
from sealer.core import crypto
from sealer.core.certmap import PublishedKey, configmap_data
from sealer.kube import ApiError, Kube
from sealer.kube.client import configmap_path

log = logging.getLogger(__name__)
RETRY_SECONDS = 10.0
LABELS = {"app.kubernetes.io/name": "sealed-secrets-controller", "app.kubernetes.io/component": "certificates"}


def published(keys: KeysManager) -> dict[str, str] | None:
    """The ConfigMap's data for the keys as loaded (None: no key yet, nothing to publish)."""
    registry = keys.registry
    newest = registry.newest
    if newest is None:
        return None
    entries: dict[str, PublishedKey] = {}
    for pair in registry.pairs:
        entries[pair.fingerprint] = PublishedKey(
            fingerprint=pair.fingerprint,
            keyId=key_id(pair.fingerprint),
            name=registry.name_of(pair.fingerprint) or "",
            notBefore=rfc3339(pair.not_before),
            notAfter=rfc3339(pair.not_after),
            status=ACTIVE,
            sealing=pair.fingerprint == newest.fingerprint,
            certificate=pair.cert_pem.decode("ascii"),
        )
    # Keys the controller does not use (retired, compromised...): listed with their label, so that
    # users see what is on its way out; only their certificate is read, never their private key.
    for (_, name), doc in sorted(keys.informer.cache.items()):
        status = status_of(doc)
        if status == ACTIVE:
            continue
        try:
            cert_pem = _certificate_of(doc)
            cert = parse_first_certificate(cert_pem, f"key Secret {name}")
            public = cert.public_key()
        except (KeyError, ValueError, KeyFormatError):  # unreadable: the key manager reports it
            continue
        if not isinstance(public, rsa.RSAPublicKey):
            continue
        fp = crypto.fingerprint(public)
        if fp in entries:
            continue
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        retired_at = annotations.get(RETIRED_AT_ANNOTATION)
        entries[fp] = PublishedKey(
            fingerprint=fp,
            keyId=key_id(fp),
            name=name,
            notBefore=rfc3339(cert.not_valid_before_utc),
            notAfter=rfc3339(cert.not_valid_after_utc),
            status=status or "",
            sealing=False,
            certificate=cert_pem.decode("ascii"),
            retiredAt=retired_at if isinstance(retired_at, str) else None,
        )
    return configmap_data(registry.sealing_certificate_pem(), list(entries.values()))


def _certificate_of(doc: dict[str, Any]) -> bytes:
    return base64.b64decode(str((doc.get("data") or {})["tls.crt"]), validate=True)


class CertificatePublisher:
    def __init__(self, kube: Kube, keys: KeysManager, name: str, *, leading: Callable[[], bool] = lambda: True):
        self.kube, self.keys, self.name, self.leading = kube, keys, name, leading
        self.namespace = keys.settings.namespace
        self._wake = threading.Event()
        self.writes = 0  # for tests and logs

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            wait = 3600.0
            if self.leading() and self.keys.informer.synced.is_set():
                try:
                    self.publish()
                except Exception as e:  # noqa: BLE001 - try again soon; sealing still works through the proxy
                    log.warning("cannot publish the certificate ConfigMap %s yet: %s", self.name, _why(e))
                    wait = RETRY_SECONDS
            self._wake.wait(wait)
            self._wake.clear()

    def publish(self) -> bool:
        """Create or update the ConfigMap if it differs from the keys; returns whether it wrote."""
        data = published(self.keys)
        if data is None:
            return False
        current = self.kube.get(configmap_path(self.namespace, self.name))
        if current is not None:
            labels = (current.get("metadata") or {}).get("labels") or {}
            if current.get("data") == data and all(labels.get(k) == v for k, v in LABELS.items()):
                return False
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": LABELS},
            "data": data,
        }
        if current is None:
            self.kube.create(configmap_path(self.namespace), body)
        else:
            meta = current.get("metadata") or {}
            body["metadata"]["labels"] = {**(meta.get("labels") or {}), **LABELS}
            body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
            self.kube.replace(configmap_path(self.namespace, self.name), body)
        self.writes += 1
        log.info(
            "published %d certificate(s) in ConfigMap %s/%s",
            data["keys.json"].count('"fingerprint"'),
            self.namespace,
            self.name,
        )
        return True


def _why(e: BaseException) -> str:
    return e.summary if isinstance(e, ApiError) else type(e).__name__

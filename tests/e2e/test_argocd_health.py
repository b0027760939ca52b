"""Argo CD's own SealedSecret health check (health.lua from Argo CD's module, run by a real Lua 5.1:
tests/argocd.py) on the live objects our controller reconciled on the real control plane."""

from __future__ import annotations

import json

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests import argocd
from tests.e2e.sealed_objects import create, get_sealed
from tests.e2e.sealer_controller import secret_json
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

WAITING = {"status": "Progressing", "message": "Waiting for Sealed Secret to be decrypted"}


def sealed(cert_pem: bytes, namespace: str, name: str = "db", **labels: str) -> dict:
    doc = Sealer(parse_certificate(cert_pem)).seal_secret(
        json.loads(secret_json(name, namespace, {"password": "s3cr3t-argo-value"}))
    )
    if labels:
        doc["metadata"]["labels"] = labels
    return doc


def verdict_once_reconciled(custom, namespace: str, name: str, generation: int = 1) -> dict:
    """Argo CD's verdict once our controller has written a status for `generation`."""

    def check():
        obj = get_sealed(custom, namespace, name)
        if (obj.get("status") or {}).get("observedGeneration") == generation:
            return obj
        return None

    return argocd.health(eventually(check, 30, what=f"{namespace}/{name} reconciled at generation {generation}"))


def test_argo_cd_on_what_our_controller_writes(sealer_controller, custom, namespace, other_key):
    argocd.check_dir()  # skip (or fail in CI) before touching the cluster when Lua or the script is missing
    create(custom, sealed(sealer_controller.cert_pem(), namespace, "good"))
    assert verdict_once_reconciled(custom, namespace, "good") == {"status": "Healthy", "message": ""}

    create(custom, sealed(other_key.cert_pem, namespace, "wrong-key"))
    degraded = verdict_once_reconciled(custom, namespace, "wrong-key")
    assert degraded["status"] == "Degraded", degraded
    assert degraded["message"].startswith("no key could decrypt secret"), degraded
    synced = next(
        c for c in get_sealed(custom, namespace, "wrong-key")["status"]["conditions"] if c["type"] == "Synced"
    )
    assert degraded["message"] == synced["message"]  # Argo CD shows our message as it is

    # Re-sealed for this cluster: the next generation recovers.
    obj = get_sealed(custom, namespace, "wrong-key")
    obj["spec"] = sealed(sealer_controller.cert_pem(), namespace, "wrong-key")["spec"]
    custom.replace_namespaced_custom_object("bitnami.com", "v1alpha1", namespace, "sealedsecrets", "wrong-key", obj)
    assert verdict_once_reconciled(custom, namespace, "wrong-key", 2) == {"status": "Healthy", "message": ""}

    # No controller picks this one up (the session's skips the label): our CRD's status default.
    create(
        custom,
        sealed(sealer_controller.cert_pem(), namespace, "unreconciled", **{"sealer.test/own-controller": "none"}),
    )
    obj = get_sealed(custom, namespace, "unreconciled")
    assert obj["status"] == {"observedGeneration": 0}
    assert argocd.health(obj) == WAITING

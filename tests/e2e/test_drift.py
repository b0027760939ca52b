"""Drift repair (issue 9): a Secret changed by hand behind its SealedSecret is put back within
seconds, with a Warning event, a metric and a value-free log line; a `patch` Secret keeps its own
keys; with --repair-drift=false drift is only reported; a harmless write is left alone."""

from __future__ import annotations

import base64
import time

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.sealed_objects import create
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
MARK = "s3cr3t-drift-"
DRIFT = "sealed_secrets_controller_secret_drift_total"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def seal(sealer, ns, label, name="app", **items):
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": {"tier": "db"}, "annotations": {"team": "a"}},
        "stringData": {k: MARK + v for k, v in items.items()},
    }
    out = sealer.seal_secret(doc)
    out["metadata"]["labels"] = {OWN: label}
    return out


def data(core, ns, name="app"):
    return sealed_objects.secret_data(core, ns, name, MARK)


def drift_events(core, ns, name="app"):
    return [
        e
        for e in core.list_namespaced_event(ns).items
        if e.reason == "SecretDrifted" and e.involved_object.name == name
    ]


def synced(custom, ns, name="app"):
    obj = sealed_objects.get_sealed(custom, ns, name)
    conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
    return conds if conds.get("SecretInSync", {}).get("status") == "True" else None


def test_hand_edits_are_repaired(own_controller, sealer_controller, core, custom, namespace):
    label, start = own_controller
    ctrl = start()
    sealer = Sealer(parse_certificate(ctrl.cert_pem()))
    create(custom, seal(sealer, namespace, label, user="admin", password="pw"))
    eventually(lambda: data(core, namespace) == {"user": "admin", "password": "pw"}, 30, what="unsealed")
    eventually(lambda: synced(custom, namespace), 30, what="recorded")

    core.patch_namespaced_secret(
        "app", namespace, {"data": {"password": b64(MARK + "hacked"), "extra": b64(MARK + "x")}}
    )
    started = time.monotonic()
    eventually(lambda: data(core, namespace) == {"user": "admin", "password": "pw"}, 15, 0.05, what="data repaired")
    repaired_in = time.monotonic() - started
    events = eventually(lambda: drift_events(core, namespace), 15, what="SecretDrifted event")
    assert events[0].type == "Warning"
    assert "data.password" in events[0].message and "data.extra added" in events[0].message
    assert ctrl.metric(DRIFT, namespace=namespace, action="repaired") == 1

    # The template's labels and annotations are the SealedSecret's too; another label is not.
    core.patch_namespaced_secret(
        "app", namespace, {"metadata": {"labels": {"tier": "web"}, "annotations": {"team": None}}}
    )
    eventually(
        lambda: (
            (s := core.read_namespaced_secret("app", namespace).metadata).labels.get("tier") == "db"
            and (s.annotations or {}).get("team") == "a"
        ),
        15,
        what="metadata repaired",
    )
    eventually(
        lambda: ctrl.metric(DRIFT, namespace=namespace, action="repaired") == 2, 15, what="second repair counted"
    )
    ops = ctrl.metric("sealed_secrets_controller_private_key_operations_total")
    core.patch_namespaced_secret("app", namespace, {"metadata": {"labels": {"backup": "daily"}}})
    time.sleep(2)
    secret = core.read_namespaced_secret("app", namespace)
    assert secret.metadata.labels == {"tier": "db", "backup": "daily"}  # left alone: not the SealedSecret's
    assert ctrl.metric(DRIFT, namespace=namespace) == 2
    assert ctrl.metric("sealed_secrets_controller_private_key_operations_total") == ops  # checked by MAC only
    log = ctrl.logs()
    assert "was changed outside its SealedSecret" in log and "hacked" not in log and MARK not in log
    print(f"drift repaired {repaired_in:.2f} s after the edit")


def test_managed_secret_edits_are_repaired(own_controller, sealer_controller, core, custom, namespace):
    label, start = own_controller
    core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "app", "annotations": {MANAGED_ANNOTATION: "true"}}, "data": {"user": b64(MARK + "old")}},
    )
    ctrl = start()
    sealer = Sealer(parse_certificate(ctrl.cert_pem()))
    create(custom, seal(sealer, namespace, label, user="admin"))
    eventually(lambda: data(core, namespace) == {"user": "admin"}, 30, what="taken over")
    eventually(lambda: synced(custom, namespace), 30, what="recorded")
    core.patch_namespaced_secret("app", namespace, {"data": {"user": b64(MARK + "root")}})
    eventually(lambda: data(core, namespace) == {"user": "admin"}, 15, what="repaired")
    eventually(lambda: drift_events(core, namespace), 15, what="SecretDrifted event")


def test_patch_secret_keeps_its_own_keys(own_controller, sealer_controller, core, custom, namespace):
    label, start = own_controller
    core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "app", "annotations": {PATCH_ANNOTATION: "true"}}, "data": {"theirs": b64(MARK + "t1")}},
    )
    ctrl = start()
    sealer = Sealer(parse_certificate(ctrl.cert_pem()))
    create(custom, seal(sealer, namespace, label, password="pw"))
    eventually(lambda: data(core, namespace) == {"theirs": "t1", "password": "pw"}, 30, what="patched in")
    eventually(lambda: synced(custom, namespace), 30, what="recorded")
    # Their key changes and a new one of theirs: not drift. The sealed key changed: drift.
    core.patch_namespaced_secret("app", namespace, {"data": {"theirs": b64(MARK + "t2"), "more": b64(MARK + "m")}})
    time.sleep(2)
    assert data(core, namespace) == {"theirs": "t2", "more": "m", "password": "pw"}
    assert not drift_events(core, namespace)
    core.patch_namespaced_secret("app", namespace, {"data": {"password": b64(MARK + "hacked")}})
    eventually(
        lambda: data(core, namespace) == {"theirs": "t2", "more": "m", "password": "pw"},
        15,
        what="only the sealed key restored",
    )
    eventually(lambda: drift_events(core, namespace), 15, what="SecretDrifted event")
    assert ctrl.metric(DRIFT, namespace=namespace, action="repaired") == 1


def test_repair_off_only_reports(own_controller, sealer_controller, core, custom, namespace):
    label, start = own_controller
    ctrl = start("--repair-drift=false")
    sealer = Sealer(parse_certificate(ctrl.cert_pem()))
    create(custom, seal(sealer, namespace, label, password="pw"))
    eventually(lambda: synced(custom, namespace), 30, what="recorded")
    core.patch_namespaced_secret("app", namespace, {"data": {"password": b64(MARK + "break-glass")}})

    def reported():
        obj = sealed_objects.get_sealed(custom, namespace, "app")
        conds = {c["type"]: c for c in obj["status"]["conditions"]}
        return conds if conds["Synced"]["status"] == "False" else None

    conds = eventually(reported, 15, what="drift reported in status")
    assert conds["Synced"]["reason"] == "SecretDrifted" and "data.password" in conds["Synced"]["message"]
    assert "not restored" in conds["Synced"]["message"] and conds["SecretInSync"]["status"] == "False"
    assert eventually(lambda: drift_events(core, namespace), 15, what="event")[0].type == "Warning"
    assert ctrl.metric(DRIFT, namespace=namespace, action="reported") == 1
    time.sleep(2)
    assert data(core, namespace) == {"password": "break-glass"}  # left as edited

    # A restart neither repairs nor reports it again: still the same drift, at the same resourceVersion.
    events_before = len(core.list_namespaced_event(namespace).items)
    ctrl.stop()
    ctrl = start("--repair-drift=false")
    time.sleep(2)
    assert data(core, namespace) == {"password": "break-glass"}
    assert len(core.list_namespaced_event(namespace).items) == events_before
    assert ctrl.metric("sealed_secrets_controller_private_key_operations_total") == 0
    # Put right by hand: the controller sees it and reports it synced again.
    core.patch_namespaced_secret("app", namespace, {"data": {"password": b64(MARK + "pw")}})
    eventually(
        lambda: synced(custom, namespace) and synced(custom, namespace)["Synced"]["status"] == "True",
        15,
        what="synced again",
    )

"""Restarts cost nothing (issue 9): a controller restarted over synced SealedSecrets performs no
private-key operation, no write and posts no event, counted by the API server itself; yet what
changed while it was down (spec, scope, a Secret edited, deleted, or annotated by another tool) is
noticed and repaired."""

from __future__ import annotations

import base64
import time

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.scope import CLUSTER_WIDE_ANNOTATION
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.apiserver_requests import CONTROLLER_WRITES, delta, quiet_namespaces, request_counts
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, create
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
MARK = "s3cr3t-restart-"
N = 30
OPS = "sealed_secrets_controller_private_key_operations_total"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def sealed_doc(sealer, ns, name, value, label):
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "stringData": {"user": MARK + "admin", "password": MARK + value},
    }
    out = sealer.seal_secret(doc)
    out["metadata"]["labels"] = {OWN: label}
    return out


def record_of(obj):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "SecretInSync"), None)


def data(core, ns, name):
    return sealed_objects.secret_data(core, ns, name, MARK)


def state(core, custom, ns):
    """resourceVersions of every Secret and SealedSecret in ``ns``, and its events."""
    secrets_rv = {s.metadata.name: s.metadata.resource_version for s in core.list_namespaced_secret(ns).items}
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"]
    sealed_rv = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed}
    events = sorted((e.metadata.name, e.reason) for e in core.list_namespaced_event(ns).items)
    return secrets_rv, sealed_rv, events


def synced_all(core, custom, ns, expected):
    def check():
        for name, value in expected.items():
            if data(core, ns, name) != {"user": "admin", "password": value}:
                return False
            if record_of(sealed_objects.get_sealed(custom, ns, name)) is None:
                return False
        return True

    eventually(check, 120, 0.5, f"{len(expected)} SealedSecrets synced and recorded")


def test_restart_over_synced_sealed_secrets_costs_nothing(
    control_plane, sealer_controller, own_controller, core, custom, namespace
):
    label, start = own_controller
    sealer = Sealer(parse_certificate(sealer_controller.cert_pem()))
    expected = {f"app-{i:02d}": f"v{i}" for i in range(N)}
    first = start()
    for name, value in expected.items():
        create(custom, sealed_doc(sealer, namespace, name, value, label))
    synced_all(core, custom, namespace, expected)
    assert first.metric(OPS) >= 2 * N  # it did open every item once
    time.sleep(1)  # the last events and status writes land before the snapshot
    assert first.stop() == 0

    quiet_namespaces(control_plane)
    before = state(core, custom, namespace)
    # The certificate ConfigMap is published (by the first start): a restart does not rewrite it.
    published = core.read_namespaced_config_map("sealed-secrets-controller-certs", "kube-system").metadata
    requests_before = request_counts(control_plane, successful_only=True)
    started = time.monotonic()
    second = start()
    ready = time.monotonic() - started
    eventually(
        lambda: second.metric("sealed_secrets_controller_unseal_requests_total") >= N,
        30,
        what="every SealedSecret looked at",
    )
    time.sleep(2)  # anything it were to write would be written by now
    assert second.metric(OPS) == 0
    writes = delta(requests_before, request_counts(control_plane, successful_only=True), verbs=CONTROLLER_WRITES)
    assert not writes, f"writes after the restart: {dict(writes)}"
    assert state(core, custom, namespace) == before  # same resourceVersions, no new event
    cm = core.read_namespaced_config_map("sealed-secrets-controller-certs", "kube-system").metadata
    assert cm.resource_version == published.resource_version
    assert second.metric("sealed_secrets_controller_condition_info", namespace=namespace) == N
    print(f"restart over {N} synced SealedSecrets: ready in {ready:.2f} s, 0 private-key operations, 0 writes")


def test_changes_made_while_down_are_noticed(control_plane, sealer_controller, own_controller, core, custom, namespace):
    label, start = own_controller
    sealer = Sealer(parse_certificate(sealer_controller.cert_pem()))
    names = ["spec", "scope", "edited", "deleted", "annotated", "untouched"]
    ctrl = start()
    for name in names:
        create(custom, sealed_doc(sealer, namespace, name, "v1", label))
    synced_all(core, custom, namespace, dict.fromkeys(names, "v1"))
    time.sleep(1)
    assert ctrl.stop() == 0

    # While it is down: a new spec, a scope it was not sealed for, a Secret edited, one deleted, one
    # annotated by some other tool (a harmless write).
    obj = sealed_objects.get_sealed(custom, namespace, "spec")
    obj["spec"] = sealed_doc(sealer, namespace, "spec", "v2", label)["spec"]
    custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "spec", obj)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "scope", {"metadata": {"annotations": {CLUSTER_WIDE_ANNOTATION: "true"}}}
    )
    core.patch_namespaced_secret("edited", namespace, {"data": {"password": b64(MARK + "hacked")}})
    core.delete_namespaced_secret("deleted", namespace)
    core.patch_namespaced_secret("annotated", namespace, {"metadata": {"annotations": {"reflector/at": "now"}}})
    untouched_rv = core.read_namespaced_secret("untouched", namespace).metadata.resource_version
    annotated_rv = core.read_namespaced_secret("annotated", namespace).metadata.resource_version

    ctrl = start("--max-unseal-retries", "0")  # so the failing one is tried once: exact counts
    eventually(
        lambda: data(core, namespace, "spec") == {"user": "admin", "password": "v2"}, 30, what="new spec applied"
    )
    eventually(lambda: data(core, namespace, "edited") == {"user": "admin", "password": "v1"}, 30, what="edit reverted")
    eventually(
        lambda: data(core, namespace, "deleted") == {"user": "admin", "password": "v1"}, 30, what="Secret recreated"
    )

    def scope_failed():
        c = next(
            (
                c
                for c in sealed_objects.get_sealed(custom, namespace, "scope")["status"]["conditions"]
                if c["type"] == "Synced"
            ),
            {},
        )
        return c.get("status") == "False" and "no key could decrypt" in c.get("message", "")

    eventually(scope_failed, 30, what="the re-scoped SealedSecret fails (its values were sealed strict)")

    drift = eventually(
        lambda: [
            e
            for e in core.list_namespaced_event(namespace).items
            if e.reason == "SecretDrifted" and e.involved_object.name == "edited"
        ],
        30,
        what="a SecretDrifted event",
    )
    assert drift[0].type == "Warning" and "data.password" in drift[0].message and "hacked" not in drift[0].message
    assert ctrl.metric("sealed_secrets_controller_secret_drift_total", namespace=namespace, action="repaired") == 1
    # The harmless write: read once, compared by MAC, nothing rewritten; the untouched one not even read.
    assert core.read_namespaced_secret("annotated", namespace).metadata.resource_version == annotated_rv
    assert core.read_namespaced_secret("untouched", namespace).metadata.resource_version == untouched_rv
    # Private-key operations only for what had to be opened: the new spec (2 items), the deleted
    # and the edited Secret (2 each), the re-scoped one (2 items, each tried with every key); none
    # for the annotated or the untouched one (with one key, either would show as 2 more).
    keys = ctrl.metric("sealed_secrets_controller_keys")
    ops = ctrl.metric(OPS)
    assert 6 + 2 <= ops <= 6 + 2 * keys, ops

"""`sealer status` and `sealer reconcile` (issue 12) against real control planes with sealer's
controller: synced, broken (wrong key), deleted and drifted objects with their reasons and exit
codes; a forced reconcile that repairs a reported drift and costs nothing after a restart; RBAC
that forbids Secrets; --watch; and --all-clusters over two control planes of one fleet."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from sealer.core.certs import parse_certificate
from sealer.core.scope import RECONCILE_ANNOTATION
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.apiserver_requests import CONTROLLER_WRITES, delta, quiet_namespaces, request_counts
from tests.e2e.sealed_objects import create
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
MARK = "s3cr3t-status-"
OPS = "sealed_secrets_controller_private_key_operations_total"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def seal(cert_pem: bytes, ns: str, name: str, label: str | None = None, **items) -> dict:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "stringData": {k: MARK + v for k, v in items.items()},
    }
    out = Sealer(parse_certificate(cert_pem)).seal_secret(doc)
    if label:
        out["metadata"]["labels"] = {OWN: label}
    return out


def conditions(custom, ns, name):
    obj = sealed_objects.get_sealed(custom, ns, name)
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def recorded(custom, ns, name):
    return conditions(custom, ns, name).get("SecretInSync", {}).get("status") == "True"


def synced_false(custom, ns, name, reason):
    c = conditions(custom, ns, name).get("Synced", {})
    return c.get("status") == "False" and c.get("reason") == reason


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by NAME (the column after NAMESPACE, or after CLUSTER and NAMESPACE)."""
    lines = out.splitlines()
    header = lines[0].split()
    at = header.index("NAME")
    return {line.split()[at]: line.split() for line in lines[1:-1]}


def test_status_shows_each_state_and_reconcile_repairs_drift(
    control_plane, own_controller, sealer_controller, core, custom, namespace, cli, other_key
):
    label, start = own_controller
    ctrl = start("--repair-drift=false")  # so that a drift stays to be seen
    cert = ctrl.cert_pem()
    for name in ("good", "gone", "drifted"):
        create(custom, seal(cert, namespace, name, label, password="pw-" + name))
    create(custom, seal(other_key.cert_pem, namespace, "broken", label, password="pw"))  # a key it does not have
    for name in ("good", "gone", "drifted"):
        eventually(lambda n=name: recorded(custom, namespace, n), 30, what=f"{name} synced and recorded")
    eventually(lambda: synced_false(custom, namespace, "broken", "ErrUnsealFailed"), 30, what="broken fails")
    core.patch_namespaced_secret("drifted", namespace, {"data": {"password": b64(MARK + "hacked")}})
    eventually(lambda: synced_false(custom, namespace, "drifted", "SecretDrifted"), 30, what="drift reported")
    assert ctrl.stop() == 0
    core.delete_namespaced_secret("gone", namespace)

    kubeconfig = str(control_plane.kubeconfig)
    r = cli("status", "-n", namespace, "--kubeconfig", kubeconfig)
    assert r.status == 1, r.err
    table = rows(r.out)
    assert set(table) == {"good", "gone", "drifted", "broken"}
    assert table["good"][2:8] == ["True", "True", "1/1", table["good"][5], "present", "none"]
    assert " ".join(table["broken"]).endswith("ErrUnsealFailed: no key could decrypt secret (password)")
    assert table["gone"][6] == "absent" and "the Secret does not exist" in " ".join(table["gone"])
    assert table["drifted"][7] == "drifted" and "data.password" in " ".join(table["drifted"])
    assert r.out.splitlines()[-1] == "4 SealedSecrets: 1 synced, 3 not synced (1 drifted, 2 without Secret)"
    assert MARK not in r.out and "hacked" not in r.out

    r = cli("status", "-n", namespace, "--kubeconfig", kubeconfig, "-o", "json")
    assert r.status == 1
    doc = json.loads(r.out)
    by_name = {i["name"]: i for i in doc["items"]}
    fingerprint = Sealer(parse_certificate(cert)).certificate.fingerprint
    assert by_name["good"]["ok"] and by_name["good"]["sealedFor"] == [fingerprint]
    assert by_name["good"]["openedBy"] == [fingerprint.removeprefix("SHA256:")[:12]]
    assert by_name["gone"]["secret"] == "absent" and by_name["drifted"]["drift"] == "drifted"
    assert doc["summary"]["notSynced"] == 3 and doc["summary"]["ok"] is False

    # Back with drift repair on: the deleted Secret is recreated; the reported drift stays reported
    # (a restart does not repeat a report) until someone asks for a full reconcile.
    ctrl = start()
    eventually(lambda: sealed_objects.secret_data(core, namespace, "gone", MARK) == {"password": "pw-gone"}, 30)
    assert synced_false(custom, namespace, "drifted", "SecretDrifted")
    r = cli("reconcile", "drifted", "-n", namespace, "--kubeconfig", kubeconfig, "--wait", "--timeout", "30s")
    assert r.status == 0, r.err
    assert r.out.startswith(f"sealedsecret {namespace}/drifted: reconciled: Secret {namespace}/drifted was changed")
    assert "data.password" in r.out and "hacked" not in r.out
    assert sealed_objects.secret_data(core, namespace, "drifted", MARK) == {"password": "pw-drifted"}
    assert ctrl.metric("sealed_secrets_controller_secret_drift_total", namespace=namespace, action="repaired") == 1

    # A reconcile that fails says why, and exits 1.
    r = cli("reconcile", "broken", "-n", namespace, "--kubeconfig", kubeconfig, "--wait", "--timeout", "30s")
    assert r.status == 1
    assert r.out == f"sealedsecret {namespace}/broken: reconcile failed: no key could decrypt secret (password)\n"

    custom.delete_namespaced_custom_object(
        sealed_objects.GROUP, sealed_objects.VERSION, namespace, sealed_objects.PLURAL, "broken"
    )
    r = eventually(lambda: (s := cli("status", "-n", namespace, "--kubeconfig", kubeconfig)).status == 0 and s, 30, 0.5)
    assert r.out.splitlines()[-1] == "3 SealedSecrets: 3 synced"


def test_reconcile_resyncs_a_synced_object_and_costs_nothing_after_a_restart(
    control_plane, own_controller, sealer_controller, core, custom, namespace, cli
):
    label, start = own_controller
    ctrl = start()
    create(custom, seal(ctrl.cert_pem(), namespace, "app", label, user="u", password="p"))
    eventually(lambda: recorded(custom, namespace, "app"), 30, what="synced")
    time.sleep(1)
    ops = ctrl.metric(OPS)
    kubeconfig = str(control_plane.kubeconfig)
    r = cli("reconcile", "app", "-n", namespace, "--kubeconfig", kubeconfig, "--wait")
    assert r.status == 0, r.err
    assert r.out == f"sealedsecret {namespace}/app: reconciled: Secret verified, unchanged\n"
    assert ctrl.metric(OPS) >= ops + 2  # unsealed again: both items opened, though the record said in sync
    obj = sealed_objects.get_sealed(custom, namespace, "app")
    assert obj["metadata"]["generation"] == 1  # metadata, not spec
    requested_at = obj["metadata"]["annotations"][RECONCILE_ANNOTATION]
    assert conditions(custom, namespace, "app")["ReconcileRequest"]["message"].startswith(f"request {requested_at} ")
    # Without --wait: the annotation is set and the command returns at once.
    r = cli("reconcile", "app", "-n", namespace, "--kubeconfig", kubeconfig)
    assert r.status == 0 and "reconcile requested" in r.out
    eventually(
        lambda: (
            sealed_objects.get_sealed(custom, namespace, "app")["metadata"]["annotations"][RECONCILE_ANNOTATION]
            in conditions(custom, namespace, "app")["ReconcileRequest"]["message"]
        ),
        30,
        what="the second request handled",
    )
    time.sleep(1)
    assert ctrl.stop() == 0

    # The annotation stays; the status names it as handled: a restart reads, writes nothing, opens nothing.
    quiet_namespaces(control_plane)
    before = request_counts(control_plane, successful_only=True)
    again = start()
    eventually(lambda: again.metric("sealed_secrets_controller_unseal_requests_total") >= 1, 30, what="looked at")
    time.sleep(2)
    assert again.metric(OPS) == 0
    writes = delta(before, request_counts(control_plane, successful_only=True), verbs=CONTROLLER_WRITES)
    assert not writes, f"writes after the restart: {dict(writes)}"

    # A new spec the controller has not seen yet (it is stopped): a generation lag, exit 1.
    assert again.stop() == 0
    obj = sealed_objects.get_sealed(custom, namespace, "app")
    obj["spec"] = seal(sealer_controller.cert_pem(), namespace, "app", label, user="u", password="p2")["spec"]
    custom.replace_namespaced_custom_object(
        sealed_objects.GROUP, sealed_objects.VERSION, namespace, sealed_objects.PLURAL, "app", obj
    )
    r = cli("status", "-n", namespace, "--kubeconfig", kubeconfig)
    assert r.status == 1
    row = rows(r.out)["app"]
    assert row[4] == "1/2" and "generation 2 not observed yet (observed 1)" in " ".join(row)
    assert r.out.splitlines()[-1] == "1 SealedSecret: 0 synced, 1 not synced (1 lagging)"

    r = cli("reconcile", "missing", "-n", namespace, "--kubeconfig", kubeconfig)
    assert r.status == 1 and r.err == f"error: sealedsecret {namespace}/missing: not found\n"


def test_status_without_the_right_to_read_secrets(
    control_plane, own_controller, sealer_controller, kube, core, custom, namespace, cli
):
    import kubernetes

    label, start = own_controller
    ctrl = start()
    create(custom, seal(ctrl.cert_pem(), namespace, "app", label, password="p"))
    eventually(lambda: recorded(custom, namespace, "app"), 30, what="synced")
    rbac = kubernetes.client.RbacAuthorizationV1Api(kube)
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "sealedsecrets-viewer"},
            "rules": [
                {"apiGroups": ["bitnami.com"], "resources": ["sealedsecrets"], "verbs": ["get", "list", "watch"]}
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sealedsecrets-viewer"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}],
        },
    )
    kubeconfig = str(control_plane.kubeconfig)
    as_viewer = ("--kubeconfig", kubeconfig, "--as", "viewer", "--as-group", "team-a")
    denied = control_plane.kubectl("get", "secrets", "-n", namespace, "--as", "viewer", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr  # the user really may not read Secrets
    r = eventually(lambda: (s := cli("status", "-n", namespace, *as_viewer)).status == 0 and s, 30, 0.5)
    assert "not allowed to list Secrets" in r.err
    row = rows(r.out)["app"]
    assert row[2:4] == ["True", "True"] and row[6] == "unknown"
    assert r.out.splitlines()[-1] == "1 SealedSecret: 1 synced"
    r = cli("reconcile", "app", "-n", namespace, *as_viewer)  # no patch right: a one-line error
    assert r.status == 1 and "cannot annotate it: 403" in r.err and r.err.count("\n") == 1


def test_status_watch_reprints_on_change_and_ctrl_c_exits_130(
    control_plane, own_controller, sealer_controller, custom, namespace, cli, tmp_path
):
    label, start = own_controller
    ctrl = start()
    kubeconfig = str(control_plane.kubeconfig)
    started = time.monotonic()
    r = cli("status", "-n", namespace, "--kubeconfig", kubeconfig, "--watch", "--timeout", "4s")
    assert 3.5 <= time.monotonic() - started < 20  # bounded by --timeout
    assert r.status == 0 and r.out == "0 SealedSecrets: 0 synced\n"  # nothing changed: printed once

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sealer", "status", "-n", namespace, "--kubeconfig", kubeconfig, "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        eventually(lambda: "0 SealedSecrets: 0 synced\n" in lines, 20, what="the first listing")
        create(custom, seal(ctrl.cert_pem(), namespace, "later", label, password="p"))
        # Printed again as the changes arrive (the new object, then its status), not when the watch ends.
        eventually(lambda: "1 SealedSecret: 1 synced\n" in lines, 20, what="the synced object printed")
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err


def test_status_over_two_clusters_of_a_fleet(
    control_plane, sealer_controller, second_cluster, kube, custom, namespace, cli, tmp_path, other_key
):
    import kubernetes

    with second_cluster.plane.api_client() as api:
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
        west = kubernetes.client.CustomObjectsApi(api)
        create(custom, seal(sealer_controller.cert_pem(), namespace, "db", password="east"))
        create(west, seal(second_cluster.controller.cert_pem(), namespace, "db", password="west"))
        config = tmp_path / ".sealer.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "clusters": [
                        {"name": "east", "context": "e2e", "kubeconfig": str(control_plane.kubeconfig)},
                        {"name": "west", "context": "e2e", "kubeconfig": str(second_cluster.plane.kubeconfig)},
                        {"name": "offline", "cert": "certs/offline.pem"},  # no context: not reachable, skipped
                    ]
                }
            )
        )
        args = ("status", "--all-clusters", "--config", str(config), "-n", namespace)
        r = eventually(lambda: (s := cli(*args)).status == 0 and s, 60, 0.5, what="both synced")
        lines = r.out.splitlines()
        assert lines[0].split()[:3] == ["CLUSTER", "NAMESPACE", "NAME"]
        assert [line.split()[:5] for line in lines[1:3]] == [
            ["east", namespace, "db", "True", "True"],
            ["west", namespace, "db", "True", "True"],
        ]
        assert lines[-1] == "2 SealedSecrets in 2 clusters: 2 synced"
        assert "'offline' has no context" in r.err
        # The keys differ per cluster: each row names its own.
        east_key, west_key = lines[1].split()[6], lines[2].split()[6]
        assert east_key != west_key

        create(west, seal(other_key.cert_pem, namespace, "broken", password="x"))
        r = eventually(lambda: (s := cli(*args, "-o", "json")).status == 1 and s, 60, 0.5, what="broken seen")
        doc = json.loads(r.out)
        broken = next(i for i in doc["items"] if i["name"] == "broken")
        assert broken["cluster"] == "west" and "no key could decrypt" in broken["reason"]
        assert doc["summary"] == {
            "total": 3,
            "synced": 2,
            "notSynced": 1,
            "drifted": 0,
            "secretMissing": 1,
            "generationLag": 0,
            "ok": False,
        }
        r = cli("status", "--cluster", "east", "--config", str(config), "-n", namespace)
        assert r.status == 0 and r.out.splitlines()[-1] == "1 SealedSecret in 1 cluster: 1 synced"
        r = cli("status", "--cluster", "north", "--config", str(config), "-n", namespace)
        assert r.status == 2 and "cluster 'north' is not in" in r.err and r.err.count("\n") == 1

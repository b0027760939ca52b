"""Safe retirement and the certificate ConfigMap on the real control plane (issue 14, part B; the
`keys usage` of issue 12).

Our controller runs in a key namespace of its own (the `key_namespace` fixture), so retiring its
keys touches no other test's. For `--re-encrypt` it runs on a test host behind a Service, so that
the API server's service proxy reaches it (tests/e2e/test_service_proxy.py); a user who may only
list SealedSecrets (plus what every authenticated user may: get the certificate ConfigMap) is
denied that proxy by RBAC, and still seals and reports usage.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys

import kubernetes
import pytest
import yaml

from keys.opened_by import key_id, opened_by
from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from sealer.kube import Kube
from tests.e2e import test_switch_controllers as switch
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, create, get_sealed, secret_data
from tests.e2e.sealer_controller import REPO, RunningController
from tests.e2e.test_service_proxy import ProxiedController, _expose, host_pod
from tests.e2e.testhost import TestHost, TestHostUnavailable
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
CONFIGMAP = "sealed-secrets-controller-certs"
GRACE = "8s"


def sealer(*args: str, kubeconfig, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def refused(proc: subprocess.CompletedProcess, *words: str, notes: int = 0) -> str:
    """Exit 1 and one error line (after ``notes`` lines of progress), naming ``words``."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == notes + 1 and lines[-1].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[-1], proc.stderr
    return lines[-1]


def published(core, ns: str) -> list[dict]:
    try:
        cm = core.read_namespaced_config_map(CONFIGMAP, ns)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return []
        raise
    return json.loads(cm.data["keys.json"])


def key_secrets(core, ns: str) -> list:
    return core.list_namespaced_secret(ns, label_selector=KEY_LABEL).items


def plain(name: str, ns: str, **values: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": values}
    )


@pytest.fixture
def tag() -> str:
    return f"retire-{secrets.token_hex(3)}"


@pytest.fixture
def reader(control_plane, kube, namespace):
    """A user who may list SealedSecrets, and nothing else of its own (no Secrets, no service proxy)."""
    core, rbac = kubernetes.client.CoreV1Api(kube), kubernetes.client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "reader"}})
    role = f"sealer-test-sealedsecrets-reader-{namespace}"
    rbac.create_cluster_role(
        {
            "metadata": {"name": role},
            "rules": [{"apiGroups": ["bitnami.com"], "resources": ["sealedsecrets"], "verbs": ["get", "list"]}],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        }
    )
    yield control_plane.kubeconfig_for_service_account(namespace, "reader")
    rbac.delete_cluster_role_binding(role)
    rbac.delete_cluster_role(role)


@pytest.fixture
def proxied(control_plane, key_namespace, tag):
    """Our controller for ``key_namespace``'s keys, reachable through the service proxy, deleting
    retired keys after a short grace period."""
    try:
        host = TestHost()
    except TestHostUnavailable as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(e))
    with host:
        host_pod(control_plane, host, key_namespace)
        _expose(control_plane, host, "sealed-secrets-controller", "http", namespace=key_namespace)
        ctrl = ProxiedController(control_plane, host, tag, key_namespace, "--retired-key-grace-period", GRACE).start()
        yield ctrl
        ctrl.stop()


def test_retire_a_key_in_use_is_refused_then_reencrypted_retired_and_deleted(
    control_plane, proxied, reader, key_namespace, namespace, tag, core, custom, tmp_path
):
    admin = control_plane.kubeconfig
    where = ("--controller-namespace", key_namespace)
    (first,) = eventually(lambda: published(core, key_namespace), 60, 0.5, "the certificate ConfigMap")
    assert first["sealing"] and first["status"] == "active" and first["keyId"] == key_id(first["fingerprint"])

    # The reader is denied the service proxy by RBAC, yet seals: the certificate comes from the ConfigMap.
    proxy = f"/api/v1/namespaces/{key_namespace}/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"
    assert Kube.from_kubeconfig(str(reader)).raw("GET", proxy).status == 403
    assert Kube.from_kubeconfig(str(admin)).raw("GET", proxy).status == 200  # the proxy itself works
    sealing = sealer(
        "seal", "-v", "1", *where, "-o", "yaml", kubeconfig=reader, input=plain("db", namespace, password="v1")
    )
    assert f"fetched the certificate from the ConfigMap {key_namespace}/{CONFIGMAP}" in sealing.stderr
    doc = yaml.safe_load(ok(sealing))
    doc["metadata"]["labels"] = {OWN: tag}
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "db.yaml").write_text(yaml.safe_dump(doc))
    create(custom, doc)
    old_id = key_id(first["fingerprint"])
    eventually(
        lambda: (r := opened_by(get_sealed(custom, namespace, "db"))) and r.key_ids == (old_id,), 60, 0.5, "a record"
    )

    # A second key: it seals from now on; db still needs the first.
    proxied.proc.send_signal(signal.SIGUSR1)
    keys = eventually(lambda: len(k := published(core, key_namespace)) == 2 and k, 60, 0.5, "two published keys")
    old, new = (
        next(k for k in keys if k["fingerprint"] == first["fingerprint"]),
        next(k for k in keys if k["sealing"]),
    )
    assert old["fingerprint"] != new["fingerprint"]

    def usage(*args: str, kubeconfig=reader) -> dict:
        out = ok(sealer("keys", "usage", *where, "-l", f"{OWN}={tag}", "-o", "json", *args, kubeconfig=kubeconfig))
        return {k["fingerprint"]: k for k in json.loads(out)["keys"]} | {
            "unattributed": json.loads(out)["unattributed"]
        }

    report = usage()  # as the reader: no Secret read, only SealedSecrets and the ConfigMap
    assert report["unattributed"] == []
    assert report[old["fingerprint"]]["sealedSecrets"] == [
        {
            "source": "cluster",
            "namespace": namespace,
            "name": "db",
            "items": ["password"],
            "how": "record",
            "exact": True,
        }
    ]
    assert not report[old["fingerprint"]]["retirable"]
    assert report[new["fingerprint"]]["sealing"] and not report[new["fingerprint"]]["retirable"]
    offline = json.loads(ok(sealer("keys", "usage", str(repo), "-o", "json", kubeconfig=reader)))
    assert [k["sealedSecrets"][0]["how"] for k in offline["keys"] if k["fingerprint"] == old["fingerprint"]] == ["hint"]

    # Bad input: one line each.
    refused(sealer("keys", "retire", "SHA256:nosuchkey", *where, kubeconfig=admin), "no key SHA256:nosuchkey")
    # Still in use: refused, nothing changed.
    retire = ("keys", "retire", old["fingerprint"][:20], *where, "-l", f"{OWN}={tag}")
    refused(sealer(*retire, kubeconfig=admin), f"the cluster's {namespace}/db", "nothing retired")
    assert {s.metadata.labels[KEY_LABEL] for s in key_secrets(core, key_namespace)} == {"active"}

    # --re-encrypt rewrites the file through the controller (/v1/rotate); the cluster still has the old one.
    before = (repo / "db.yaml").read_text()
    again = sealer(*retire, str(repo), "--re-encrypt", kubeconfig=admin)
    refused(again, f"the cluster's {namespace}/db", notes=2)
    assert again.stderr.startswith(f"re-encrypted {repo / 'db.yaml'}\n")
    resealed = yaml.safe_load((repo / "db.yaml").read_text())
    assert resealed["metadata"]["annotations"]["sealer.dev/sealing-key"] == new["fingerprint"]
    assert resealed["spec"]["encryptedData"] != doc["spec"]["encryptedData"]
    assert resealed["metadata"]["labels"] == {OWN: tag}  # the rest of the document is kept

    # Applied (as GitOps would): the controller records the new key; now the old one can go.
    current = get_sealed(custom, namespace, "db")
    current["spec"] = resealed["spec"]
    current["metadata"]["annotations"] = resealed["metadata"]["annotations"]
    custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db", current)
    new_id = key_id(new["fingerprint"])
    eventually(
        lambda: (r := opened_by(get_sealed(custom, namespace, "db"))) and r.current and r.key_ids == (new_id,),
        60,
        0.5,
        "the record of the new key",
    )
    assert usage()[old["fingerprint"]]["retirable"] is True
    out = ok(sealer(*retire, str(repo), kubeconfig=admin))
    (retired,) = [s for s in key_secrets(core, key_namespace) if s.metadata.name == old["name"]]
    assert out == f"retired {old['name']} {old['fingerprint']}\n"
    assert retired.metadata.labels[KEY_LABEL] == "retired"  # Bitnami's controller loads only `active`
    assert retired.metadata.annotations["sealer.dev/retired-at"].endswith("Z")

    # It no longer opens (the old ciphertext), nor seals; the ConfigMap says it is retired.
    status, _ = proxied.request("POST", "/v1/verify", json.dumps(yaml.safe_load(before)).encode())
    assert status == 409
    assert proxied.request("POST", "/v1/verify", json.dumps(resealed).encode())[0] == 200
    listed = eventually(
        lambda: [k for k in published(core, key_namespace) if k["status"] == "retired"], 30, 0.5, "retired, published"
    )
    assert listed[0]["fingerprint"] == old["fingerprint"] and listed[0]["retiredAt"] and not listed[0]["sealing"]

    # After the grace period the controller deletes it (and nothing else); the new key still opens db.
    eventually(lambda: len(key_secrets(core, key_namespace)) == 1, 60, 0.5, "the retired key Secret deleted")
    assert key_secrets(core, key_namespace)[0].metadata.name == new["name"]
    eventually(lambda: len(published(core, key_namespace)) == 1, 30, 0.5, "the ConfigMap without it")
    core.delete_namespaced_secret("db", namespace)
    eventually(lambda: secret_data(core, namespace, "db") == {"password": "v1"}, 60, 0.5, "db recreated by the new key")


def test_retire_force_and_undo_before_the_grace_period(control_plane, key_namespace, namespace, tag, core, custom):
    admin = control_plane.kubeconfig
    where = ("--controller-namespace", key_namespace)
    ctrl = RunningController(
        control_plane,
        key_namespace,
        "--key-renew-period",
        "0",
        "--label-selector",
        f"{OWN}={tag}",
        name=f"controller-{tag}",
    ).start()
    try:
        (only,) = eventually(lambda: published(core, key_namespace), 60, 0.5, "the certificate ConfigMap")
        doc = yaml.safe_load(
            ok(sealer("seal", *where, "-o", "yaml", kubeconfig=admin, input=plain("db", namespace, p="v")))
        )
        doc["metadata"]["labels"] = {OWN: tag}
        create(custom, doc)
        eventually(lambda: opened_by(get_sealed(custom, namespace, "db")), 60, 0.5, "a record")
        fp = only["fingerprint"]
        refused(sealer("keys", "retire", fp, *where, kubeconfig=admin), "is the sealing key")
        refused(sealer("keys", "unretire", fp, *where, kubeconfig=admin), "is not retired")
        ok(sealer("keys", "retire", fp, *where, "--force", kubeconfig=admin))
        # Neither opens nor seals: the controller makes a new sealing key (it needs one) and keeps the retired.
        eventually(
            lambda: ctrl.request("POST", "/v1/verify", json.dumps(doc).encode())[0] == 409, 30, 0.5, "no longer opens"
        )
        eventually(lambda: len(key_secrets(core, key_namespace)) == 2, 60, 0.5, "a new sealing key")
        sealing = eventually(
            lambda: [k for k in published(core, key_namespace) if k["sealing"] and k["fingerprint"] != fp],
            30,
            0.5,
            "new key",
        )
        assert sealing
        pem = ok(sealer("cert", *where, kubeconfig=admin)).encode()  # from the ConfigMap: no Service here
        assert parse_certificate(pem).fingerprint == sealing[0]["fingerprint"] != fp
        # --undo, long before the default grace period (720h) ends: it opens again, and is not the sealing key.
        assert ok(sealer("keys", "retire", fp, "--undo", *where, kubeconfig=admin)).startswith("unretired ")
        eventually(
            lambda: ctrl.request("POST", "/v1/verify", json.dumps(doc).encode())[0] == 200, 30, 0.5, "opens again"
        )
        labels = {
            s.metadata.name: (s.metadata.labels, s.metadata.annotations or {}) for s in key_secrets(core, key_namespace)
        }
        assert all(lab[KEY_LABEL] == "active" and "sealer.dev/retired-at" not in ann for lab, ann in labels.values())
        assert (
            eventually(lambda: [k for k in published(core, key_namespace) if k["sealing"]], 30)[0]["fingerprint"] != fp
        )
    finally:
        ctrl.stop()


# Bitnami's controller, from the switch tests (its binary, in its sandbox).
bitnami_bin, start = switch.bitnami_bin, switch.start


def test_bitnami_controller_ignores_a_retired_key(control_plane, start, key_namespace, namespace, tag, core):
    """Retirement means Bitnami's controller does not load the key either: it loads only `active`."""
    admin = control_plane.kubeconfig
    where = ("--controller-namespace", key_namespace)
    ours = start.ours(key_namespace, "--key-renew-period", "0", "--label-selector", f"{OWN}={tag}")
    old_pem = ours.cert_pem()
    old = Sealer(parse_certificate(old_pem)).seal_secret(yaml.safe_load(plain("db", namespace, p="v")))
    ours.proc.send_signal(signal.SIGUSR1)
    new_pem = eventually(lambda: (pem := ours.cert_pem()) != old_pem and pem, 60, 0.5, "a second key")
    new = Sealer(parse_certificate(new_pem)).seal_secret(yaml.safe_load(plain("db", namespace, p="v")))
    out = ok(
        sealer("keys", "retire", parse_certificate(old_pem).fingerprint, *where, "-l", f"{OWN}={tag}", kubeconfig=admin)
    )
    assert out.startswith("retired ")
    ours.stop()
    bitnami = start.bitnami(key_namespace, "--key-renew-period", "0", "--label-selector", f"{OWN}={tag}")
    assert switch.fingerprint(bitnami.cert_pem()) == parse_certificate(new_pem).fingerprint
    assert bitnami.request("POST", "/v1/verify", json.dumps(new).encode())[0] == 200
    assert bitnami.request("POST", "/v1/verify", json.dumps(old).encode())[0] == 409  # the retired key is not loaded
    assert len(key_secrets(core, key_namespace)) == 2  # and it made none, deleted none

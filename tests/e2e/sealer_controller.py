"""Running our controller against the test control plane, as a Pod would: its own process, a
ServiceAccount token bound to exactly the RBAC in deploy/, its namespace from POD_NAMESPACE."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import kubernetes
import yaml

from tests.e2e.cluster import ControlPlane, _die_with_parent, _free_port
from tests.e2e.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
SERVICE_ACCOUNT = "sealed-secrets-controller"


def install(plane: ControlPlane) -> None:
    """The CRD, ServiceAccount, RBAC and Services of deploy/ (the Deployment too: with no
    scheduler or kubelet here it never runs, which is what we want)."""
    plane.apply_crd(REPO / "deploy" / "crd.yaml")
    plane.kubectl("apply", "-k", str(REPO / "deploy"))


@contextlib.contextmanager
def second_install(api: kubernetes.client.ApiClient, name: str, *, leader_election: bool = True):
    """The namespace ``name`` of a second install (install_in_namespace below), deleted afterwards.
    Controllers run as its ServiceAccount, as Pods in it would."""
    undo = install_in_namespace(api, name, leader_election=leader_election)
    try:
        yield name
    finally:
        for delete in undo:
            try:
                delete()
            except kubernetes.client.ApiException as e:
                if e.status != 404:
                    raise


class ControllerProcess:
    """What a controller under test has, whoever wrote it: a process, a log, an HTTP API on loopback."""

    url: str
    metrics_port: int
    log: Path
    proc: subprocess.Popen | None = None

    def stop(self) -> int | None:
        """SIGTERM (then SIGKILL after 20 s); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def request(self, method: str, path: str, body: bytes | None = None, port: int | None = None) -> tuple[int, bytes]:
        base = f"http://127.0.0.1:{port}" if port else self.url
        req = urllib.request.Request(f"{base}{path}", data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def cert_pem(self) -> bytes:
        status, body = self.get("/v1/cert.pem")
        assert status == 200, status
        return body

    def metrics(self) -> str:
        return self.request("GET", "/metrics", port=self.metrics_port)[1].decode()

    def metric(self, metric: str, **labels: str) -> float:
        """The sum of the series of ``metric`` whose labels include ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(metric) and not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                if series.split("{")[0] != metric:
                    continue
                if all(f'{k}="{v}"' in series for k, v in labels.items()):
                    total += float(value)
        return total


def install_in_namespace(kube, name: str, *, leader_election: bool = True) -> list:
    """A second install of deploy/ in namespace ``name`` (created here): its ServiceAccount, the
    key Role, the certificate reader Role (and the leader-election Role) with their RoleBindings, and deploy/'s ClusterRole bound
    to that ServiceAccount; what an overlay of deploy/ with ``namespace: <name>`` creates, minus the
    cluster-scoped objects it would take over from the session's install. Returns the undo steps."""
    import kubernetes

    core, rbac = kubernetes.client.CoreV1Api(kube), kubernetes.client.RbacAuthorizationV1Api(kube)
    core.create_namespace({"metadata": {"name": name}})
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if d]
    roles = ["sealed-secrets-key-admin", "sealed-secrets-escrow", "sealed-secrets-certificate-reader"] + (
        ["sealed-secrets-controller-leader-election"] if leader_election else []
    )
    cluster_binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    for subject in cluster_binding["subjects"]:
        subject["namespace"] = name
    cluster_binding["metadata"]["name"] = f"{cluster_binding['metadata']['name']}-{name}"
    core.create_namespaced_service_account(name, {"metadata": {"name": SERVICE_ACCOUNT}})
    for role in (d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] in roles):
        binding = next(
            d for d in docs if d["kind"] == "RoleBinding" and d["roleRef"]["name"] == role["metadata"]["name"]
        )
        for subject in binding["subjects"]:
            if subject["kind"] == "ServiceAccount":
                subject["namespace"] = name
        rbac.create_namespaced_role(name, role)
        rbac.create_namespaced_role_binding(name, binding)
    rbac.create_cluster_role_binding(cluster_binding)
    return [
        lambda: rbac.delete_cluster_role_binding(cluster_binding["metadata"]["name"]),
        lambda: core.delete_namespace(name),
    ]


class RunningController(ControllerProcess):
    """Our controller as a process. Unless ``args`` say otherwise it runs with
    ``--leader-elect=false``: a test's own instance acts alone next to the session's, which holds
    the Lease in kube-system."""

    def __init__(self, plane: ControlPlane, namespace: str = "kube-system", *args: str, name: str = "controller"):
        self.plane, self.namespace = plane, namespace
        self.port, self.metrics_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = plane.dir / f"{name}-{self.port}.log"
        self.kubeconfig = plane.kubeconfig_for_service_account(namespace, SERVICE_ACCOUNT)
        if not any(a.startswith("--leader-elect") for a in args):
            args = (*args, "--leader-elect=false")
        self.argv = [
            sys.executable,
            "-m",
            "controller",
            "--kubeconfig",
            str(self.kubeconfig),
            "--key-size",
            "2048",
            "--listen-addr",
            f"127.0.0.1:{self.port}",
            "--listen-metrics-addr",
            f"127.0.0.1:{self.metrics_port}",
            "--log-level",
            "DEBUG",
            *args,
        ]
        self.proc: subprocess.Popen | None = None

    def launch(self) -> RunningController:
        """Start the process without waiting for it (``start`` waits). From the main thread only:
        the process dies with the thread that started it."""
        env = {**os.environ, "POD_NAMESPACE": self.namespace, "PYTHONUNBUFFERED": "1"}
        env = {k: v for k, v in env.items() if not k.startswith("SEALED_SECRETS_")}
        with open(self.log, "ab") as log:
            # Dies with the test run, even a killed one: a stray controller would act on later runs.
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, preexec_fn=_die_with_parent
            )
        return self

    def start(self, timeout: float = 60) -> RunningController:
        self.launch()
        try:
            eventually(self.ready, timeout, 0.2, "controller ready")
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}; its log ends:\n{self.logs()[-4000:]}") from None
        return self

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"controller exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False


def secret_json(name: str, namespace: str, data: dict[str, str], **extra) -> str:
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "stringData": data}
    for key, value in extra.items():
        if key in ("labels", "annotations"):
            doc["metadata"][key] = value
        else:
            doc[key] = value
    return json.dumps(doc)

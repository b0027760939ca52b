"""deploy/helm/sealer installed with the real helm into the real API server: `helm install`, the
controller run with exactly the rendered container arguments as the rendered ServiceAccount (so the
chart's RBAC is what it has), `helm upgrade` (values changed, the admission policy switched on and
off, post-quantum keys on: the next key has an ML-KEM key and opens `sealer seal --pq`), `helm
uninstall`; and a release of Bitnami's chart (2.18, from the v0.36.6 module) with a typical values
file upgraded to this chart with the same file, Bitnami's controller before and ours after, on the
same keys.

There is no kubelet: Deployments never run Pods. The controllers run as processes; the only
arguments added to the rendered ones are a kubeconfig (a Pod has in-cluster configuration) and
loopback listen addresses (a Pod has its own network namespace; the test asserts the rendered ports
are the ones the Services target). On a test host (a network namespace, tests/e2e/testhost.py) the
rendered arguments run exactly, with only the kubeconfig added, and clients reach that controller
through the chart's Service with --controller-name sealed-secrets. Each release lives in its own namespace with its own ClusterRole
name, so it does not meet deploy/'s objects that other tests install in kube-system."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
import yaml

from tests.deploy.chart import BITNAMI_VALUES, CHART, objects, run, template, the
from tests.e2e.bitnami_controller import BitnamiController, sandbox_unavailable
from tests.e2e.cluster import _free_port
from tests.e2e.sealer_controller import RunningController
from tests.e2e.test_deploy import STUB_MONITORING_CRDS
from tests.e2e.testhost import TestHost, TestHostUnavailable, kubeconfig_via
from tests.e2e.waiting import eventually
from tests.interop.conftest import find_binary
from tests.peers import peer_bin_dir

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"  # the session's controller skips SealedSecrets with this label


class Helm:
    def __init__(self, binary: Path, kubeconfig: Path, home: Path):
        self.binary, self.kubeconfig = binary, kubeconfig
        self.env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(self, *args: str, values: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.binary), *args]
        if values is not None:
            argv += ["-f", "-"]
        return run(argv, check=check, env=self.env, input=yaml.safe_dump(values) if values is not None else None)

    def manifest(self, release: str, namespace: str) -> list[dict]:
        return objects(self("get", "manifest", release, "-n", namespace).stdout)


class ChartController(RunningController):
    """Our controller with the rendered Deployment's command line, as its ServiceAccount."""

    def __init__(self, plane, deployment: dict, name: str = "chart-controller"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        self.plane, self.namespace = plane, deployment["metadata"]["namespace"]
        self.port, self.metrics_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = plane.dir / f"{name}-{self.port}.log"
        self.kubeconfig = plane.kubeconfig_for_service_account(self.namespace, pod["serviceAccountName"])
        assert container["command"] == ["sealer-controller"]
        self.rendered_args = container["args"]
        self.argv = [
            sys.executable,
            "-m",
            "controller",
            *self.rendered_args,
            "--kubeconfig",
            str(self.kubeconfig),
            "--listen-addr",
            f"127.0.0.1:{self.port}",
            "--listen-metrics-addr",
            f"127.0.0.1:{self.metrics_port}",
        ]
        self.proc = None


def service_targets(docs: list[dict], deployment: dict) -> None:
    """The Services target the container's named ports, and the args listen on those ports."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    args = container["args"]
    assert args[args.index("--listen-addr") + 1] == f":{ports['http']}"
    assert args[args.index("--listen-metrics-addr") + 1] == f":{ports['metrics']}"
    for svc in (d for d in docs if d["kind"] == "Service"):
        assert svc["spec"]["ports"][0]["targetPort"] in ports


@pytest.fixture(scope="module")
def helm(control_plane, tmp_path_factory) -> Helm:
    return Helm(peer_bin_dir("helm") / "helm", control_plane.kubeconfig, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture
def release_ns(kube, helm, request):
    core = kubernetes.client.CoreV1Api(kube)
    name = f"chart-{request.node.name[5:25].replace('_', '-').strip('-')}-{os.urandom(2).hex()}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    # A test that failed half-way leaves its release, whose cluster-scoped objects (named after the
    # release, as Bitnami's chart names them) would block the next test's install.
    helm("uninstall", "sealed-secrets", "-n", name, "--ignore-not-found", "--wait", check=False)
    core.delete_namespace(name)


def seal(cert: bytes, tmp: Path, name: str, namespace: str, value: str, *, pq: bool = False) -> dict:
    (tmp / "cert.pem").write_bytes(cert)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"password": value},
    }
    out = subprocess.run(
        [sys.executable, "-m", "sealer", "seal", *(["--pq"] if pq else []), "--cert", str(tmp / "cert.pem")]
        + ["-o", "json"],
        input=json.dumps(secret),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    doc = json.loads(out)
    doc["metadata"]["labels"] = {OWN: "chart"}
    return doc


def unsealed(core, namespace: str, name: str) -> str | None:
    try:
        data = core.read_namespaced_secret(name, namespace).data or {}
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return base64.b64decode(data.get("password", "")).decode()


def synced(custom, namespace: str, name: str) -> bool:
    ss = custom.get_namespaced_custom_object("bitnami.com", "v1alpha1", namespace, "sealedsecrets", name)
    return any(c["type"] == "Synced" and c["status"] == "True" for c in ss.get("status", {}).get("conditions", []))


def test_install_run_upgrade_uninstall(control_plane, helm, kube, release_ns, tmp_path):
    ns = release_ns
    core, custom = kubernetes.client.CoreV1Api(kube), kubernetes.client.CustomObjectsApi(kube)
    values = {"rbac": {"clusterRoleName": f"secrets-unsealer-{ns}"}, "labelSelector": f"{OWN}=chart"}
    helm("install", "sealed-secrets", str(CHART), "-n", ns, values=values)

    installed = helm.manifest("sealed-secrets", ns)
    assert installed == template(helm.binary, values, namespace=ns)  # what was installed is what renders
    svc = core.read_namespaced_service("sealed-secrets", ns)
    assert svc.spec.ports[0].name == "http" and svc.spec.ports[0].port == 8080  # --controller-name sealed-secrets
    deployment = the(installed, "Deployment", "sealed-secrets")
    service_targets(installed, deployment)
    kubernetes.client.AppsV1Api(kube).read_namespaced_deployment("sealed-secrets", ns)

    # the controller, with the chart's arguments and only the chart's RBAC
    ctrl = ChartController(control_plane, deployment).start(timeout=120)
    try:
        cert = ctrl.cert_pem()
        doc = seal(cert, tmp_path, "db", ns, "s3cr3t-chart")
        custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", ns, "sealedsecrets", doc)
        eventually(lambda: unsealed(core, ns, "db") == "s3cr3t-chart", 60, 0.2, "the Secret")
        eventually(lambda: synced(custom, ns, "db"), 30, 0.2, "status Synced")  # --update-status
        keys = core.list_namespaced_secret(ns, label_selector="sealedsecrets.bitnami.com/sealed-secrets-key")
        assert [k.metadata.name.startswith("sealed-secrets-key") for k in keys.items] == [True]
        assert ctrl.metric("sealed_secrets_controller_keys") == 1
    finally:
        assert ctrl.stop() == 0

    # upgrade: other values, the admission policy on, post-quantum keys on
    upgraded_values = {
        **values,
        "keyrenewperiod": "0",
        "logFormat": "json",
        "admissionPolicy": {"enabled": True, "keySizes": [4096]},
        "pqKeys": True,
    }
    helm("upgrade", "sealed-secrets", str(CHART), "-n", ns, values=upgraded_values)
    upgraded = helm.manifest("sealed-secrets", ns)
    assert upgraded == template(helm.binary, upgraded_values, namespace=ns)
    live = kubernetes.client.AppsV1Api(kube).read_namespaced_deployment("sealed-secrets", ns)
    args = live.spec.template.spec.containers[0].args
    assert args[args.index("--key-renew-period") + 1] == "0" and "json" in args and "--pq-keys" in args
    ctrl = ChartController(control_plane, the(upgraded, "Deployment")).start(timeout=120)
    try:
        assert ctrl.cert_pem() == cert  # the same key: keys are not the release's
        bad = seal(cert, tmp_path, "bad", ns, "x")
        bad["spec"]["encryptedData"]["password"] = "AgB"
        proc = eventually(
            lambda: (
                (p := control_plane.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)).returncode != 0
                and p
            ),
            30,
            0.5,
            "the policy",
        )
        assert "sealed-secrets-validation" in proc.stderr and "spec.encryptedData.password" in proc.stderr
        good = seal(cert, tmp_path, "db2", ns, "s3cr3t-upgraded")
        custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", ns, "sealedsecrets", good)
        eventually(lambda: unsealed(core, ns, "db2") == "s3cr3t-upgraded", 60, 0.2, "the Secret after the upgrade")
        # pqKeys: the existing key is left as it was (same certificate above, no ML-KEM key); the
        # next one has an ML-KEM key, `sealer seal --pq` seals for it, the policy admits the
        # hybrid SealedSecret and the controller opens it.
        ctrl.proc.send_signal(signal.SIGUSR1)  # rotate now, as for Bitnami's controller
        pq_cert = eventually(lambda: (pem := ctrl.cert_pem()) != cert and pem, 60, 0.2, "a new key")
        assert b"-----BEGIN PUBLIC KEY-----" in pq_cert
        keys = core.list_namespaced_secret(ns, label_selector="sealedsecrets.bitnami.com/sealed-secrets-key").items
        assert sorted("mlkem768.key" in (k.data or {}) for k in keys) == [False, True]
        hybrid = seal(pq_cert, tmp_path, "db3", ns, "s3cr3t-pq", pq=True)
        custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", ns, "sealedsecrets", hybrid)
        eventually(lambda: unsealed(core, ns, "db3") == "s3cr3t-pq", 60, 0.2, "the post-quantum Secret")
    finally:
        assert ctrl.stop() == 0

    # and off again: helm deletes the policy
    helm("upgrade", "sealed-secrets", str(CHART), "-n", ns, values=values)
    admission = kubernetes.client.AdmissionregistrationV1Api(kube)
    assert "sealed-secrets-validation" not in [
        p.metadata.name for p in admission.list_validating_admission_policy().items
    ]
    eventually(
        lambda: (
            control_plane.kubectl(
                "create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False
            ).returncode
            == 0
        ),
        30,
        0.5,
        "the policy gone",
    )
    assert "REVISION: 3" in helm("status", "sealed-secrets", "-n", ns).stdout

    helm("uninstall", "sealed-secrets", "-n", ns)
    assert core.list_namespaced_service(ns).items == []
    rbac = kubernetes.client.RbacAuthorizationV1Api(kube)
    assert f"secrets-unsealer-{ns}" not in [r.metadata.name for r in rbac.list_cluster_role().items]
    # what is not the release's stays: the CRD, the keys, the SealedSecrets and their Secrets
    kubernetes.client.ApiextensionsV1Api(kube).read_custom_resource_definition("sealedsecrets.bitnami.com")
    assert core.list_namespaced_secret(ns, label_selector="sealedsecrets.bitnami.com/sealed-secrets-key").items
    assert unsealed(core, ns, "db") == "s3cr3t-chart"


OUR_IMAGE = {"image": {"registry": "ghcr.io", "repository": "sealer-dev/sealer-controller", "tag": "0.1.0"}}


def test_upgrade_from_bitnamis_chart(control_plane, helm, kube, release_ns, tmp_path):
    why = sandbox_unavailable()
    if why:
        pytest.skip(why)
    ns = release_ns
    core, custom = kubernetes.client.CoreV1Api(kube), kubernetes.client.CustomObjectsApi(kube)
    apps = kubernetes.client.AppsV1Api(kube)
    bitnami_chart = peer_bin_dir("bitnami").parent / "chart"
    assert yaml.safe_load((bitnami_chart / "Chart.yaml").read_text())["version"].startswith("2.18.")
    for stub in STUB_MONITORING_CRDS:  # metrics.serviceMonitor.enabled
        control_plane.apply_crd(stub)
    # The typical values file, with names of this release's own: its cluster-scoped objects are named
    # after fullnameOverride, and deploy/'s, installed for the session's controller, have the usual one.
    full = f"sealed-secrets-controller-{ns[-4:]}"
    values = {**BITNAMI_VALUES, "fullnameOverride": full, "rbac": {"clusterRoleName": f"secrets-unsealer-{ns}"}}
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    helm("install", "sealed-secrets", str(bitnami_chart), "-n", ns, "-f", str(tmp_path / "values.yaml"))
    before = helm.manifest("sealed-secrets", ns)
    selector = the(before, "Deployment")["spec"]["selector"]

    # Bitnami's controller, as its chart's ServiceAccount, makes the key and unseals a SealedSecret
    bitnami = BitnamiController(
        control_plane,
        find_binary(peer_bin_dir("bitnami"), "controller"),
        ns,
        "--key-renew-period",
        "0",
        "--label-selector",
        f"{OWN}=chart",
        service_account=full,
    ).start()
    try:
        cert = bitnami.cert_pem()
        doc = seal(cert, tmp_path, "db", ns, "s3cr3t-bitnami")
        custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", ns, "sealedsecrets", doc)
        eventually(lambda: unsealed(core, ns, "db") == "s3cr3t-bitnami", 60, 0.2, "Bitnami's Secret")
    finally:
        bitnami.stop()

    # the same values file, our chart (and our image)
    helm("upgrade", "sealed-secrets", str(CHART), "-n", ns, "-f", str(tmp_path / "values.yaml"), values=OUR_IMAGE)
    after = helm.manifest("sealed-secrets", ns)
    deployment = the(after, "Deployment", full)
    assert deployment["spec"]["selector"] == selector  # immutable: the upgrade would have failed
    live = apps.read_namespaced_deployment(full, ns)
    assert live.spec.template.spec.containers[0].image == "ghcr.io/sealer-dev/sealer-controller:0.1.0"
    assert {(d["kind"], d["metadata"]["name"]) for d in after} >= {
        ("Service", full),
        ("Service", f"{full}-metrics"),
        ("NetworkPolicy", full),
        ("ServiceMonitor", full),
        ("ServiceAccount", full),
        ("ClusterRoleBinding", full),
    }
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--key-renew-period") + 1] == "0"
    service_targets(after, deployment)
    # Objects only Bitnami's chart had are gone, ours are new; shared names were updated in place.
    key_admin = kubernetes.client.RbacAuthorizationV1Api(kube).read_namespaced_role(f"{full}-key-admin", ns)
    assert key_admin.rules[0].verbs == ["get", "list", "watch", "create", "delete"]  # delete: retired keys

    ctrl = ChartController(control_plane, deployment).start(timeout=120)
    try:
        assert ctrl.cert_pem() == cert  # Bitnami's key, not a new one
        custom.patch_namespaced_custom_object(
            "bitnami.com", "v1alpha1", ns, "sealedsecrets", "db", {"metadata": {"annotations": {"test/touch": "1"}}}
        )
        doc2 = seal(cert, tmp_path, "db2", ns, "s3cr3t-after-switch")
        custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", ns, "sealedsecrets", doc2)
        eventually(lambda: unsealed(core, ns, "db2") == "s3cr3t-after-switch", 60, 0.2, "our Secret")
        eventually(lambda: synced(custom, ns, "db"), 30, 0.2, "Bitnami's SealedSecret synced by ours")
        assert unsealed(core, ns, "db") == "s3cr3t-bitnami"
        assert ctrl.metric("sealed_secrets_controller_keys") == 1
    finally:
        assert ctrl.stop() == 0
    helm("uninstall", "sealed-secrets", "-n", ns)


def test_namespaced_rbac_is_enough(control_plane, helm, kube, release_ns, tmp_path):
    """Bitnami's rbac.namespacedRoles: no ClusterRole, Roles in the controller's and the additional
    namespaces only; the controller unseals there, and can do nothing elsewhere."""
    ns, core = release_ns, kubernetes.client.CoreV1Api(kube)
    custom = kubernetes.client.CustomObjectsApi(kube)
    team = f"{ns}-team"
    core.create_namespace({"metadata": {"name": team}})
    try:
        values = {
            "rbac": {"namespacedRoles": True, "namespacedRolesName": f"unsealer-{ns}"},
            "additionalNamespaces": [team],
            "labelSelector": f"{OWN}=chart",
        }
        helm("install", "sealed-secrets", str(CHART), "-n", ns, values=values)
        installed = helm.manifest("sealed-secrets", ns)
        assert not [d for d in installed if d["kind"].startswith("ClusterRole")]
        ctrl = ChartController(control_plane, the(installed, "Deployment")).start(timeout=120)
        try:
            cert = ctrl.cert_pem()
            for where in (team, ns):
                doc = seal(cert, tmp_path, "db", where, f"s3cr3t-{where}")
                custom.create_namespaced_custom_object("bitnami.com", "v1alpha1", where, "sealedsecrets", doc)
                eventually(lambda w=where: unsealed(core, w, "db") == f"s3cr3t-{w}", 60, 0.2, f"the Secret in {where}")
            with control_plane.api_client(ctrl.kubeconfig) as api:
                with pytest.raises(kubernetes.client.ApiException) as e:
                    kubernetes.client.CoreV1Api(api).list_namespaced_secret("default")
                assert e.value.status == 403
        finally:
            assert ctrl.stop() == 0
        helm("uninstall", "sealed-secrets", "-n", ns)
    finally:
        core.delete_namespace(team)


class HostedChartController(ChartController):
    """The same, on a test host (its own network namespace, as a Pod): the rendered arguments
    exactly, listen addresses included, plus only the kubeconfig; reachable through the Service."""

    def __init__(self, plane, deployment: dict, host: TestHost):
        super().__init__(plane, deployment, name="chart-controller-hosted")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.port, self.metrics_port = ports["http"], ports["metrics"]
        self.url = f"http://{host.address}:{self.port}"
        kubeconfig = kubeconfig_via(
            self.kubeconfig,
            f"https://{host.gateway}:{host.forward(plane.port)}",
            "localhost",
            plane.dir / f"sa-chart-{self.namespace}.kubeconfig",
        )
        self.argv = [
            "ip",
            "netns",
            "exec",
            host.netns,
            sys.executable,
            "-m",
            "controller",
            *self.rendered_args,
            "--kubeconfig",
            str(kubeconfig),
        ]


def test_clients_reach_it_as_controller_name_sealed_secrets(control_plane, helm, kube, release_ns, tmp_path):
    """helm install sealed-secrets: kubeseal and sealer, as any authenticated user, fetch the
    certificate with --controller-name sealed-secrets through the API server's service proxy (the
    chart's Service and service-proxier Role), as the GitOps guides say."""
    try:
        host = TestHost()
    except TestHostUnavailable as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(e))
    ns = release_ns
    values = {"rbac": {"clusterRoleName": f"secrets-unsealer-{ns}"}, "labelSelector": f"{OWN}=chart"}
    helm("install", "sealed-secrets", str(CHART), "-n", ns, values=values)
    deployment = the(helm.manifest("sealed-secrets", ns), "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    with host:
        # What a kubelet and the endpoints controller would do for one Pod of the Deployment.
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "sealed-secrets-0", "namespace": ns, "labels": pod_labels},
            "spec": {"containers": [{"name": "controller", "image": "sealer-controller:test"}]},
        }
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))
        control_plane.kubectl(
            "patch",
            "pod",
            "sealed-secrets-0",
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": {"phase": "Running", "podIP": host.address, "podIPs": [{"ip": host.address}]}}),
        )
        control_plane.kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Endpoints",
                    "metadata": {"name": "sealed-secrets", "namespace": ns},
                    "subsets": [
                        {
                            "addresses": [
                                {
                                    "ip": host.address,
                                    "targetRef": {"kind": "Pod", "name": "sealed-secrets-0", "namespace": ns},
                                }
                            ],
                            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                        }
                    ],
                }
            ),
        )
        ctrl = HostedChartController(control_plane, deployment, host).start(timeout=120)
        try:
            expected = ctrl.cert_pem()
            user = control_plane.kubeconfig_for_service_account("default", f"someone-{ns[-4:]}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
            env["KUBECONFIG"] = str(user)
            kubeseal = find_binary(peer_bin_dir("bitnami"), "kubeseal")
            for argv in ([str(kubeseal)], [sys.executable, "-m", "sealer"]):
                done = subprocess.run(
                    [*argv, "--controller-namespace", ns, "--controller-name", "sealed-secrets", "--fetch-cert"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                )
                assert done.returncode == 0, f"{argv[-1]}: {done.stderr}"
                assert done.stdout.encode() == expected, argv[-1]
        finally:
            assert ctrl.stop() == 0
    helm("uninstall", "sealed-secrets", "-n", ns)

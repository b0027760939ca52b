"""deploy/ against a real API server: the install validates, the CRD schema and printer columns
behave, Bitnami's CRD and ours replace each other, and the RBAC grants exactly what the
controller needs (checked as the controller's own ServiceAccount)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import kubernetes
import pytest
import yaml
from kubernetes.client import ApiException

from tests.e2e.waiting import eventually
from tests.peers import peer_bin_dir

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CRD_FILE = DEPLOY / "crd.yaml"
CRD_NAME = "sealedsecrets.bitnami.com"
STATUS_DEFAULT = {"observedGeneration": 0}  # deploy/crd.yaml: "not reconciled by any controller yet"
GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
CONTROLLER_NS = "kube-system"
SA = "sealed-secrets-controller"
LEASE = "sealed-secrets-controller"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"


def status_of(call) -> int:
    try:
        call()
    except ApiException as e:
        return e.status
    return 200


def rendered(path: Path = DEPLOY) -> list[dict]:
    """The objects `kubectl apply -k path` would send (kubectl's built-in kustomize)."""
    out = subprocess.run(
        ["/usr/bin/kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def kubeseal_style(name: str, namespace: str) -> dict:
    """A SealedSecret as kubeseal writes it (creationTimestamp: null included)."""
    meta = {"creationTimestamp": None, "name": name, "namespace": namespace}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SealedSecret",
        "metadata": dict(meta, annotations={"sealedsecrets.bitnami.com/namespace-wide": "true"}),
        "spec": {
            "encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA==", "user.name": "AgAAAQ=="},
            "template": {
                "metadata": dict(
                    meta, labels={"app": "db"}, annotations={"sealedsecrets.bitnami.com/namespace-wide": "true"}
                ),
                "type": "kubernetes.io/basic-auth",
                "immutable": False,
                "data": {"url": "postgres://{{ .user }}:{{ .password }}@db"},
            },
        },
    }


@pytest.fixture(scope="module")
def crd(control_plane):
    """Our CRD, installed (Established) for the module."""
    control_plane.apply_crd(CRD_FILE)
    return CRD_FILE


@pytest.fixture(scope="module")
def bitnami_crd_file():
    path = peer_bin_dir("bitnami").parent / "crd.yaml"  # .ci/build-peers.sh copies it there
    assert path.is_file(), f"Bitnami's CRD not found next to the built peer ({path})"
    return path


@pytest.fixture(scope="module")
def installed_rbac(control_plane):
    """The ServiceAccount and RBAC of deploy/, applied for real (not the Deployment/Services)."""
    kinds = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    docs = [d for d in rendered() if d["kind"] in kinds]
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    return docs


@pytest.fixture(scope="module")
def controller_api(control_plane, installed_rbac):
    """An ApiClient authenticating as the controller's ServiceAccount (TokenRequest)."""
    kubeconfig = control_plane.kubeconfig_for_service_account(CONTROLLER_NS, SA)
    with control_plane.api_client(kubeconfig) as api:
        yield api


def can(api, verb, resource, namespace="", group="", subresource="", name="") -> bool:
    review = kubernetes.client.AuthorizationV1Api(api).create_self_subject_access_review(
        {
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "resource": resource,
                    "group": group,
                    "namespace": namespace,
                    "subresource": subresource,
                    "name": name,
                }
            }
        }
    )
    return review.status.allowed


# --- (1) the whole install validates on the server ---------------------------------------------


def test_server_side_dry_run_of_the_install(control_plane):
    out = control_plane.kubectl("apply", "--dry-run=server", "-k", str(DEPLOY)).stdout
    for line in (
        "customresourcedefinition.apiextensions.k8s.io/sealedsecrets.bitnami.com",
        "serviceaccount/sealed-secrets-controller",
        "clusterrole.rbac.authorization.k8s.io/secrets-unsealer",
        "clusterrolebinding.rbac.authorization.k8s.io/sealed-secrets-controller",
        "role.rbac.authorization.k8s.io/sealed-secrets-key-admin",
        "role.rbac.authorization.k8s.io/sealed-secrets-controller-leader-election",
        "role.rbac.authorization.k8s.io/sealed-secrets-service-proxier",
        "rolebinding.rbac.authorization.k8s.io/sealed-secrets-service-proxier",
        "service/sealed-secrets-controller ",
        "service/sealed-secrets-controller-metrics",
        "deployment.apps/sealed-secrets-controller",
    ):
        assert line in out, f"{line!r} missing from:\n{out}"
    assert all("(server dry run)" in ln for ln in out.strip().splitlines()), out


def test_everything_lands_in_kube_system_with_the_common_labels():
    for doc in rendered():
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/name") == "sealed-secrets-controller", doc["metadata"]
        assert labels.get("app.kubernetes.io/part-of") == "sealer", doc["metadata"]
        if doc["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == CONTROLLER_NS, doc["metadata"]
        for subject in doc.get("subjects", []):
            if subject["kind"] == "ServiceAccount":
                assert subject == {"kind": "ServiceAccount", "name": SA, "namespace": CONTROLLER_NS}


def test_pod_template_passes_pod_security_restricted(control_plane, kube, namespace):
    """The Deployment's pod, created (dry run) where PodSecurity `restricted` is enforced."""
    core = kubernetes.client.CoreV1Api(kube)
    core.patch_namespace(
        namespace,
        {
            "metadata": {
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                }
            }
        },
    )
    core.create_namespaced_service_account(namespace, {"metadata": {"name": SA}})
    deployment = next(d for d in rendered() if d["kind"] == "Deployment")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "controller",
            "namespace": namespace,
            "labels": deployment["spec"]["template"]["metadata"]["labels"],
        },
        "spec": deployment["spec"]["template"]["spec"],
    }
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod))
    assert "created (server dry run)" in proc.stdout
    assert "PodSecurity" not in proc.stderr, proc.stderr

    # and the check is real: a privileged variant is refused
    bad = copy.deepcopy(pod)
    bad["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0 and "violates PodSecurity" in proc.stderr, proc.stderr


STUB_MONITORING_CRDS = [
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    for plural, kind in (("prometheusrules", "PrometheusRule"), ("servicemonitors", "ServiceMonitor"))
]


def test_monitoring_kustomization_dry_run(control_plane):
    """deploy/monitoring renders and addresses the Prometheus Operator's kinds (stub CRDs here:
    the real schemas are the operator's; the rules themselves are checked by promtool)."""
    for stub in STUB_MONITORING_CRDS:
        control_plane.apply_crd(stub)
    out = control_plane.kubectl("apply", "--dry-run=server", "-k", str(DEPLOY / "monitoring")).stdout
    assert "prometheusrule.monitoring.coreos.com/sealed-secrets-controller created (server dry run)" in out
    assert "servicemonitor.monitoring.coreos.com/sealed-secrets-controller created (server dry run)" in out


# --- (2) the CRD schema --------------------------------------------------------------------------


def custom(kube):
    return kubernetes.client.CustomObjectsApi(kube)


def create_ss(kube, namespace, body):
    # Kept out of the way of the test suite's running controller (its label selector skips these):
    # these objects test the schema and status by hand.
    labels = body.setdefault("metadata", {}).setdefault("labels", {})
    labels["sealer.test/own-controller"] = "none"
    return custom(kube).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def test_schema_accepts_kubeseal_output_and_keeps_it_verbatim(crd, kube, namespace):
    body = kubeseal_style("db", namespace)
    body["spec"]["template"]["metadata"]["finalizers"] = ["example.com/keep"]
    # preserve-unknown-fields: metadata fields the schema does not list survive
    body["spec"]["template"]["metadata"]["ownerReferences"] = []
    body["spec"]["template"]["metadata"]["generateName"] = "ignored-"
    create_ss(kube, namespace, body)
    got = custom(kube).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db")
    assert got["spec"]["encryptedData"] == body["spec"]["encryptedData"]
    tmpl = got["spec"]["template"]
    assert tmpl["type"] == "kubernetes.io/basic-auth" and tmpl["immutable"] is False
    assert tmpl["data"] == body["spec"]["template"]["data"]
    assert tmpl["metadata"]["labels"] == {"app": "db"}
    assert tmpl["metadata"]["finalizers"] == ["example.com/keep"]
    assert tmpl["metadata"]["generateName"] == "ignored-"
    assert got["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    "spec",
    [
        {"encryptedData": {}},  # nothing to seal: allowed (template.data alone can make a Secret)
        {"encryptedData": {"a": "AgA="}, "template": {"metadata": None, "data": None}},  # nullable
        {"encryptedData": {"a": "AgA="}, "template": {}},
        {"encryptedData": {"a": "AgA="}, "data": "AAEC"},  # deprecated v1 blob, base64
    ],
    ids=["empty-encryptedData", "null-template-metadata-and-data", "empty-template", "v1-data"],
)
def test_schema_accepts(crd, kube, namespace, spec):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "SealedSecret", "metadata": {"name": "ok"}, "spec": spec}
    create_ss(kube, namespace, body)


@pytest.mark.parametrize(
    "body_spec",
    [
        None,  # no spec at all
        {},  # spec without encryptedData
        {"encryptedData": "AgA="},  # not an object
        {"encryptedData": ["AgA="]},
        {"encryptedData": {"a": 1}},  # values are strings
        {"encryptedData": {"a": "AgA="}, "template": {"type": 5}},
        {"encryptedData": {"a": "AgA="}, "template": {"immutable": "yes"}},
        {"encryptedData": {"a": "AgA="}, "template": {"data": {"k": ["v"]}}},
        {"encryptedData": {"a": "AgA="}, "template": "Opaque"},
        {"encryptedData": {"a": "AgA="}, "data": "not base64!"},
    ],
    ids=[
        "no-spec",
        "no-encryptedData",
        "encryptedData-string",
        "encryptedData-list",
        "encryptedData-int-value",
        "template-type-int",
        "template-immutable-string",
        "template-data-list-value",
        "template-string",
        "v1-data-not-base64",
    ],
)
def test_schema_rejects(crd, kube, namespace, body_spec):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "SealedSecret", "metadata": {"name": "bad"}}
    if body_spec is not None:
        body["spec"] = body_spec
    with pytest.raises(ApiException) as e:
        create_ss(kube, namespace, body)
    assert e.value.status == 422, e.value.body


def test_status_is_a_subresource(crd, kube, namespace):
    create_ss(kube, namespace, kubeseal_style("db", namespace))
    # status in a main-resource write is ignored (what shows is the CRD's default) ...
    custom(kube).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "db", {"status": {"observedGeneration": 7}}
    )
    got = custom(kube).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db")
    assert got["status"] == STATUS_DEFAULT
    # ... and validated when written through /status
    with pytest.raises(ApiException) as e:
        custom(kube).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "db", {"status": {"conditions": [{"message": "no type, no status"}]}}
        )
    assert e.value.status == 422
    custom(kube).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "db",
        {
            "status": {
                "observedGeneration": 1,
                "conditions": [
                    {
                        "type": "Synced",
                        "status": "True",
                        "lastUpdateTime": "2024-10-14T19:45:30Z",
                        "lastTransitionTime": "2024-10-14T19:45:30Z",
                        "message": "",
                    }
                ],
            }
        },
    )
    got = custom(kube).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db")
    assert got["status"]["conditions"][0]["status"] == "True"
    assert got["metadata"]["generation"] == 1  # status writes do not bump the generation


# --- (5) printer columns ---------------------------------------------------------------------------


def write_status(kube, namespace, name, conditions):
    custom(kube).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": {"observedGeneration": 1, "conditions": conditions}}
    )


def columns(control_plane, namespace, name) -> dict[str, str]:
    """`kubectl get sealedsecret NAME` as {COLUMN: value} (the server's Table, as users see it)."""
    out = control_plane.kubectl("get", "sealedsecret", name, "-n", namespace).stdout.splitlines()
    header, row = out[0], out[1]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    return {
        names[i]: row[starts[i] : (starts[i + 1] if i + 1 < len(starts) else None)].strip() for i in range(len(names))
    }


SYNCED_FAILED = {
    "type": "Synced",
    "status": "False",
    "message": "no key could decrypt secret (password)",
    "lastUpdateTime": "2024-10-14T19:45:30Z",
    "lastTransitionTime": "2024-10-14T19:45:30Z",
}
READY_UNKNOWN = {
    "type": "Ready",
    "status": "Unknown",
    "reason": "Progressing",
    "message": "ready-message",
    "lastTransitionTime": "2024-10-14T19:45:30Z",
}


def test_printer_columns_show_the_synced_condition(crd, control_plane, kube, namespace):
    create_ss(kube, namespace, kubeseal_style("db", namespace))
    row = columns(control_plane, namespace, "db")
    assert list(row) == ["NAME", "STATUS", "SYNCED", "AGE"]
    assert row["STATUS"] == "" and row["SYNCED"] == ""  # not reconciled yet

    # whatever the order of the conditions, the columns show Synced's, not Ready's
    for conditions in ([SYNCED_FAILED, READY_UNKNOWN], [READY_UNKNOWN, SYNCED_FAILED]):
        write_status(kube, namespace, "db", conditions)
        row = columns(control_plane, namespace, "db")
        assert row["SYNCED"] == "False", row
        assert row["STATUS"] == "no key could decrypt secret (password)", row

    write_status(
        kube,
        namespace,
        "db",
        [dict(SYNCED_FAILED, status="True", message=""), dict(READY_UNKNOWN, status="True", message="")],
    )
    row = columns(control_plane, namespace, "db")
    assert row["SYNCED"] == "True" and row["STATUS"] == "", row


# --- (4) Bitnami's CRD and ours replace each other -------------------------------------------------


def schema_without_descriptions(crd_doc: dict) -> dict:
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(crd_doc["spec"]["versions"][0]["schema"])


def test_crd_matches_bitnamis_field_for_field(bitnami_crd_file):
    ours = yaml.safe_load(CRD_FILE.read_text())
    theirs = yaml.safe_load(bitnami_crd_file.read_text())
    assert ours["metadata"]["name"] == theirs["metadata"]["name"] == CRD_NAME
    for key in ("group", "names", "scope"):
        assert ours["spec"][key] == theirs["spec"][key], key
    assert len(ours["spec"]["versions"]) == len(theirs["spec"]["versions"]) == 1
    ov, tv = ours["spec"]["versions"][0], theirs["spec"]["versions"][0]
    for key in ("name", "served", "storage", "subresources"):
        assert ov[key] == tv[key], key
    schema = schema_without_descriptions(ours)
    # The one addition: the status default (docs/gitops.md).
    assert schema["openAPIV3Schema"]["properties"]["status"].pop("default") == STATUS_DEFAULT
    assert schema == schema_without_descriptions(theirs)
    # The printer columns differ only in selecting Synced by type.
    assert (
        [c["name"] for c in ov["additionalPrinterColumns"]]
        == [c["name"] for c in tv["additionalPrinterColumns"]]
        == ["Status", "Synced", "Age"]
    )
    assert [c["jsonPath"].replace('[?(@.type=="Synced")]', "[0]") for c in ov["additionalPrinterColumns"]] == [
        c["jsonPath"] for c in tv["additionalPrinterColumns"]
    ]


def test_bitnami_crd_and_ours_apply_over_each_other(crd, bitnami_crd_file, control_plane, kube, namespace):
    k = control_plane.kubectl
    for _first, second in ((CRD_FILE, bitnami_crd_file), (bitnami_crd_file, CRD_FILE)):
        out = k("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", str(second)).stdout
        assert CRD_NAME in out, out
    try:
        # Theirs over ours, for real (client-side apply, as `kubectl apply -f` users do).
        k("apply", "-f", str(bitnami_crd_file))
        k("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        create_ss(kube, namespace, kubeseal_style("made-under-bitnami", namespace))
        write_status(
            kube, namespace, "made-under-bitnami", [SYNCED_FAILED, READY_UNKNOWN]
        )  # sealer's order: Synced first
        # Bitnami's columns take conditions[0]: with Synced first they show the same as ours.
        row = eventually(
            lambda: (r := columns(control_plane, namespace, "made-under-bitnami"))["SYNCED"] == "False" and r
        )
        assert row["STATUS"] == "no key could decrypt secret (password)"

        # Ours back over theirs; the object made under theirs is still valid and writable.
        k("apply", "-f", str(CRD_FILE))
        k("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        obj = custom(kube).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            "made-under-bitnami",
            {"spec": {"encryptedData": {"password": "AgBzZWNvbmQ="}}},
        )
        assert obj["metadata"]["generation"] == 2
        write_status(kube, namespace, "made-under-bitnami", [READY_UNKNOWN, SYNCED_FAILED])
        eventually(lambda: columns(control_plane, namespace, "made-under-bitnami")["SYNCED"] == "False")
        live = kubernetes.client.ApiextensionsV1Api(kube).read_custom_resource_definition(CRD_NAME)
        assert (
            live.spec.versions[0].additional_printer_columns[1].json_path
            == '.status.conditions[?(@.type=="Synced")].status'
        )
    finally:
        control_plane.apply_crd(CRD_FILE)  # leave ours installed for the other tests


def test_status_default_comes_and_goes_with_our_crd(crd, bitnami_crd_file, control_plane, kube, namespace):
    """Not reconciled yet reads as observedGeneration 0 under our CRD (kstatus: InProgress), on every
    read, owned by no field manager, and never stored by itself: switching to Bitnami's CRD (with
    `kubectl apply`, as deploy/README says) takes it away again, and a status write replaces it."""
    k = control_plane.kubectl

    def status(name):
        return custom(kube).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name).get("status")

    try:
        k("apply", "-f", str(CRD_FILE))
        k("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        created = create_ss(kube, namespace, kubeseal_style("pending", namespace))
        assert created["status"] == STATUS_DEFAULT
        listed = custom(kube).list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
        assert [o.get("status") for o in listed] == [STATUS_DEFAULT]
        assert not any("f:status" in (m.get("fieldsV1") or {}) for m in created["metadata"]["managedFields"])

        k("apply", "-f", str(bitnami_crd_file))
        k("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        live = json.loads(k("get", f"crd/{CRD_NAME}", "-o", "json").stdout)
        assert "default" not in live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
        eventually(lambda: status("pending") is None)  # the default was never stored

        k("apply", "-f", str(CRD_FILE))
        k("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        eventually(lambda: status("pending") == STATUS_DEFAULT)
        write_status(kube, namespace, "pending", [dict(SYNCED_FAILED, status="True", message="")])
        assert status("pending")["observedGeneration"] == 1
    finally:
        control_plane.apply_crd(CRD_FILE)  # as the other tests expect it


# --- (3) RBAC, as the controller's ServiceAccount -------------------------------------------------


def test_controller_can_do_what_it_needs(crd, controller_api, namespace):
    api = controller_api
    needed = [
        # SealedSecrets everywhere: read/watch, write status only
        *[(v, PLURAL, "", GROUP, "") for v in ("get", "list", "watch")],
        *[(v, PLURAL, namespace, GROUP, "") for v in ("get", "list", "watch")],
        *[(v, PLURAL, namespace, GROUP, "status") for v in ("update", "patch")],
        # generated Secrets in any namespace, and the deletion watch cluster-wide
        *[(v, "secrets", namespace, "", "") for v in ("get", "list", "watch", "create", "update", "patch", "delete")],
        *[(v, "secrets", "", "", "") for v in ("list", "watch")],
        # key Secrets in its own namespace
        *[(v, "secrets", CONTROLLER_NS, "", "") for v in ("get", "list", "watch", "create")],
        # events (both APIs), namespaces
        *[(v, "events", namespace, g, "") for v in ("create", "patch") for g in ("", "events.k8s.io")],
        ("get", "namespaces", "", "", ""),
        # leader election
        ("create", "leases", CONTROLLER_NS, "coordination.k8s.io", ""),
        # key escrow: the recipients and the escrow ConfigMaps in its own namespace
        *[(v, "configmaps", CONTROLLER_NS, "", "") for v in ("get", "list", "watch", "create", "update")],
    ]
    missing = [n for n in needed if not can(api, n[0], n[1], n[2], n[3], n[4])]
    assert not missing, f"the controller's ServiceAccount lacks: {missing}"
    for verb in ("get", "update"):
        assert can(api, verb, "leases", CONTROLLER_NS, "coordination.k8s.io", name=LEASE), verb


def test_controller_cannot_do_more(crd, controller_api, namespace):
    api = controller_api
    forbidden = [
        # SealedSecrets' spec belongs to their authors
        *[(v, PLURAL, namespace, GROUP, "", "") for v in ("create", "update", "patch", "delete", "deletecollection")],
        # other leases, and leases elsewhere
        *[
            (v, "leases", CONTROLLER_NS, "coordination.k8s.io", "", "kube-controller-manager")
            for v in ("get", "update", "patch", "delete")
        ],
        *[(v, "leases", CONTROLLER_NS, "coordination.k8s.io", "", LEASE) for v in ("patch", "delete")],
        *[(v, "leases", namespace, "coordination.k8s.io", "", LEASE) for v in ("create", "get", "update")],
        ("list", "leases", CONTROLLER_NS, "coordination.k8s.io", "", ""),
        # nothing else in the cluster
        ("update", "customresourcedefinitions", "", "apiextensions.k8s.io", "", CRD_NAME),
        ("create", "customresourcedefinitions", "", "apiextensions.k8s.io", "", ""),
        ("get", "configmaps", namespace, "", "", ""),
        # escrow ConfigMaps are never deleted, and no other namespace's are touched
        *[(v, "configmaps", CONTROLLER_NS, "", "", "") for v in ("delete", "deletecollection", "patch")],
        ("create", "configmaps", namespace, "", "", ""),
        ("create", "pods", namespace, "", "", ""),
        ("create", "pods", CONTROLLER_NS, "", "", ""),
        ("create", "deployments", CONTROLLER_NS, "apps", "", ""),
        ("list", "nodes", "", "", "", ""),
        ("list", "namespaces", "", "", "", ""),
        ("update", "namespaces", "", "", "", namespace),
        ("create", "clusterrolebindings", "", "rbac.authorization.k8s.io", "", ""),
        ("escalate", "clusterroles", "", "rbac.authorization.k8s.io", "", "secrets-unsealer"),
        ("create", "serviceaccounts", CONTROLLER_NS, "", "token", SA),
        ("deletecollection", "secrets", namespace, "", "", ""),
        ("delete", "events", namespace, "", "", ""),
    ]
    allowed = [f for f in forbidden if can(api, f[0], f[1], f[2], f[3], f[4], f[5])]
    assert not allowed, f"the controller's ServiceAccount may do more than it needs: {allowed}"


def test_controller_calls_succeed_as_its_service_account(crd, controller_api, kube, namespace):
    """The same, as real requests the controller makes."""
    core = kubernetes.client.CoreV1Api(controller_api)
    objs = kubernetes.client.CustomObjectsApi(controller_api)
    coord = kubernetes.client.CoordinationV1Api(controller_api)

    # key discovery and a new key in its own namespace (labelled, but not `active`: a controller
    # running in this cluster must not pick up this empty one)
    core.list_namespaced_secret(CONTROLLER_NS, label_selector=f"{KEY_LABEL}=active")
    key = core.create_namespaced_secret(
        CONTROLLER_NS,
        {
            "metadata": {"generateName": "sealed-secrets-key", "labels": {KEY_LABEL: "e2e-rbac-probe"}},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "", "tls.key": ""},
        },
    )
    try:
        assert key.metadata.name.startswith("sealed-secrets-key")
        core.read_namespaced_secret(key.metadata.name, CONTROLLER_NS)
    finally:
        kubernetes.client.CoreV1Api(kube).delete_namespaced_secret(key.metadata.name, CONTROLLER_NS)

    # reconcile: read the SealedSecret, write its Secret, status and an event
    create_ss(kube, namespace, kubeseal_style("db", namespace))
    ss = objs.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db")
    objs.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    core.list_secret_for_all_namespaces(limit=1)
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "db",
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "SealedSecret",
                        "name": "db",
                        "uid": ss["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "data": {"password": "czNjcjN0"},
        },
    )
    core.patch_namespaced_secret("db", namespace, {"data": {"password": "bmV3"}})
    objs.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "db",
        {"status": {"observedGeneration": 1, "conditions": [{"type": "Synced", "status": "True", "message": ""}]}},
    )
    core.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": "db."},
            "type": "Normal",
            "reason": "Unsealed",
            "message": "SealedSecret unsealed successfully",
            "source": {"component": "sealed-secrets"},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "SealedSecret",
                "namespace": namespace,
                "name": "db",
                "uid": ss["metadata"]["uid"],
            },
        },
    )
    core.read_namespace(namespace)
    core.delete_namespaced_secret("db", namespace)

    # ... but not its spec
    assert (
        status_of(
            lambda: objs.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, "db", {"spec": {"encryptedData": {"x": "AgA="}}}
            )
        )
        == 403
    )
    assert status_of(lambda: objs.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "db")) == 403

    # leader election: the Lease in its namespace, and no other
    lease = {
        "metadata": {"name": LEASE},
        "spec": {"holderIdentity": "sealed-secrets-controller-0", "leaseDurationSeconds": 15},
    }
    if status_of(lambda: coord.create_namespaced_lease(CONTROLLER_NS, lease)) == 409:
        pass  # another test run left it: get/update below still prove the rights
    current = coord.read_namespaced_lease(LEASE, CONTROLLER_NS)
    current.spec.holder_identity = "sealed-secrets-controller-1"
    coord.replace_namespaced_lease(LEASE, CONTROLLER_NS, current)
    assert status_of(lambda: coord.read_namespaced_lease("kube-controller-manager", CONTROLLER_NS)) == 403
    assert status_of(lambda: coord.create_namespaced_lease(namespace, lease)) == 403
    assert status_of(lambda: core.list_namespaced_config_map(namespace)) == 403
    kubernetes.client.CoordinationV1Api(kube).delete_namespaced_lease(LEASE, CONTROLLER_NS)


def test_any_authenticated_user_may_reach_the_controller_through_the_proxy(control_plane, installed_rbac, namespace):
    kubeconfig = control_plane.kubeconfig_for_service_account(namespace, "someone")
    with control_plane.api_client(kubeconfig) as api:
        for name in (
            "http:sealed-secrets-controller:",
            "http:sealed-secrets-controller:http",
            "sealed-secrets-controller",
        ):
            for verb in ("get", "create"):
                assert can(api, verb, "services", CONTROLLER_NS, subresource="proxy", name=name), (verb, name)
        assert can(api, "get", "services", CONTROLLER_NS, name="sealed-secrets-controller")
        # only that Service, only in the controller's namespace, and nothing else
        assert not can(api, "get", "services", CONTROLLER_NS, subresource="proxy", name="http:kube-dns:dns")
        assert not can(api, "get", "services", CONTROLLER_NS, name="kube-dns")
        assert not can(api, "list", "services", CONTROLLER_NS)
        assert not can(api, "update", "services", CONTROLLER_NS, name="sealed-secrets-controller")
        assert not can(
            api, "get", "services", "default", subresource="proxy", name="http:sealed-secrets-controller:http"
        )
        assert not can(api, "list", "secrets", CONTROLLER_NS)

"""Static checks of deploy/: the hardened Deployment, the names kubeseal relies on, and alert
expressions that only use metrics the controller exports. No cluster needed (see
tests/e2e/test_deploy.py for the same manifests against a real API server)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from sealer._version import __version__

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MONITORING = DEPLOY / "monitoring"

# What sealer-controller exports and the alerts may use (plus Prometheus' own `up`).
EXPORTED_METRICS = {
    "sealed_secrets_controller_unseal_errors_total",
    "sealed_secrets_controller_unseal_requests_total",
    "sealed_secrets_controller_condition_info",
    "sealed_secrets_controller_newest_key_age_seconds",
    "sealed_secrets_controller_keys",
    "sealed_secrets_controller_private_key_operations_total",
    "sealed_secrets_controller_leader",
    "sealed_secrets_controller_keys_without_escrow",
    "sealed_secrets_controller_key_without_escrow_seconds",
    "sealed_secrets_controller_escrow_recipients",
    "up",
}
# The controller's command-line contract (each also SEALED_SECRETS_<FLAG>).
CONTRACT_FLAGS = {
    "key-prefix",
    "key-size",
    "key-ttl",
    "my-cn",
    "key-renew-period",
    "key-cutoff-time",
    "update-status",
    "all-namespaces",
    "additional-namespaces",
    "label-selector",
    "skip-recreate",
    "listen-addr",
    "listen-metrics-addr",
    "log-format",
    "log-level",
    "rate-limit",
    "rate-limit-burst",
    "leader-elect",
}


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def resources(directory: Path = DEPLOY) -> list[dict]:
    return [d for name in kustomization(directory)["resources"] for d in docs(directory / name)]


def one(kind: str, name: str, directory: Path = DEPLOY) -> dict:
    found = [d for d in resources(directory) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


@pytest.fixture
def deployment():
    return one("Deployment", "sealed-secrets-controller")


@pytest.fixture
def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


# --- the kustomizations ----------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [DEPLOY, MONITORING], ids=["deploy", "monitoring"])
def test_kustomization_lists_every_manifest(directory):
    k = kustomization(directory)
    assert k["namespace"] == "kube-system"
    manifests = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml", "alerts_test.yaml"}
    assert set(k["resources"]) == manifests
    labels = {key: value for entry in k["labels"] for key, value in entry["pairs"].items()}
    assert labels == {"app.kubernetes.io/name": "sealed-secrets-controller", "app.kubernetes.io/part-of": "sealer"}
    # Selectors are immutable: common labels must never be injected into them.
    assert all(entry.get("includeSelectors") is False for entry in k["labels"])


def test_monitoring_is_not_part_of_the_base_install():
    # The Prometheus Operator's CRDs are not everywhere: the base must install without them.
    assert not any(d["apiVersion"].startswith("monitoring.coreos.com/") for d in resources(DEPLOY))
    assert "monitoring" not in kustomization(DEPLOY)["resources"]


# --- Deployment ------------------------------------------------------------------------------------


def test_deployment_runs_two_sealer_controllers_electing_a_leader(deployment, container):
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    # The new Pod is ready before an old one goes; --leader-elect (the default) keeps one writer.
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert "--leader-elect=false" not in container["args"]
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "sealed-secrets-controller"
    assert container["image"] == f"ghcr.io/sealer-dev/sealer-controller:{__version__}"
    assert container["command"] == ["sealer-controller"]
    assert container["args"] == [
        "--update-status",
        "--key-prefix",
        "sealed-secrets-key",
        "--listen-addr",
        ":8080",
        "--listen-metrics-addr",
        ":8081",
    ]
    # selector <= pod labels
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_deployment_flags_are_the_controllers(container):
    flags = {a[2:].split("=", 1)[0] for a in container["args"] if a.startswith("--")}
    assert flags <= CONTRACT_FLAGS
    try:
        from controller.config import FLAGS
    except Exception as e:  # noqa: BLE001 - the controller is optional here; the contract list above is not
        pytest.skip(f"controller.config not importable: {e}")
    assert flags <= {f.name for f in FLAGS}


def test_pod_namespace_comes_from_the_downward_api(container):
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_security_context_is_hardened(deployment, container):
    pod = deployment["spec"]["template"]["spec"]
    psc, csc = pod["securityContext"], container["securityContext"]
    for sc in (psc, csc):
        assert sc["runAsNonRoot"] is True
        assert sc["runAsUser"] == 1001
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc.get("privileged", False) is False
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    # a writable /tmp, from an emptyDir, is the only writable path
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts) == {"/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_probes_and_ports(container):
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "metrics": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # 4096-bit key generation at first start must not be killed by the liveness probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_resources_are_bounded(container):
    res = container["resources"]
    assert {"cpu", "memory"} <= res["requests"].keys()
    assert "memory" in res["limits"]


# --- Services ------------------------------------------------------------------------------------


def test_service_is_what_kubeseal_expects(deployment):
    svc = one("Service", "sealed-secrets-controller")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()


def test_metrics_service(deployment):
    svc = one("Service", "sealed-secrets-controller-metrics")
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}]
    assert svc["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    # the ServiceMonitor finds it, and keeps the metrics' own namespace label
    monitor = one("ServiceMonitor", "sealed-secrets-controller", MONITORING)
    selector = monitor["spec"]["selector"]["matchLabels"]
    labels = dict(svc["metadata"]["labels"], **{"app.kubernetes.io/name": "sealed-secrets-controller"})
    assert selector.items() <= labels.items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True


# --- RBAC ----------------------------------------------------------------------------------------


def test_rbac_has_no_wildcards_and_binds_the_controller():
    for doc in resources():
        for rule in doc.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], (doc["metadata"]["name"], rule)
    cluster_role = one("ClusterRole", "secrets-unsealer")
    by_resource = {
        (g, r): set(rule["verbs"])
        for rule in cluster_role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert by_resource[("bitnami.com", "sealedsecrets")] == {"get", "list", "watch"}
    assert by_resource[("bitnami.com", "sealedsecrets/status")] == {"update", "patch"}
    # Leases are namespace-only: never in the ClusterRole
    assert not any(g == "coordination.k8s.io" for g, _ in by_resource)
    binding = one("ClusterRoleBinding", "sealed-secrets-controller")
    assert binding["roleRef"]["name"] == "secrets-unsealer"
    proxier = one("RoleBinding", "sealed-secrets-service-proxier")
    assert proxier["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
    ]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not found")
def test_an_overlay_can_move_the_controller_to_another_namespace(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(DEPLOY, overlay)  # kustomize wants a relative path to a base
    (overlay / "kustomization.yaml").write_text(f"namespace: sealer-system\nresources:\n  - {base}\n")
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    subjects = [s for d in rendered for s in d.get("subjects", []) if s["kind"] == "ServiceAccount"]
    assert subjects and all(s["namespace"] == "sealer-system" for s in subjects)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not found")
def test_pq_keys_component_adds_the_flag_and_nothing_else(tmp_path):
    """deploy/pq-keys: the controller gets --pq-keys (post-quantum keys); every other object, and
    the rest of the Deployment, is deploy/'s. deploy/ alone has no --pq-keys."""
    from controller.config import parser
    from tests.deploy.chart import kustomize, overlay

    base = kustomize(DEPLOY)
    with_pq = kustomize(overlay(tmp_path / "overlay", "pq-keys"))
    (plain,) = [d for d in base if d["kind"] == "Deployment"]
    (pq,) = [d for d in with_pq if d["kind"] == "Deployment"]
    plain_args = plain["spec"]["template"]["spec"]["containers"][0]["args"]
    pq_args = pq["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--pq-keys" not in plain_args and parser().parse_args(plain_args).pq_keys is False
    assert pq_args == [*plain_args, "--pq-keys"] and parser().parse_args(pq_args).pq_keys is True
    pq["spec"]["template"]["spec"]["containers"][0]["args"] = plain_args
    assert with_pq == base


# --- CRD -----------------------------------------------------------------------------------------


def test_crd_printer_columns_select_synced_by_type():
    crd = one("CustomResourceDefinition", "sealedsecrets.bitnami.com")
    columns = {c["name"]: c["jsonPath"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns == {
        "Status": '.status.conditions[?(@.type=="Synced")].message',
        "Synced": '.status.conditions[?(@.type=="Synced")].status',
        "Age": ".metadata.creationTimestamp",
    }


# --- alerts --------------------------------------------------------------------------------------

PROMQL_WORDS = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "absent",
    "absent_over_time",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (good enough for our rules: selectors, aggregations)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        if m.group(2) is None and m.group(1) not in PROMQL_WORDS:
            names.add(m.group(1))
    return names


def test_metric_name_extraction():
    assert metric_names('sum by (reason, namespace) (rate(a_total{x="y"}[5m])) > 0') == {"a_total"}
    assert metric_names('absent(up{job=~".*sealed-secrets.*"} == 1)') == {"up"}
    assert metric_names("b_seconds > (720 + 24) * 3600 and on (pod) c") == {"b_seconds", "c"}


def alert_rules() -> list[dict]:
    rule = one("PrometheusRule", "sealed-secrets-controller", MONITORING)
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def test_alerts_use_only_exported_metrics():
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= EXPORTED_METRICS, (rule["alert"], names - EXPORTED_METRICS)


def test_alerts_are_complete():
    rules = alert_rules()
    assert [r["alert"] for r in rules] == [
        "SealedSecretsUnsealErrorHigh",
        "SealedSecretNotSynced",
        "SealedSecretsKeyRotationOverdue",
        "SealedSecretsControllerAbsent",
        "SealedSecretsControllerLeaderless",
        "SealedSecretsKeyWithoutEscrow",
    ]
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_bitnamis_alert_is_unchanged():
    """contrib/prometheus-mixin/alerts (v0.36.6): same group, expression, labels, annotations."""
    rule = one("PrometheusRule", "sealed-secrets-controller", MONITORING)
    group = rule["spec"]["groups"][0]
    assert group["name"] == "sealed-secrets"
    bitnami = group["rules"][0]
    assert bitnami == {
        "alert": "SealedSecretsUnsealErrorHigh",
        "expr": "sum by (reason, namespace) (rate(sealed_secrets_controller_unseal_errors_total{}[5m])) > 0\n",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "Sealed Secrets Unseal Error High",
            "description": "High number of errors during unsealing Sealed Secrets in {{ $labels.namespace }} namespace.",
            "runbook_url": "https://github.com/bitnami-labs/sealed-secrets",
        },
    }


# --- image ---------------------------------------------------------------------------------------


def test_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in instructions
    final = text[text.rindex("\nFROM ") :]
    assert "USER 1001:1001" in final
    assert "EXPOSE 8080 8081" in final
    assert 'ENTRYPOINT ["sealer-controller"]' in final
    # the console script the image runs exists
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "sealer-controller" in scripts
    # everything the build copies exists in the context
    for src in re.findall(r"^COPY (?!--from)(.+?) \S+$", text, re.M):
        for path in src.split():
            assert (REPO / path).exists(), path


# --- the published image's name and tags ------------------------------------------------------------

IMAGE_NAME = "ghcr.io/sealer-dev/sealer-controller"


def test_image_tags_are_the_package_version_and_its_minor():
    # `make image` tags exactly X.Y.Z and X.Y of sealer/_version.py (deploy/README.md, "The image").
    dry = subprocess.run(["make", "-n", "-s", "image"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    major, minor, _ = __version__.split(".", 2)
    build = next(cmd for cmd in dry.replace("\\\n", " ").splitlines() if "build-image.sh image" in cmd)
    assert build.split()[-2:] == [f"{IMAGE_NAME}:{__version__}", f"{IMAGE_NAME}:{major}.{minor}"]
    assert f"build/sealer-controller-{__version__}.spdx.json" in build


def test_deploy_uses_the_image_of_this_version():
    images = [
        c["image"]
        for d in resources(DEPLOY)
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images == [f"{IMAGE_NAME}:{__version__}"]
    # The Dockerfile's default VERSION (its labels, and the SBOM step checks it against sealer).
    assert f"ARG VERSION={__version__}" in (DEPLOY / "Dockerfile").read_text().splitlines()


def test_nothing_in_deploy_uses_latest():
    # A moving tag makes a rollout depend on when a node pulled; deploy/ pins versions.
    offending = []
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.suffix not in (".md", ".py"):
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if re.search(r"""(:|\btag:\s*["']?)latest\b""", line):
                    offending.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offending == []


def test_replicas_spread_across_nodes_and_a_disruption_budget(deployment):
    pod = deployment["spec"]["template"]["spec"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for c in spread.values():
        # Preferred, never required: a one-node cluster still runs both replicas.
        assert c["whenUnsatisfiable"] == "ScheduleAnyway" and c["labelSelector"]["matchLabels"] == selector
        assert c["maxSkew"] == 1 and c["matchLabelKeys"] == ["pod-template-hash"]
    anti = pod["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    assert (
        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["labelSelector"]["matchLabels"]
        == selector
    )
    pdb = one("PodDisruptionBudget", "sealed-secrets-controller")
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["selector"]["matchLabels"] == selector
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": pdb["spec"]["selector"]}
    assert deployment["spec"]["replicas"] - pdb["spec"]["maxUnavailable"] >= 1


def test_leader_election_rbac_matches_the_default_lease_name():
    from controller.config import FLAGS

    default_id = next(f.default for f in FLAGS if f.name == "leader-election-id")
    role = one("Role", "sealed-secrets-controller-leader-election")
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert named == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [default_id],
            "verbs": ["get", "update"],
        }
    ]


def test_escrow_component_makes_the_recipients_configmap_the_controller_reads(tmp_path):
    """deploy/escrow with a recipients component of the user's (as its comment shows): one ConfigMap,
    in the controller's namespace, under the controller's default --escrow-recipients name, with the
    certificates and the threshold; without the user's component, an empty one (the alert fires)."""
    from controller.config import parser
    from keys.escrow_recipients import from_objects
    from tests.deploy.chart import KUBECTL, run

    overlay = tmp_path / "overlay"
    (overlay / "recipients").mkdir(parents=True)
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    shutil.copy(REPO / "examples" / "example-cert.pem", overlay / "recipients" / "vault.pem")
    (overlay / "recipients" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nconfigMapGenerator:\n"
        "  - name: sealed-secrets-escrow-recipients\n    namespace: kube-system\n    behavior: merge\n    files: [vault.pem]\n"
        "    literals: [threshold=1]\n"
    )
    (overlay / "kustomization.yaml").write_text("resources: [../deploy]\ncomponents: [../deploy/escrow, recipients]\n")
    built = run([KUBECTL, "kustomize", str(overlay)]).stdout
    (cm,) = [d for d in yaml.safe_load_all(built) if d and d["kind"] == "ConfigMap"]
    assert cm["metadata"]["name"] == parser().parse_args([]).escrow_recipients
    assert cm["metadata"]["namespace"] == "kube-system"
    assert set(cm["data"]) == {"vault.pem", "threshold"}
    got = from_objects([(cm, "cm")], dt.datetime.now(dt.UTC))
    assert len(got.recipients) == 1 and got.threshold == 1 and got.problems == ()
    (overlay / "kustomization.yaml").write_text("resources: [../deploy]\ncomponents: [../deploy/escrow]\n")
    (empty,) = [
        d
        for d in yaml.safe_load_all(run([KUBECTL, "kustomize", str(overlay)]).stdout)
        if d and d["kind"] == "ConfigMap"
    ]
    assert not empty.get("data")

"""deploy/helm/sealer with the real helm, statically: lint, templates for the default and a full set
of values, the defaults equal to deploy/'s kustomize build (as objects), Bitnami's values and names,
the schema, and the copies of deploy/'s files. The install and upgrades against a real API server
are tests/e2e/test_chart_install.py. helm is built by `.ci/build-peers.sh helm` (cached); the
skip/fail policy is tests/peers.py's."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pytest
import yaml

from tests.deploy.chart import (
    BITNAMI_VALUES,
    CHART,
    CHART_NAMES,
    DEPLOY,
    KUSTOMIZE_BINDING_NAMES,
    KUSTOMIZE_NAMES,
    kustomize,
    normalised,
    objects,
    overlay,
    run,
    selects_pods,
    template,
    the,
)
from tests.peers import peer_bin_dir

# Every value this chart honours, set away from its default (the e2e install uses it too).
FULL_VALUES = {
    "fullnameOverride": "sealed-secrets-controller",
    "commonLabels": {"team": "platform"},
    "commonAnnotations": {"owner": "platform@example.com"},
    "image": {
        "registry": "registry.example.com",
        "repository": "mirror/sealer-controller",
        "tag": "0.1.0-rc1",
        "pullPolicy": "Always",
        "pullSecrets": ["regcred"],
    },
    "replicas": 1,
    "revisionHistoryLimit": 5,
    "secretName": "my-keys",
    "updateStatus": False,
    "skipRecreate": True,
    "keyrenewperiod": "0",
    "keyttl": "8760h",
    "keycutofftime": "2026-01-01T00:00:00Z",
    "keySize": 3072,
    "pqKeys": True,
    "rateLimit": 5,
    "rateLimitBurst": 10,
    "additionalNamespaces": ["team-a", "team-b"],
    "labelSelector": "sealer.test/own-controller notin (none)",
    "logLevel": "DEBUG",
    "logFormat": "json",
    "maxRetries": 7,
    "commandArgs": ["--workers", "3"],
    "extraEnvVars": [{"name": "TZ", "value": "UTC"}],
    "resources": {"requests": {"cpu": "10m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
    "podSecurityContext": {
        "enabled": True,
        "fsGroup": 65534,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containerSecurityContext": {
        "enabled": True,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1001,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "podLabels": {"sidecar.istio.io/inject": "false"},
    "podAnnotations": {"prometheus.io/scrape": "true"},
    "priorityClassName": "system-cluster-critical",
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
                ]
            }
        }
    },
    "additionalVolumes": [{"name": "extra", "emptyDir": {}}],
    "additionalVolumeMounts": [{"name": "extra", "mountPath": "/extra"}],
    "containerPorts": {"http": 9080, "metrics": 9081},
    "livenessProbe": {
        "enabled": True,
        "periodSeconds": 20,
        "timeoutSeconds": 3,
        "failureThreshold": 5,
        "initialDelaySeconds": 1,
        "successThreshold": 1,
    },
    "readinessProbe": {"enabled": False},
    "customReadinessProbe": {"tcpSocket": {"port": "http"}},
    "service": {"type": "ClusterIP", "port": 8080, "annotations": {"svc": "yes"}},
    "networkPolicy": {"enabled": True, "egress": {"enabled": True, "kubeapiCidr": "10.0.0.1/32", "kubeapiPort": 443}},
    "serviceAccount": {"create": True, "name": "sealer-sa", "annotations": {"iam": "none"}},
    "rbac": {
        "labels": {"rbac": "yes"},
        "serviceProxier": {
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "developers"}]
        },
    },
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}, "interval": "15s"},
        "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "service": {"port": 9081},
    },
    "pdb": {"create": True, "minAvailable": 1},
    "admissionPolicy": {"enabled": True, "keySizes": [2048, 4096], "validationActions": ["Warn", "Audit"]},
    "extraDeploy": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-extra"}, "data": {"a": "b"}}
    ],
}


@pytest.fixture(scope="module")
def helm() -> Path:
    path = peer_bin_dir("helm") / "helm"
    assert path.is_file(), f"build-peers.sh helm did not produce {path}"
    return path


@pytest.fixture(scope="module")
def default(helm) -> list[dict]:
    return template(helm)


@pytest.fixture(scope="module")
def full(helm) -> list[dict]:
    return template(helm, FULL_VALUES)


def container(docs: list[dict]) -> dict:
    (c,) = the(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return c


def controller_args(argv: list[str]) -> argparse.Namespace:
    """The args as the controller parses them: every rendered flag must be one of its own."""
    from controller.config import parser

    return parser().parse_args(argv)


# --- the chart's own files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "copy, source",
    [
        ("crds/sealedsecrets.bitnami.com.yaml", "crd.yaml"),
        ("files/prometheusrule.yaml", "monitoring/prometheusrule.yaml"),
        ("files/admission-policy.yaml", "admission/policy.yaml"),
    ],
)
def test_chart_copies_are_deploys_files(copy, source):
    """A chart cannot read outside its directory: these are copies, and must stay byte-identical
    (cp deploy/<source> deploy/helm/sealer/<copy> after changing deploy/)."""
    assert (CHART / copy).read_bytes() == (DEPLOY / source).read_bytes(), (
        f"deploy/helm/sealer/{copy} differs from deploy/{source}: copy it again"
    )


@pytest.mark.parametrize("values", [None, FULL_VALUES, BITNAMI_VALUES], ids=["default", "full", "bitnami"])
def test_lint(helm, values, tmp_path):
    argv = [str(helm), "lint", "--strict", str(CHART)]
    if values is not None:
        (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
        argv += ["-f", str(tmp_path / "values.yaml")]
    proc = run(argv, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


# --- defaults: deploy/, under Bitnami's chart's names ------------------------------------------


def test_defaults_are_the_kustomize_base(default):
    """helm template (release sealed-secrets, kube-system) and kubectl kustomize deploy/ give the
    same objects, up to names, labels and selectors (see tests/deploy/chart.py: normalised)."""
    base = kustomize()
    crd = the(base, "CustomResourceDefinition")
    rendered = normalised(default, CHART_NAMES)
    expected = normalised([d for d in base if d is not crd], KUSTOMIZE_NAMES, KUSTOMIZE_BINDING_NAMES)
    assert sorted(rendered) == sorted(expected)
    for key in expected:
        assert rendered[key] == expected[key], key
    # the CRD is in crds/ (helm installs it, never deletes it): the same file
    assert yaml.safe_load((CHART / "crds" / "sealedsecrets.bitnami.com.yaml").read_text())["spec"] == crd["spec"]


def test_defaults_use_bitnamis_names_and_selectors(default):
    names = sorted((d["kind"], d["metadata"]["name"]) for d in default)
    assert names == sorted(
        [
            ("ServiceAccount", "sealed-secrets"),
            ("ClusterRole", "secrets-unsealer"),
            ("ClusterRoleBinding", "sealed-secrets"),
            ("Role", "sealed-secrets-key-admin"),
            ("RoleBinding", "sealed-secrets-key-admin"),
            ("Role", "sealed-secrets-leader-election"),
            ("RoleBinding", "sealed-secrets-leader-election"),
            ("Role", "sealed-secrets-service-proxier"),
            ("RoleBinding", "sealed-secrets-service-proxier"),
            ("Role", "sealed-secrets-escrow"),
            ("RoleBinding", "sealed-secrets-escrow"),
            ("Role", "sealed-secrets-certificate-reader"),  # sealer's own (no Bitnami name to keep)
            ("RoleBinding", "sealed-secrets-certificate-reader"),
            ("Service", "sealed-secrets"),
            ("Service", "sealed-secrets-metrics"),
            ("Deployment", "sealed-secrets"),
            ("PodDisruptionBudget", "sealed-secrets"),
        ]
    )
    deployment = the(default, "Deployment")
    # Bitnami's chart's selector: a helm upgrade from it cannot change a Deployment's selector
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "sealed-secrets",
        "app.kubernetes.io/instance": "sealed-secrets",
    }
    selects_pods(default)
    # kubeseal --controller-name sealed-secrets: the first port of the Service is `http`, 8080
    service = the(default, "Service", "sealed-secrets")
    assert service["spec"]["ports"][0] == {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    for doc in default:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "sealer"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == "kube-system"


@pytest.mark.parametrize(
    "release, override, fullname",
    [
        ("sealed-secrets", {}, "sealed-secrets"),
        ("sealed-secrets-controller", {}, "sealed-secrets-controller"),  # contains the name
        ("ss", {}, "ss-sealed-secrets"),
        ("ss", {"nameOverride": "sealer"}, "ss-sealer"),
        ("ss", {"fullnameOverride": "sealed-secrets-controller"}, "sealed-secrets-controller"),
    ],
)
def test_names_follow_bitnamis_rules(helm, release, override, fullname):
    docs = template(helm, override, release=release)
    assert the(docs, "Deployment")["metadata"]["name"] == fullname
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Service"} == {fullname, f"{fullname}-metrics"}
    proxier = the(docs, "Role", f"{fullname}-service-proxier")
    assert f"http:{fullname}:http" in proxier["rules"][1]["resourceNames"]
    assert the(docs, "ClusterRoleBinding", fullname)["subjects"][0]["name"] == fullname


def test_default_args_are_valid_controller_flags(default):
    args = controller_args(container(default)["args"])
    assert args.update_status is True and args.key_prefix == "sealed-secrets-key"
    assert args.pq_keys is False and not any(a.startswith("--pq-keys") for a in container(default)["args"])


def test_pq_keys_is_the_kustomize_component(helm, tmp_path):
    """pqKeys: true renders deploy/ with the component deploy/pq-keys (object for object, as the
    defaults render deploy/): --pq-keys on the controller, nothing else changed. pqKeys: false is
    the default (tested above: no flag)."""
    docs = template(helm, {"pqKeys": True})
    args = container(docs)["args"]
    assert args.count("--pq-keys") == 1 and controller_args(args).pq_keys is True
    built = kustomize(overlay(tmp_path / "overlay", "pq-keys"))
    crd = the(built, "CustomResourceDefinition")
    rendered = normalised(docs, CHART_NAMES)
    expected = normalised([d for d in built if d is not crd], KUSTOMIZE_NAMES, KUSTOMIZE_BINDING_NAMES)
    assert sorted(rendered) == sorted(expected)
    for key in expected:
        assert rendered[key] == expected[key], key
    assert template(helm, {"pqKeys": False}) == template(helm)


# --- a full set of values --------------------------------------------------------------------------


def test_full_values_render_every_object(full):
    kinds = sorted({d["kind"] for d in full})
    assert kinds == sorted(
        [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Service",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "ServiceMonitor",
            "PrometheusRule",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ConfigMap",
        ]
    )
    selects_pods(full)
    for doc in full:
        if doc["kind"] == "ConfigMap":  # extraDeploy's: as written
            continue
        assert doc["metadata"]["labels"]["team"] == "platform", doc["kind"]
        assert doc["metadata"]["annotations"]["owner"] == "platform@example.com", doc["kind"]
    assert the(full, "ConfigMap")["metadata"]["name"] == "sealed-secrets-extra"  # through tpl


def test_full_values_reach_the_controller(full):
    c = container(full)
    assert c["image"] == "registry.example.com/mirror/sealer-controller:0.1.0-rc1"
    assert c["imagePullPolicy"] == "Always"
    args = controller_args(c["args"])
    assert args.update_status is False  # Bitnami's chart would leave the flag out, i.e. true
    assert args.skip_recreate is True
    assert str(args.key_renew_period) in ("0", "0:00:00")
    assert args.key_cutoff_time == "2026-01-01T00:00:00Z"
    assert args.key_size == 3072 and args.key_prefix == "my-keys"
    assert args.pq_keys is True and c["args"].count("--pq-keys") == 1
    assert args.rate_limit == 5.0 and args.rate_limit_burst == 10
    assert args.additional_namespaces == "team-a,team-b"
    assert args.label_selector == "sealer.test/own-controller notin (none)"
    assert args.log_level == "DEBUG" and args.log_format == "json"
    assert args.max_unseal_retries == 7
    assert args.listen_addr == ":9080" and args.listen_metrics_addr == ":9081"
    assert args.workers == 3  # commandArgs, appended
    assert c["ports"] == [
        {"name": "http", "containerPort": 9080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9081, "protocol": "TCP"},
    ]
    # helm merges maps with the chart's defaults: the CPU limit stays unless set to null
    assert c["resources"] == {"requests": {"cpu": "10m", "memory": "96Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
    assert (
        c["securityContext"].items()
        >= {k: v for k, v in FULL_VALUES["containerSecurityContext"].items() if k != "enabled"}.items()
    )
    assert c["livenessProbe"]["periodSeconds"] == 20 and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"] == {"tcpSocket": {"port": "http"}}
    assert {"name": "TZ", "value": "UTC"} in c["env"]
    assert {"name": "extra", "mountPath": "/extra"} in c["volumeMounts"]
    pod = the(full, "Deployment")["spec"]["template"]
    assert pod["spec"]["securityContext"]["fsGroup"] == 65534
    assert pod["spec"]["serviceAccountName"] == "sealer-sa"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["priorityClassName"] == "system-cluster-critical"
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    assert the(full, "Deployment")["spec"]["revisionHistoryLimit"] == 5


def test_full_values_other_objects(full):
    sa = the(full, "ServiceAccount")
    assert sa["metadata"]["name"] == "sealer-sa" and sa["metadata"]["annotations"]["iam"] == "none"
    for binding in (the(full, "ClusterRoleBinding"), the(full, "RoleBinding", "sealed-secrets-controller-key-admin")):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sealer-sa", "namespace": "kube-system"}]
    assert the(full, "RoleBinding", "sealed-secrets-controller-service-proxier")["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "developers"}
    ]
    netpol = the(full, "NetworkPolicy")["spec"]
    assert netpol["ingress"] == [
        {"ports": [{"port": "http", "protocol": "TCP"}, {"port": "metrics", "protocol": "TCP"}]}
    ]
    assert netpol["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    assert the(full, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    monitor = the(full, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s", "honorLabels": True}
    ]
    assert the(full, "Service", "sealed-secrets-controller-metrics")["spec"]["ports"][0]["port"] == 9081
    # the alerts are deploy/monitoring's; with keyrenewperiod "0" without the key rotation alert
    rules = yaml.safe_load((DEPLOY / "monitoring" / "prometheusrule.yaml").read_text())["spec"]
    rules["groups"][0]["rules"] = [
        r for r in rules["groups"][0]["rules"] if r["alert"] != "SealedSecretsKeyRotationOverdue"
    ]
    assert the(full, "PrometheusRule")["spec"] == rules


@pytest.mark.parametrize(
    "period, threshold",
    [("", "(720 + 24) * 3600"), ("2160h", "(2160 + 24) * 3600"), ("90d", "(720 + 24) * 3600"), (0, None), ("0", None)],
)
def test_key_rotation_alert_follows_keyrenewperiod(helm, period, threshold, tmp_path):
    docs = template(helm, {"keyrenewperiod": period, "metrics": {"prometheusRule": {"enabled": True}}})
    spec = the(docs, "PrometheusRule")["spec"]
    rules = {r["alert"]: r for r in spec["groups"][0]["rules"]}
    source = yaml.safe_load((DEPLOY / "monitoring" / "prometheusrule.yaml").read_text())["spec"]
    count = len(source["groups"][0]["rules"])
    if threshold is None:
        assert "SealedSecretsKeyRotationOverdue" not in rules and len(rules) == count - 1
        return
    assert threshold in rules["SealedSecretsKeyRotationOverdue"]["expr"]
    # and the rendered rules are still valid for Prometheus
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    promtool = peer_bin_dir("prometheus") / "promtool"
    proc = run([str(promtool), "check", "rules", str(tmp_path / "rules.yaml")], check=False)
    assert proc.returncode == 0 and f"SUCCESS: {count} rules found" in proc.stdout, proc.stdout + proc.stderr


def test_admission_policy_is_the_kustomize_component(helm):
    """Rendered with the default key size, the policy and binding are deploy/admission's; other
    values change only the keySizes variable and the binding's actions."""
    component = {
        (d["kind"], d["metadata"]["name"]): d for d in objects((DEPLOY / "admission" / "policy.yaml").read_text())
    }
    for values, sizes, actions in (
        ({}, "[4096]", ["Deny"]),
        (FULL_VALUES["admissionPolicy"], "[2048,4096]", ["Warn", "Audit"]),
    ):
        docs = template(helm, {"admissionPolicy": {"enabled": True, **values}})
        rendered = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"].startswith("ValidatingAdmission")}
        assert sorted(rendered) == sorted(component)
        for doc in rendered.values():
            assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "sealer"
            doc["metadata"].pop("labels")
        policy = rendered[("ValidatingAdmissionPolicy", "sealed-secrets-validation")]
        assert policy["spec"]["variables"][0] == {"name": "keySizes", "expression": sizes}
        assert (
            rendered[("ValidatingAdmissionPolicyBinding", "sealed-secrets-validation")]["spec"]["validationActions"]
            == actions
        )
        expected = copy.deepcopy(component)
        pol = expected[("ValidatingAdmissionPolicy", "sealed-secrets-validation")]
        pol["spec"]["variables"][0]["expression"] = sizes
        expected[("ValidatingAdmissionPolicyBinding", "sealed-secrets-validation")]["spec"]["validationActions"] = (
            actions
        )
        assert rendered == expected


# --- HA ------------------------------------------------------------------------------------------------


def test_replicas_need_leader_election(helm):
    default = template(helm)
    deployment = the(default, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert controller_args(container(default)["args"]).leader_elect is True  # the controller's default
    assert the(default, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    proc = template(helm, {"leaderElection": False}, check=False)
    assert proc.returncode != 0 and "replicas > 1 needs leaderElection: true" in proc.stderr
    docs = template(helm, {"replicas": 1, "leaderElection": False, "pdb": {"minAvailable": 1}})
    assert the(docs, "Deployment")["spec"]["strategy"] == {"type": "Recreate"}
    assert controller_args(container(docs)["args"]).leader_elect is False
    assert the(docs, "PodDisruptionBudget")["spec"] == {  # Bitnami's key, when set, wins
        "minAvailable": 1,
        "selector": the(docs, "Deployment")["spec"]["selector"],
    }


# --- Bitnami's values ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bitnami_chart() -> Path:
    path = peer_bin_dir("bitnami").parent / "chart"  # .ci/build-peers.sh copies it there
    assert (path / "Chart.yaml").is_file(), f"Bitnami's chart not found next to the built peer ({path})"
    return path


def test_bitnamis_whole_default_values_file_is_accepted(helm, bitnami_chart):
    """A values file copied from Bitnami's chart (every key, Bitnami's defaults) installs: the keys
    this chart does not implement are accepted with Bitnami's defaults, and nothing else."""
    values = yaml.safe_load((bitnami_chart / "values.yaml").read_text())
    values.pop("image")  # Bitnami's image is the Go controller; a user switching sets ours
    docs = template(helm, values)
    c = container(docs)
    # Bitnami's defaults where they differ from ours (helm merges them into ours): its fsGroup, probes
    pod_security = the(docs, "Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert pod_security["fsGroup"] == 65534 and pod_security["runAsNonRoot"] is True
    assert c["livenessProbe"]["timeoutSeconds"] == 1
    assert "startupProbe" not in c  # Bitnami's default: off
    controller_args(c["args"])


@pytest.mark.parametrize(
    "values, message",
    [
        ({"fullnameOverides": "x"}, "fullnameOverides"),  # a typo at the top
        ({"image": {"tagg": "1"}}, "tagg"),
        ({"metrics": {"serviceMonitor": {"enable": True}}}, "enable"),
        ({"admissionPolicy": {"keySizes": [1024]}}, "keySizes"),
        ({"ingress": {"enabled": True}}, "ingress"),  # Bitnami's, not implemented: only its default
        ({"privateKeyLabels": {"a": "b"}}, "privateKeyLabels"),
        ({"rbac": {"pspEnabled": True}}, "pspEnabled"),
        ({"logFormat": "yaml"}, "logFormat"),
        ({"pqKeys": "yes"}, "pqKeys"),  # a string would render the flag for "false" too
    ],
)
def test_schema_rejects(helm, values, message):
    proc = template(helm, values, check=False)
    assert proc.returncode != 0, proc.stdout[:300]
    assert "values don't meet the specifications of the schema" in proc.stderr, proc.stderr
    assert message in proc.stderr, proc.stderr


def test_schema_closes_every_object_it_defines():
    """additionalProperties: false wherever the schema lists properties (Kubernetes types it does
    not describe, like resources' limits or a securityContext, stay open)."""
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    open_ = []

    def walk(node, path):
        if isinstance(node, dict):
            if (
                "properties" in node
                and node.get("additionalProperties") is not False
                and path not in ("podSecurityContext", "containerSecurityContext")
            ):
                open_.append(path)
            for key, value in node.get("properties", {}).items():
                walk(value, f"{path}.{key}".strip("."))

    walk(schema, "")
    assert not open_, open_
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def keys(node, path=""):
        for key, value in node.items():
            yield f"{path}{key}"
            if (
                isinstance(value, dict)
                and value
                and key
                not in ("resources", "podSecurityContext", "containerSecurityContext", "nodeSelector", "affinity")
            ):
                yield from keys(value, f"{path}{key}.")

    def described(path):
        node = schema
        for part in path.split("."):
            node = node.get("properties", {}).get(part)
            if node is None:
                return False
        return True

    assert [k for k in keys(values) if not described(k)] == []


def test_admission_policy_needs_kubernetes_1_30(helm):
    proc = template(helm, {"admissionPolicy": {"enabled": True}}, check=False, extra=("--kube-version", "1.29.4"))
    assert proc.returncode != 0 and "needs Kubernetes 1.30 or newer" in proc.stderr, proc.stderr
    assert template(helm, {"admissionPolicy": {"enabled": True}}, extra=("--kube-version", "1.30.0"))
    # and the rest of the chart renders for an older cluster
    assert template(helm, extra=("--kube-version", "1.25.0"))


def test_escrow_values_make_the_recipients_configmap_and_flag(helm):
    """escrow.*: the ConfigMap the controller reads (--escrow-recipients), its certificates
    checked as the controller checks them; the defaults make none and pass no flag."""
    import datetime as dt

    from keys.escrow_recipients import from_objects

    pem = (DEPLOY.parent / "examples" / "example-cert.pem").read_text()
    docs = template(
        helm, {"escrow": {"recipientsName": "vault-recipients", "recipients": {"vault.pem": pem}, "threshold": 1}}
    )
    cm = the(docs, "ConfigMap", "vault-recipients")
    assert cm["metadata"]["namespace"] == "kube-system"
    assert cm["data"] == {"vault.pem": pem, "threshold": "1"}
    assert controller_args(container(docs)["args"]).escrow_recipients == "vault-recipients"
    got = from_objects([(cm, "cm")], dt.datetime.now(dt.UTC))
    assert len(got.recipients) == 1 and got.problems == ()
    default = template(helm)
    assert not [d for d in default if d["kind"] == "ConfigMap"]
    assert controller_args(container(default)["args"]).escrow_recipients == "sealed-secrets-escrow-recipients"
    unnamed = template(helm, {"escrow": {"recipients": {"vault.pem": pem}}})
    assert the(unnamed, "ConfigMap", "sealed-secrets-escrow-recipients")["data"] == {"vault.pem": pem}
    refused = template(helm, {"escrow": {"recipients": {"vault.pem": "not a certificate"}}}, check=False)
    assert refused.returncode != 0 and "escrow" in refused.stderr


def test_certificate_configmap_follows_the_service_name(helm):
    """`sealer seal --controller-name X` looks for the ConfigMap X-certs: the chart names it after
    its Service, lets every authenticated user get that one ConfigMap, and lets the controller
    write it (and delete retired key Secrets)."""
    docs = template(helm, {"retiredKeyGracePeriod": "48h", "fullnameOverride": "vault"})
    args = controller_args(container(docs)["args"])
    assert the(docs, "Service", "vault")  # the Service sealer seal is pointed at
    assert args.certificate_configmap == "vault-certs"
    assert args.retired_key_grace_period.total_seconds() == 48 * 3600
    reader = the(docs, "Role", "vault-certificate-reader")
    assert reader["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["vault-certs"], "verbs": ["get"]}
    ]
    binding = the(docs, "RoleBinding", "vault-certificate-reader")
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
    ]
    admin = the(docs, "Role", "vault-key-admin")["rules"]
    assert {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["vault-certs"],
        "verbs": ["get", "update"],
    } in admin
    assert "delete" in admin[0]["verbs"]
    off = template(helm, {"publishCertificates": False, "rbac": {"certificateReader": {"create": False}}})
    assert controller_args(container(off)["args"]).certificate_configmap == ""
    assert not [d for d in off if d["metadata"]["name"].endswith("certificate-reader")]

"""Rendering deploy/helm/sealer with the real helm (built by `.ci/build-peers.sh helm`), and the
normalisation that compares its objects with deploy/'s kustomize build. Shared by
tests/deploy/test_chart.py (static) and tests/e2e/test_chart_install.py (against the API server)."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "sealer"
KUBECTL = "/usr/bin/kubectl"


def run(
    argv: list[str], *, check: bool = True, input: str | None = None, env: dict | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, input=input, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv[:3]))} ... failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def objects(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def template(
    helm: Path,
    values: dict | None = None,
    *,
    release: str = "sealed-secrets",
    namespace: str = "kube-system",
    check: bool = True,
    extra: tuple[str, ...] = (),
):
    """`helm template` of the chart: the objects, or (check=False) the CompletedProcess."""
    argv = [str(helm), "template", release, str(CHART), "-n", namespace, *extra]
    if values is not None:
        argv += ["-f", "-"]
    proc = run(argv, check=check, input=yaml.safe_dump(values) if values is not None else None)
    return objects(proc.stdout) if check else proc


def kustomize(path: Path = DEPLOY) -> list[dict]:
    return objects(run([KUBECTL, "kustomize", str(path)]).stdout)


def overlay(directory: Path, *components: str) -> Path:
    """An overlay of deploy/ with deploy/'s components (e.g. "pq-keys"), as its docs say to write one."""
    directory.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(DEPLOY, directory)  # kustomize wants relative paths
    (directory / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [rel],
                "components": [f"{rel}/{c}" for c in components],
            }
        )
    )
    return directory


def the(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


# The chart names objects as Bitnami's chart does (so `helm upgrade` from a release of that chart
# adopts them); deploy/ names them as Bitnami's controller.yaml does (so `kubectl apply -k` over a
# controller.yaml install updates them). Both to one vocabulary, for release "sealed-secrets":
CHART_NAMES = {
    "sealed-secrets": "<controller>",
    "sealed-secrets-metrics": "<metrics>",
    "sealed-secrets-key-admin": "<key-admin>",
    "sealed-secrets-leader-election": "<leader-election>",
    "sealed-secrets-service-proxier": "<service-proxier>",
    "sealed-secrets-certs": "<certs>",
    "sealed-secrets-certificate-reader": "<certificate-reader>",
}
KUSTOMIZE_NAMES = {
    "sealed-secrets-controller": "<controller>",
    "sealed-secrets-controller-metrics": "<metrics>",
    "sealed-secrets-key-admin": "<key-admin>",
    "sealed-secrets-controller-leader-election": "<leader-election>",
    "sealed-secrets-service-proxier": "<service-proxier>",
    "sealed-secrets-controller-certs": "<certs>",
    "sealed-secrets-certificate-reader": "<certificate-reader>",
}
# deploy/ binds the key-admin Role with a RoleBinding named after the controller (controller.yaml's
# name), the chart with one named after the Role (Bitnami's chart's).
KUSTOMIZE_BINDING_NAMES = {"sealed-secrets-controller": "<key-admin>"}
# Kubernetes' own defaults for probe fields: the chart spells them out (Bitnami's probe values do).
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "successThreshold": 1}


def normalised(docs: list[dict], names: dict[str, str], binding_names: dict[str, str] | None = None) -> dict:
    """{(kind, name): object} with the names above, and without what legitimately differs:
    - metadata.labels: helm's standard labels vs kustomize's `labels:`; checked apart;
    - selectors and pod template labels: the chart's are Bitnami's chart's (immutable in a
      Deployment), deploy/'s are its own; each is checked to select its pods (selects_pods);
    - probe fields equal to Kubernetes' defaults; comments (gone in YAML anyway)."""

    def name(n: str, kind: str = "") -> str:
        if kind == "RoleBinding" and binding_names and n in binding_names:
            return binding_names[n]
        return names.get(n, n)

    out = {}
    for doc in copy.deepcopy(docs):
        kind, meta = doc["kind"], doc["metadata"]
        meta.pop("labels", None)
        meta["name"] = name(meta["name"], kind)
        if "roleRef" in doc:
            doc["roleRef"]["name"] = name(doc["roleRef"]["name"])
        for subject in doc.get("subjects", []):
            if subject["kind"] == "ServiceAccount":
                subject["name"] = name(subject["name"])
        for rule in doc.get("rules", []):
            if set(rule.get("resources", [])) & {"services", "services/proxy", "configmaps"}:
                rule["resourceNames"] = [
                    ":".join(name(p) for p in rn.split(":")) for rn in rule.get("resourceNames", [])
                ]
        spec = doc.get("spec", {})
        if kind == "Deployment":
            spec.pop("selector")
            pod = spec["template"]
            pod["metadata"].pop("labels")
            pod["spec"]["serviceAccountName"] = name(pod["spec"]["serviceAccountName"])
            for term in pod_selector_terms(pod["spec"]):
                term.pop("labelSelector")
            for container in pod["spec"]["containers"]:
                args = [name(a) for a in container.get("args", [])]
                # The certificate ConfigMap is named after the Service: the chart says so, deploy/
                # keeps the controller's default (sealed-secrets-controller-certs). The same name.
                if "--certificate-configmap" in args and args[args.index("--certificate-configmap") + 1] == "<certs>":
                    del args[args.index("--certificate-configmap") : args.index("--certificate-configmap") + 2]
                container["args"] = args
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    for field, default in PROBE_DEFAULTS.items():
                        if container.get(probe, {}).get(field) == default:
                            del container[probe][field]
        if kind in ("Service",):
            spec.pop("selector")
        if kind in ("PodDisruptionBudget",):
            spec.pop("selector")
        out[(kind, meta["name"])] = doc
    return out


def pod_selector_terms(pod_spec: dict) -> list[dict]:
    """The spread constraints and (anti-)affinity terms of a pod spec: each has a labelSelector."""
    terms = list(pod_spec.get("topologySpreadConstraints", []))
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = pod_spec.get("affinity", {}).get(kind, {})
        terms += rules.get("requiredDuringSchedulingIgnoredDuringExecution", [])
        terms += [t["podAffinityTerm"] for t in rules.get("preferredDuringSchedulingIgnoredDuringExecution", [])]
    return terms


def pod_labels(docs: list[dict]) -> dict:
    return the(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]


def selects_pods(docs: list[dict]) -> None:
    """Every selector in `docs` selects the Deployment's pods."""
    labels = pod_labels(docs)
    for doc in docs:
        spec = doc.get("spec", {})
        selector = spec.get("selector")
        if doc["kind"] == "Service":
            assert selector.items() <= labels.items(), (doc["metadata"]["name"], selector, labels)
        elif doc["kind"] in ("Deployment", "PodDisruptionBudget"):
            assert selector["matchLabels"].items() <= labels.items(), (doc["kind"], selector, labels)
            if doc["kind"] == "Deployment":
                for term in pod_selector_terms(spec["template"]["spec"]):
                    assert term["labelSelector"]["matchLabels"].items() <= labels.items(), term
        elif doc["kind"] == "NetworkPolicy":
            assert spec["podSelector"]["matchLabels"].items() <= labels.items()


# What people set in their values for Bitnami's chart (field-2026.md §2), as one file.
BITNAMI_VALUES = {
    "fullnameOverride": "sealed-secrets-controller",
    "keyrenewperiod": "0",
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "networkPolicy": {"enabled": True},
    "metrics": {"serviceMonitor": {"enabled": True}},
    "rateLimit": 4,
    "rateLimitBurst": 8,
    "additionalNamespaces": [],
    "updateStatus": True,
    "secretName": "sealed-secrets-key",
    "podSecurityContext": {"enabled": True, "fsGroup": 65534},
    "containerSecurityContext": {
        "enabled": True,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1001,
        "capabilities": {"drop": ["ALL"]},
    },
    "pdb": {"create": False},
    "image": {"pullPolicy": "IfNotPresent"},
}

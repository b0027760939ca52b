"""The GitOps guide's flow with the real Flux (docs/gitops.md): source-controller clones a repository
laid out like the guide over HTTP, kustomize-controller applies its production overlay (which holds
a SealedSecret made by `sealer seal`) with `prune: true` and `wait: true`, and our controller, run
as the deploy/ ServiceAccount, unseals it. Flux's health checks are kstatus, reading the status our
controller writes and, before any controller has written one, the status default of deploy/crd.yaml.

The overlay labels its SealedSecrets for this test's own controller instance, so the session's
controller leaves them alone and "no controller running" is a state the test can set up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import kubernetes
import pytest
import yaml

from tests.e2e.flux import GIT_HTTP_BACKEND, FluxControllers, GitServer
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, secret_data
from tests.e2e.sealer_controller import REPO, RunningController
from tests.e2e.waiting import eventually
from tests.peers import peer_bin_dir, unavailable

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
OWN_VALUE = "flux"
NS = "production"  # the guide's
LEGACY_NS = "production-bitnami-crd"
KS_GROUP, KS_VERSION = "kustomize.toolkit.fluxcd.io", "v1"
MARK = "s3cr3t-flux-"
TIMEOUT = "15s"  # the apps Kustomization's health-check timeout: short, so that a stuck wait shows


@pytest.fixture(scope="module")
def flux(control_plane, sealer_controller):
    if not GIT_HTTP_BACKEND.is_file():
        unavailable(f"{GIT_HTTP_BACKEND} not found (.ci/system-packages.sh installs git)")
    controllers = FluxControllers(control_plane, peer_bin_dir("flux"))
    controllers.install_crds()
    controllers.start()
    yield controllers
    controllers.stop()


@pytest.fixture
def git(tmp_path):
    server = GitServer(tmp_path / "git")
    yield server
    server.stop()


# --- the repository ------------------------------------------------------------------------------


def write(root: Path, path: str, docs: list[dict] | dict) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump_all(docs if isinstance(docs, list) else [docs], sort_keys=False))


def sealer_seal(cert: Path, name: str, values: dict[str, str], namespace: str = NS) -> str:
    """`sealer seal --cert … -o yaml`, the Secret on stdin (plaintext never touches the disk)."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": {k: MARK + v for k, v in values.items()},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", "seal", "--cert", str(cert), "-o", "yaml"],
        input=json.dumps(secret).encode(),
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def lay_out(root: Path, git_url: str) -> None:
    """The guide's layout: clusters/production holds Flux's own objects (what `flux bootstrap` writes,
    plus the apps Kustomization), apps/base and apps/production the kustomize overlays."""
    sync = [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"interval": "2s", "url": git_url, "ref": {"branch": "main"}},
        },
        {
            "apiVersion": f"{KS_GROUP}/{KS_VERSION}",
            "kind": "Kustomization",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {
                "interval": "10m",
                "path": "./clusters/production",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            },
        },
    ]
    write(root, "clusters/production/flux-system/gotk-sync.yaml", sync)
    # The guide names this file kustomization.yaml; kustomize would then read it as its own
    # config, so it is apps.yaml here (as Flux's docs do).
    write(
        root,
        "clusters/production/apps.yaml",
        {
            "apiVersion": f"{KS_GROUP}/{KS_VERSION}",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {
                "interval": "10m",
                "retryInterval": "2s",
                "timeout": TIMEOUT,
                "path": "./apps/production",
                "prune": True,
                "wait": True,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            },
        },
    )
    write(
        root,
        "apps/base/api-service/kustomization.yaml",
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["configmap.yaml"]},
    )
    write(
        root,
        "apps/base/api-service/configmap.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "api-service"},
            "data": {"ASPNETCORE_ENVIRONMENT": "Production"},
        },
    )
    write(
        root,
        "apps/production/kustomization.yaml",
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["namespace.yaml", "api-service"],
        },
    )
    write(root, "apps/production/namespace.yaml", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    overlay(root, with_secret=True)


def overlay(root: Path, *, with_secret: bool) -> None:
    write(
        root,
        "apps/production/api-service/kustomization.yaml",
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": NS,
            "resources": ["../../base/api-service", *(["sealed-secret.yaml"] if with_secret else [])],
            # Picks this test's controller instance (see the module docstring); metadata only.
            "labels": [{"pairs": {OWN: OWN_VALUE}}],
        },
    )
    if not with_secret:
        (root / "apps/production/api-service/sealed-secret.yaml").unlink()


def seal_into(root: Path, cert: Path, values: dict[str, str]) -> None:
    (root / "apps/production/api-service/sealed-secret.yaml").write_text(sealer_seal(cert, "api-secrets", values))


# --- reading the cluster -------------------------------------------------------------------------


def kustomization(custom, name: str = "apps") -> dict | None:
    try:
        return custom.get_namespaced_custom_object(KS_GROUP, KS_VERSION, "flux-system", "kustomizations", name)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise


def condition(obj: dict | None, kind: str = "Ready") -> dict:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return {}


def sealed_secret(custom) -> dict | None:
    try:
        return custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "api-secrets")
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise


def wait_ready(custom, revision: str, status: str, timeout: float = 90, seen: list | None = None) -> dict:
    """The apps Kustomization once its Ready condition is `status` for `revision` (attempted)."""

    def check():
        ks = kustomization(custom)
        ready = condition(ks)
        if seen is not None and ready:
            seen.append((ready.get("status"), ready.get("reason")))
        attempted = ((ks or {}).get("status") or {}).get("lastAttemptedRevision", "")
        return ks if attempted.endswith(revision) and ready.get("status") == status else None

    return eventually(
        check,
        timeout,
        0.5,
        f"Kustomization apps Ready={status} at {revision[:8]} (now {condition(kustomization(custom))})",
    )


def plaintext(core) -> dict[str, str] | None:
    return secret_data(core, NS, "api-secrets", MARK)


# --- the scenario --------------------------------------------------------------------------------


def test_guide_flow_with_flux(flux, git, control_plane, sealer_controller, custom, core, other_key, tmp_path):
    started = time.monotonic()
    cert = tmp_path / "cert.pem"
    cert.write_bytes(sealer_controller.cert_pem())  # the test controller below shares the session's keys
    lay_out(git.work, git.url)
    seal_into(git.work, cert, {"DATABASE_URL": "postgres://db/one", "API_KEY": "one"})
    first = git.commit("api-service with its sealed secrets")
    # What `flux bootstrap` does: apply the sync manifests once; Flux manages them from Git after that.
    create_namespace(control_plane, "flux-system")
    control_plane.kubectl("apply", "-f", str(git.work / "clusters/production/flux-system/gotk-sync.yaml"))
    ours = RunningController(
        control_plane,
        "kube-system",
        "--key-renew-period",
        "0",
        "--label-selector",
        f"{OWN}={OWN_VALUE}",
        name="controller-flux",
    )
    try:
        # 1. No controller has reconciled the SealedSecret: Flux must not call it healthy.
        seen: list = []
        ks = wait_ready(custom, first, "False", seen=seen)
        assert all(status != "True" for status, _ in seen), seen
        ready = condition(ks)
        assert ready["reason"] == "HealthCheckFailed", ready
        assert f"SealedSecret/{NS}/api-secrets status: 'InProgress'" in ready["message"], ready
        ss = sealed_secret(custom)
        assert ss is not None and ss["status"] == {"observedGeneration": 0}, ss  # the CRD's default
        assert plaintext(core) is None

        # 2. Our controller starts: it unseals, and Flux's retry finds the SealedSecret Current.
        ours.start()
        ks = wait_ready(custom, first, "True")
        assert ks["status"]["lastAppliedRevision"].endswith(first)
        assert plaintext(core) == {"DATABASE_URL": "postgres://db/one", "API_KEY": "one"}
        assert condition(sealed_secret(custom))["reason"] == "Unsealed"

        # 3. A commit sealed for another cluster's key: Ready=False, naming the SealedSecret; the
        #    SealedSecret says why (our reason and message); the Secret keeps its last good data.
        seal_into(git.work, other_key.cert_path, {"DATABASE_URL": "postgres://db/two", "API_KEY": "two"})
        wrong = git.commit("re-seal api-secrets (wrong certificate)")
        ready = condition(wait_ready(custom, wrong, "False"))
        assert ready["reason"] == "HealthCheckFailed", ready
        assert f"SealedSecret/{NS}/api-secrets status: 'Failed'" in ready["message"], ready
        ss_ready = condition(sealed_secret(custom))
        assert ss_ready["status"] == "False" and ss_ready["reason"] == "ErrUnsealFailed", ss_ready
        assert ss_ready["message"].startswith("no key could decrypt secret"), ss_ready
        assert condition(sealed_secret(custom), "Stalled")["status"] == "True"
        assert plaintext(core) == {"DATABASE_URL": "postgres://db/one", "API_KEY": "one"}

        # 4. The fix: sealed for this cluster again.
        seal_into(git.work, cert, {"DATABASE_URL": "postgres://db/three", "API_KEY": "three"})
        fixed = git.commit("re-seal api-secrets for this cluster")
        ks = wait_ready(custom, fixed, "True")
        assert ks["status"]["lastAppliedRevision"].endswith(fixed)
        assert plaintext(core) == {"DATABASE_URL": "postgres://db/three", "API_KEY": "three"}

        # 5. The file leaves the overlay: Flux prunes the SealedSecret, the garbage collector its Secret.
        overlay(git.work, with_secret=False)
        removed = git.commit("api-secrets no longer needed")
        wait_ready(custom, removed, "True")
        eventually(lambda: sealed_secret(custom) is None, 60, 0.5, "SealedSecret pruned")
        eventually(lambda: plaintext(core) is None, 60, 0.5, "Secret garbage-collected")
        assert core.read_namespaced_config_map("api-service", NS).data == {"ASPNETCORE_ENVIRONMENT": "Production"}
        assert git.requests > 0
        # Figures for docs/development.md (shown with -rP or -s).
        print(
            f"scenario {time.monotonic() - started:.1f} s; peak RSS MiB:",
            {name: round(mib) for name, mib in flux.peak_rss_mib().items()},
        )
        ours.stop()
        assert MARK not in ours.logs()  # no plaintext in our controller's log
    finally:
        ours.stop()
        teardown_flux_objects(control_plane, NS)


def create_namespace(control_plane, name: str) -> None:
    control_plane.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    )


def teardown_flux_objects(control_plane, namespace: str) -> None:
    """Delete the Flux objects while the Flux controllers still run (their finalizers prune), then
    the test's namespace, waiting: a namespace still being emptied would show up as API writes in
    later tests that count them."""
    k = control_plane.kubectl
    k(
        "delete",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "--all",
        "-n",
        "flux-system",
        "--wait=true",
        "--timeout=60s",
        check=False,
    )
    k(
        "delete",
        "gitrepositories.source.toolkit.fluxcd.io",
        "--all",
        "-n",
        "flux-system",
        "--wait=true",
        "--timeout=60s",
        check=False,
    )
    k("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=60s", check=False)


# --- why deploy/crd.yaml has a status default -------------------------------------------------------

# Flux's own example for SealedSecrets (kustomize-controller docs, "Health check expressions").
FLUX_DOCS_EXPRS = [
    {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "failed": "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
        "current": "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
    }
]


def test_under_bitnamis_crd_flux_calls_an_unreconciled_sealedsecret_ready(
    flux, git, control_plane, custom, sealer_controller, tmp_path
):
    """Bitnami's CRD has no status default: with no controller running, kstatus finds no status and
    calls the SealedSecret Current, so `wait: true` passes while no Secret exists (what issue 15
    reported, and why deploy/crd.yaml has the default). Flux's documented healthCheckExprs for
    SealedSecrets hold the Kustomization back instead (their expressions fail on the missing status)."""
    bitnami_crd = peer_bin_dir("bitnami").parent / "crd.yaml"  # .ci/build-peers.sh copies it there
    cert = tmp_path / "cert.pem"
    cert.write_bytes(sealer_controller.cert_pem())
    for path in ("plain", "exprs"):
        (git.work / path).mkdir()
        sealed = yaml.safe_load(sealer_seal(cert, f"{path}-secrets", {"API_KEY": "x"}, LEGACY_NS))
        sealed["metadata"]["labels"] = {OWN: "none"}  # no controller reconciles it
        write(git.work, f"{path}/sealed-secret.yaml", sealed)
    revision = git.commit("two SealedSecrets nobody reconciles")
    create_namespace(control_plane, "flux-system")
    create_namespace(control_plane, LEGACY_NS)
    common = {
        "interval": "10m",
        "retryInterval": "2s",
        "timeout": TIMEOUT,
        "prune": True,
        "wait": True,
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
    }
    objects = [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"interval": "2s", "url": git.url, "ref": {"branch": "main"}},
        },
        {
            "apiVersion": f"{KS_GROUP}/{KS_VERSION}",
            "kind": "Kustomization",
            "metadata": {"name": "plain", "namespace": "flux-system"},
            "spec": {**common, "path": "./plain"},
        },
        {
            "apiVersion": f"{KS_GROUP}/{KS_VERSION}",
            "kind": "Kustomization",
            "metadata": {"name": "exprs", "namespace": "flux-system"},
            "spec": {**common, "path": "./exprs", "healthCheckExprs": FLUX_DOCS_EXPRS},
        },
    ]
    try:
        control_plane.apply_crd(bitnami_crd)
        control_plane.kubectl(
            "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        )
        plain = condition(
            eventually(
                lambda: (k := kustomization(custom, "plain")) and condition(k).get("status") == "True" and k,
                90,
                0.5,
                "Kustomization plain Ready",
            )
        )
        assert plain["reason"] == "ReconciliationSucceeded" and plain["message"].endswith(revision), plain
        ss = custom.get_namespaced_custom_object(GROUP, VERSION, LEGACY_NS, PLURAL, "plain-secrets")
        assert "status" not in ss  # nobody reconciled it, yet Flux called it healthy
        exprs = condition(
            eventually(
                lambda: (k := kustomization(custom, "exprs")) and condition(k).get("status") == "False" and k,
                90,
                0.5,
                "Kustomization exprs Ready=False",
            )
        )
        assert exprs["reason"] == "HealthCheckFailed", exprs
        assert f"SealedSecret/{LEGACY_NS}/exprs-secrets status:" in exprs["message"], exprs
    finally:
        teardown_flux_objects(control_plane, LEGACY_NS)
        control_plane.apply_crd(REPO / "deploy" / "crd.yaml")  # ours again, for the other tests

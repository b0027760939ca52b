"""A fleet of two real clusters, as the GitOps guide runs one (issue 12).

Two control planes (tests/e2e/cluster.py), each with sealer's controller behind the API server's
service proxy (on a test host, as tests/e2e/test_service_proxy.py runs it), are the clusters
`east` and `west` of one repository's .sealer.yaml, named by kubeconfig contexts. `sealer clusters
--refresh` caches both certificates; `sealer seal --all-clusters` writes one SealedSecret per
cluster; each controller opens its own (Synced) and not the other's. West's key is rotated
(`sealer keys rotate`), its keys backed up (`sealer keys backup`), and `sealer reencrypt
--cluster west` re-seals west's files offline with that backup: applied, still Synced, and no
item is sealed for the old key any more. West is `pq: true` (its controller has ML-KEM keys):
its values are hybrid, before and after. `sealer keys usage` says west's old key can be retired
only once nothing uses it. Bitnami's kubeseal opens east's fleet-sealed file.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
import yaml

from sealer.core import crypto, manifests
from sealer.core.certs import parse_certificate
from sealer.core.keyset import KeySet
from sealer.core.privkeys import load_key_pairs
from sealer.core.scope import KEY_HINT_ANNOTATION
from sealer.core.unsealing import open_items
from tests.e2e.cluster import ControlPlane
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, create, get_sealed
from tests.e2e.test_service_proxy import ProxiedController, serve_through_proxy
from tests.e2e.test_switch_controllers import OWN as OWN_LABEL
from tests.e2e.test_switch_controllers import conditions
from tests.e2e.testhost import TestHost, TestHostUnavailable
from tests.e2e.waiting import eventually
from tests.interop.conftest import find_binary
from tests.peers import peer_bin_dir

pytestmark = [pytest.mark.e2e, pytest.mark.interop]

PLAINTEXT = "fleet-s3cr3t-value"
NAMES = ("east", "west")


class Cluster:
    """One member of the fleet: its control plane, test host and controller."""

    def __init__(self, name: str, plane: ControlPlane, host: TestHost, controller: ProxiedController, own: str):
        self.name, self.plane, self.host, self.controller, self.own = name, plane, host, controller, own

    def api(self) -> kubernetes.client.ApiClient:
        return self.plane.api_client()


@pytest.fixture(scope="module")
def fleet(control_plane):
    """east: the session's control plane; west: one of this module's own."""
    try:
        hosts = [TestHost(), TestHost()]
    except TestHostUnavailable as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(e))
    west_plane = ControlPlane(peer_bin_dir("control-plane")).start()
    clusters: dict[str, Cluster] = {}
    try:
        for name, plane, host in zip(NAMES, (control_plane, west_plane), hosts, strict=True):
            host.__enter__()
            serve_through_proxy(plane, host)
            own = f"fleet-{name}-{secrets.token_hex(3)}"
            controller = ProxiedController(plane, host, own)
            # Its certificate ConfigMap is named after its Service (controller-name: below), as the chart does.
            controller.argv += ["--certificate-configmap", "sealed-secrets-certs"]
            if name == "west":
                controller.argv.append("--pq-keys")  # west seals post-quantum (pq: true below)
            clusters[name] = Cluster(name, plane, host, controller.start(), own)
        yield clusters
    finally:
        for cluster in clusters.values():
            cluster.controller.stop()
        for host in hosts:
            host.__exit__(None, None, None)
        west_plane.stop()


@pytest.fixture
def repo(tmp_path, fleet) -> Path:
    """A repository with the guide's layout and a .sealer.yaml naming both clusters by context."""
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, cluster in fleet.items():
        admin = yaml.safe_load(cluster.plane.kubeconfig.read_text())
        kubeconfig["clusters"].append({"name": name, "cluster": admin["clusters"][0]["cluster"]})
        kubeconfig["users"].append({"name": f"{name}-admin", "user": admin["users"][0]["user"]})
        kubeconfig["contexts"].append(
            {"name": f"ctx-{name}", "context": {"cluster": name, "user": f"{name}-admin", "namespace": "default"}}
        )
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    clusters = [
        {
            "name": name,
            "context": f"ctx-{name}",
            "kubeconfig": "../kubeconfig",
            "cert": f"certs/{name}.pem",
            "controller-name": "sealed-secrets",
            "path": "clusters/{cluster}/apps/{namespace}/{name}.sealed.yaml",
            "pq": name == "west",
        }
        for name in NAMES
    ]
    (root / ".sealer.yaml").write_text(yaml.safe_dump({"clusters": clusters}, sort_keys=False))
    return root


def sealer(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = str(repo.parent / "kubeconfig")
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, f"sealer {' '.join(args)}: {proc.stderr[-2000:]}"
    assert PLAINTEXT not in proc.stderr + proc.stdout
    return proc


def apply(cluster: Cluster, path: Path) -> dict:
    """Create or update the SealedSecret of ``path`` in ``cluster`` (labelled for its controller)."""
    doc = yaml.safe_load(path.read_text())
    doc["metadata"].setdefault("labels", {})[OWN_LABEL] = cluster.own
    with cluster.api() as api:
        custom = kubernetes.client.CustomObjectsApi(api)
        ns, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
        try:
            current = get_sealed(custom, ns, name)
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                raise
            return create(custom, doc)
        doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name, doc)


def synced(cluster: Cluster, ns: str, name: str, generation: int) -> dict[str, str]:
    """Waits until the controller has opened generation ``generation``; returns the Secret's data."""

    def check():
        with cluster.api() as api:
            obj = get_sealed(kubernetes.client.CustomObjectsApi(api), ns, name)
            c = conditions(obj).get("Synced")
            if not (c and c["status"] == "True" and obj["status"].get("observedGeneration") == generation):
                return None
            secret = kubernetes.client.CoreV1Api(api).read_namespaced_secret(name, ns)
            return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    return eventually(check, 60, what=f"{cluster.name}: {ns}/{name} Synced at generation {generation}")


def namespace_in(cluster: Cluster, ns: str) -> None:
    with cluster.api() as api:
        try:
            kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
        except kubernetes.client.ApiException as e:
            if e.status != 409:
                raise


def encrypted(path: Path) -> dict[str, str]:
    return yaml.safe_load(path.read_text())["spec"]["encryptedData"]


def fingerprint(pem: bytes) -> str:
    return parse_certificate(pem).fingerprint


def west_usage(repo: Path) -> dict[str, dict]:
    """`sealer keys usage --cluster west -o json` (the fleet's cluster, by its context): each key's row by fingerprint."""
    report = yaml.safe_load(sealer(repo, "keys", "usage", "--cluster", "west", "-o", "json").stdout)
    return {row["fingerprint"]: row for row in report["keys"]}


def test_a_fleet_of_two_clusters(fleet, repo, tmp_path):
    east, west = fleet["east"], fleet["west"]
    # sealer clusters --refresh fetches both certificates through each API server and caches them.
    listed = sealer(repo, "clusters", "--refresh", "-o", "json")
    rows = {r["name"]: r for r in yaml.safe_load(listed.stdout)}
    for cluster in (east, west):
        assert rows[cluster.name]["fingerprint"] == fingerprint(cluster.controller.cert_pem())
        assert (repo / f"certs/{cluster.name}.pem").read_bytes() == cluster.controller.cert_pem()
    assert rows["east"]["fingerprint"] != rows["west"]["fingerprint"]

    # One plaintext Secret, one SealedSecret per cluster, each opened by its own cluster only.
    ns = f"fleet-{secrets.token_hex(3)}"
    secret = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": ns},
            "stringData": {"password": PLAINTEXT, "user": "admin"},
        }
    )
    done = sealer(repo, "seal", "--all-clusters", input=secret)
    files = {c: repo / f"clusters/{c}/apps/{ns}/db.sealed.yaml" for c in NAMES}
    for name, path in files.items():
        assert f"clusters/{name}/apps/{ns}/db.sealed.yaml" in done.stderr
        namespace_in(fleet[name], ns)
        apply(fleet[name], path)
        assert synced(fleet[name], ns, "db", 1) == {"password": PLAINTEXT, "user": "admin"}
    assert yaml.safe_load(files["east"].read_text())["spec"] != yaml.safe_load(files["west"].read_text())["spec"]
    formats = {n: {crypto.is_hybrid(crypto.decode(v)) for v in encrypted(files[n]).values()} for n in NAMES}
    assert formats == {"east": {False}, "west": {True}}  # west is pq: true

    # Rotate west's key; back its keys up; refresh its certificate.
    old_west = fingerprint(west.controller.cert_pem())
    west_kubeconfig = ["--kubeconfig", str(west.plane.kubeconfig), "--controller-namespace", "kube-system"]
    new_fp = sealer(repo, "keys", "rotate", "--pq", *west_kubeconfig).stdout.strip()
    eventually(lambda: fingerprint(west.controller.cert_pem()) == new_fp, 60, what="west seals with its new key")
    backup = tmp_path / "west-keys.yaml"
    sealer(repo, "keys", "backup", *west_kubeconfig, "-w", str(backup))
    sealer(repo, "clusters", "--refresh", "--cluster", "west")
    assert fingerprint((repo / "certs/west.pem").read_bytes()) == new_fp
    # keys usage, from what west's controller recorded: the old key still opens db, so it stays.
    usage = west_usage(repo)
    assert usage[old_west]["retirable"] is False
    assert [s["name"] for s in usage[old_west]["sealedSecrets"]] == ["db"]

    # Re-encrypt the repository for west offline: only west's files move, and only their values and hint.
    east_before = files["east"].read_bytes()
    west_before = files["west"].read_text()
    sealer(repo, "reencrypt", "--cluster", "west", "--recovery-private-key", str(backup))
    assert files["east"].read_bytes() == east_before
    west_after = files["west"].read_text()
    doc = yaml.safe_load(west_after)
    assert doc["metadata"]["annotations"][KEY_HINT_ANNOTATION] == new_fp
    old_values = yaml.safe_load(west_before)["spec"]["encryptedData"]
    restored = west_after.replace(new_fp, old_west)
    for key, value in doc["spec"]["encryptedData"].items():
        restored = restored.replace(value, old_values[key])
    assert restored == west_before
    # No item is sealed for the old key any more: the new key alone opens them all; still hybrid.
    pairs = {crypto.fingerprint(k.public_key()): (k, m) for k, m in load_key_pairs(str(backup))}
    assert set(pairs) == {old_west, new_fp} and all(m is not None for _, m in pairs.values())
    only_new = KeySet()
    only_new.add(*pairs[new_fp])
    assert open_items(doc, only_new) == {"password": PLAINTEXT.encode(), "user": b"admin"}
    assert all(crypto.is_hybrid(crypto.decode(v)) for v in doc["spec"]["encryptedData"].values())
    # Applied, west's controller opens the re-encrypted SealedSecret.
    apply(west, files["west"])
    assert synced(west, ns, "db", 2) == {"password": PLAINTEXT, "user": "admin"}
    # Now nothing in west needs the old key: keys usage says it can be retired (the new one cannot).
    usage = eventually(
        lambda: (u := west_usage(repo))[old_west]["retirable"] and u,
        60,
        what="west's old key retirable once db is re-encrypted",
    )
    assert usage[old_west]["sealedSecrets"] == [] and usage[new_fp]["retirable"] is False

    # Interop: Bitnami's kubeseal opens east's (classic) fleet-sealed file with east's keys.
    east_backup = tmp_path / "east-keys.yaml"
    sealer(
        repo,
        "keys",
        "backup",
        "--kubeconfig",
        str(east.plane.kubeconfig),
        "--controller-namespace",
        "kube-system",
        "-w",
        str(east_backup),
    )
    kubeseal = find_binary(peer_bin_dir("bitnami"), "kubeseal")
    opened = subprocess.run(
        [str(kubeseal), "--recovery-unseal", "--recovery-private-key", str(east_backup), "-o", "yaml"],
        input=files["east"].read_bytes(),
        capture_output=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    assert opened.returncode == 0, opened.stderr.decode()[-1000:]
    data = manifests.parse_stream(opened.stdout, "kubeseal")[0].body["data"]
    assert base64.b64decode(data["password"]).decode() == PLAINTEXT

"""The Kubernetes key store against a real API server: Bitnami's key Secret format, labels and
the legacy key, no overwriting, and backup/restore between namespaces through the CLI."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest

from keys.errors import KeyFormatError, KeyStoreError
from keys.generate import generate_key_pair
from keys.registry import KeyRegistry
from keys.secret_format import KEY_LABEL, StoredKey, to_secret
from keys.stores.kubernetes import KubernetesKeyStore
from sealer.core import crypto
from sealer.kube import Kube

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pairs():
    # 2048 bits: generation at 4096 costs ~0.4 s a key and proves nothing more here.
    return [generate_key_pair(2048) for _ in range(3)]


@pytest.fixture
def core(kube):
    return kubernetes.client.CoreV1Api(kube)


@pytest.fixture
def other_namespace(core):
    name = f"restore-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def sealer(control_plane, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sealer", *args, "--kubeconfig", str(control_plane.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_created_key_secret_has_bitnami_format(kube, core, namespace, pairs):
    store = KubernetesKeyStore(Kube(kube), namespace)
    name = store.add(pairs[0])
    assert re.fullmatch(r"sealed-secrets-key[a-z0-9]{5}", name)  # generateName, as Bitnami's controller
    raw = core.read_namespaced_secret(name, namespace)
    assert raw.type == "kubernetes.io/tls"
    assert raw.metadata.labels == {KEY_LABEL: "active"}
    assert set(raw.data) == {"tls.crt", "tls.key"}
    assert base64.b64decode(raw.data["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert base64.b64decode(raw.data["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----\n")
    (listed,) = store.list()
    assert (listed.name, listed.fingerprint, listed.status, listed.namespace) == (
        name,
        pairs[0].fingerprint,
        "active",
        namespace,
    )


def test_labels_and_the_legacy_key(kube, core, namespace, pairs):
    store = KubernetesKeyStore(Kube(kube), namespace)
    active = store.add(pairs[0])
    retired = store.add(pairs[1])
    core.patch_namespaced_secret(retired, namespace, {"metadata": {"labels": {KEY_LABEL: "compromised"}}})
    # A pre-0.9 key: named exactly <prefix>, no label at all. And an unrelated TLS Secret.
    legacy = to_secret(StoredKey("sealed-secrets-key", pairs[2], None))
    core.create_namespaced_secret(namespace, legacy)
    unrelated = to_secret(StoredKey("some-tls", pairs[0], None))
    core.create_namespaced_secret(namespace, unrelated)

    listed = {k.name: k for k in store.list()}
    assert set(listed) == {active, retired, "sealed-secrets-key"}
    assert listed[retired].status == "compromised" and listed["sealed-secrets-key"].status is None

    registry = KeyRegistry.from_stored(listed.values())
    assert set(registry.fingerprints) == {pairs[0].fingerprint, pairs[2].fingerprint}
    blob = crypto.seal(pairs[1].certificate.public_key(), b"v", b"")
    with pytest.raises(crypto.UndecryptableError):
        registry.open(blob, b"")  # the relabelled key is dropped


def test_never_overwrites_and_reports_bad_key_secrets(kube, core, namespace, pairs):
    store = KubernetesKeyStore(Kube(kube), namespace)
    name = store.add(pairs[0])
    with pytest.raises(KeyStoreError, match="exists already; refusing to overwrite"):
        store.add(pairs[1], name)
    broken = to_secret(StoredKey("sealed-secrets-keybroke", pairs[1]))
    broken["data"]["tls.crt"] = base64.b64encode(pairs[2].cert_pem).decode()  # another key's certificate
    core.create_namespaced_secret(namespace, broken)
    with pytest.raises(KeyFormatError, match="sealed-secrets-keybroke.*does not match the certificate"):
        store.list()
    assert [k.name for k in store.list(skip_invalid=True)] == [name]
    assert len(store.skipped) == 1 and "PRIVATE" not in store.skipped[0]


def test_unreachable_cluster_is_a_clear_error():
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = "https://127.0.0.1:1"
    configuration.retries = False
    with client.ApiClient(configuration) as api:
        with pytest.raises(KeyStoreError, match="cannot list key Secrets: cannot reach the cluster"):
            KubernetesKeyStore(Kube(api), "kube-system").list()


def test_backup_and_restore_into_another_namespace(control_plane, kube, namespace, other_namespace, tmp_path, pairs):
    source = KubernetesKeyStore(Kube(kube), namespace)
    for pair in pairs[:2]:
        source.add(pair)
    sealed = [
        crypto.seal(p.certificate.public_key(), b"sealed-before-%d" % i, b"app/db") for i, p in enumerate(pairs[:2])
    ]

    backup = tmp_path / "backup.yaml"
    r = sealer(control_plane, "keys", "backup", "--controller-namespace", namespace, "-w", str(backup))
    assert r.returncode == 0 and "PLAINTEXT" in r.stderr, r.stderr

    r = sealer(control_plane, "keys", "restore", str(backup), "--controller-namespace", other_namespace)
    assert r.returncode == 0, r.stderr
    assert sorted(line.split()[2] for line in r.stdout.splitlines()) == sorted(p.fingerprint for p in pairs[:2])

    target = KubernetesKeyStore(Kube(kube), other_namespace)
    registry = KeyRegistry.from_stored(target.list())
    for i, blob in enumerate(sealed):
        assert registry.open(blob, b"app/db") == b"sealed-before-%d" % i
    assert {k.name for k in target.list()} == {k.name for k in source.list()}
    assert all(k.namespace == other_namespace for k in target.list())

    again = sealer(control_plane, "keys", "restore", str(backup), "--controller-namespace", other_namespace)
    assert again.returncode == 0 and again.stdout == "" and "already present" in again.stderr

    r = sealer(control_plane, "keys", "list", "--controller-namespace", other_namespace, "-o", "json")
    rows = json.loads(r.stdout)
    assert len(rows) == 2 and sum(row["sealing"] for row in rows) == 1

    r = sealer(control_plane, "keys", "rotate", "--controller-namespace", other_namespace, "--bits", "2048")
    assert r.returncode == 0, r.stderr
    newest = r.stdout.strip()
    rows = json.loads(
        sealer(control_plane, "keys", "list", "--controller-namespace", other_namespace, "-o", "json").stdout
    )
    assert [row["fingerprint"] for row in rows if row["sealing"]] == [newest]


def test_cli_errors_name_the_namespace(control_plane, tmp_path):
    r = sealer(
        control_plane, "keys", "backup", "--controller-namespace", "no-such-namespace", "-w", str(tmp_path / "b")
    )
    assert r.returncode == 1 and r.stderr.strip() == "error: no keys in namespace no-such-namespace: nothing to back up"

"""Wire compatibility with Bitnami's kubeseal, built from the Go module proxy: each tool opens
what the other sealed, in every scope, and the manifests match field for field."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

pytestmark = pytest.mark.interop

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "prod", "labels": {"app": "db"}, "annotations": {"team": "a"}},
    "type": "kubernetes.io/basic-auth",
    "stringData": {"username": "admin", "password": "p@ss: wörd\n"},
    "data": {"binary": "AAEC/w=="},
}
SCOPES = ["strict", "namespace-wide", "cluster-wide"]


def run(argv, stdin: bytes, tmp_path, check=True) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    proc = subprocess.run([str(a) for a in argv], input=stdin, capture_output=True, env=env, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


@pytest.fixture
def sealer(run_cli):
    return run_cli


@pytest.mark.parametrize("scope", SCOPES)
def test_sealer_opens_what_kubeseal_sealed(kubeseal, sealer, test_key, tmp_path, scope):
    sealed = run(
        [kubeseal, "--cert", test_key.cert_path, "--scope", scope], json.dumps(SECRET).encode(), tmp_path
    ).stdout
    opened = sealer("unseal", "--recovery-private-key", str(test_key.key_path), input=sealed)
    assert opened.returncode == 0, opened.stderr
    secret = json.loads(opened.stdout)
    assert secret["data"] == {"binary": "AAEC/w==", "password": "cEBzczogd8O2cmQK", "username": "YWRtaW4="}
    assert secret["type"] == "kubernetes.io/basic-auth"


@pytest.mark.parametrize("scope", SCOPES)
def test_kubeseal_opens_what_sealer_sealed(kubeseal, sealer, test_key, tmp_path, scope):
    sealed = sealer("--cert", str(test_key.cert_path), "--scope", scope, input=json.dumps(SECRET))
    assert sealed.returncode == 0, sealed.stderr
    opened = run([kubeseal, "--recovery-unseal", "--recovery-private-key", test_key.key_path], sealed.stdout, tmp_path)
    assert json.loads(opened.stdout)["data"] == {
        "binary": "AAEC/w==",
        "password": "cEBzczogd8O2cmQK",
        "username": "YWRtaW4=",
    }


def test_scope_is_enforced_the_same_way(kubeseal, sealer, test_key, tmp_path):
    """A strict value moved to another name: neither tool opens it."""
    sealed = json.loads(sealer("--cert", str(test_key.cert_path), input=json.dumps(SECRET)).stdout)
    sealed["metadata"]["name"] = "renamed"
    moved = json.dumps(sealed).encode()
    ks = run([kubeseal, "--recovery-unseal", "--recovery-private-key", test_key.key_path], moved, tmp_path, check=False)
    assert ks.returncode != 0 and b"no key could decrypt secret" in ks.stderr
    ours = sealer("unseal", "--recovery-private-key", str(test_key.key_path), input=moved)
    assert ours.returncode == 1 and b"no key could decrypt secret" in ours.stderr


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_manifest_is_identical_but_for_ciphertext(kubeseal, sealer, test_key, tmp_path, fmt):
    theirs = run(
        [kubeseal, "--cert", test_key.cert_path, "-o", fmt], json.dumps(SECRET).encode(), tmp_path
    ).stdout.decode()
    ours = sealer(
        "--cert", str(test_key.cert_path), "-o", fmt, "--no-key-hint", input=json.dumps(SECRET)
    ).stdout.decode()
    blank = lambda text: re.sub(r"A[QgwI][A-Za-z0-9+/]{100,}={0,2}", "<sealed>", text)  # noqa: E731
    assert blank(ours) == blank(theirs)


def test_raw_values_interoperate(kubeseal, sealer, test_key, tmp_path):
    raw = run(
        [kubeseal, "--raw", "--cert", test_key.cert_path, "--name", "db", "--namespace", "prod"], b"raw-value", tmp_path
    ).stdout
    doc = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod"},
        "spec": {"encryptedData": {"v": raw.decode()}},
    }
    opened = sealer("unseal", "--recovery-private-key", str(test_key.key_path), input=json.dumps(doc))
    assert json.loads(opened.stdout)["data"]["v"] == "cmF3LXZhbHVl"
    ours = sealer(
        "--raw", "--cert", str(test_key.cert_path), "--name", "db", "--namespace", "prod", input="raw-value"
    ).stdout
    doc["spec"]["encryptedData"]["v"] = ours.decode()
    opened = run(
        [kubeseal, "--recovery-unseal", "--recovery-private-key", test_key.key_path], json.dumps(doc).encode(), tmp_path
    )
    assert json.loads(opened.stdout)["data"]["v"] == "cmF3LXZhbHVl"


def test_kubeseal_merges_into_a_sealer_file(kubeseal, sealer, test_key, tmp_path):
    target = tmp_path / "sealed.json"
    target.write_bytes(sealer("--cert", str(test_key.cert_path), input=json.dumps(SECRET)).stdout)
    addition = {**SECRET, "stringData": {"extra": "more"}, "data": {}}
    run([kubeseal, "--cert", test_key.cert_path, "--merge-into", target], json.dumps(addition).encode(), tmp_path)
    opened = sealer("unseal", "--recovery-private-key", str(test_key.key_path), "-f", str(target))
    assert opened.returncode == 0, opened.stderr
    assert sorted(json.loads(opened.stdout)["data"]) == ["binary", "extra", "password", "username"]

"""`sealer clusters` and `sealer seal --all-clusters/--cluster` in-process (the `cli` fixture):
one plaintext Secret, one SealedSecret per cluster in its path:, all or nothing, and the one-line
errors for a missing or expired certificate, a cluster not in .sealer.yaml and contradicting flags.
The context: certificates are fetched from the stand-in API server of test_cluster_cert (the real
one is tests/e2e/test_fleet.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import mlkem

from keys.keypair import KeyPair as PqPair
from sealer.core import crypto
from sealer.core.keyset import KeySet
from sealer.core.unsealing import unseal
from tests.conftest import make_cert
from tests.sealer.test_cli import PLAINTEXT, SECRET
from tests.sealer.test_cluster_cert import TOKEN, fake_apiserver  # noqa: F401 - a fixture

SECOND = SECRET.replace("name: db", "name: web").replace("password:", "token:")


def one_line_error(r, *fragments, status=1):
    assert r.status == status, (r.out, r.err)
    assert r.err.startswith("error: ") and r.err.count("\n") == 1 and "Traceback" not in r.err, r.err
    assert PLAINTEXT not in r.err + r.out
    for fragment in fragments:
        assert fragment in r.err, r.err


@pytest.fixture
def repo(tmp_path, monkeypatch, test_key, other_key):
    """A Git work tree with two clusters' certificates and a .sealer.yaml naming them."""
    (tmp_path / ".git").mkdir()
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "east.pem").write_bytes(test_key.cert_pem)
    (certs / "west.pem").write_bytes(other_key.cert_pem)
    write_config(
        tmp_path,
        {"name": "east", "cert": "certs/east.pem", "path": "clusters/{cluster}/apps/{namespace}/{name}.sealed.yaml"},
        {"name": "west", "cert": "certs/west.pem", "path": "clusters/{cluster}/{namespace}-{name}.json"},
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(root, *clusters):
    (root / ".sealer.yaml").write_text(yaml.safe_dump({"clusters": list(clusters)}, sort_keys=False))


def opened(path, key) -> dict[str, str]:
    doc = yaml.safe_load(path.read_text())
    data = unseal(doc, KeySet([key]))["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def files(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and p.name != ".sealer.yaml"
    }


def test_seal_for_every_cluster_writes_one_sealed_secret_each(cli, repo, test_key, other_key):
    r = cli("seal", "--all-clusters", input=SECRET)
    assert r.status == 0, r.err
    east = repo / "clusters/east/apps/prod/db.sealed.yaml"
    west = repo / "clusters/west/prod-db.json"
    assert r.out == ""  # the files are the output; stderr says which
    assert "clusters/east/apps/prod/db.sealed.yaml (cluster east" in r.err and "clusters/west/prod-db.json" in r.err
    assert PLAINTEXT not in r.err
    # Each opens with its own cluster's key only, and each file is in the format its name says.
    assert opened(east, test_key.private_key) == {"password": PLAINTEXT}
    assert opened(west, other_key.private_key) == {"password": PLAINTEXT}
    with pytest.raises(Exception, match="no key could decrypt"):
        opened(east, other_key.private_key)
    assert east.read_text().startswith("---\n") and json.loads(west.read_text())["kind"] == "SealedSecret"
    assert stat.S_IMODE(east.stat().st_mode) == 0o600
    assert not [p for p in repo.rglob(".sealer-*")]  # no temporary file is left anywhere
    hint = yaml.safe_load(east.read_text())["metadata"]["annotations"]["sealer.dev/sealing-key"]
    assert hint == crypto.fingerprint(test_key.private_key.public_key())


def test_cluster_chooses_and_an_existing_file_keeps_its_items_ciphertext(cli, repo, test_key):
    assert cli("seal", "--cluster", "east", input=SECRET).status == 0
    assert not (repo / "clusters/west").exists()
    east = repo / "clusters/east/apps/prod/db.sealed.yaml"
    before = yaml.safe_load(east.read_text())["spec"]["encryptedData"]["password"]
    more = SECRET.replace("password: s3cr3t-value-123", "apikey: k-123")
    r = cli("seal", "--cluster", "east", input=more)
    assert r.status == 0, r.err
    assert "updated" in r.err
    after = yaml.safe_load(east.read_text())["spec"]["encryptedData"]
    assert after["password"] == before and set(after) == {"apikey", "password"}
    assert opened(east, test_key.private_key) == {"password": PLAINTEXT, "apikey": "k-123"}


def test_several_secrets_in_one_input(cli, repo):
    r = cli("seal", "--cluster", "west", "--cluster", "east", input=SECRET + "---\n" + SECOND)
    assert r.status == 0, r.err
    assert set(files(repo)) >= {
        "clusters/east/apps/prod/db.sealed.yaml",
        "clusters/east/apps/prod/web.sealed.yaml",
        "clusters/west/prod-db.json",
        "clusters/west/prod-web.json",
    }


def test_namespace_from_the_clusters_context(cli, repo, tmp_path):
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "contexts": [{"name": "east-ctx", "context": {"cluster": "x", "namespace": "team-east"}}],
                "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1"}}],
            }
        )
    )
    write_config(
        repo,
        {
            "name": "east",
            "cert": "certs/east.pem",
            "context": "east-ctx",
            "kubeconfig": str(kubeconfig),
            "path": "c/{cluster}/{namespace}/{name}.yaml",
        },
        {"name": "west", "cert": "certs/west.pem", "path": "c/{cluster}/{namespace}/{name}.yaml"},
    )
    no_namespace = SECRET.replace("  namespace: prod\n", "")
    r = cli("seal", "--all-clusters", input=no_namespace)
    assert r.status == 0, r.err
    assert (repo / "c/east/team-east/db.yaml").exists() and (repo / "c/west/default/db.yaml").exists()
    assert yaml.safe_load((repo / "c/east/team-east/db.yaml").read_text())["metadata"]["namespace"] == "team-east"
    # -n wins for every cluster.
    assert cli("seal", "--all-clusters", "-n", "ops", input=no_namespace).status == 0
    assert (repo / "c/east/ops/db.yaml").exists() and (repo / "c/west/ops/db.yaml").exists()


def test_a_missing_certificate_writes_nothing(cli, repo):
    (repo / "certs/west.pem").unlink()
    r = cli("seal", "--all-clusters", input=SECRET)
    one_line_error(r, "cluster west", "certs/west.pem", "no such file")
    assert files(repo) == {"certs/east.pem": (repo / "certs/east.pem").read_bytes()}


def test_an_expired_certificate_writes_nothing_and_changes_no_file(cli, repo, other_key):
    assert cli("seal", "--all-clusters", input=SECRET).status == 0
    before = files(repo)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    (repo / "certs/west.pem").write_bytes(make_cert(other_key.private_key, not_before=old, days=2))
    before["certs/west.pem"] = (repo / "certs/west.pem").read_bytes()
    r = cli("seal", "--all-clusters", input=SECRET.replace("s3cr3t-value-123", "changed-value"))
    one_line_error(r, "cluster west", "certs/west.pem", "expired")
    assert files(repo) == before


def test_a_cluster_not_in_the_config(cli, repo):
    r = cli("seal", "--cluster", "north", input=SECRET)
    one_line_error(r, "cluster 'north' is not in", ".sealer.yaml", "known: east, west", status=2)
    assert not (repo / "clusters").exists()


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--cert", "certs/east.pem"), "--cert cannot be used"),
        (("--raw", "--name", "x"), "--raw cannot be used"),
        (("--merge-into", "x.yaml"), "--merge-into cannot be used"),
        (("-w", "out.yaml"), "-w names one file, but 2 clusters"),
        (("--re-encrypt",), "--re-encrypt cannot be used"),
    ],
)
def test_flags_that_contradict_the_fleet(cli, repo, flags, says):
    r = cli("seal", "--all-clusters", *flags, input=SECRET)
    one_line_error(r, says, status=2)
    assert not (repo / "clusters").exists()


def test_w_with_one_cluster_writes_there(cli, repo, other_key):
    r = cli("seal", "--cluster", "west", "-w", "one.yaml", input=SECRET)
    assert r.status == 0, r.err
    assert opened(repo / "one.yaml", other_key.private_key) == {"password": PLAINTEXT}


def test_bad_config_is_a_usage_error_naming_the_file_and_entry(cli, repo):
    write_config(repo, {"name": "east", "cert": "certs/east.pem", "colour": "red"})
    for args in (("seal", "--all-clusters"), ("clusters",)):
        r = cli(*args, input=SECRET)
        one_line_error(r, ".sealer.yaml: clusters entry 1: unknown key 'colour'", status=2)


def test_without_a_fleet_cluster_is_kubectls(cli, tmp_path, monkeypatch, test_key):
    """No .sealer.yaml with clusters: --cluster keeps kubeseal's meaning (a kubeconfig cluster)."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    r = cli("seal", "--cert", str(test_key.cert_path), "--cluster", "c", input=SECRET)
    assert r.status == 0, r.err
    assert json.loads(r.out)["kind"] == "SealedSecret"
    r = cli("seal", "--all-clusters", input=SECRET)
    one_line_error(r, "no .sealer.yaml found", status=2)


@pytest.fixture
def pq_cert(test_key, tmp_path):
    pair = PqPair.of(
        test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    return pair


def test_a_pq_cluster_gets_hybrid_values(cli, repo, pq_cert, test_key):
    (repo / "certs/east.pem").write_bytes(pq_cert.published_pem())
    write_config(
        repo,
        {"name": "east", "cert": "certs/east.pem", "path": "e/{name}.yaml", "pq": True},
        {"name": "west", "cert": "certs/west.pem", "path": "w/{name}.yaml"},
    )
    assert cli("seal", "--all-clusters", input=SECRET).status == 0
    east = yaml.safe_load((repo / "e/db.yaml").read_text())["spec"]["encryptedData"]
    west = yaml.safe_load((repo / "w/db.yaml").read_text())["spec"]["encryptedData"]
    assert crypto.is_hybrid(crypto.decode(east["password"])) and not crypto.is_hybrid(crypto.decode(west["password"]))
    keys = KeySet()
    keys.add(test_key.private_key, pq_cert.mlkem_key)
    assert unseal(yaml.safe_load((repo / "e/db.yaml").read_text()), keys)["data"]["password"]
    # A pq cluster whose certificate has no ML-KEM key: nothing written.
    (repo / "certs/east.pem").write_bytes(test_key.cert_pem)
    before = files(repo)
    r = cli("seal", "--all-clusters", input=SECOND)
    one_line_error(r, "cluster east (pq: true)", "ML-KEM-768")
    assert files(repo) == before
    # ... and sealer clusters says so.
    r = cli("clusters", "-o", "json")
    one_line_error(r, "cluster east: pq: true, but its certificate has no ML-KEM-768 public key")
    assert json.loads(r.out)[0]["fingerprint"] and json.loads(r.out)[1]["error"] is None


# --- sealer clusters ------------------------------------------------------------------------------


def test_clusters_lists_the_fleet(cli, repo, test_key, other_key):
    r = cli("clusters")
    assert r.status == 0, r.err
    header, east, west = r.out.splitlines()
    assert header.split()[:4] == ["NAME", "CERTIFICATE", "FINGERPRINT", "EXPIRES"]
    assert east.startswith("east") and crypto.fingerprint(test_key.private_key.public_key()) in east
    assert crypto.fingerprint(other_key.private_key.public_key()) in west and "prod" not in west
    rows = json.loads(cli("clusters", "-o", "json").out)
    assert [r["name"] for r in rows] == ["east", "west"]
    assert rows[0]["source"] == f"file {repo / 'certs/east.pem'}" and rows[0]["pq"] is False
    assert 3640 <= rows[0]["daysLeft"] <= 3650 and rows[0]["notAfter"].endswith("Z")
    assert rows[1]["path"] == "clusters/{cluster}/{namespace}-{name}.json"


def test_clusters_names_the_broken_certificate_and_lists_the_rest(cli, repo, other_key):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    (repo / "certs/west.pem").write_bytes(make_cert(other_key.private_key, not_before=old, days=2))
    r = cli("clusters", "-o", "json")
    one_line_error(r, "cluster west", "certs/west.pem", "expired")
    rows = json.loads(r.out)
    assert rows[0]["fingerprint"] and rows[1]["fingerprint"] is None and "expired" in rows[1]["error"]


@pytest.fixture
def context_repo(repo, tmp_path, fake_apiserver):  # noqa: F811 - the imported fixture
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "k", "cluster": {"server": fake_apiserver[0]}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "north-ctx", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    write_config(
        repo,
        {
            "name": "north",
            "context": "north-ctx",
            "kubeconfig": "kubeconfig",
            "cert": "certs/north.pem",
            "controller-name": "sealed-secrets",
            "path": "n/{name}.yaml",
        },
        {
            "name": "live",
            "context": "north-ctx",
            "kubeconfig": "kubeconfig",
            "controller-name": "sealed-secrets",
            "path": "l/{name}.yaml",
        },
    )
    return repo, fake_apiserver[1]


def test_a_context_certificate_is_fetched_once_then_cached(cli, context_repo, test_key):
    repo, seen = context_repo
    fetches = lambda: sum(path.endswith("/cert.pem") for path, _ in seen)  # noqa: E731
    r = cli("seal", "--all-clusters", input=SECRET)
    assert r.status == 0, r.err
    assert (repo / "certs/north.pem").read_bytes() == test_key.cert_pem  # the cache, written
    assert fetches() == 2  # north (then cached) and live (no cache: fetched every time)
    assert opened(repo / "n/db.yaml", test_key.private_key) == {"password": PLAINTEXT}
    assert cli("seal", "--cluster", "north", input=SECOND).status == 0
    assert fetches() == 2  # from the cache: offline
    # --refresh fetches again and rewrites the cache.
    (repo / "certs/north.pem").write_bytes(b"stale")
    r = cli("clusters", "--refresh", "--cluster", "north")
    assert r.status == 0, r.err
    assert fetches() == 3 and (repo / "certs/north.pem").read_bytes() == test_key.cert_pem
    assert "context north-ctx (cached in" in r.out
    # A broken cache says how to mend it.
    (repo / "certs/north.pem").write_bytes(b"stale")
    one_line_error(cli("clusters", "--cluster", "north"), "cluster north", "certs/north.pem", "--refresh")


def test_an_unreachable_context_writes_nothing(cli, context_repo):
    repo, _ = context_repo
    (repo / "kubeconfig").write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "k", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "north-ctx", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    r = cli("seal", "--all-clusters", input=SECRET)
    one_line_error(r, "cluster north", "cannot reach the cluster")
    assert not (repo / "n").exists() and not (repo / "certs/north.pem").exists()
    assert sorted(os.listdir(repo / "certs")) == ["east.pem", "west.pem"]


def imported_by(result) -> set[str]:
    return {
        line.split("|")[-1].strip() for line in result.stderr.decode().splitlines() if line.startswith("import time:")
    }


def test_sealing_for_a_fleet_of_files_imports_no_cluster_code(run_cli, tmp_path, test_key, other_key):
    """Offline is offline for a fleet too: certificate files need no cluster client (~240 ms)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "east.pem").write_bytes(test_key.cert_pem)
    (tmp_path / "west.pem").write_bytes(other_key.cert_pem)
    write_config(
        tmp_path,
        {"name": "east", "cert": "east.pem", "path": "{cluster}/{name}.yaml"},
        {"name": "west", "cert": "west.pem", "path": "{cluster}/{name}.yaml"},
    )
    result = run_cli("seal", "--all-clusters", input=SECRET, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert (tmp_path / "east/db.yaml").exists() and (tmp_path / "west/db.yaml").exists()
    imported = imported_by(result)
    assert "sealer.cli.fleet_seal" in imported  # the probe works
    assert not {m for m in imported if m.split(".")[0] in ("kubernetes", "urllib3", "keyring", "keys", "controller")}
    assert not imported & {"sealer.kube.client", "sealer.kube.config", "sealer.kube.controller_api"}
    # Nor does re-encrypting for a certificate file with a PEM key.
    result = run_cli(
        "reencrypt",
        "--cert",
        str(other_key.cert_path),
        "--recovery-private-key",
        str(test_key.key_path),
        "east",
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    imported = imported_by(result)
    assert "sealer.core.reencrypting" in imported
    assert not {m for m in imported if m.split(".")[0] in ("kubernetes", "urllib3", "keyring", "controller")}


def test_two_clusters_one_file_is_refused(cli, repo):
    write_config(
        repo,
        {"name": "east", "cert": "certs/east.pem", "path": "apps/{namespace}/{name}.yaml"},
        {"name": "west", "cert": "certs/west.pem", "path": "apps/{namespace}/{name}.yaml"},
    )
    one_line_error(cli("seal", "--all-clusters", input=SECRET), "clusters east and west would both write", status=2)
    assert not (repo / "apps").exists()
    # One Secret twice in the input: the same file of one cluster.
    r = cli("seal", "--cluster", "east", input=SECRET + "---\n" + SECRET)
    one_line_error(r, "document 2", "two Secrets go to the same file apps/prod/db.yaml (cluster east)")


def test_the_cluster_variable_stays_kubectls_in_a_fleet(cli, repo, test_key):
    """$SEALED_SECRETS_CLUSTER is kubeseal's kubeconfig cluster: it never chooses fleet clusters."""
    r = cli("seal", "--cert", str(test_key.cert_path), input=SECRET, environ={"SEALED_SECRETS_CLUSTER": "east"})
    assert r.status == 0, r.err
    assert json.loads(r.out)["kind"] == "SealedSecret" and not (repo / "clusters").exists()

"""`sealer reencrypt PATH...` in-process: offline re-sealing for a certificate or a cluster of the
fleet, with local keys (files, backups, key directories); only the moved values and the key hint
change, byte for byte; all or nothing over the run; one-line errors that name the file."""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import mlkem

from keys.backup import backup_document, encrypt, render
from keys.keypair import KeyPair as StoreKeyPair
from keys.secret_format import StoredKey
from keys.stores.directory import DirectoryKeyStore
from sealer.core import crypto, manifests
from sealer.core.certs import parse_certificate
from sealer.core.keyset import KeySet
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope
from sealer.core.sealing import Sealer, merge_into
from sealer.core.unsealing import unseal
from tests.conftest import make_test_key
from tests.sealer.test_fleet_cli import one_line_error, write_config


def secret(name, ns="prod", **items):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": items}


def sealed_for(key, name, ns="prod", scope=None, pq_key=None, **items) -> dict:
    cert = parse_certificate(pq_key.published_pem() if pq_key else key.cert_pem)
    return Sealer(cert, pq=pq_key is not None).seal_secret(secret(name, ns, **items), scope=scope)


def values(path) -> dict[str, dict[str, str]]:
    """Every SealedSecret of a file (Lists too) by name: its sealed values."""
    out = {}
    for doc in manifests.parse_stream(path.read_bytes(), str(path)):
        bodies = doc.body.get("items", [doc.body]) if isinstance(doc.body, dict) else []
        for body in bodies:
            if isinstance(body, dict) and body.get("kind") == "SealedSecret":
                out[body["metadata"]["name"]] = body["spec"]["encryptedData"]
    return out


def opened(path, keys: KeySet) -> dict[str, dict[str, str]]:
    out = {}
    for doc in manifests.parse_stream(path.read_bytes(), str(path)):
        bodies = doc.body.get("items", [doc.body]) if isinstance(doc.body, dict) else []
        for body in bodies:
            if isinstance(body, dict) and body.get("kind") == "SealedSecret":
                data = unseal(body, keys)["data"]
                out[body["metadata"]["name"]] = {k: base64.b64decode(v).decode() for k, v in data.items()}
    return out


def keyset(*pairs) -> KeySet:
    return KeySet([p.private_key for p in pairs])


def fingerprint(pair) -> str:
    return crypto.fingerprint(pair.private_key.public_key())


def assert_only_values_changed(before: str, after: str, moved: dict[str, str]):
    """Putting each old value (and hint) back into the new text gives the old text, byte for byte."""
    restored = after
    for new, old in moved.items():
        assert restored.count(new) >= 1
        restored = restored.replace(new, old)
    assert restored == before


@pytest.fixture(scope="module")
def new_key(tmp_path_factory):
    return make_test_key(tmp_path_factory.mktemp("new"), "new")


@pytest.fixture
def tree(tmp_path, test_key):
    """A repository tree: a commented multi-document YAML file (with a ConfigMap and a template),
    a JSON file, a List, and a file that is no SealedSecret; all sealed for test_key."""
    root = tmp_path / "clusters"
    (root / "apps").mkdir(parents=True)
    db = sealed_for(test_key, "db", password="pw-1", user="admin")
    db["spec"]["template"]["data"] = {"url": "postgres://{{ .user }}:{{ .password }}@db"}
    web = sealed_for(test_key, "web", scope=Scope.NAMESPACE_WIDE, token="tok-2")
    yaml_text = (
        "# sealed for production: do not edit by hand\n"
        + manifests.dump_yaml(db).replace("spec:\n", "spec:  # the sealed part\n", 1)
        + "---\n# a ConfigMap between them\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n"
        + "---\n"
        + manifests.dump_yaml(web)
    )
    (root / "apps" / "db.yaml").write_text(yaml_text)
    wide = sealed_for(test_key, "wide", ns="", scope=Scope.CLUSTER_WIDE, cfg="k-3")
    (root / "apps" / "wide.json").write_text(manifests.dump_json(wide) + "\n")
    listed = {"apiVersion": "v1", "kind": "List", "items": [sealed_for(test_key, "in-list", ns="ops", a="v-4")]}
    (root / "list.json").write_text(json.dumps(listed, indent=4) + "\n")
    (root / "apps" / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    (root / ".git-like").mkdir()
    (root / ".git-like" / "ignored.yaml").write_text("kind: SealedSecret\n{{ broken")
    return root


def snapshot(root) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_reencrypt_a_tree_for_a_certificate(cli, tree, test_key, new_key):
    before = snapshot(tree)
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", str(test_key.key_path), str(tree))
    assert r.status == 0, r.err
    assert "re-encrypted 3 of 3 file(s)" in r.err and "pw-1" not in r.err + r.out
    after = snapshot(tree)
    assert set(after) == set(before)
    assert after["apps/deploy.yaml"] == before["apps/deploy.yaml"]
    new_only = keyset(new_key)
    plain = {
        "apps/db.yaml": {
            "db": {"password": "pw-1", "user": "admin", "url": "postgres://admin:pw-1@db"},
            "web": {"token": "tok-2"},
        },
        "apps/wide.json": {"wide": {"cfg": "k-3"}},
        "list.json": {"in-list": {"a": "v-4"}},
    }
    for name, expected in plain.items():
        assert opened(tree / name, new_only) == expected  # scopes kept: each opens where it did
        old, new = values_of(before[name], name), values(tree / name)
        moved = {new[s][k]: old[s][k] for s in new for k in new[s]}
        moved[fingerprint(new_key)] = fingerprint(test_key)  # the key hint
        assert_only_values_changed(before[name], after[name], moved)
    assert "# a ConfigMap between them" in after["apps/db.yaml"] and "spec:  # the sealed part" in after["apps/db.yaml"]
    # The template is untouched (the byte check above covers it too).
    assert yaml.safe_load_all(after["apps/db.yaml"]).__next__()["spec"]["template"]["data"]


def values_of(text: str, name: str) -> dict[str, dict[str, str]]:
    out = {}
    for doc in manifests.parse_stream(text, name):
        for body in doc.body.get("items", [doc.body]):
            if body.get("kind") == "SealedSecret":
                out[body["metadata"]["name"]] = body["spec"]["encryptedData"]
    return out


def test_only_items_not_yet_sealed_for_the_target_move(cli, tmp_path, test_key, new_key):
    mixed = merge_into(sealed_for(test_key, "db", old="o-1"), sealed_for(new_key, "db", fresh="f-1"))
    path = tmp_path / "db.yaml"
    path.write_text(manifests.dump_yaml(mixed))
    before = values(path)["db"]
    keys = f"{test_key.key_path},{new_key.key_path}"
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", keys, str(path))
    assert r.status == 0, r.err
    after = values(path)["db"]
    assert after["fresh"] == before["fresh"] and after["old"] != before["old"]
    assert "re-sealed old (was sealed for " + fingerprint(test_key) in r.err
    hint = yaml.safe_load(path.read_text())["metadata"]["annotations"][KEY_HINT_ANNOTATION]
    assert hint == fingerprint(new_key)
    # Nothing left to move: the file keeps every byte.
    text = path.read_text()
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", keys, str(path))
    assert r.status == 0 and path.read_text() == text and "re-encrypted 0 of 1" in r.err


def test_from_key_moves_only_that_keys_items(cli, tmp_path, test_key, other_key, new_key):
    mixed = merge_into(sealed_for(test_key, "db", a="a-1"), sealed_for(other_key, "db", b="b-1"))
    path = tmp_path / "db.yaml"
    path.write_text(manifests.dump_yaml(mixed))
    before = values(path)["db"]
    r = cli(
        "reencrypt",
        "--cert",
        str(new_key.cert_path),
        "--from-key",
        fingerprint(test_key),
        "--recovery-private-key",
        str(test_key.key_path),  # other_key's private key is not needed: its items stay
        str(path),
    )
    assert r.status == 0, r.err
    after = values(path)["db"]
    assert after["b"] == before["b"] and after["a"] != before["a"]
    assert opened(path, keyset(new_key, other_key)) == {"db": {"a": "a-1", "b": "b-1"}}
    hints = yaml.safe_load(path.read_text())["metadata"]["annotations"][KEY_HINT_ANNOTATION].split(",")
    assert hints == [fingerprint(new_key), fingerprint(other_key)]


def test_dry_run_lists_and_changes_nothing(cli, tree, test_key, new_key):
    before = snapshot(tree)
    r = cli(
        "reencrypt",
        "--dry-run",
        "--cert",
        str(new_key.cert_path),
        "--recovery-private-key",
        str(test_key.key_path),
        str(tree),
    )
    assert r.status == 0, r.err
    assert snapshot(tree) == before
    lines = r.out.splitlines()
    assert len(lines) == 4 and any("apps/db.yaml: prod/db: re-sealed password, user" in line for line in lines)
    assert "would change" in r.err


def test_a_file_no_key_opens_fails_the_whole_run(cli, tree, test_key, other_key, new_key):
    (tree / "other.yaml").write_text(manifests.dump_yaml(sealed_for(other_key, "x", v="v-5")))
    before = snapshot(tree)
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", str(test_key.key_path), str(tree))
    assert r.status == 1
    assert snapshot(tree) == before  # not even the files that could be re-encrypted
    assert f"error: {tree / 'other.yaml'}, document 1: no local key opens v" in r.err
    assert r.err.strip().splitlines()[-1] == "error: could not re-encrypt 1 file(s) (above); no file was changed"
    assert "v-5" not in r.err


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: os.symlink(p.parent / "nowhere", p), "no such file"),
        (lambda p: p.write_bytes(b"kind: SealedSecret\nx: \xff\n"), "not valid UTF-8"),
        (lambda p: p.write_text("kind: SealedSecret\nmetadata: [\n"), "malformed YAML"),
    ],
)
def test_an_unreadable_file_in_the_tree_fails_the_whole_run(cli, tree, test_key, new_key, make, says):
    bad = tree / "apps" / "bad.yaml"
    make(bad)
    before = snapshot_bytes(tree)
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", str(test_key.key_path), str(tree))
    assert r.status == 1
    assert str(bad) in r.err.splitlines()[0] and says in r.err
    assert snapshot_bytes(tree) == before


def snapshot_bytes(root) -> dict[str, bytes]:
    """Every file's bytes (a dangling symlink is no file)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pq_target_makes_hybrid_values_and_never_downgrades(cli, tmp_path, test_key, new_key):
    pq_pair = StoreKeyPair.of(
        new_key.private_key, x509.load_pem_x509_certificate(new_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    pq_cert = tmp_path / "pq.pem"
    pq_cert.write_bytes(pq_pair.published_pem())
    (tmp_path / ".git").mkdir()
    write_config(tmp_path, {"name": "east", "cert": str(pq_cert), "pq": True, "path": "{name}.yaml"})
    path = tmp_path / "db.yaml"
    path.write_text(manifests.dump_yaml(sealed_for(test_key, "db", a="a-1")))
    r = cli(
        "reencrypt",
        "--config",
        str(tmp_path / ".sealer.yaml"),
        "--cluster",
        "east",
        "--recovery-private-key",
        str(test_key.key_path),
        str(path),
    )
    assert r.status == 0, r.err
    assert crypto.is_hybrid(crypto.decode(values(path)["db"]["a"]))
    keys = KeySet()
    keys.add(new_key.private_key, pq_pair.mlkem_key)
    assert opened(path, keys) == {"db": {"a": "a-1"}}
    # Back to a classic certificate: the hybrid item would be downgraded, so nothing changes.
    text = path.read_text()
    store = tmp_path / "keys"
    DirectoryKeyStore(str(store)).add(pq_pair)
    r = cli("reencrypt", "--cert", str(test_key.cert_path), "--key-dir", str(store), str(path))
    one_line_error_in(r, "post-quantum format", "downgraded")
    assert path.read_text() == text


def one_line_error_in(r, *fragments):
    assert r.status == 1, r.err
    assert "Traceback" not in r.err
    for fragment in fragments:
        assert fragment in r.err, r.err


def test_keys_from_a_backup_an_encrypted_backup_and_a_directory(cli, tmp_path, test_key, new_key):
    pair = StoreKeyPair.of(test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem))
    doc = backup_document([StoredKey("sealed-secrets-keyabcde", pair)])
    plain, locked = tmp_path / "backup.yaml", tmp_path / "backup.enc"
    plain.write_text(render(doc, "yaml"))
    locked.write_text(encrypt(render(doc, "yaml"), "yaml", "correct horse"))
    (tmp_path / "pass").write_text("correct horse\n")
    store = tmp_path / "dir"
    DirectoryKeyStore(str(store)).add(pair)
    for flags in (
        ("--recovery-private-key", str(plain)),
        ("--recovery-private-key", str(locked), "--passphrase-file", str(tmp_path / "pass")),
        ("--recovery-private-key", str(store)),
        ("--key-dir", str(store)),
    ):
        path = tmp_path / "db.yaml"
        path.write_text(manifests.dump_yaml(sealed_for(test_key, "db", a="a-1")))
        r = cli("reencrypt", "--cert", str(new_key.cert_path), *flags, str(path))
        assert r.status == 0, (flags, r.err)
        assert opened(path, keyset(new_key)) == {"db": {"a": "a-1"}}


def test_a_file_without_a_key_hint_gets_none(cli, tmp_path, test_key, new_key):
    doc = sealed_for(test_key, "db", a="a-1")
    del doc["metadata"]["annotations"]
    path = tmp_path / "db.json"
    path.write_text(manifests.dump_json(doc))
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", str(test_key.key_path), str(path))
    assert r.status == 0, r.err
    assert "annotations" not in json.loads(path.read_text())["metadata"]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ((), "give the target: --cluster NAME"),
        (("--cert", "c.pem", "--cluster", "x"), "give the target"),
        (("--cert", "{cert}"), "no private keys"),
        (
            ("--cert", "{cert}", "--recovery-private-key", "{key}", "--from-key", "SHA256:nope"),
            "--from-key SHA256:nope",
        ),
        (("--cert", "{cert}", "--recovery-private-key", "{key}", "--from-key", "{fp}"), "is the target's own key"),
    ],
)
def test_usage_errors(cli, tmp_path, test_key, flags, says):
    args = [f.format(cert=test_key.cert_path, key=test_key.key_path, fp=fingerprint(test_key)) for f in flags]
    r = cli("reencrypt", *args, str(tmp_path))
    one_line_error(r, says, status=2)


def test_a_cluster_not_in_the_config(cli, tmp_path, test_key):
    (tmp_path / ".git").mkdir()
    write_config(tmp_path, {"name": "east", "cert": str(test_key.cert_path), "path": "{name}.yaml"})
    r = cli(
        "reencrypt",
        "--config",
        str(tmp_path / ".sealer.yaml"),
        "--cluster",
        "west",
        "--recovery-private-key",
        str(test_key.key_path),
        str(tmp_path),
    )
    one_line_error(r, "cluster 'west' is not in", status=2)


def test_a_path_that_does_not_exist(cli, tmp_path, test_key, new_key):
    r = cli(
        "reencrypt",
        "--cert",
        str(new_key.cert_path),
        "--recovery-private-key",
        str(test_key.key_path),
        str(tmp_path / "missing"),
    )
    assert r.status == 1 and f"{tmp_path / 'missing'}: no such file or directory" in r.err


def test_a_cluster_without_paths_re_encrypts_its_own_directory(cli, tmp_path, test_key, new_key, monkeypatch):
    (tmp_path / ".git").mkdir()
    write_config(
        tmp_path,
        {"name": "east", "cert": str(new_key.cert_path), "path": "clusters/{cluster}/apps/{namespace}/{name}.yaml"},
    )
    mine, other = tmp_path / "clusters/east/apps/prod/db.yaml", tmp_path / "clusters/west/apps/prod/db.yaml"
    for path in (mine, other):
        path.parent.mkdir(parents=True)
        path.write_text(manifests.dump_yaml(sealed_for(test_key, "db", a="a-1")))
    text = other.read_text()
    monkeypatch.chdir(tmp_path)
    r = cli("reencrypt", "--cluster", "east", "--recovery-private-key", str(test_key.key_path))
    assert r.status == 0, r.err
    assert opened(mine, keyset(new_key)) == {"db": {"a": "a-1"}}
    assert other.read_text() == text  # another cluster's directory is not this cluster's


@pytest.mark.parametrize(
    "layout",
    [
        "same",  # two items, one anchored value
        "elsewhere",  # an item's value is an alias of an annotation
    ],
)
def test_values_behind_anchors_are_refused_not_mangled(cli, tmp_path, test_key, new_key, layout):
    doc = sealed_for(test_key, "db", a="a-1")
    value = doc["spec"]["encryptedData"]["a"]
    text = manifests.dump_yaml(doc).replace(f"a: {value}", f"a: &v {value}")
    if layout == "same":
        text = text.replace(f"a: &v {value}\n", f"a: &v {value}\n    b: *v\n")
    else:
        text = manifests.dump_yaml(doc).replace("annotations:\n", f"annotations:\n    copy: &v {value}\n")
        text = text.replace(f"a: {value}", "a: *v")
    path = tmp_path / "db.yaml"
    path.write_text(text)
    assert manifests.parse_stream(text, "t")[0].body["spec"]["encryptedData"]["a"] == value  # valid YAML
    r = cli("reencrypt", "--cert", str(new_key.cert_path), "--recovery-private-key", str(test_key.key_path), str(path))
    assert r.status == 1 and "cannot edit its sealed values in place" in r.err, r.err
    assert path.read_text() == text


def test_a_hint_of_several_keys_in_a_flow_mapping_is_quoted(cli, tmp_path, test_key, other_key, new_key):
    mixed = merge_into(sealed_for(test_key, "db", a="a-1"), sealed_for(other_key, "db", b="b-1"))
    hint = mixed["metadata"]["annotations"][KEY_HINT_ANNOTATION]
    values_ = mixed["spec"]["encryptedData"]
    text = (
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"
        f"metadata: {{name: db, namespace: prod, annotations: {{{KEY_HINT_ANNOTATION}: '{hint}'}}}}\n"
        f"spec: {{encryptedData: {{a: {values_['a']}, b: {values_['b']}}}}}  # flow style\n"
    )
    text = text.replace(f"'{hint}'", fingerprint(other_key))  # one fingerprint, plain
    path = tmp_path / "db.yaml"
    path.write_text(text)
    r = cli(
        "reencrypt",
        "--cert",
        str(new_key.cert_path),
        "--from-key",
        fingerprint(test_key),
        "--recovery-private-key",
        str(test_key.key_path),
        str(path),
    )
    assert r.status == 0, r.err
    new_hint = f"{fingerprint(new_key)},{fingerprint(other_key)}"
    assert f'{KEY_HINT_ANNOTATION}: "{new_hint}"}}' in path.read_text()
    doc = manifests.parse_stream(path.read_bytes(), "t")[0].body
    assert doc["metadata"]["annotations"][KEY_HINT_ANNOTATION] == new_hint
    assert doc["spec"]["encryptedData"]["b"] == values_["b"]
    assert path.read_text().endswith("}}  # flow style\n")

"""`sealer diff` (issue 12): Git's textconv and external diff driver over real `git diff` / `git log -p`
in a temporary repository; items added, removed and re-sealed, scope, key and template changes;
with the private key, whether each value changed, as a keyed digest; never a value."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sealer.core import sealed_diff
from sealer.core.certs import parse_certificate
from sealer.core.manifests import parse_stream
from sealer.core.scope import Scope
from sealer.core.sealing import Sealer

MARK = "s3cr3t-diff-"
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is part of the system packages (.ci/system-packages.sh)")


def secret(name="db", namespace="prod", **items):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "stringData": {k: MARK + v for k, v in items.items()},
    }


def sealed_yaml(key, doc, scope=None) -> str:
    return yaml.safe_dump(
        Sealer(parse_certificate(key.cert_pem)).seal_secret(doc, scope=Scope(scope) if scope else None), sort_keys=False
    )


def merge_into(key, sealed_text: str, doc) -> str:
    """Re-seal only ``doc``'s items into an existing SealedSecret (the others keep their bytes)."""
    old = yaml.safe_load(sealed_text)
    new = Sealer(parse_certificate(key.cert_pem)).seal_secret(doc)
    old["spec"]["encryptedData"].update(new["spec"]["encryptedData"])
    return yaml.safe_dump(old, sort_keys=False)


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SEALED_SECRETS_"))},
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
        **(env or {}),
    }
    out = subprocess.run([GIT, *args], cwd=repo, capture_output=True, text=True, env=environment, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def sealer_command() -> str:
    # Git runs the driver through the shell: the interpreter of this test run, not whatever is on PATH.
    return f"{sys.executable} -m sealer diff"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / ".gitattributes").write_text("*.sealed.yaml diff=sealed\n")
    return r


def commit(repo: Path, message: str, **files: str) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_textconv_in_git_log_shows_resealed_items_and_never_a_value(repo, test_key, other_key):
    first = sealed_yaml(test_key, secret(user="admin", password="pw1"))
    commit(repo, "first", **{"db.sealed.yaml": first})
    # Only the password re-sealed (merge-into semantics): user keeps its ciphertext.
    second = merge_into(test_key, first, secret(password="pw2"))
    commit(repo, "new password", **{"db.sealed.yaml": second})
    git(repo, "config", "diff.sealed.textconv", f"{sealer_command()} --textconv")
    log = git(repo, "log", "-p", "--format=commit %s")
    plain = git(repo, "log", "-p", "--no-textconv", "--format=commit %s")
    assert "encryptedData" in plain and "encryptedData" not in log  # the textconv is what Git diffed
    new_password = next(line for line in log.splitlines() if line.startswith("+  item password:"))
    assert log.count("-  item password:") == 1 and "-  item user:" not in log  # user was not re-sealed
    assert new_password.startswith("+  item password: sealed ") and "value" not in new_password  # no key: no value
    assert "+  scope: strict" in log and "+  template labels.app" in log
    assert MARK not in log and "pw1" not in log and "pw2" not in log

    # With the private key: the value digest changes with the value and only with it.
    git(
        repo,
        "config",
        "diff.sealed.textconv",
        f"{sealer_command()} --textconv --recovery-private-key {test_key.key_path}",
    )
    keyed = git(repo, "show", "HEAD")
    minus = next(line for line in keyed.splitlines() if line.startswith("-  item password:"))
    plus = next(line for line in keyed.splitlines() if line.startswith("+  item password:"))
    assert minus.split("value ")[1].split()[0] != plus.split("value ")[1].split()[0]
    assert "+  item user:" not in keyed and "-  item user:" not in keyed  # same ciphertext, same value: context
    assert MARK not in keyed and "pw2" not in keyed


def test_textconv_digests_are_keyed_not_plain_hashes(test_key, other_key, tmp_path, cli):
    path = tmp_path / "a.sealed.yaml"
    path.write_text(sealed_yaml(test_key, secret(password="pw1")))
    with_key = cli("diff", "--textconv", "--recovery-private-key", str(test_key.key_path), str(path))
    assert with_key.status == 0, with_key.err
    digest = with_key.out.split("value ")[1].split()[0]
    plain = hashlib.sha256((MARK + "pw1").encode()).digest()
    # Not a hash anyone could recompute from a guess (any encoding of SHA-256 of the value).
    import base64

    assert digest not in (base64.urlsafe_b64encode(plain).decode(), plain.hex(), base64.b64encode(plain).decode())
    assert digest not in base64.urlsafe_b64encode(plain).decode() and digest not in plain.hex()
    # Stable across runs with the same key (Git runs a textconv once per side) ...
    again = cli("diff", "--textconv", "--recovery-private-key", str(test_key.key_path), str(path))
    assert again.out == with_key.out
    # ... and another key set gives another digest key.
    assert sealed_diff.digest_key([test_key.private_key]) != sealed_diff.digest_key([other_key.private_key])


def test_external_diff_driver_summarises_what_changed(repo, test_key, other_key):
    db = sealed_yaml(test_key, secret(user="admin", password="pw1", old="x"))
    commit(repo, "first", **{"apps/db.sealed.yaml": db})
    changed = yaml.safe_load(merge_into(other_key, db, secret(password="pw2", token="t1")))
    del changed["spec"]["encryptedData"]["old"]
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "backend"
    changed["metadata"]["annotations"]["sealer.dev/sealing-key"] = Sealer(
        parse_certificate(other_key.cert_pem)
    ).seal_secret(secret(a="b"))["metadata"]["annotations"]["sealer.dev/sealing-key"]
    wide = sealed_yaml(test_key, secret(name="api", namespace="prod", k="v"), scope="namespace-wide")
    commit(repo, "second", **{"apps/db.sealed.yaml": yaml.safe_dump(changed), "apps/api.sealed.yaml": wide})
    keys = f"{test_key.key_path},{other_key.key_path}"
    git(repo, "config", "diff.sealed.command", f"{sealer_command()} --recovery-private-key {keys}")
    out = git(repo, "diff", "--ext-diff", "HEAD~1", "HEAD")
    assert "sealer diff a/apps/db.sealed.yaml b/apps/db.sealed.yaml" in out
    assert "SealedSecret prod/db: changed" in out
    assert "  + item token" in out and "  - item old" in out
    assert "  ~ item password: re-sealed, value changed" in out
    assert "item user" not in out  # neither re-sealed nor changed
    assert "  template labels.tier: added" in out
    assert "  key: SHA256:" in out and " -> SHA256:" in out
    assert "SealedSecret prod/api: added (1 item)" in out  # a new file: Git passes /dev/null as the old side
    assert MARK not in out and "pw2" not in out and "t1" not in out


def test_value_unchanged_across_a_key_rotation(test_key, other_key, tmp_path, cli):
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(sealed_yaml(test_key, secret(password="same")))
    new.write_text(sealed_yaml(other_key, secret(password="same")))
    keys = f"{test_key.key_path},{other_key.key_path}"
    r = cli("diff", "--recovery-private-key", keys, str(old), str(new))
    assert r.status == 0, r.err
    assert "~ item password: re-sealed, value unchanged (now for SHA256:" in r.out
    assert "key: SHA256:" in r.out
    # Without the old key, the old side cannot be opened: said, not guessed.
    r = cli("diff", "--recovery-private-key", str(other_key.key_path), str(old), str(new))
    assert "value not compared (no key given opens it)" in r.out


def test_scope_change_and_key_directory(test_key, tmp_path, cli):
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(sealed_yaml(test_key, secret(password="pw")))
    new.write_text(sealed_yaml(test_key, secret(password="pw"), scope="cluster-wide"))
    keydir = tmp_path / "keys"
    keydir.mkdir()
    shutil.copy(test_key.key_path, keydir / "k.key")
    r = cli("diff", "--recovery-private-key", str(keydir), str(old), str(new))
    assert r.status == 0, r.err
    assert "scope: strict -> cluster-wide" in r.out and "value unchanged" in r.out


def test_not_a_sealed_secret_is_never_shown(tmp_path, cli):
    path = tmp_path / "oops.sealed.yaml"
    path.write_text(yaml.safe_dump(secret(password="plain")))
    r = cli("diff", "--textconv", str(path))
    assert r.status == 0
    assert r.out == "document 1 (kind Secret): not a SealedSecret (not shown)\n"
    bad = tmp_path / "bad.sealed.yaml"
    bad.write_bytes(b"\xff\xfe not yaml")
    r = cli("diff", "--textconv", str(bad))
    assert r.status == 0 and "not readable as SealedSecrets" in r.out and str(bad) in r.out
    r = cli("diff", str(bad), str(path))  # outside Git's modes: a one-line error
    assert r.status == 1 and r.err.count("\n") == 1 and "Traceback" not in r.err


def test_usage(cli, tmp_path):
    r = cli("diff", "--textconv")
    assert r.status == 2
    r = cli("diff", "a", "b", "c")
    assert r.status == 2
    r = cli("diff", "--recovery-private-key", str(tmp_path / "missing.key"), "a", "b")
    assert r.status == 1 and "missing.key" in r.err


def test_describe_bounds_hostile_items(test_key):
    """Garbage ciphertext is described (digested) and reported, never a crash."""
    from sealer.core.keyset import KeySet

    doc = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"encryptedData": {"a": "!!notbase64", "b": "AgA="}, "template": "nonsense"},
    }
    keys = KeySet([test_key.private_key])
    (d,) = sealed_diff.describe(parse_stream(yaml.safe_dump(doc)), keys, sealed_diff.digest_key([test_key.private_key]))
    assert d.items["a"].problem and d.items["b"].problem and d.template == {}


def test_hostile_names_cannot_forge_lines_and_opening_is_bounded(test_key):
    from sealer.core.keyset import KeySet

    sealer = Sealer(parse_certificate(test_key.cert_pem))
    doc = sealer.seal_secret(secret(**{f"k{i}": "v" for i in range(3)}))
    doc["spec"]["encryptedData"]["evil\n  item password: sealed AAAA\x1b[2J"] = doc["spec"]["encryptedData"]["k0"]
    doc["spec"]["template"]["metadata"]["labels"]["x\ny"] = "\x1b[31m"
    keys = KeySet([test_key.private_key])
    mac = sealed_diff.digest_key([test_key.private_key])
    text = sealed_diff.textconv(sealed_diff.describe(parse_stream(yaml.safe_dump(doc)), keys, mac))
    assert "\x1b" not in text and "\n  item password" not in text
    assert all(line.startswith(("SealedSecret ", "  ")) for line in text.splitlines())
    (d,) = sealed_diff.describe(parse_stream(yaml.safe_dump(doc)), keys, mac, max_opened=2)
    opened = [i for i in d.items.values() if i.value is not None]
    assert len(opened) == 2 and sum("over the limit" in (i.problem or "") for i in d.items.values()) == 2
    assert keys.private_key_operations <= 2 * 4 + 2  # the first describe opened 4, this one 2


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class _Held:
    """Holds the key without showing it: hypothesis prints its arguments when a case fails."""

    def __init__(self, key):
        self.key = key

    def __repr__(self) -> str:
        return "<test key>"


@pytest.fixture
def diff_key(test_key):
    return _Held(test_key)


NAMES = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
VALUES = st.text(min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=st.dictionaries(NAMES, VALUES, min_size=1, max_size=4), new=st.dictionaries(NAMES, VALUES, max_size=4))
def test_summaries_name_exactly_the_changes_and_never_a_value(diff_key, old, new):
    """For any two versions of a Secret: an item is added, removed, or re-sealed with its value
    changed or unchanged, exactly as the plaintexts say; no value appears in any output."""
    from sealer.core.keyset import KeySet

    test_key = diff_key.key
    sealer = Sealer(parse_certificate(test_key.cert_pem))
    before = sealer.seal_secret(secret(**old))
    after = sealer.seal_secret(secret(**new)) if new else {**before, "spec": {**before["spec"], "encryptedData": {}}}
    for name in set(old) & set(new):
        if old[name] == new[name] and len(name) % 2:  # some unchanged items keep their ciphertext (merge-into)
            after["spec"]["encryptedData"][name] = before["spec"]["encryptedData"][name]
    keys, mac = KeySet([test_key.private_key]), sealed_diff.digest_key([test_key.private_key])
    # JSON, as kubeseal writes by default (a YAML key `Y` would be read as true, as Go's YAML reads it).
    a = sealed_diff.describe(parse_stream(json.dumps(before)), keys, mac)
    b = sealed_diff.describe(parse_stream(json.dumps(after)), keys, mac)
    lines = sealed_diff.compare(a, b)
    assert sealed_diff.compare(a, a) == []
    expected = {f"  + item {n}" for n in set(new) - set(old)} | {f"  - item {n}" for n in set(old) - set(new)}
    for n in set(old) & set(new):
        if before["spec"]["encryptedData"][n] != after["spec"]["encryptedData"][n]:
            expected.add(f"  ~ item {n}: re-sealed, value {'unchanged' if old[n] == new[n] else 'changed'}")
    assert {line for line in lines if "item" in line} == expected
    text = "\n".join(lines) + sealed_diff.textconv(a) + sealed_diff.textconv(b)
    assert MARK not in text

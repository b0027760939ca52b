"""The CLI against a hostile working tree: a repository's files may be symlinks placed by an
attacker, and the plaintext it seals must reach no file, temporary file, error or command line.
The real `sealer` entry point runs under a Python audit hook that records every process it starts
and every file it opens for writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MARK = "pl41nt3xt-s3cur1ty-"
SECRET = f"""apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: prod}}
stringData:
  password: {MARK}password
"""
AUDIT = """
import json, os, runpy, sys
log = open(os.environ["SEALER_AUDIT_LOG"], "a")
SPAWN = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")
def hook(event, args):
    if event in SPAWN:
        log.write(json.dumps({"event": event, "args": repr(args)}) + "\\n")
    elif event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & (os.O_WRONLY | os.O_RDWR))
        if writes and isinstance(path, (str, bytes)):
            log.write(json.dumps({"event": "write", "path": os.path.abspath(os.fsdecode(path))}) + "\\n")
    log.flush()
sys.addaudithook(hook)
sys.argv = ["sealer", *sys.argv[1:]]
runpy.run_module("sealer", run_name="__main__", alter_sys=True)
"""


@pytest.fixture
def audited(tmp_path):
    """Run `sealer` as run_cli does, under the audit hook; returns (result, events)."""
    hook = tmp_path / "audit.py"
    hook.write_text(AUDIT)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str, input: str | None = None) -> tuple[subprocess.CompletedProcess, list[dict]]:
        log = tmp_path / "audit.log"
        log.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
        env.update(KUBECONFIG=str(tmp_path / "no-kubeconfig"), TMPDIR=str(tmpdir), SEALER_AUDIT_LOG=str(log))
        result = subprocess.run(
            [sys.executable, str(hook), *args],
            input=input.encode() if input else None,
            capture_output=True,
            env=env,
            cwd=work,
            timeout=60,
        )
        events = [json.loads(line) for line in log.read_text().splitlines()]
        return result, events

    run.work, run.tmpdir = work, tmpdir  # type: ignore[attr-defined]
    return run


def no_plaintext_anywhere(*roots: Path) -> None:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert MARK.encode() not in path.read_bytes(), path


def test_seal_writes_only_its_output_and_starts_nothing(audited, test_key):
    out = audited.work / "sealed.yaml"
    result, events = audited("--cert", str(test_key.cert_path), "-w", str(out), input=SECRET)
    assert result.returncode == 0, result.stderr
    assert [e for e in events if e["event"] != "write"] == []  # no process: no argv to leak into
    written = {Path(e["path"]) for e in events if e["event"] == "write"}
    assert written and all(p.parent == audited.work for p in written), written  # the output and its temp file
    assert list(audited.tmpdir.iterdir()) == []
    assert [p.name for p in audited.work.iterdir()] == ["sealed.yaml"]
    no_plaintext_anywhere(audited.work, audited.tmpdir)
    assert MARK.encode() not in result.stdout + result.stderr


def test_write_replaces_a_symlink_never_its_target(audited, test_key, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = audited.work / "sealed.yaml"
    link.symlink_to(victim)
    result, _ = audited("--cert", str(test_key.cert_path), "-w", str(link), input=SECRET)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and "SealedSecret" in link.read_text()
    no_plaintext_anywhere(audited.work)


def test_merge_into_a_symlink_to_a_private_file_leaks_nothing(audited, test_key, tmp_path):
    victim = tmp_path / "id_rsa"
    victim.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{MARK}key\n-----END OPENSSH PRIVATE KEY-----\n")
    link = audited.work / "sealed.yaml"
    link.symlink_to(victim)
    result, events = audited("--cert", str(test_key.cert_path), "--merge-into", str(link), input=SECRET)
    assert result.returncode == 1
    assert MARK.encode() not in result.stdout + result.stderr
    assert b"Traceback" not in result.stderr and result.stderr.count(b"\n") == 1
    assert victim.read_text().count(MARK) == 1 and link.is_symlink()  # nothing written, either way
    assert [e for e in events if e["event"] == "write"] == []


def test_merge_into_a_symlinked_sealed_file_replaces_the_link(audited, test_key, tmp_path):
    elsewhere = tmp_path / "elsewhere.yaml"
    first, _ = audited("--cert", str(test_key.cert_path), "-o", "yaml", input=SECRET)
    elsewhere.write_bytes(first.stdout)
    link = audited.work / "sealed.yaml"
    link.symlink_to(elsewhere)
    result, _ = audited(
        "--cert", str(test_key.cert_path), "--merge-into", str(link), input=SECRET.replace("password:", "other:")
    )
    assert result.returncode == 0, result.stderr
    assert elsewhere.read_bytes() == first.stdout
    assert not link.is_symlink() and "other:" in link.read_text()
    no_plaintext_anywhere(audited.work)


@pytest.mark.parametrize(
    "bad",
    [
        SECRET + "  extra: [unclosed\n",
        SECRET.replace(f"{MARK}password", f"[{MARK}password]"),
        SECRET.replace("stringData:", "data:").replace(f"{MARK}password", f"{MARK}not*base64"),
        SECRET.replace("namespace: prod", "namespace: [prod]"),
    ],
)
def test_errors_name_the_field_never_the_value(audited, test_key, bad):
    out = audited.work / "sealed.json"
    result, events = audited("--cert", str(test_key.cert_path), "-w", str(out), input=bad)
    assert result.returncode == 1
    assert MARK.encode() not in result.stdout + result.stderr
    assert b"Traceback" not in result.stderr and result.stderr.startswith(b"error: ")
    assert not out.exists() and list(audited.work.iterdir()) == []  # nothing half-written
    assert [e for e in events if e["event"] != "write"] == []

"""``sealer keys ...`` and ``sealer cert`` as a user runs them: exit codes, stdout/stderr, files,
and one clear ``error:`` line (no traceback, no key material) for each kind of bad input."""

from __future__ import annotations

import base64
import json
import os
import pty
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from keys.secret_format import StoredKey, to_secret
from sealer.cli.environment import Environment
from sealer.cli.main import main

from .conftest import REPO


@dataclass
class Result:
    code: int
    out: str
    err: str


def sealer(capsys, *args: str, stdin: str | None = None, monkeypatch=None, **environment) -> Result:
    """Run the CLI in-process (fast) in an in-memory Environment with this process's variables;
    ``main`` turns every error into ``error: ...`` and exit 1."""
    env = Environment.in_memory((stdin or "").encode(), dict(os.environ), **environment)
    code = main(list(args), env)
    return Result(int(code), env.stdout.getvalue(), env.stderr.getvalue())


def sealer_process(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        **kwargs,
    )


def assert_clean_error(result: Result, *expected: str) -> None:
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.err and "PRIVATE KEY" not in result.err + result.out


@pytest.fixture
def key_dir(tmp_path, capsys):
    d = tmp_path / "a"
    r = sealer(capsys, "keys", "generate", "--bits", "2048", "--out", str(d), "--cn", "test")
    assert r.code == 0, r.err
    return d


def only_key_file(d: Path) -> Path:
    (path,) = d.glob("*.yaml")
    return path


def test_generate_prints_the_fingerprint(key_dir, capsys):
    r = sealer(capsys, "keys", "list", "--dir", str(key_dir), "-o", "json")
    (row,) = json.loads(r.out)
    assert row["label"] == "active" and row["sealing"] and row["bits"] == 2048
    assert stat.S_IMODE(os.stat(key_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(only_key_file(key_dir)).st_mode) == 0o600
    r = sealer(capsys, "keys", "generate", "--bits", "2048", "--out", str(key_dir), "--ttl", "1h")
    assert r.code == 0 and r.out.startswith("SHA256:") and len(r.out.strip().split()) == 1
    assert "stored key sealed-secrets-key" in r.err


def test_list_table_and_yaml(key_dir, capsys):
    r = sealer(capsys, "keys", "list", "--dir", str(key_dir))
    header, row = r.out.splitlines()
    assert header.split() == ["FINGERPRINT", "NAME", "CREATED", "EXPIRES", "STATUS"]
    assert row.startswith("SHA256:") and row.endswith("active, sealing")
    r = sealer(capsys, "keys", "list", "--dir", str(key_dir), "-o", "yaml")
    assert yaml.safe_load(r.out)[0]["name"].startswith("sealed-secrets-key")


def test_generate_needs_one_store(tmp_path, capsys):
    assert_clean_error(sealer(capsys, "keys", "generate", "--bits", "2048"), "--out DIR or --keyring NAME")
    assert_clean_error(
        sealer(capsys, "keys", "generate", "--out", str(tmp_path / "x"), "--keyring", "k"), "only one of"
    )
    assert_clean_error(sealer(capsys, "keys", "generate", "--bits", "1024", "--out", str(tmp_path / "x")), "too small")
    assert_clean_error(
        sealer(capsys, "keys", "generate", "--ttl", "10y", "--out", str(tmp_path / "x")), "--ttl", "unknown unit"
    )


def test_cert_and_rotate(key_dir, capsys):
    first = sealer(capsys, "cert", "--dir", str(key_dir)).out
    assert first.startswith("-----BEGIN CERTIFICATE-----")
    r = sealer(capsys, "keys", "rotate", "--dir", str(key_dir), "--bits", "2048")
    assert r.code == 0 and r.out.startswith("SHA256:")
    second = sealer(capsys, "cert", "--dir", str(key_dir)).out
    assert second != first  # the new key seals
    assert_clean_error(sealer(capsys, "cert", "--dir", str(key_dir.parent / "empty")), "no such directory")


def test_backup_restore_round_trip_opens_old_secrets(key_dir, tmp_path, capsys, monkeypatch):
    cert = tmp_path / "cert.pem"
    cert.write_text(sealer(capsys, "cert", "--dir", str(key_dir)).out)
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\nstringData: {password: hunter2}\n"
    )
    sealed = tmp_path / "sealed.yaml"
    assert sealer(capsys, "seal", "--cert", str(cert), "-f", str(secret), "-w", str(sealed)).code == 0

    backup = tmp_path / "backup.yaml"
    r = sealer(capsys, "keys", "backup", "--dir", str(key_dir), "-w", str(backup))
    assert r.code == 0 and r.out == ""
    assert "WARNING" in r.err and "PLAINTEXT" in r.err and "NEVER in Git" in r.err
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert yaml.safe_load(backup.read_text())["kind"] == "List"

    restored_dir = tmp_path / "b"
    r = sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(restored_dir))
    assert r.code == 0 and r.out.startswith("restored sealed-secrets-key"), r.err
    r = sealer(capsys, "unseal", "--recovery-private-key", str(only_key_file(restored_dir)), "-f", str(sealed))
    assert r.code == 0 and json.loads(r.out)["data"]["password"] == base64.b64encode(b"hunter2").decode()

    # Restoring again is a no-op; a dry run writes nothing.
    r = sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(restored_dir))
    assert r.code == 0 and "already present" in r.err and r.out == ""
    r = sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(tmp_path / "c"), "--dry-run")
    assert r.out.startswith("would restore ") and not (tmp_path / "c").exists()

    # Backup to stdout (a pipe here) works too.
    r = sealer(capsys, "keys", "backup", "--dir", str(key_dir), "-o", "json")
    assert json.loads(r.out)["kind"] == "List"


def test_restore_never_overwrites_a_different_key(key_dir, tmp_path, capsys, make_pair):
    backup = tmp_path / "backup.yaml"
    sealer(capsys, "keys", "backup", "--dir", str(key_dir), "-w", str(backup))
    name = only_key_file(key_dir).stem
    doc = yaml.safe_load(backup.read_text())
    doc["items"].append(to_secret(StoredKey(name + "x", make_pair())))
    doc["items"][0] = to_secret(StoredKey(name, make_pair()))  # same name, another key
    backup.write_text(yaml.safe_dump(doc))
    before = only_key_file(key_dir).read_bytes()
    r = sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(key_dir))
    assert_clean_error(r, "refusing to overwrite", name, "nothing was restored")
    assert only_key_file(key_dir).read_bytes() == before and len(list(key_dir.glob("*.yaml"))) == 1


def test_encrypted_backup(key_dir, tmp_path, capsys, monkeypatch):
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    backup = tmp_path / "backup.enc"
    r = sealer(capsys, "keys", "backup", "--dir", str(key_dir), "--passphrase-file", str(passfile), "-w", str(backup))
    assert r.code == 0 and "encrypted with your passphrase" in r.err
    text = backup.read_text()
    assert "SealerEncryptedBackup" in text and "tls.key" not in text

    assert_clean_error(
        sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(tmp_path / "b")), "no passphrase"
    )  # stdin is not a terminal: no prompt
    monkeypatch.setenv("SEALER_BACKUP_PASSPHRASE", "wrong")
    assert_clean_error(
        sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(tmp_path / "b")), "wrong passphrase"
    )
    assert not (tmp_path / "b").exists()
    monkeypatch.setenv("SEALER_BACKUP_PASSPHRASE", "correct horse battery staple")
    r = sealer(capsys, "keys", "restore", str(backup), "--to-dir", str(tmp_path / "b"))
    assert r.code == 0 and r.out.startswith("restored ")

    # The variable alone is enough to ask for encryption.
    r = sealer(capsys, "keys", "backup", "--dir", str(key_dir), "-w", str(tmp_path / "again"))
    assert "SealerEncryptedBackup" in (tmp_path / "again").read_text()


def test_prompted_passphrase(key_dir, tmp_path, capsys, monkeypatch):
    asked = []

    def prompt(text, confirm):
        asked.append((text, confirm))
        return "s3cret"

    r = sealer(
        capsys,
        "keys",
        "backup",
        "--dir",
        str(key_dir),
        "--encrypt",
        "-w",
        str(tmp_path / "b.enc"),
        stdin_isatty=True,
        prompt=prompt,
    )
    assert r.code == 0, r.err
    assert asked == [("Backup passphrase", True)]  # asked once, and confirmed (a typo would lose the backup)
    assert "s3cret" not in r.out + r.err
    monkeypatch.setenv("SEALER_BACKUP_PASSPHRASE", "s3cret")
    assert sealer(capsys, "keys", "restore", str(tmp_path / "b.enc"), "--to-dir", str(tmp_path / "c")).code == 0


def test_backup_refuses_a_terminal(key_dir):
    main_fd, tty_fd = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sealer", "keys", "backup", "--dir", str(key_dir)],
            stdout=tty_fd,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    finally:
        os.close(tty_fd)
        os.close(main_fd)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: refusing to write private keys to a terminal: redirect stdout to a file or use -w FILE"
    )


@pytest.fixture
def good_backup(key_dir, tmp_path, capsys) -> dict:
    path = tmp_path / "good.yaml"
    sealer(capsys, "keys", "backup", "--dir", str(key_dir), "-w", str(path))
    return yaml.safe_load(path.read_text())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_bad_backups_are_one_clear_line(good_backup, tmp_path, capsys, make_pair):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    item = good_backup["items"][0]
    ed_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_pem = base64.b64decode(item["data"]["tls.key"])
    corrupt = key_pem[:200] + b"!!" + key_pem[202:]
    cases = {
        "corrupt PEM": ({"tls.key": _b64(corrupt)}, "not a valid PEM private key"),
        "non-RSA key": ({"tls.key": _b64(ed_pem)}, "expected RSA"),
        "key/cert mismatch": ({"tls.crt": _b64(make_pair().cert_pem)}, "does not match the certificate"),
        "missing field": ({"tls.crt": None}, "missing data.tls.crt"),
    }
    for what, (change, message) in cases.items():
        doc = json.loads(json.dumps(good_backup))
        for field, value in change.items():
            if value is None:
                del doc["items"][0]["data"][field]
            else:
                doc["items"][0]["data"][field] = value
        path = tmp_path / (what.replace(" ", "-").replace("/", "-") + ".yaml")
        path.write_text(yaml.safe_dump(doc))
        r = sealer(capsys, "keys", "restore", str(path), "--to-dir", str(tmp_path / "out"))
        assert_clean_error(r, f"{path}, document 1, item 1", message)
        assert item["data"]["tls.key"][60:100] not in r.err
        assert not (tmp_path / "out").exists(), what  # nothing partially written
    assert_clean_error(
        sealer(capsys, "keys", "restore", str(tmp_path / "nope.yaml"), "--to-dir", str(tmp_path / "o")), "no such file"
    )


def test_store_list_errors(tmp_path, capsys):
    assert_clean_error(sealer(capsys, "keys", "list", "--dir", str(tmp_path / "nope")), "no such directory")
    assert_clean_error(sealer(capsys, "keys", "list", "--kubeconfig", str(tmp_path / "nope")), "kubeconfig")
    assert_clean_error(
        sealer(capsys, "keys", "backup", "--dir", str(tmp_path), "-w", str(tmp_path / "b")), "nothing to back up"
    )


def test_help_does_not_import_the_heavy_parts():
    code = (
        "import sys; from sealer.cli import main; "
        "print(sorted(m for m in ('keys', 'cryptography', 'yaml', 'keyring', 'kubernetes', 'urllib3', "
        "'prometheus_client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"
    r = sealer_process("keys", "--help")
    assert r.returncode == 0 and "backup" in r.stdout and "restore" in r.stdout


def test_the_definitions_default_key_prefix_is_the_key_formats():
    # sealer.cli.options repeats the constant so that --help need not import keys.
    from keys.secret_format import DEFAULT_PREFIX
    from sealer.cli.options import DEFAULT_KEY_PREFIX

    assert DEFAULT_KEY_PREFIX == DEFAULT_PREFIX


# --- the keyring, through the real command line ----------------------------------------------


def test_keyring_commands(secret_service, tmp_path):
    env = {**secret_service.env, "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    name = f"cli-{os.getpid()}"
    r = sealer_process("keys", "generate", "--bits", "2048", "--keyring", name, env=env)
    assert r.returncode == 0, r.stderr
    fingerprint = r.stdout.strip()
    r = sealer_process("keys", "list", "--keyring", name, "-o", "json", env=env)
    assert [row["fingerprint"] for row in json.loads(r.stdout)] == [fingerprint]
    assert sealer_process("cert", "--keyring", name, env=env).stdout.startswith("-----BEGIN CERTIFICATE-----")
    backup = tmp_path / "backup.yaml"
    r = sealer_process("keys", "backup", "--keyring", name, "-w", str(backup), env=env)
    assert r.returncode == 0, r.stderr
    r = sealer_process("keys", "restore", str(backup), "--keyring", name + "-copy", env=env)
    assert r.returncode == 0 and fingerprint in r.stdout, r.stderr
    r = sealer_process("keys", "list", "--keyring", name + "-copy", "-o", "json", env=env)
    assert [row["fingerprint"] for row in json.loads(r.stdout)] == [fingerprint]


def test_keyring_errors_through_the_command_line(secret_service, tmp_path):
    insecure = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    r = sealer_process("keys", "generate", "--bits", "2048", "--keyring", "dev", env=insecure)
    assert r.returncode == 1 and r.stderr.startswith("error: keyring dev: refusing to keep private keys there")
    assert "--allow-insecure-keyring" in r.stderr and "Traceback" not in r.stderr

    dead = {
        **secret_service.env,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus",
    }
    r = sealer_process("keys", "list", "--keyring", "dev", env=dead)
    assert r.returncode == 1 and r.stderr.startswith("error: keyring dev: cannot "), r.stderr
    assert r.stderr.rstrip().endswith("is a keyring service running, and unlocked?")
    assert len(r.stderr.strip().splitlines()) == 1


def test_cert_from_the_cluster_asks_the_controller(capsys, monkeypatch):
    from sealer.kube import controller_api as cluster

    calls, client = [], object()

    def fetch(api, namespace, name):
        calls.append((api, namespace, name))
        return b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "the ConfigMap sealed/ctrl-certs"

    monkeypatch.setattr(cluster, "fetch_certificate_from", fetch)
    connections = []
    r = sealer(
        capsys,
        "cert",
        "--controller-namespace",
        "sealed",
        "--controller-name",
        "ctrl",
        "--context",
        "prod",
        connect=lambda conn, environ: connections.append(conn) or client,
    )
    assert r.code == 0 and r.out.startswith("-----BEGIN CERTIFICATE-----")
    assert calls == [(client, "sealed", "ctrl")]
    assert [c.context for c in connections] == ["prod"]


def test_pq_keys_in_a_directory_seal_and_open_post_quantum(tmp_path, capsys):
    """`sealer keys generate --pq`: the key file carries mlkem768.key, `sealer cert` publishes the
    ML-KEM key, `seal --pq` uses it, and `unseal` with the key file opens it (issue 16)."""
    key_dir = tmp_path / "pq"
    assert sealer(capsys, "keys", "generate", "--pq", "--bits", "2048", "--out", str(key_dir)).code == 0
    assert "mlkem768.key" in yaml.safe_load(only_key_file(key_dir).read_text())["data"]
    cert = tmp_path / "cert.pem"
    cert.write_text(sealer(capsys, "cert", "--dir", str(key_dir)).out)
    assert cert.read_text().count("-----BEGIN PUBLIC KEY-----") == 1
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\nstringData: {password: hunter2}\n"
    )
    sealed = tmp_path / "sealed.yaml"
    assert sealer(capsys, "seal", "--pq", "--cert", str(cert), "-f", str(secret), "-w", str(sealed)).code == 0
    assert yaml.safe_load(sealed.read_text())["spec"]["encryptedData"]["password"].startswith("/1BRA")
    r = sealer(capsys, "unseal", "--recovery-private-key", str(only_key_file(key_dir)), "-f", str(sealed))
    assert r.code == 0 and json.loads(r.out)["data"]["password"] == base64.b64encode(b"hunter2").decode()
    # A rotation with --pq keeps post-quantum keys coming; without it the new key has none.
    assert sealer(capsys, "keys", "rotate", "--pq", "--dir", str(key_dir), "--bits", "2048").code == 0
    assert sealer(capsys, "cert", "--dir", str(key_dir)).out.count("-----BEGIN PUBLIC KEY-----") == 1
    assert sealer(capsys, "keys", "rotate", "--dir", str(key_dir), "--bits", "2048").code == 0
    assert "PUBLIC KEY" not in sealer(capsys, "cert", "--dir", str(key_dir)).out

"""Fixtures shared by all test packages: throwaway RSA keys and certificates, and the CLI."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parent.parent

# CI runs a fixed, reproducible set of examples (a landing must not hinge on a lucky draw);
# developers' runs explore new ones each time, which is where new bugs are found.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    _hypothesis_settings.load_profile("ci")


@dataclass
class KeyPair:
    private_key: rsa.RSAPrivateKey
    cert_pem: bytes
    key_pem: bytes
    cert_path: Path
    key_path: Path


def make_cert(
    key: rsa.RSAPrivateKey, *, not_before: dt.datetime | None = None, days: int = 3650, cn: str = "test"
) -> bytes:
    not_before = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def make_test_key(directory: Path, name: str = "test", bits: int = 2048) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    cert_pem = make_cert(key)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert_pem)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    return KeyPair(key, cert_pem, key_pem, cert_path, key_path)


@pytest.fixture(scope="session")
def test_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_test_key(tmp_path_factory.mktemp("keys"), "primary")


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_test_key(tmp_path_factory.mktemp("keys"), "other")


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run the real `sealer` entry point in a subprocess (exit codes, stderr, no traceback)."""

    def run(*args: str, input: bytes | str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
        # A kubeconfig that does not exist: the CLI must never need a cluster unless asked.
        environment["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
        environment.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        return subprocess.run(
            [sys.executable, "-m", "sealer", *args],
            input=data,
            capture_output=True,
            env=environment,
            cwd=tmp_path,
            timeout=60,
        )

    return run


@dataclass
class CliResult:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path: Path):
    """Run `sealer` in-process, in an in-memory Environment: exit status and streams, no subprocess.
    The environment holds no SEALED_SECRETS_* and a KUBECONFIG that does not exist (the CLI must
    never need a cluster unless asked); ``environ`` adds variables, other keywords go to the
    Environment (``stdin_isatty``, ``connect``, ``prompt``)."""
    from sealer.cli.environment import Environment
    from sealer.cli.main import main

    def run(*args: str, input: bytes | str = b"", environ: dict | None = None, **environment) -> CliResult:
        variables = {"KUBECONFIG": str(tmp_path / "no-kubeconfig"), "HOME": str(tmp_path), **(environ or {})}
        data = input.encode() if isinstance(input, str) else input
        env = Environment.in_memory(data, variables, **environment)
        return CliResult(int(main(list(args), env)), env.stdout.getvalue(), env.stderr.getvalue())

    return run

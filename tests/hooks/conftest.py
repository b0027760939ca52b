"""Fixtures for the pre-commit hook tests: a throwaway sealing certificate, real sealed values, and
running a hook in-process (fast) the way pre-commit would, from a working directory."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sealer.core.certs import Certificate, parse_certificate
from sealer.core.sealing import Sealer
from sealer.hooks import no_plaintext, validate_sealed

REPO = Path(__file__).resolve().parents[2]
HOOKS = {"no-plaintext": no_plaintext.main, "validate-sealed": validate_sealed.main}


@dataclass
class Keys:
    cert_pem: bytes
    key_pem: bytes
    cert: Certificate

    @property
    def key_b64(self) -> str:
        return base64.b64encode(self.key_pem).decode()

    def sealer(self, **kw) -> Sealer:
        return Sealer(self.cert, **kw)


def _cert_for(key: rsa.RSAPrivateKey, *, days: int = 3650, start: dt.datetime | None = None) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealer-hooks-test")])
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _keys(key: rsa.RSAPrivateKey, cert_pem: bytes) -> Keys:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return Keys(cert_pem, key_pem, parse_certificate(cert_pem))


@pytest.fixture(scope="session")
def keys() -> Keys:
    """A 2048-bit sealing key and its certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _keys(key, _cert_for(key))


@pytest.fixture(scope="session")
def other_keys() -> Keys:
    """Another 2048-bit key: same size, different fingerprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _keys(key, _cert_for(key))


@pytest.fixture(scope="session")
def big_keys() -> Keys:
    """The repository's 4096-bit demo key: another RSA block size, without generating one."""
    key = serialization.load_pem_private_key((REPO / "examples/example-key.pem").read_bytes(), None)
    return _keys(key, (REPO / "examples/example-cert.pem").read_bytes())


@pytest.fixture(scope="session")
def expired_cert() -> bytes:
    """An expired certificate (of a key of its own): expiry must not matter to the hooks."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return _cert_for(key, days=1, start=start)


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def findings(self) -> list[dict]:
        return json.loads(self.out)

    @property
    def rules(self) -> list[str]:
        return [f["rule"] for f in self.findings]


def run_hook(hook: str, cwd: Path, *args: str, fmt: str = "json") -> Result:
    """Run a hook's main() in-process from ``cwd`` (pre-commit runs hooks from the repository root)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = HOOKS[hook]([*args, "--format", fmt])
            except SystemExit as e:  # argparse
                rc = e.code
    finally:
        os.chdir(old)
    return Result(rc, out.getvalue(), err.getvalue())


def write(root: Path, files: dict[str, str | bytes]) -> list[str]:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return list(files)


@pytest.fixture
def check(tmp_path: Path):
    """check(files, hook=..., args=..., fmt=...): write files under a fresh directory and run a hook on them."""

    def run(
        files: dict[str, str | bytes],
        hook: str = "no-plaintext",
        args: tuple[str, ...] = (),
        fmt: str = "json",
        names: list[str] | None = None,
    ) -> Result:
        written = write(tmp_path, files)
        return run_hook(hook, tmp_path, *(names if names is not None else written), *args, fmt=fmt)

    run.root = tmp_path
    return run


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def sealing_keys(keys: Keys) -> Keys:
    """``keys`` under a name that reads well in property tests."""
    return keys


@pytest.fixture(scope="session")
def pem_key(keys: Keys) -> bytes:
    return keys.key_pem

"""Shared fixtures for the key-management tests.

RSA key generation dominates the cost of these tests, so a session pool of 2048-bit keys is made
once and certificates (cheap) are made per test with whatever NotBefore a test needs.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from keyring.backend import KeyringBackend

from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.secret_format import StoredKey
from tests.peers import mandatory

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
POOL_SIZE = 16
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rsa_pool() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(POOL_SIZE)]


@pytest.fixture
def make_pair(rsa_pool):
    """make_pair(not_before=T0, cn="", ttl=10y) -> a KeyPair using the next pool key."""
    pool = iter(rsa_pool)

    def make(not_before: dt.datetime = T0, cn: str = "", ttl: dt.timedelta = dt.timedelta(days=3650)) -> KeyPair:
        key = next(pool)
        return KeyPair.of(key, self_signed_certificate(key, not_before=not_before, ttl=ttl, cn=cn))

    return make


@pytest.fixture
def make_stored(make_pair):
    """make_stored(name, months=0, status="active") -> StoredKey with NotBefore T0 + months*30d."""

    def make(name: str, months: int = 0, status: str | None = "active") -> StoredKey:
        return StoredKey(name, make_pair(T0 + dt.timedelta(days=30 * months)), status)

    return make


class MemoryKeyring(KeyringBackend):
    """A dict: to corrupt entries on purpose. (Not a real backend: the real one is tested below.)"""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


def unavailable(reason: str) -> None:
    """The project's policy (tests/peers.py): skip locally, fail in CI."""
    if mandatory():
        pytest.fail(f"{reason} (CI=true: this test is mandatory)", pytrace=False)
    pytest.skip(reason)


def _die_with_parent() -> None:
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no daemon outlives pytest


class SecretService:
    """A private D-Bus session bus with an unlocked gnome-keyring-daemon (Secret Service API)."""

    def __init__(self, root: Path):
        self.root = root
        self.env: dict[str, str] = {}
        self._procs: list[subprocess.Popen] = []

    def start(self) -> SecretService:
        home, runtime = self.root / "home", self.root / "run"
        home.mkdir()
        runtime.mkdir(mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "GNOME_KEYRING", "PYTHON_KEYRING"))}
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(runtime),
            XDG_DATA_HOME=str(home / "data"),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_CACHE_HOME=str(home / "cache"),
        )
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
            text=True,
        )
        self._procs.append(bus)
        address = bus.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
        self._procs.append(keyring_daemon)
        keyring_daemon.stdin.write(b"test-keyring-password")  # unlocks (creates) the login keyring
        keyring_daemon.stdin.close()
        self.env = env
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 20) -> None:
        # The daemon answers on the bus a moment after it starts: probe from a child process, so
        # this process's environment is not touched before the fixture says so.
        probe = (
            "import keyring.backends.SecretService as s; k = s.Keyring(); "
            "k.set_password('sealer-probe', 'p', 'ok'); assert k.get_password('sealer-probe', 'p') == 'ok'"
        )
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run([sys.executable, "-c", probe], env=self.env, capture_output=True, text=True)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline or any(p.poll() is not None for p in self._procs):
                tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"gnome-keyring-daemon did not come up: {tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    """A real Secret Service (gnome-keyring) on a private session bus. While a test uses it, this
    process's DBUS_SESSION_BUS_ADDRESS points there (see ``keyring_backend``); ``.env`` is the
    environment for subprocesses."""
    missing = [b for b in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(b) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not found: apt-get install dbus-daemon gnome-keyring")
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    try:
        service.start()
    except Exception:
        service.stop()
        raise
    yield service
    service.stop()


@pytest.fixture
def keyring_backend(secret_service, monkeypatch):
    """The SecretService keyring backend, talking to the private gnome-keyring."""
    from keyring.backends import SecretService as backends  # noqa: N813

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    return backends.Keyring()

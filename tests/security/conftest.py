"""The adversarial suite runs on the e2e suite's control plane and fixtures (imported, not copied),
against our controller started for it with short deadlines, so attacks end in seconds."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import control_plane, core, custom, kube, namespace, pytest_runtest_makereport  # noqa: F401

OWN = "security"  # SealedSecrets labelled sealer.test/own-controller=security are this controller's alone
TRUSTED_PROXY = "127.0.0.2"  # connections from this source address stand for the API server's proxy
READ_HEADER_TIMEOUT, READ_TIMEOUT, IDLE_TIMEOUT = 3, 6, 3
MAX_CONNECTIONS, MAX_CONCURRENT = 512, 2


@pytest.fixture(scope="session")
def target(control_plane):  # noqa: F811 - the imported fixture, by name
    """Our controller as the deploy/ ServiceAccount, with the limits under attack."""
    from tests.e2e.sealer_controller import RunningController, install

    install(control_plane)
    ctrl = RunningController(
        control_plane,
        "kube-system",
        "--key-renew-period",
        "0",
        "--label-selector",
        f"sealer.test/own-controller={OWN}",
        "--trusted-proxies",
        f"{TRUSTED_PROXY}/32",
        "--read-header-timeout",
        f"{READ_HEADER_TIMEOUT}s",
        "--read-timeout",
        f"{READ_TIMEOUT}s",
        "--idle-timeout",
        f"{IDLE_TIMEOUT}s",
        "--max-connections",
        str(MAX_CONNECTIONS),
        "--max-concurrent-requests",
        str(MAX_CONCURRENT),
        name="security-controller",
    ).start()
    yield ctrl
    ctrl.stop()

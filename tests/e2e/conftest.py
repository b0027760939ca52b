"""Fixtures for tests against the real control plane (tests/e2e/cluster.py)."""

from __future__ import annotations

import re
import secrets

import kubernetes
import pytest

from tests.e2e.cluster import ControlPlane
from tests.e2e.fleet_clusters import second_cluster  # noqa: F401 - a fixture: the fleet's second cluster
from tests.peers import peer_bin_dir

# The running control plane, for the failure report hook below.
_plane: ControlPlane | None = None


@pytest.fixture(scope="session")
def control_plane():
    global _plane
    # Binaries that were built but do not start are a bug, never a reason to skip.
    cp = ControlPlane(peer_bin_dir("control-plane")).start()
    _plane = cp
    yield cp
    _plane = None
    cp.stop()


@pytest.fixture
def kube(control_plane):
    """An admin (system:masters) ApiClient."""
    with control_plane.api_client() as api:
        yield api


@pytest.fixture
def core(kube):
    return kubernetes.client.CoreV1Api(kube)


@pytest.fixture
def custom(kube):
    return kubernetes.client.CustomObjectsApi(kube)


@pytest.fixture
def namespace(request, control_plane, kube):
    """A fresh namespace, deleted (asynchronously, by the namespace controller) afterwards."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem or 'e2e'}-{secrets.token_hex(3)}"
    core = kubernetes.client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except kubernetes.client.ApiException as e:
        if e.status != 404:
            raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and _plane is not None:
        report.sections.append(("control plane logs (tails)", _plane.logs_tail()))
        for whose, pattern in (("our", "controller-*.log"), ("Bitnami's", "bitnami-controller-*.log")):
            for log in sorted(_plane.dir.glob(pattern)):
                lines = log.read_text(errors="replace").splitlines()[-40:]
                report.sections.append((f"{whose} controller's log ({log.name}, tail)", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def sealer_controller(control_plane):
    """Our controller, running as the deploy/ ServiceAccount in kube-system, watching all
    namespaces except SealedSecrets labelled for a test's own controller."""
    from tests.e2e.sealer_controller import RunningController, install

    install(control_plane)
    ctrl = RunningController(
        control_plane,
        "kube-system",
        "--leader-elect",
        "--key-renew-period",
        "0",
        "--label-selector",
        "!sealer.test/own-controller",
    ).start()
    yield ctrl
    ctrl.stop()


@pytest.fixture
def key_namespace(sealer_controller, kube, namespace):
    """The namespace of a second install, holding its keys (see sealer_controller.second_install)."""
    from tests.e2e.sealer_controller import second_install

    with second_install(kube, f"{namespace}-keys") as name:
        yield name


OWN_CONTROLLER_LABEL = "sealer.test/own-controller"


@pytest.fixture
def own_controller(request, control_plane, sealer_controller):
    """(tag, start): ``start(*flags)`` runs a controller of this test's own, for the SealedSecrets
    labelled ``sealer.test/own-controller=<tag>`` only (the session's controller leaves them alone);
    tests restart it, kill it, or run several. All are stopped afterwards."""
    from tests.e2e.sealer_controller import RunningController

    tag = f"{request.module.__name__.rsplit('test_', 1)[-1]}-{secrets.token_hex(3)}"
    made: list[RunningController] = []

    def start(*flags: str) -> RunningController:
        ctrl = RunningController(
            control_plane,
            "kube-system",
            "--key-renew-period",
            "0",
            "--label-selector",
            f"{OWN_CONTROLLER_LABEL}={tag}",
            *flags,
            name=f"controller-{tag}",
        )
        made.append(ctrl)
        return ctrl.start()

    yield tag, start
    for ctrl in made:
        ctrl.stop()

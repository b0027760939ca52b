"""A second cluster for the fleet tests (issue 12): another real control plane on loopback, with
deploy/ installed and sealer's controller running in it, as the session's first one has.

The fixture lives here (and is re-exported by tests/e2e/conftest.py) so that every fleet test
shares one second control plane per session: starting one costs 10-14 s and ~500 MB
(kube-apiserver 300-400 MB, etcd and the controller manager ~100 MB each) on the 2-core machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.cluster import ControlPlane
from tests.e2e.sealer_controller import RunningController, install
from tests.peers import peer_bin_dir


@dataclass
class FleetCluster:
    plane: ControlPlane
    controller: RunningController


@pytest.fixture(scope="session")
def second_cluster(control_plane):
    """(plane, controller): a second control plane with sealer's controller (its own keys)."""
    plane = ControlPlane(peer_bin_dir("control-plane")).start()
    controller = None
    try:
        install(plane)
        controller = RunningController(plane, "kube-system", "--key-renew-period", "0", name="second-controller")
        controller.start()
        yield FleetCluster(plane, controller)
    finally:
        if controller is not None:
            controller.stop()
        plane.stop()

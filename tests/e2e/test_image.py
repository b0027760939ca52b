"""Smoke test of the built image (tests/controller_image.py) against the real control plane, run as
deploy/deployment.yaml's Pod would be (tests/e2e/image_controller.py): it generates its key,
unseals a SealedSecret into its Secret, answers /healthz, /readyz and /metrics, runs as 1001 with
no capabilities on a read-only root, and exits cleanly on SIGTERM.

The container runs with its own key namespace (the `key_namespace` fixture: deploy/'s RBAC for a
second install) and only sees the SealedSecrets labelled for it, beside the session's controller.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import kubernetes
import pytest

from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.controller_image import controller_image
from tests.e2e import sealed_objects
from tests.e2e.image_controller import ControllerContainer
from tests.e2e.sealer_controller import secret_json
from tests.e2e.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.image]

OWN = "sealer.test/own-controller"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"


@pytest.fixture(scope="module")
def image():
    return controller_image()


@pytest.fixture
def own() -> str:
    return f"image-{secrets.token_hex(3)}"


@pytest.fixture
def container(control_plane, image, key_namespace, own):
    ctrl = ControllerContainer(control_plane, image, key_namespace, "--label-selector", f"{OWN}={own}").start()
    yield ctrl
    ctrl.stop()


def status_fields(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_image_runs_as_the_deployment_and_unseals(container, core, custom, namespace, key_namespace, own):
    # Its first key, generated as its own ServiceAccount in its namespace.
    keys = core.list_namespaced_secret(key_namespace, label_selector=KEY_LABEL).items
    assert len(keys) == 1 and keys[0].type == "kubernetes.io/tls"
    assert container.get("/healthz")[0] == 200 and container.get("/readyz")[0] == 200

    value = secrets.token_urlsafe(16)
    doc = json.loads(secret_json("from-image", namespace, {"password": value}))
    sealed = Sealer(parse_certificate(container.cert_pem())).seal_secret(doc)
    sealed["metadata"]["labels"] = {OWN: own}
    sealed_objects.create(custom, sealed)

    def unsealed():
        try:
            s = core.read_namespaced_secret("from-image", namespace)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return base64.b64decode(s.data["password"]).decode() == value

    eventually(unsealed, 60, 0.2, "the container to unseal the SealedSecret")
    # --update-status (the Deployment's args): the status is written by the image too.
    eventually(
        lambda: (
            (sealed_objects.get_sealed(custom, namespace, "from-image").get("status") or {}).get("observedGeneration")
            == 1
        ),
        30,
        0.2,
        "status.observedGeneration",
    )

    metrics = container.metrics()
    assert metrics.startswith("# HELP")
    assert container.metric("sealed_secrets_controller_keys") == 1
    assert container.metric("sealed_secrets_controller_unseal_requests_total") >= 1
    assert value not in container.logs()


def test_image_process_is_unprivileged_and_cannot_write_its_root(container):
    fields = status_fields(container.pid())
    assert fields["Uid"].split() == ["1001"] * 4 and fields["Gid"].split() == ["1001"] * 4
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[caps], 16) == 0, caps
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"  # filtered: the runtime's default profile
    for path in ("/x", "/opt/sealer/x", "/var/run/secrets/kubernetes.io/serviceaccount/x"):
        write = container.exec("touch", path)
        assert write.returncode != 0 and "Read-only file system" in write.stderr, path
    assert container.exec("touch", "/tmp/emptydir-is-writable").returncode == 0
    token = container.exec("cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    assert token.stdout == container.namespace


def test_image_exits_cleanly_on_sigterm(container):
    assert container.get("/readyz")[0] == 200
    t0 = time.monotonic()
    code = container.stop()
    took = time.monotonic() - t0
    # Exit 0 well inside terminationGracePeriodSeconds: SIGTERM ended it, not podman's SIGKILL.
    assert code == 0 and took < container.grace - 5, (code, took)
    assert "stopped" in container.logs().splitlines()[-1]

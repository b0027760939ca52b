"""Issue 17's template memory bomb against our controller on the real control plane: the bomb's
SealedSecret gets a failing status, the controller's peak RSS stays below the Deployment's memory
limit, and a normal SealedSecret in another namespace still syncs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import kubernetes
import pytest
import yaml

from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.e2e.sealed_objects import create
from tests.e2e.sealer_controller import REPO, RunningController
from tests.e2e.test_controller import MARK, condition, seal, wait_data, wait_synced
from tests.e2e.waiting import eventually
from tests.template.test_bombs import BOMBS, ISSUE_BOMB

pytestmark = pytest.mark.e2e

OWN = "bombs"


def memory_limit_bytes() -> int:
    """The controller container's memory limit in deploy/deployment.yaml."""
    doc = yaml.safe_load((REPO / "deploy" / "deployment.yaml").read_text())
    (container,) = [c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == "controller"]
    value = container["resources"]["limits"]["memory"]
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", value).groups()
    return int(number) << {"Ki": 10, "Mi": 20, "Gi": 30, None: 0}[unit]


def peak_rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) << 10


@pytest.fixture
def sealer(sealer_controller):
    return Sealer(parse_certificate(sealer_controller.cert_pem()))


@pytest.fixture
def bomb_controller(control_plane, sealer_controller):
    """A controller of its own (SealedSecrets labelled for it), so that its peak RSS is this test's."""
    ctrl = RunningController(
        control_plane,
        "kube-system",
        "--key-renew-period",
        "0",
        "--label-selector",
        f"sealer.test/own-controller={OWN}",
        name="bombs",
    ).start()
    yield ctrl
    ctrl.stop()


def test_template_bombs_fail_alone_and_the_controller_stays_small(bomb_controller, sealer, core, custom, namespace):
    limit = memory_limit_bytes()
    other = f"{namespace}-ok"
    core.create_namespace({"metadata": {"name": other}})
    try:
        bombs = {
            "issue": ISSUE_BOMB,
            "printed": ISSUE_BOMB.replace("{{ toJson $l | len }}", "{{ $l }}"),
            "prettyjson": BOMBS["toPrettyJson of dicts sharing dicts"][0],
            "printf": BOMBS["printf width 1e6, many operands"][0],
            "append": BOMBS["append in a loop"][0],
            "recursion": BOMBS["recursion: binary"][0],
        }
        for i, (key, template) in enumerate(bombs.items()):
            sealed = seal(sealer, namespace, {"user": "admin"}, name=f"bomb-{i}", own=OWN)
            sealed["spec"]["template"]["data"] = {key: template}
            create(custom, sealed)
        # Many keys, each within the limits alone: together they exceed the SealedSecret's budget.
        sealed = seal(sealer, namespace, {"user": "admin"}, name="many-keys", own=OWN)
        sealed["spec"]["template"]["data"] = {f"k{i}": '{{ repeat 1000000 "x" }}' for i in range(200)}
        create(custom, sealed)

        good = seal(sealer, other, {"foo": "bar"}, own=OWN)
        good["spec"]["template"]["data"] = {"dsn": "user={{ .foo }}"}
        create(custom, good)
        wait_data(core, other, {"foo": "bar", "dsn": f"user={MARK}bar"}, timeout=60)

        for i, key in enumerate(bombs):
            obj = wait_synced(custom, namespace, f"bomb-{i}", status="False")
            message = condition(obj)["message"]
            assert f"template data.{key}: template: " in message, message
            assert MARK not in message and "aaaa" not in message
        message = condition(wait_synced(custom, namespace, "many-keys", status="False"))["message"]
        assert "output exceeds 1048576 bytes" in message or "memory budget" in message, message
        for i in range(len(bombs)):
            with pytest.raises(kubernetes.client.ApiException) as missing:
                core.read_namespaced_secret(f"bomb-{i}", namespace)
            assert missing.value.status == 404

        # The failures are retried with backoff: let a few retries happen, then look at the peak.
        eventually(
            lambda: bomb_controller.metric("sealed_secrets_controller_unseal_errors_total") >= 2 * len(bombs) or None,
            60,
            what="retries of the failing SealedSecrets",
        )
        time.sleep(2)
        assert bomb_controller.proc.poll() is None, "the controller died"
        peak = peak_rss_bytes(bomb_controller.proc.pid)
        print(f"controller peak RSS {peak >> 20} MiB (limit {limit >> 20} MiB)")
        assert peak < limit // 2, f"peak RSS {peak >> 20} MiB, limit {limit >> 20} MiB"
        assert bomb_controller.get("/healthz")[0] == 200
    finally:
        core.delete_namespace(other)

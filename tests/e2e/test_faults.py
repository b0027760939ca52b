"""Faults on the real control plane: kill -9 mid-sync, the API server going away (and 410 Gone),
Secrets that block a SealedSecret and then stop blocking it, Secrets the API server refuses as too
large, and hostile SealedSecrets that must fail alone, without a value in any output."""

from __future__ import annotations

import base64
import json
import threading
import time

import kubernetes
import pytest

from sealer.core.certs import parse_certificate
from sealer.core.scope import MANAGED_ANNOTATION, Scope
from sealer.core.sealing import Sealer
from tests.e2e.sealed_objects import create, get_sealed, secret_data
from tests.e2e.sealer_controller import secret_json
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

MARK = "s3cr3t-faults-"
OWN = "sealer.test/own-controller"


@pytest.fixture
def sealer(sealer_controller):
    return Sealer(parse_certificate(sealer_controller.cert_pem()))


def seal(sealer: Sealer, ns: str, name: str, data: dict[str, str], tag: str | None = None, **extra) -> dict:
    doc = sealer.seal_secret(json.loads(secret_json(name, ns, {k: MARK + v for k, v in data.items()}, **extra)))
    if tag:
        doc["metadata"]["labels"] = {OWN: tag}
    return doc


def condition(custom, ns: str, name: str) -> dict | None:
    for c in (get_sealed(custom, ns, name).get("status") or {}).get("conditions") or []:
        if c["type"] == "Synced":
            return c
    return None


def wait_condition(custom, ns: str, name: str, status: str, timeout: float = 30) -> dict:
    return eventually(
        lambda: (c := condition(custom, ns, name)) and c["status"] == status and c,
        timeout,
        0.2,
        f"{ns}/{name} Synced={status}",
    )


def create_retrying(custom, doc: dict, deadline: float) -> None:
    """Create, riding out an API server that is away (as a GitOps tool would)."""
    while True:
        try:
            create(custom, doc)
            return
        except kubernetes.client.ApiException as e:
            if e.status == 409:
                return  # it went through before the connection dropped
            if time.monotonic() > deadline:
                raise
        except Exception:  # noqa: BLE001 - connection refused/reset while the API server restarts
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def all_right(core, custom, ns: str, names: list[str], value=lambda n: {"v": n}) -> bool:
    for name in names:
        assert secret_data(core, ns, name, MARK) == value(name), name
        c = condition(custom, ns, name)
        assert c and c["status"] == "True", (name, c)
    return True


# --- kill -9 and the API server going away ------------------------------------------------------


def test_kill_9_while_syncing_500_then_restart_every_secret_is_right(own_controller, sealer, core, custom, namespace):
    tag, start = own_controller
    names = [f"s{i:03d}" for i in range(500)]
    docs = [seal(sealer, namespace, n, {"v": n}, tag) for n in names]
    for doc in docs:
        create(custom, doc)
    ctrl = start()
    eventually(lambda: len(core.list_namespaced_secret(namespace).items) >= 60, 60, 0.05, "the sync under way")
    ctrl.proc.kill()
    ctrl.proc.wait()
    done_before = len(core.list_namespaced_secret(namespace).items)
    assert done_before < 500, "killed too late to prove anything"
    start()
    eventually(lambda: all_right(core, custom, namespace, names), 180, 1.0, "all 500 Secrets right")
    assert len([s for s in core.list_namespaced_secret(namespace).items if s.metadata.name in names]) == 500


def test_api_server_away_while_120_are_created_drops_nothing(
    own_controller, control_plane, sealer, core, custom, namespace
):
    """The 3-second outage of the bug report: every SealedSecret gets its Secret and status, with
    the default --max-unseal-retries, and the log says so in a few lines rather than 234 tracebacks."""
    tag, start = own_controller
    ctrl = start()
    names = [f"o{i:03d}" for i in range(120)]
    docs = [seal(sealer, namespace, n, {"v": n}, tag) for n in names]
    deadline = time.monotonic() + 120
    creator = threading.Thread(target=lambda: [create_retrying(custom, d, deadline) for d in docs])
    creator.start()
    eventually(lambda: len(core.list_namespaced_secret(namespace).items) >= 10, 30, 0.02, "creation under way")
    control_plane.restart_apiserver()
    creator.join()
    eventually(lambda: all_right(core, custom, namespace, names), 90, 1.0, "all 120 Secrets and statuses")
    logs = ctrl.logs()
    assert "Traceback" not in logs, logs[logs.find("Traceback") - 500 :][:3000]
    trouble = [line for line in logs.splitlines() if " WARNING " in line]
    print(f"API server restart: {len(trouble)} warning lines from our controller")
    assert len(trouble) <= 40, "\n".join(trouble)
    assert "giving up" not in logs


def test_410_gone_after_an_api_server_restart_relists_and_drops_nothing(
    own_controller, control_plane, sealer, core, custom, namespace
):
    tag, start = own_controller
    ctrl = start()
    create(custom, seal(sealer, namespace, "before", {"v": "before"}, tag))
    eventually(lambda: all_right(core, custom, namespace, ["before"]), 30, 0.2, "before")
    # Move etcd's revision on behind the informers' backs, compact it, and restart the API server:
    # its new watch cache starts past the informers' resourceVersion, so their watches get 410.
    for i in range(5):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": f"bump-{i}"}})
    control_plane.compact_etcd()
    control_plane.restart_apiserver()
    create(custom, seal(sealer, namespace, "after", {"v": "after"}, tag))
    eventually(lambda: all_right(core, custom, namespace, ["before", "after"]), 60, 0.2, "after")
    eventually(lambda: "expired; re-listing" in ctrl.logs(), 30, 0.5, "a re-list after 410")
    assert "Traceback" not in ctrl.logs()


# --- Secrets that block, then stop blocking ---------------------------------------------------


def make_secret(core, ns: str, name: str, annotations=None) -> None:
    core.create_namespaced_secret(
        ns,
        {"metadata": {"name": name, "annotations": annotations}, "data": {"v": base64.b64encode(b"theirs").decode()}},
    )


@pytest.mark.parametrize("how", ["annotated", "deleted"])
def test_a_foreign_secret_annotated_managed_or_deleted_is_taken_over_at_once(
    sealer_controller, sealer, core, custom, namespace, how
):
    make_secret(core, namespace, "blocked")
    create(custom, seal(sealer, namespace, "blocked", {"v": "ours"}))
    assert "not managed by SealedSecret" in wait_condition(custom, namespace, "blocked", "False")["message"]
    time.sleep(1)  # past the first retries: what follows must not be a retry that happened to come
    t0 = time.monotonic()
    if how == "annotated":
        core.patch_namespaced_secret("blocked", namespace, {"metadata": {"annotations": {MANAGED_ANNOTATION: "true"}}})
    else:
        core.delete_namespaced_secret("blocked", namespace)
    eventually(lambda: secret_data(core, namespace, "blocked", MARK) == {"v": "ours"}, 10, 0.05, "taken over")
    assert time.monotonic() - t0 < 5
    wait_condition(custom, namespace, "blocked", "True", 10)


# --- refused as too large, and other hostile objects --------------------------------------------


def test_secret_too_large_after_templating_says_so_and_is_not_retried(
    sealer_controller, sealer, core, custom, namespace
):
    doc = seal(sealer, namespace, "big", {"a": "x" * 600_000})
    doc["spec"]["template"]["data"] = {"b": "{{ .a }}"}  # 1.2 MB of data once templated
    create(custom, doc)
    c = wait_condition(custom, namespace, "big", "False")
    assert "over the API server's limit of 1048576 bytes" in c["message"] and "1 MiB" in c["message"], c["message"]
    assert MARK not in c["message"] and "xxxx" not in c["message"]
    time.sleep(3)
    attempts = [line for line in sealer_controller.logs().splitlines() if f"{namespace}/big:" in line]
    assert len(attempts) == 1, attempts  # refused is refused: not retried as if transient
    assert secret_data(core, namespace, "big") is None


def test_hostile_sealed_secrets_fail_alone_with_clear_statuses(sealer_controller, sealer, core, custom, namespace):
    good = [f"good-{i}" for i in range(10)]
    bad: dict[str, dict] = {}
    ok = seal(sealer, namespace, "garbage", {"v": "x"})
    ok["spec"]["encryptedData"]["v"] = "!!!not base64!!!"
    bad["garbage"] = ok
    truncated = seal(sealer, namespace, "truncated", {"v": "x"})
    value = truncated["spec"]["encryptedData"]["v"]
    truncated["spec"]["encryptedData"]["v"] = value[: len(value) // 8 * 4]
    bad["truncated"] = truncated
    wrong_scope = seal(sealer, namespace, "wrong-scope", {"v": "x"})
    wrong_scope["spec"]["encryptedData"]["v"] = sealer.seal_value(
        (MARK + "x").encode(), Scope.STRICT, namespace, "other"
    )
    bad["wrong-scope"] = wrong_scope
    huge = seal(sealer, namespace, "huge-value", {"v": "x"})  # `sealer seal` refuses it: seal the value alone
    huge["spec"]["encryptedData"]["v"] = sealer.seal_value(
        (MARK + "y" * (1 << 20)).encode(), Scope.STRICT, namespace, "huge-value"
    )
    bad["huge-value"] = huge
    looping = seal(sealer, namespace, "looping", {"v": "x"})
    looping["spec"]["template"]["data"] = {"t": '{{ define "t" }}{{ template "t" . }}{{ end }}{{ template "t" . }}'}
    bad["looping"] = looping
    many = seal(sealer, namespace, "many-items", {f"k{i:04d}": str(i) for i in range(1000)})
    for name in ("garbage", "truncated", "wrong-scope", "huge-value", "looping"):
        create(custom, bad[name])
    create(custom, many)
    for name in good:
        create(custom, seal(sealer, namespace, name, {"v": name}))

    eventually(lambda: all_right(core, custom, namespace, good), 60, 0.5, "the good ones synced")
    messages = {name: wait_condition(custom, namespace, name, "False", 60)["message"] for name in bad}
    assert "garbage" in messages["garbage"] or "base64" in messages["garbage"], messages["garbage"]
    assert "no key could decrypt secret (v)" in messages["truncated"] or "v" in messages["truncated"]
    assert "no key could decrypt secret (v)" in messages["wrong-scope"]
    assert "1048576 bytes" in messages["huge-value"]
    assert "nested deeper than" in messages["looping"]
    wait_condition(custom, namespace, "many-items", "True", 60)
    assert len(core.read_namespaced_secret("many-items", namespace).data) == 1000
    for name, message in messages.items():
        assert MARK not in message and "yyyy" not in message, (name, message)
    events = core.list_namespaced_event(namespace).items
    assert all(MARK not in (e.message or "") for e in events)
    assert "Traceback" not in sealer_controller.logs()[-200_000:]


def test_zz_no_value_in_logs(sealer_controller, control_plane):
    assert MARK not in sealer_controller.logs()
    for log in control_plane.dir.glob("controller-faults-*.log"):
        assert MARK not in log.read_text(errors="replace")


# --- many namespaces ------------------------------------------------------------------------------


def test_many_additional_namespaces_share_one_filtered_watch(own_controller, sealer, core, custom, namespace):
    """Over ten --additional-namespaces: one cluster-wide watch per kind, filtered to them. A
    SealedSecret in a listed namespace is unsealed (and recreated when its Secret is deleted);
    one in a namespace not listed is left alone."""
    tag, start = own_controller
    listed = [f"{namespace}-{i:02d}" for i in range(12)]
    unlisted = f"{namespace}-no"
    for ns in (*listed, unlisted):
        core.create_namespace({"metadata": {"name": ns}})
    try:
        ctrl = start("--all-namespaces=false", "--additional-namespaces", ",".join(listed))
        assert "watching each" not in ctrl.logs()
        for ns in (listed[0], listed[-1], unlisted):
            create(custom, seal(sealer, ns, "s", {"v": ns}, tag))
        for ns in (listed[0], listed[-1]):
            eventually(lambda ns=ns: secret_data(core, ns, "s", MARK) == {"v": ns}, 30, 0.1, f"{ns}/s")
        core.delete_namespaced_secret("s", listed[-1])
        eventually(lambda: secret_data(core, listed[-1], "s", MARK) == {"v": listed[-1]}, 30, 0.1, "recreated")
        time.sleep(2)
        assert secret_data(core, unlisted, "s") is None
        # Never reconciled: no controller wrote a status (what is there is deploy/crd.yaml's default).
        assert get_sealed(custom, unlisted, "s").get("status") in (None, {"observedGeneration": 0})
        threads = int(open(f"/proc/{ctrl.proc.pid}/status").read().split("Threads:")[1].split()[0])
        assert threads < 30, threads  # not two watch threads per namespace
    finally:
        for ns in (*listed, unlisted):
            core.delete_namespace(ns)

"""High availability on the real control plane: two replicas of our controller, as two processes
with the deploy/ ServiceAccount, electing a leader on a Lease in their own namespace.

Short lease timings (4 s / 3 s / 0.5 s) keep the test quick; the rules are the same at 15/10/2."""

from __future__ import annotations

import os
import secrets
import signal
import time

import kubernetes
import pytest

from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.e2e.sealed_objects import create, get_sealed, secret_data
from tests.e2e.sealer_controller import RunningController, install_in_namespace, secret_json
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

MARK = "s3cr3t-ha-"
OWN = "sealer.test/own-controller"
LEASE = "sealed-secrets-controller"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
LEASE_SECONDS, RENEW, RETRY = 4.0, 3.0, 0.5
TIMINGS = (
    "--leader-election-lease-duration",
    f"{LEASE_SECONDS:g}s",
    "--leader-election-renew-deadline",
    f"{RENEW:g}s",
    "--leader-election-retry-period",
    f"{RETRY:g}s",
)


@pytest.fixture
def ha_namespace(sealer_controller, kube, namespace):
    """A namespace with deploy/'s key and leader-election Roles, where the replicas run and keep keys."""
    name = f"{namespace}-ha"
    undo = install_in_namespace(kube, name)
    yield name
    for step in undo:
        try:
            step()
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                raise


class Pair:
    """Two replicas started at the same moment; ``leader()``/``follower()`` ask their metrics."""

    def __init__(self, plane, namespace: str, tag: str):
        self.plane, self.namespace, self.tag = plane, namespace, tag
        self.replicas: list[RunningController] = []

    def replica(self, name: str) -> RunningController:
        r = RunningController(
            self.plane,
            self.namespace,
            "--leader-elect",
            *TIMINGS,
            "--key-renew-period",
            "0",
            "--label-selector",
            f"{OWN}={self.tag}",
            name=f"controller-{name}",
        )
        self.replicas.append(r)
        return r

    def start_all(self, *names: str) -> list[RunningController]:
        """Launched together (a race for the first key and the Lease), then waited for."""
        replicas = [self.replica(n).launch() for n in names]
        for r in replicas:
            eventually(r.ready, 60, 0.1, f"{r.log.name} ready")
        return replicas

    def running(self) -> list[RunningController]:
        return [r for r in self.replicas if r.proc is not None and r.proc.poll() is None]

    def leaders(self) -> list[RunningController]:
        def leads(r: RunningController) -> bool:
            try:
                return r.metric("sealed_secrets_controller_leader") == 1
            except OSError:  # exiting
                return False

        return [r for r in self.running() if leads(r)]

    def leader(self, timeout: float = 20) -> RunningController:
        try:
            return eventually(
                lambda: len(self.leaders()) == 1 and self.leaders()[0], timeout, 0.1, "exactly one leader"
            )
        except AssertionError as e:
            raise AssertionError(f"{e}; logs:\n" + "\n".join(r.logs()[-3000:] for r in self.replicas)) from None

    def stop(self) -> None:
        for r in self.replicas:
            r.stop()


@pytest.fixture
def pair(control_plane, ha_namespace):
    p = Pair(control_plane, ha_namespace, f"ha-{secrets.token_hex(3)}")
    yield p
    p.stop()


def lease(kube, namespace: str) -> dict:
    spec = kubernetes.client.CoordinationV1Api(kube).read_namespaced_lease(LEASE, namespace).spec
    return {
        "holder": spec.holder_identity or "",
        "transitions": spec.lease_transitions or 0,
        "duration": spec.lease_duration_seconds,
    }


def identity(replica: RunningController) -> str:
    marker = " as "
    line = next(line for line in replica.logs().splitlines() if "leader election on Lease" in line)
    return line.split(marker)[-1].strip()


def sealed(sealer: Sealer, namespace: str, name: str, tag: str, value: str) -> dict:
    import json

    doc = sealer.seal_secret(json.loads(secret_json(name, namespace, {"v": MARK + value})))
    doc["metadata"]["labels"] = {OWN: tag}
    return doc


def wait_secret(core, ns: str, name: str, value: str, timeout: float = 30):
    return eventually(lambda: secret_data(core, ns, name, MARK) == {"v": value}, timeout, 0.1, f"Secret {ns}/{name}")


def unsealed_events(core, ns: str, name: str) -> int:
    return len(
        [e for e in core.list_namespaced_event(ns).items if e.involved_object.name == name and e.reason == "Unsealed"]
    )


def test_two_replicas_one_leader_one_key_only_the_leader_writes(pair, core, custom, kube, namespace, ha_namespace):
    a, b = pair.start_all("ha-a", "ha-b")
    leader = pair.leader()
    follower = b if leader is a else a
    # Both came up on an empty namespace at the same moment: one first key, made by the leader.
    keys = core.list_namespaced_secret(ha_namespace, label_selector=KEY_LABEL).items
    assert len(keys) == 1
    assert "new sealing key" in leader.logs() and "new sealing key" not in follower.logs()
    held = lease(kube, ha_namespace)
    assert held["holder"] == identity(leader) and held["duration"] == round(LEASE_SECONDS)
    # Every replica serves the API with warm keys.
    assert a.cert_pem() == b.cert_pem()
    for r in (a, b):
        assert r.get("/readyz")[0] == 200 and r.get("/healthz")[0] == 200
    assert follower.metric("sealed_secrets_controller_leader") == 0
    sealer = Sealer(parse_certificate(follower.cert_pem()))
    import json

    doc = sealed(sealer, namespace, "one", pair.tag, "x")
    assert follower.request("POST", "/v1/verify", json.dumps(doc).encode())[0] == 200
    create(custom, doc)
    wait_secret(core, namespace, "one", "x")
    eventually(lambda: (get_sealed(custom, namespace, "one").get("status") or {}).get("conditions"), 10, 0.1, "status")
    time.sleep(1)
    assert f"{namespace}/one: unsealed" in leader.logs() and f"{namespace}/one" not in follower.logs()
    assert unsealed_events(core, namespace, "one") == 1
    assert follower.metric("sealed_secrets_controller_private_key_operations_total") <= 1  # the verify above
    # Only the leader rotates keys: SIGUSR1 to the follower is refused in its log.
    os.kill(follower.proc.pid, signal.SIGUSR1)
    eventually(lambda: "only the leader makes keys" in follower.logs(), 10, 0.1, "follower refuses to rotate")
    assert len(core.list_namespaced_secret(ha_namespace, label_selector=KEY_LABEL).items) == 1


def test_sigterm_releases_the_lease_and_the_other_replica_takes_over_at_once(
    pair, core, custom, kube, namespace, ha_namespace
):
    a, b = pair.start_all("ha-a", "ha-b")
    leader = pair.leader()
    follower = b if leader is a else a
    before = lease(kube, ha_namespace)["transitions"]
    sealer = Sealer(parse_certificate(a.cert_pem()))
    t0 = time.monotonic()
    leader.proc.send_signal(signal.SIGTERM)
    assert leader.proc.wait(10) == 0
    exited = time.monotonic() - t0
    assert exited < 5, exited
    assert "released Lease" in leader.logs()
    eventually(lambda: follower.metric("sealed_secrets_controller_leader") == 1, LEASE_SECONDS, 0.05, "takeover")
    took_over = time.monotonic() - t0
    # Released, not expired: well inside the lease duration (one retry period, jittered).
    assert took_over < LEASE_SECONDS, took_over
    after = lease(kube, ha_namespace)
    assert after["holder"] == identity(follower) and after["transitions"] == before + 1
    create(custom, sealed(sealer, namespace, "after-handover", pair.tag, "y"))
    wait_secret(core, namespace, "after-handover", "y")


def test_kill_9_of_the_leader_mid_sync_loses_and_duplicates_nothing(pair, core, custom, kube, namespace, ha_namespace):
    a, b = pair.start_all("ha-a", "ha-b")
    leader = pair.leader()
    follower = b if leader is a else a
    sealer = Sealer(parse_certificate(a.cert_pem()))
    names = [f"s{i:03d}" for i in range(60)]
    for name in names:
        create(custom, sealed(sealer, namespace, name, pair.tag, name))
    eventually(lambda: secret_data(core, namespace, "s005", MARK) is not None, 30, 0.05, "the leader at work")
    t0 = time.monotonic()
    leader.proc.kill()
    leader.proc.wait()
    eventually(
        lambda: follower.metric("sealed_secrets_controller_leader") == 1,
        LEASE_SECONDS + 3 * RETRY,
        0.05,
        "takeover within the lease duration",
    )
    took_over = time.monotonic() - t0
    assert took_over <= LEASE_SECONDS + 3 * RETRY, took_over
    create(custom, sealed(sealer, namespace, "after-kill", pair.tag, "z"))
    wait_secret(core, namespace, "after-kill", "z")
    for name in names:
        wait_secret(core, namespace, name, name)

    def all_synced():
        for name in names:
            obj = get_sealed(custom, namespace, name)
            conds = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}
            assert conds.get("Synced") == "True" and obj["status"].get("observedGeneration") == 1, (name, conds)
        return True

    eventually(all_synced, 30, 0.5, "every status synced")
    secrets_ = [s for s in core.list_namespaced_secret(namespace).items if s.metadata.name in names]
    assert len(secrets_) == len(names)
    assert all(len(s.metadata.owner_references) == 1 for s in secrets_)
    # At most one Unsealed event each: the new leader did not redo what the old one had finished.
    counts = {name: unsealed_events(core, namespace, name) for name in names}
    assert max(counts.values()) <= 1, {k: v for k, v in counts.items() if v > 1}
    assert len(core.list_namespaced_secret(ha_namespace, label_selector=KEY_LABEL).items) == 1


def test_a_restarted_replica_joins_as_follower(pair, core, custom, namespace, ha_namespace):
    (a,) = pair.start_all("ha-a")
    assert pair.leader() is a
    (b,) = pair.start_all("ha-b")
    time.sleep(3 * RETRY)
    assert pair.leaders() == [a] and b.metric("sealed_secrets_controller_leader") == 0
    assert b.cert_pem() == a.cert_pem()


def test_leader_election_off_acts_alone(control_plane, ha_namespace, kube):
    r = RunningController(
        control_plane,
        ha_namespace,
        "--leader-elect=false",
        "--key-renew-period",
        "0",
        "--label-selector",
        f"{OWN}=nobody",
        name="alone",
    ).start()
    try:
        assert r.metric("sealed_secrets_controller_leader") == 1
        assert "leader election off" in r.logs()
        with pytest.raises(kubernetes.client.ApiException) as e:
            kubernetes.client.CoordinationV1Api(kube).read_namespaced_lease(LEASE, ha_namespace)
        assert e.value.status == 404
    finally:
        assert r.stop() == 0


def test_zz_no_value_in_ha_logs(control_plane):
    for log in control_plane.dir.glob("controller-ha-*.log"):
        assert MARK not in log.read_text(errors="replace")

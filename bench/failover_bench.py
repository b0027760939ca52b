"""High availability and start-up at scale, on the e2e control plane (our controller only: Bitnami's
runs one replica and has no failover to compare with).

  kill -9:  two replicas at the production timings (lease 15 s, renew 10 s, retry 2 s); the leader
            is killed, a SealedSecret created at once; time from the kill until its Secret exists
            (the new leader took the Lease and unsealed it). Bounded by lease duration + retry.
  SIGTERM:  the same with SIGTERM: the leader finishes its item, releases the Lease and exits; time
            until the new SealedSecret's Secret exists, and until the old leader has exited.
  300 ns:   `--all-namespaces=false --additional-namespaces <300 namespaces>`: time from starting
            the process until /readyz (Bitnami #1959: about 1 s per namespace, 5 min for 300).

Both replicas run as the deploy/ ServiceAccount, in a namespace with deploy/'s key and Lease Roles.
Medians over --rounds (each round: a fresh pair, so the old leader's identity is gone).

Run from the repo root: .venv/bin/python bench/failover_bench.py [--rounds N] [--namespaces N]
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, table  # noqa: E402

sys.path.insert(0, str(REPO))
import kubernetes  # noqa: E402

from sealer.core.certs import parse_certificate  # noqa: E402
from sealer.core.sealing import Sealer  # noqa: E402
from tests.e2e.cluster import ControlPlane  # noqa: E402
from tests.e2e.sealer_controller import RunningController, install, install_in_namespace, secret_json  # noqa: E402
from tests.peers import PeerUnavailable, build_peer  # noqa: E402

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
OWN = "sealer.bench/ha"
LEADER = "sealed_secrets_controller_leader"


def wait(check, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout} s")


def leads(r: RunningController) -> bool:
    try:
        return r.proc.poll() is None and r.metric(LEADER) == 1
    except OSError:
        return False


def secret_exists(core, ns: str, name: str) -> bool:
    try:
        core.read_namespaced_secret(name, ns)
        return True
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return False
        raise


def one_round(plane: ControlPlane, core, custom, ns: str, workload_ns: str, how: str) -> dict:
    tag = f"r{secrets.token_hex(3)}"
    pair = [
        RunningController(
            plane,
            ns,
            "--leader-elect",
            "--key-renew-period",
            "0",
            "--log-level",
            "INFO",
            "--label-selector",
            f"{OWN}={tag}",
            name=f"controller-bench-ha-{i}",
        )
        for i in "ab"
    ]
    try:
        for r in pair:
            r.launch()
        for r in pair:
            wait(r.ready, 60, 0.1)
        leader = wait(lambda: next((r for r in pair if leads(r)), None), 30)
        follower = next(r for r in pair if r is not leader)
        time.sleep(2.5)  # let the follower observe at least one renewal, as in a steady state
        sealer = Sealer(parse_certificate(follower.cert_pem()))
        doc = sealer.seal_secret(json.loads(secret_json(f"after-{how}-{tag}", workload_ns, {"v": "x"})))
        doc["metadata"]["labels"] = {OWN: tag}
        t0 = time.monotonic()
        if how == "kill":
            leader.proc.kill()
        else:
            leader.proc.send_signal(signal.SIGTERM)
        custom.create_namespaced_custom_object(GROUP, VERSION, workload_ns, PLURAL, doc)
        out: dict = {}
        if how == "sigterm":
            code = leader.proc.wait(30)
            out["exit"] = time.monotonic() - t0
            assert code == 0, code
        wait(lambda: secret_exists(core, workload_ns, doc["metadata"]["name"]), 60)
        out["served"] = time.monotonic() - t0
        return out
    finally:
        for r in pair:
            r.stop()


def many_namespaces(plane: ControlPlane, core, count: int) -> float:
    names = [f"bench-ns-{secrets.token_hex(2)}-{i:03d}" for i in range(count)]
    for n in names:
        core.create_namespace({"metadata": {"name": n}})
    try:
        t0 = time.monotonic()
        r = RunningController(
            plane,
            "kube-system",
            "--all-namespaces=false",
            "--additional-namespaces",
            ",".join(names),
            "--key-renew-period",
            "0",
            "--log-level",
            "INFO",
            "--label-selector",
            f"{OWN}=none",
            name="controller-bench-ns",
        ).start(timeout=900)
        ready = time.monotonic() - t0
        r.stop()
        return ready
    finally:
        for n in names:
            core.delete_namespace(n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--namespaces", type=int, default=300)
    p.add_argument("--ns-repeats", type=int, default=3)
    args = p.parse_args(argv)
    try:
        bin_dir = build_peer("control-plane")
    except PeerUnavailable as e:
        print(f"control plane unavailable: {e}", file=sys.stderr)
        return 1
    plane = ControlPlane(bin_dir).start()
    try:
        install(plane)
        with plane.api_client() as api:
            core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
            ns, workload = f"bench-ha-{secrets.token_hex(3)}", f"bench-ha-work-{secrets.token_hex(3)}"
            install_in_namespace(api, ns)
            core.create_namespace({"metadata": {"name": workload}})
            kills = [one_round(plane, core, custom, ns, workload, "kill") for _ in range(args.rounds)]
            terms = [one_round(plane, core, custom, ns, workload, "sigterm") for _ in range(args.rounds)]
            starts = [many_namespaces(plane, core, args.namespaces) for _ in range(args.ns_repeats)]
    finally:
        plane.stop()

    med = lambda xs: statistics.median(xs)  # noqa: E731
    rows = [
        (
            "kill -9 of the leader -> new SealedSecret served",
            f"{med([k['served'] for k in kills]):.2f}",
            f"{min(k['served'] for k in kills):.2f}-{max(k['served'] for k in kills):.2f}",
            "lease 15 s + retry 2 s",
        ),
        (
            "SIGTERM of the leader -> new SealedSecret served",
            f"{med([t['served'] for t in terms]):.2f}",
            f"{min(t['served'] for t in terms):.2f}-{max(t['served'] for t in terms):.2f}",
            "released: no wait",
        ),
        (
            "SIGTERM -> old leader exited (code 0)",
            f"{med([t['exit'] for t in terms]):.2f}",
            f"{min(t['exit'] for t in terms):.2f}-{max(t['exit'] for t in terms):.2f}",
            "terminationGracePeriod 30 s",
        ),
        (
            f"start with {args.namespaces} --additional-namespaces -> /readyz",
            f"{med(starts):.2f}",
            f"{min(starts):.2f}-{max(starts):.2f}",
            f"Bitnami #1959: ~{args.namespaces} s",
        ),
    ]
    print(
        f"\nours, 2 replicas, lease 15 s / renew 10 s / retry 2 s; medians of {args.rounds} rounds "
        f"({args.ns_repeats} for the start)\n"
    )
    print(table(rows, ("", "median s", "range s", "reference")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

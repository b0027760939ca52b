"""Our controller against Bitnami's v0.36.6 controller, in the same run, on the e2e control plane.

The scenario of the users' complaints ("slow with many SealedSecrets", "everything is decrypted
again at every restart", #761, #1833): a controller that has rotated for half a year holds 6 active
4096-bit keys, and N SealedSecrets (2 items each) were sealed for keys picked uniformly among them,
either by `sealer seal` (records the key hint) or by `kubeseal` (does not), both the real CLIs with
`--cert`, one call per key.

Per controller and variant (fresh namespace; the controller runs with `--label-selector` for it):
  sync:     the N SealedSecrets exist, then the controller starts; wall time from starting the
            process until all N Secrets have the right data (seen by a watch on them); the
            controller process's CPU seconds (/proc/<pid>/stat) and peak RSS (VmHWM); API requests
            per SealedSecret counted by the API server (apiserver_request_total: GET/POST/PUT/PATCH
            of secrets, events and sealedsecrets/status, which only the controller makes here);
            the control plane's CPU seconds over the same span (etcd, API server, controller
            manager: they share the cores); ours: RSA private-key operations per item (its
            counter), and its CPU beyond them per SealedSecret
  restart:  stopped (SIGTERM) and started again: time until it is ready (ours: /readyz; Bitnami's:
            serving its certificate), then, once quiet, private-key operations, writes and events
  idle:     ours, after the restart: CPU share over --idle seconds
RSA floor: the private-key operations the sync needed, alone, on 2 threads (pyca/cryptography
releases the GIL), timed in this process on this machine in the same run; the report prints the
ratio of each sync to it.

--scale N adds a memory mode: N SealedSecrets and N unrelated Secrets (1 KiB each) in the cluster,
each controller synced over them once; peak RSS (takes long with Bitnami's controller: minutes).

Both controllers run as the deploy/ ServiceAccount, with `--key-renew-period 0`; Bitnami's with
`--kubeclient-qps -1` (no client-side limit: its default of 5 requests/s would make it ~0.6 s per
SealedSecret, --bitnami-defaults measures that too) in a private mount namespace (root and
`unshare`, see tests/e2e/bitnami_controller.py); without those, ours is measured alone.

Run from the repo root: .venv/bin/python bench/controller_bench.py [--count N] [--repeats R]
    [--idle S] [--scale N] [--bitnami-defaults] [--ours-only]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, table, venv_bin  # noqa: E402

sys.path.insert(0, str(REPO))
import kubernetes  # noqa: E402
import yaml  # noqa: E402

from keys.generate import generate_key_pair  # noqa: E402
from keys.secret_format import ACTIVE, StoredKey, generate_name, to_secret  # noqa: E402
from sealer.core import crypto  # noqa: E402
from sealer.kube import Gone, Kube, secret_path  # noqa: E402
from tests.e2e.apiserver_requests import WRITES, delta, request_counts  # noqa: E402
from tests.e2e.bitnami_controller import BitnamiController, sandbox_unavailable  # noqa: E402
from tests.e2e.cluster import ControlPlane  # noqa: E402
from tests.e2e.sealer_controller import RunningController, install  # noqa: E402
from tests.e2e.waiting import eventually  # noqa: E402
from tests.interop.conftest import find_binary  # noqa: E402
from tests.peers import PeerUnavailable, build_peer  # noqa: E402

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
KEY_NAMESPACE = "kube-system"
RUN_LABEL = "sealer.bench/run"
OPS_METRIC = "sealed_secrets_controller_private_key_operations_total"
ITEMS = ("username", "password")
KEYS, BITS = 6, 4096
MONTH = dt.timedelta(days=30)
TICK = os.sysconf("SC_CLK_TCK")
CONTROLLER_RESOURCES = {
    ("GET", "secrets"),
    ("POST", "secrets"),
    ("PUT", "secrets"),
    ("PATCH", "secrets"),
    ("POST", "events"),
    ("PATCH", "events"),
    ("PUT", "sealedsecrets"),
    ("PATCH", "sealedsecrets"),
}


# --- the process under test ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def plane_cpu_seconds(plane: ControlPlane) -> float:
    """etcd, the API server and the controller manager together: the writes' cost on the server side."""
    return sum(cpu_seconds(pid) for pid in plane.pids().values())


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# --- set-up ---------------------------------------------------------------------------------------


def store_keys(plane: ControlPlane, count: int, bits: int, directory: Path) -> list[tuple[Path, object]]:
    """``count`` active key Secrets, one a month back from now; their certificate files and private keys."""
    now = dt.datetime.now(dt.UTC)
    out = []
    with plane.api_client() as api:
        core = kubernetes.client.CoreV1Api(api)
        for i in range(count):
            when = now - (count - 1 - i) * MONTH
            pair = generate_key_pair(bits, clock=lambda when=when: when)
            core.create_namespaced_secret(
                KEY_NAMESPACE, to_secret(StoredKey(generate_name(), pair, ACTIVE), KEY_NAMESPACE)
            )
            cert = directory / f"key{i}.pem"
            cert.write_bytes(pair.cert_pem)
            out.append((cert, pair.private_key))
    return out


def seal_with_cli(argv: list[str], docs: list[dict]) -> list[dict]:
    text = "".join("---\n" + json.dumps(d) + "\n" for d in docs)
    proc = subprocess.run([*argv, "-o", "yaml"], input=text.encode(), capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    return [d for d in yaml.load_all(proc.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]


class Workload:
    """This run's SealedSecrets, sealed by the real CLI before any timing, and the data they must give."""

    def __init__(self, namespace: str, run: str, certs, sealed_by: str, count: int, rng: random.Random, kubeseal: str):
        self.namespace, self.run, self.selector = namespace, run, f"{RUN_LABEL}={run}"
        self.expected: dict[str, dict[str, str]] = {}
        by_key: dict[int, list[dict]] = {}
        for i in range(count):
            name = f"app-{i:05d}"
            data = {k: f"{k}-{i}-{secrets.token_urlsafe(18)}" for k in ITEMS}
            by_key.setdefault(rng.randrange(len(certs)), []).append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "Opaque",
                    "metadata": {"name": name, "namespace": namespace},
                    "stringData": data,
                }
            )
            self.expected[name] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.docs: list[dict] = []
        for k, docs in sorted(by_key.items()):
            cli = [venv_bin("sealer"), "seal"] if sealed_by == "sealer" else [kubeseal]
            for doc in seal_with_cli([*cli, "--cert", str(certs[k][0])], docs):
                doc["metadata"].setdefault("labels", {})[RUN_LABEL] = run
                self.docs.append(doc)


def create_all(custom, docs: list[dict], threads: int = 4) -> None:
    def one(doc):
        custom.create_namespaced_custom_object(GROUP, VERSION, doc["metadata"]["namespace"], PLURAL, doc)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, docs))


def wait_unsealed(core, work: Workload, timeout: float, ctrl) -> float:
    """The moment every Secret has the right data, as a watch on the namespace's Secrets sees it.
    A watch, not a poll: listing the namespace's Secrets every 0.1 s cost the API server (11 ms of
    CPU per LIST of 1,000) and this process a good share of a core, taken from the controller
    under test on the same 2 cores, and timed the end only to within 0.1 s."""
    kube = Kube(core.api_client)
    path = secret_path(work.namespace)
    deadline = time.monotonic() + timeout
    right: set[str] = set()

    def see(kind: str, obj: dict) -> None:
        name = obj["metadata"]["name"]
        if kind != "DELETED" and work.expected.get(name) == (obj.get("data") or {}):
            right.add(name)
        else:
            right.discard(name)

    rv = ""
    while True:
        if not rv:  # at the start, and after a 410
            items, rv = kube.list(path)
            right.clear()
            for obj in items:
                see("ADDED", obj)
            if len(right) == len(work.expected):
                return time.monotonic()
        try:
            for kind, obj in kube.watch(path, rv, timeout_seconds=5):
                rv = obj["metadata"].get("resourceVersion") or rv
                if kind != "BOOKMARK":
                    see(kind, obj)
                if len(right) == len(work.expected):
                    return time.monotonic()
        except Gone:
            rv = ""
        if len(right) == len(work.expected):
            return time.monotonic()
        if ctrl.proc is not None and ctrl.proc.poll() is not None:
            raise RuntimeError(f"controller exited ({ctrl.proc.returncode}); log ends:\n{ctrl.logs()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"timed out: {len(right)}/{len(work.expected)} Secrets; log ends:\n{ctrl.logs()[-3000:]}"
            )


def wait_quiet(plane: ControlPlane, quiet: float = 3.0, timeout: float = 600) -> None:
    """Until the controller's requests stop (none for ``quiet`` seconds)."""
    deadline = time.monotonic() + timeout
    last, since = controller_requests(request_counts(plane)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = controller_requests(request_counts(plane))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def controller_requests(counts) -> int:
    return sum(
        n
        for (verb, resource, sub), n in counts.items()
        if (verb, resource) in CONTROLLER_RESOURCES and (resource != "sealedsecrets" or sub == "status")
    )


def events_in(core, namespace: str) -> int:
    return len(json.loads(core.list_namespaced_event(namespace, _preload_content=False).data)["items"])


def delete_namespace(core, name: str, timeout: float = 300) -> None:
    try:
        core.delete_namespace(name)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return
        raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return
            raise
        time.sleep(0.5)


# --- one measurement --------------------------------------------------------------------------------


def start_controller(plane, who: str, selector: str, bitnami_bin):
    flags = ("--key-renew-period", "0", "--label-selector", selector)
    if who == "ours":
        return RunningController(plane, KEY_NAMESPACE, *flags, "--log-level", "INFO", name="bench-controller")
    extra = () if who == "bitnami-defaults" else ("--kubeclient-qps", "-1")
    return BitnamiController(plane, bitnami_bin, KEY_NAMESPACE, *flags, *extra)


def measure(plane, who: str, work: Workload, args, bitnami_bin, core, custom) -> dict:
    n = len(work.expected)
    ctrl = start_controller(plane, who, work.selector, bitnami_bin)
    out: dict = {}
    try:
        requests0 = request_counts(plane)
        plane0 = plane_cpu_seconds(plane)
        t0 = time.monotonic()
        ctrl.start(timeout=120)
        out["ready"] = time.monotonic() - t0
        out["sync"] = wait_unsealed(core, work, 60 + 2.0 * n, ctrl) - t0
        wait_quiet(plane)  # its status writes and events, after the last Secret
        pid = ctrl.proc.pid
        out["cpu"], out["rss"] = cpu_seconds(pid), peak_rss_mib(pid)
        out["plane_cpu"] = plane_cpu_seconds(plane) - plane0
        out["requests"] = controller_requests(delta(requests0, request_counts(plane))) / n
        if who == "ours":
            out["ops"] = ctrl.metric(OPS_METRIC)
        events0 = events_in(core, work.namespace)
        ctrl.stop()

        # The restart.
        ctrl = start_controller(plane, who, work.selector, bitnami_bin)
        requests1 = request_counts(plane)
        t1 = time.monotonic()
        ctrl.start(timeout=120)
        out["restart_ready"] = time.monotonic() - t1
        if who == "ours":
            eventually(
                lambda: ctrl.metric("sealed_secrets_controller_unseal_requests_total") >= n,
                120,
                0.2,
                "every SealedSecret looked at",
            )
        wait_quiet(plane, quiet=5.0)
        counts = delta(requests1, request_counts(plane))
        out["restart_writes"] = sum(v for (verb, _, _), v in counts.items() if verb in WRITES)
        out["restart_requests"] = controller_requests(counts)
        out["restart_events"] = events_in(core, work.namespace) - events0
        if who == "ours":
            out["restart_ops"] = ctrl.metric(OPS_METRIC)
            if args.idle:
                pid = ctrl.proc.pid
                c0, w0 = cpu_seconds(pid), time.monotonic()
                time.sleep(args.idle)
                out["idle"] = (cpu_seconds(pid) - c0) / (time.monotonic() - w0)
        return out
    finally:
        ctrl.stop()


def rsa_floor(keys, ops: int, threads: int = 2) -> tuple[float, float]:
    """Seconds for ``ops`` RSA-OAEP private-key operations alone on ``threads`` threads, and the
    CPU seconds they took."""
    private_key = keys[0][1]
    blob = crypto.seal(private_key.public_key(), b"x" * 40, b"ns/name")
    per = [ops // threads + (1 if i < ops % threads else 0) for i in range(threads)]

    def work(count: int) -> None:
        for _ in range(count):
            crypto.unwrap_key(private_key, blob, b"ns/name")

    pool = [threading.Thread(target=work, args=(c,)) for c in per]
    t, cpu = time.perf_counter(), time.process_time()
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    return time.perf_counter() - t, time.process_time() - cpu


# --- the memory mode --------------------------------------------------------------------------------


def scale(plane, who: str, args, certs, bitnami_bin, core, custom, rng, kubeseal) -> float:
    run = f"scale-{who}-{secrets.token_hex(3)}"
    ns = f"bench-{run}"
    core.create_namespace({"metadata": {"name": ns}})
    try:
        filler = base64.b64encode(b"x" * 1024).decode()
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda i: core.create_namespaced_secret(
                        ns, {"metadata": {"name": f"other-{i:05d}"}, "data": {"blob": filler}}
                    ),
                    range(args.scale),
                )
            )
        work = Workload(ns, run, certs, "sealer", args.scale, rng, kubeseal)
        create_all(custom, work.docs)
        ctrl = start_controller(plane, who, work.selector, bitnami_bin)
        try:
            ctrl.start(timeout=300)
            wait_unsealed(core, work, 120 + 2.0 * args.scale, ctrl)
            wait_quiet(plane)
            return peak_rss_mib(ctrl.proc.pid)
        finally:
            ctrl.stop()
    finally:
        delete_namespace(core, ns)


# --- report --------------------------------------------------------------------------------------------


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def f2(v) -> str:
    return "-" if v is None else f"{v:.2f}"


LABELS = {"ours": "ours", "bitnami": "Bitnami (--kubeclient-qps -1)", "bitnami-defaults": "Bitnami (defaults)"}


def report(results, floors, args, configs, why_not) -> None:
    n = args.count
    print()
    print(
        f"{KEYS} active {BITS}-bit keys; {n} SealedSecrets of {len(ITEMS)} items, sealed for keys chosen uniformly; "
        f"median of {args.repeats} run(s); machine load (1 min) at the end {machine_load()} on {os.cpu_count()} cores"
    )
    rows = []
    for variant in ("sealer", "kubeseal"):
        floor = med(floors.get(variant, []))
        for who in configs:
            rs = results.get((who, variant), [])
            if not rs:
                continue
            sync = med([r["sync"] for r in rs])
            ops = med([r.get("ops") for r in rs])
            rows.append(
                (
                    f"{variant} seal" if variant == "sealer" else "kubeseal",
                    LABELS[who],
                    f2(sync),
                    f"{sync / floor:.2f}x"
                    if sync and floor and who == "ours"
                    else (f"{sync / floor:.1f}x" if sync and floor else "-"),
                    f2(med([r["sync"] - r["ready"] for r in rs])),
                    "-" if ops is None else f"{ops / (len(ITEMS) * n):.2f}",
                    f2(med([r["requests"] for r in rs])),
                    f2(med([r["cpu"] for r in rs])),
                    f2(med([r.get("beyond_rsa_ms") for r in rs])),
                    f2(med([r["plane_cpu"] for r in rs])),
                    f"{med([r['rss'] for r in rs]):.0f}",
                )
            )
        rows.append(
            (
                "",
                f"RSA floor ({'ours' if floor else '-'}'s ops, 2 threads)",
                f2(floor),
                "1.00x",
                *("",) * 7,
            )
        )
    print(
        table(
            rows,
            (
                "sealed by",
                "controller",
                "sync s",
                "vs floor",
                "after ready s",
                "ops/item",
                "requests/SS",
                "CPU s",
                "beyond RSA ms/SS",
                "control plane CPU s",
                "peak RSS MiB",
            ),
        )
    )
    print(
        "sync s: from starting the process until every Secret is right (start-up included); after ready: from /readyz"
    )
    print(
        "CPU s: the controller's, start to quiet; beyond RSA: that minus the CPU of its private-key operations "
        "(timed with the floor), per SealedSecret; control plane CPU s: etcd, API server and controller manager "
        "over the same span, on the same cores"
    )
    print()
    rows = []
    for variant in ("sealer", "kubeseal"):
        for who in configs:
            rs = results.get((who, variant), [])
            if rs:
                rows.append(
                    (
                        variant,
                        LABELS[who],
                        f2(med([r["restart_ready"] for r in rs])),
                        "-" if who != "ours" else f"{med([r['restart_ops'] for r in rs]):.0f}",
                        f"{med([r['restart_writes'] for r in rs]):.0f}",
                        f"{med([r['restart_events'] for r in rs]):.0f}",
                        f"{med([r['restart_requests'] for r in rs]):.0f}",
                        "-" if "idle" not in rs[0] else f"{100 * med([r['idle'] for r in rs]):.3f} %",
                    )
                )
    print(f"restart over the {n} synced SealedSecrets")
    print(
        table(
            rows,
            (
                "sealed by",
                "controller",
                "ready s",
                "private-key ops",
                "writes",
                "events",
                "requests",
                f"idle CPU ({args.idle} s)",
            ),
        )
    )
    if why_not:
        print(f"Bitnami's controller: not measured ({why_not}); ours alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="SealedSecrets (default 1000)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per controller and variant (default 1)")
    parser.add_argument(
        "--idle", type=int, default=60, help="seconds of idle CPU measurement, ours (default 60; 0 skips)"
    )
    parser.add_argument(
        "--scale", type=int, default=0, help="memory mode: this many SealedSecrets and unrelated Secrets"
    )
    parser.add_argument(
        "--bitnami-defaults", action="store_true", help="also Bitnami's controller at its 5 QPS default"
    )
    parser.add_argument("--ours-only", action="store_true", help="do not run Bitnami's controller")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.chdir(REPO)

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)

    started = time.monotonic()
    why_not = "--ours-only" if args.ours_only else sandbox_unavailable()
    bitnami_bin = kubeseal = None
    try:
        peer = build_peer("bitnami")
        kubeseal = str(find_binary(peer, "kubeseal"))
        if not why_not:
            bitnami_bin = find_binary(peer, "controller")
    except (PeerUnavailable, FileNotFoundError) as e:
        why_not = why_not or str(e)
    if kubeseal is None:
        raise SystemExit("kubeseal (the Bitnami peer) is needed to seal the kubeseal variant")
    configs = ["ours"] + ([] if why_not else ["bitnami"] + (["bitnami-defaults"] if args.bitnami_defaults else []))
    plane = ControlPlane(build_peer("control-plane"))
    results: dict = {}
    floors: dict = {}
    scale_rss: dict = {}
    try:
        plane.start()
        install(plane)
        keys = store_keys(plane, KEYS, BITS, plane.dir)
        print(
            f"control plane up in {plane.startup_seconds:.1f} s; {KEYS} {BITS}-bit keys stored; load {machine_load()}",
            flush=True,
        )
        rng = random.Random(args.seed)
        with plane.api_client() as api:
            core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
            for rep in range(args.repeats):
                for variant in ("sealer", "kubeseal"):
                    for who in configs:
                        run = f"{who}-{variant}-{secrets.token_hex(3)}"
                        ns = f"bench-{run}"
                        core.create_namespace({"metadata": {"name": ns}})
                        try:
                            work = Workload(ns, run, keys, variant, args.count, rng, kubeseal)
                            create_all(custom, work.docs)
                            t = time.monotonic()
                            r = measure(plane, who, work, args, bitnami_bin, core, custom)
                        finally:
                            delete_namespace(core, ns)
                        results.setdefault((who, variant), []).append(r)
                        if who == "ours":
                            wall, cpu = rsa_floor(keys, int(r["ops"]))
                            floors.setdefault(variant, []).append(wall)
                            # Our controller's CPU beyond its private-key operations, per SealedSecret.
                            r["beyond_rsa_ms"] = 1000 * (r["cpu"] - cpu) / args.count
                        print(
                            f"  run {rep + 1} {who:16} {variant:8}: sync {r['sync']:.2f} s (ready {r['ready']:.2f}), "
                            f"{r['requests']:.2f} requests/SS, CPU {r['cpu']:.1f} s, control plane CPU "
                            f"{r['plane_cpu']:.1f} s, RSS {r['rss']:.0f} MiB"
                            + (
                                f", ops/item {r['ops'] / (len(ITEMS) * args.count):.2f}, floor "
                                f"{floors[variant][-1]:.2f} s, beyond RSA {r['beyond_rsa_ms']:.2f} ms CPU/SS"
                                if who == "ours"
                                else ""
                            )
                            + f"; restart: ready {r['restart_ready']:.2f} s, writes {r['restart_writes']}, "
                            f"events {r['restart_events']}"
                            + (
                                f", ops {r['restart_ops']:.0f}, idle {100 * r.get('idle', 0):.3f} %"
                                if who == "ours"
                                else ""
                            )
                            + f"  [{time.monotonic() - t:.0f} s; load {machine_load()}]",
                            flush=True,
                        )
            if args.scale:
                for who in configs:
                    scale_rss[who] = scale(plane, who, args, keys, bitnami_bin, core, custom, rng, kubeseal)
                    print(f"  scale {who}: peak RSS {scale_rss[who]:.0f} MiB", flush=True)
    finally:
        plane.stop()
    report(results, floors, args, configs, why_not)
    if scale_rss:
        print(
            f"\npeak RSS with {args.scale} SealedSecrets and {args.scale} unrelated Secrets (1 KiB): "
            + ", ".join(f"{LABELS[w]} {v:.0f} MiB" for w, v in scale_rss.items())
        )
    print(f"total wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

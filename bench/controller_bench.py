"""Our controller against Bitnami's v0.36.6 controller, in the same run, on the e2e control plane.

The scenario of the users' complaints ("slow with many SealedSecrets; everything is re-processed at
start", "use a key id instead of trying every key"): a controller that has rotated monthly for a
year holds 13 active keys, and N SealedSecrets (3 items each) were sealed for keys picked uniformly
among them. Two variants: sealed by `sealer seal` (key-hint annotation `sealer.dev/sealing-key`)
and sealed without the hint, as kubeseal does.

For each controller and variant, per run (fresh namespace, own label; the controller is started
with `--label-selector` for that label, so it sees only this run's SealedSecrets):
  cold:   the N SealedSecrets exist first, then the controller starts; wall time from starting the
          process until all N Secrets exist with the right data (a backlog at start)
  steady: then K more SealedSecrets are created while it runs; time from the first create until
          all K Secrets exist with the right data
  ours only: RSA private-key operations per item (sealed_secrets_controller_private_key_operations_total)

Both controllers run as the deploy/ ServiceAccount (its RBAC only), with `--key-renew-period 0`
and otherwise their defaults (ours at --log-level INFO). Bitnami's runs in a private mount
namespace (needs root and `unshare`, see tests/e2e/bitnami_controller.py); without those, ours is
measured alone.

Bitnami's controller is measured twice: with its defaults, which include a client-side limit of
5 API requests per second (burst 10) per clientset: it spends 3 of them per SealedSecret (get and
create the Secret, the event; the status update has a clientset of its own), so that limit, not
its code, sets its pace, ~0.6 s per SealedSecret (one run per variant by default: it takes
minutes, always the same); and with
`--kubeclient-qps -1` (no limit), which shows the implementations side by side.

Run from the repo root: .venv/bin/python bench/controller_bench.py [--count N] [--steady K]
    [--repeats R] [--bitnami-default-repeats R] [--bits 2048|4096] [--ours-only]
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
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, table  # noqa: E402

sys.path.insert(0, str(REPO))
import kubernetes  # noqa: E402

from keys.generate import generate_key_pair  # noqa: E402
from keys.secret_format import ACTIVE, StoredKey, generate_name, to_secret  # noqa: E402
from sealer.core.certs import Certificate, parse_certificate  # noqa: E402
from sealer.core.sealing import Sealer  # noqa: E402
from tests.e2e.bitnami_controller import BitnamiController, sandbox_unavailable  # noqa: E402
from tests.e2e.cluster import ControlPlane  # noqa: E402
from tests.e2e.sealer_controller import RunningController, install  # noqa: E402
from tests.interop.conftest import find_binary  # noqa: E402
from tests.peers import PeerUnavailable, build_peer  # noqa: E402

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"
KEY_NAMESPACE = "kube-system"  # deploy/'s namespace: where both controllers read their keys
RUN_LABEL = "sealer.bench/run"
OPS_METRIC = "sealed_secrets_controller_private_key_operations_total"
ITEMS = ("username", "password", "url")
MONTH = dt.timedelta(days=30)


# --- set-up ------------------------------------------------------------------------------------

def store_keys(plane: ControlPlane, count: int, bits: int) -> list[Certificate]:
    """``count`` active key Secrets, one a month back from now (the newest distinct, and newest)."""
    now = dt.datetime.now(dt.timezone.utc)
    pairs = []
    for i in range(count):
        when = now - (count - 1 - i) * MONTH
        pairs.append(generate_key_pair(bits, clock=lambda when=when: when))
    with plane.api_client() as api:
        core = kubernetes.client.CoreV1Api(api)
        for pair in pairs:
            secret = to_secret(StoredKey(generate_name(), pair, ACTIVE), KEY_NAMESPACE)
            core.create_namespaced_secret(KEY_NAMESPACE, secret)
    return [parse_certificate(p.cert_pem) for p in pairs]


class Workload:
    """This run's SealedSecrets (sealed before any timing) and the Secret data they must give."""

    def __init__(self, namespace: str, run: str, certs: list[Certificate], hints: bool, count: int, steady: int,
                 rng: random.Random):
        self.namespace, self.run = namespace, run
        self.selector = f"{RUN_LABEL}={run}"
        sealers = [Sealer(c, record_key_hint=hints) for c in certs]
        self.expected: dict[str, dict[str, str]] = {}
        self.docs: list[dict] = []
        for i in range(count + steady):
            name = f"app-{i:04d}"
            data = {k: f"{k}-{i}-{secrets.token_urlsafe(18)}" for k in ITEMS}
            secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": name, "namespace": namespace, "labels": {RUN_LABEL: run}},
                      "stringData": data}
            sealed = rng.choice(sealers).seal_secret(secret)
            sealed["metadata"].setdefault("labels", {})[RUN_LABEL] = run  # what the controller selects on
            self.docs.append(sealed)
            self.expected[name] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.backlog, self.later = self.docs[:count], self.docs[count:]


def create_all(custom, docs: list[dict], threads: int = 4) -> None:
    def one(doc):
        custom.create_namespaced_custom_object(GROUP, VERSION, doc["metadata"]["namespace"], PLURAL, doc)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, docs))


def unsealed(core, work: Workload, names: list[str]) -> int:
    """How many of ``names`` exist as Secrets with the expected data (one list call)."""
    resp = core.list_namespaced_secret(work.namespace, label_selector=work.selector, _preload_content=False)
    found = {s["metadata"]["name"]: s.get("data") or {} for s in json.loads(resp.data)["items"]}
    return sum(1 for n in names if found.get(n) == work.expected[n])


def wait_unsealed(core, work: Workload, names: list[str], timeout: float, ctrl, interval: float = 0.2) -> float:
    """Poll until all ``names`` are unsealed; returns the monotonic time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        done = unsealed(core, work, names)
        now = time.monotonic()
        if done == len(names):
            return now
        if ctrl.proc is not None and ctrl.proc.poll() is not None:
            raise RuntimeError(f"controller exited ({ctrl.proc.returncode}); log ends:\n{ctrl.logs()[-3000:]}")
        if now > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s: {done}/{len(names)} Secrets in {work.namespace}; "
                               f"controller log ends:\n{ctrl.logs()[-3000:]}")
        time.sleep(interval)


def delete_namespace(core, name: str, timeout: float = 120) -> None:
    """Delete and wait until it is gone, so the next run does not share the API server with it."""
    try:
        core.delete_namespace(name)
    except kubernetes.client.ApiException as e:
        if e.status != 404:
            raise
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return
            raise
        time.sleep(0.25)
    print(f"  (namespace {name} still terminating after {timeout:.0f} s; going on)", flush=True)


# --- one measurement -----------------------------------------------------------------------------

CONFIGS = {
    # name: (label in the report, extra flags)
    "ours": ("ours", ()),
    "bitnami": ("Bitnami (defaults: 5 QPS)", ()),
    "bitnami-noqps": ("Bitnami (--kubeclient-qps -1)", ("--kubeclient-qps", "-1")),
}


def measure(plane: ControlPlane, who: str, hints: bool, args, certs, bitnami_bin, rng, core, custom) -> dict:
    run = f"{who}-{'hint' if hints else 'nohint'}-{secrets.token_hex(3)}"
    namespace = f"bench-{run}"
    core.create_namespace({"metadata": {"name": namespace}})
    ctrl = None
    try:
        work = Workload(namespace, run, certs, hints, args.count, args.steady, rng)
        create_all(custom, work.backlog)
        flags = ("--key-renew-period", "0", "--label-selector", work.selector)
        if who == "ours":
            ctrl = RunningController(plane, KEY_NAMESPACE, *flags, "--log-level", "INFO", name="bench-controller")
        else:
            ctrl = BitnamiController(plane, bitnami_bin, KEY_NAMESPACE, *flags, *CONFIGS[who][1])
        timeout = 60 + 3.0 * (args.count + args.steady)
        t0 = time.monotonic()
        ctrl.start(timeout=60)  # returns once it serves (ours: /readyz; Bitnami's: /v1/cert.pem)
        ready = time.monotonic() - t0
        backlog_names = [d["metadata"]["name"] for d in work.backlog]
        cold = wait_unsealed(core, work, backlog_names, timeout, ctrl) - t0
        out = {"cold": cold, "ready": ready}
        if who == "ours":
            out["ops_cold"] = ctrl.metric(OPS_METRIC)
        t1 = time.monotonic()
        create_all(custom, work.later)
        out["create"] = time.monotonic() - t1  # the floor of "steady": our own API calls
        out["steady"] = wait_unsealed(core, work, [d["metadata"]["name"] for d in work.later], timeout, ctrl) - t1
        if who == "ours":
            out["ops_steady"] = ctrl.metric(OPS_METRIC) - out["ops_cold"]
        return out
    finally:
        if ctrl is not None:
            ctrl.stop()
        delete_namespace(core, namespace)


# --- report ---------------------------------------------------------------------------------------

def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


VARIANTS = {"hint": "sealer seal (key hint)", "nohint": "no hint (as kubeseal)"}


def report(results: dict, args, configs: list[str], why_not: str | None) -> None:
    n, k = args.count, args.steady
    runs = {c: len(results.get((c, "hint"), [])) for c in configs}
    print()
    print(f"13 active {args.bits}-bit keys; SealedSecrets of 3 items, sealed for keys chosen uniformly")
    print(f"cold = controller started with a backlog of {n}, until all {n} Secrets are right; steady = {k} created "
          f"while it runs, from the first create until all {k} are right")
    print("median seconds; runs per variant: " + ", ".join(f"{CONFIGS[c][0]} {runs[c]}" for c in configs))
    header = ["sealed by", "phase", "ours s"]
    others = [c for c in configs if c != "ours"]
    for c in others:
        header += [f"{CONFIGS[c][0]} s", "ours/it"]
    rows = []
    for variant, label in VARIANTS.items():
        for phase, size in (("cold", n), ("steady", k)):
            ours = med([r[phase] for r in results[("ours", variant)]])
            row = [label, f"{phase} ({size})", fmt_s(ours)]
            for c in others:
                theirs = med([r[phase] for r in results.get((c, variant), [])])
                row += [fmt_s(theirs), f"{ours / theirs:.2f}x" if ours and theirs else "-"]
            rows.append(tuple(row))
    print(table(rows, tuple(header)))
    rows = []
    for variant, label in VARIANTS.items():
        row = [label]
        for c in configs:
            cold = med([r["cold"] for r in results.get((c, variant), [])])
            steady = med([r["steady"] for r in results.get((c, variant), [])])
            row.append(f"{n / cold:.0f} / {k / steady:.0f}" if cold and steady else "-")
        rows.append(tuple(row))
    print("SealedSecrets per second (cold / steady)")
    print(table(rows, ("sealed by", *(CONFIGS[c][0] for c in configs))))
    serve = ", ".join(f"{CONFIGS[c][0]} {fmt_s(med([r['ready'] for v in VARIANTS for r in results.get((c, v), [])]))} s"
                      for c in configs)
    print(f"time from start to serving HTTP (included in cold): {serve}")
    create = med([r["create"] for v in VARIANTS for c in configs for r in results.get((c, v), [])])
    print(f"creating the {k} SealedSecrets of steady (included in it, 4 client threads): {fmt_s(create)} s")
    print()
    print("our controller's RSA private-key operations per item, 13 keys (median over runs)")
    rows = []
    for variant, label in VARIANTS.items():
        rs = results[("ours", variant)]
        rows.append((label, f"{med([r['ops_cold'] / (3 * n) for r in rs]):.2f}",
                     f"{med([r['ops_steady'] / (3 * k) for r in rs]):.2f}"))
    print(table(rows, ("sealed by", f"cold ({3 * n} items)", f"steady ({3 * k} items)")))
    print("(Bitnami's controller ignores the hint and tries the keys in Go map order: (13+1)/2 = 7 per item "
          "on average; it exports no such counter)")
    if why_not:
        print(f"Bitnami's controller: not measured ({why_not}); ours alone")


# --- main --------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="SealedSecrets present at start (default 200)")
    parser.add_argument("--steady", type=int, default=50, help="SealedSecrets created while running (default 50)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per variant of ours and of Bitnami's with --kubeclient-qps -1 (default 3)")
    parser.add_argument("--bitnami-default-repeats", type=int, default=1,
                        help="runs per variant of Bitnami's controller with its defaults (default 1; 0 skips it): "
                             "its client limit of 5 requests/s makes each run last ~0.6 s per SealedSecret")
    parser.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096), help="key size (default 2048)")
    parser.add_argument("--ours-only", action="store_true", help="do not run Bitnami's controller")
    parser.add_argument("--seed", type=int, default=1, help="for the choice of keys")
    args = parser.parse_args()
    os.chdir(REPO)

    def interrupt(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)

    started = time.monotonic()
    why_not = "--ours-only" if args.ours_only else sandbox_unavailable()
    bitnami_bin = None
    if not why_not:
        try:
            bitnami_bin = find_binary(build_peer("bitnami"), "controller")
        except (PeerUnavailable, FileNotFoundError) as e:
            why_not = str(e)
    if why_not:
        print(f"Bitnami's controller unavailable: {why_not}; benchmarking ours alone", flush=True)
    configs = ["ours"]
    if not why_not:
        configs += (["bitnami"] if args.bitnami_default_repeats > 0 else []) + ["bitnami-noqps"]
    repeats = {"ours": args.repeats, "bitnami": args.bitnami_default_repeats, "bitnami-noqps": args.repeats}
    try:
        bin_dir = build_peer("control-plane")
    except PeerUnavailable as e:
        raise SystemExit(f"control plane unavailable: {e}")

    plane = ControlPlane(bin_dir)
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        plane.start()
        install(plane)
        t = time.monotonic()
        certs = store_keys(plane, 13, args.bits)
        print(f"control plane up in {plane.startup_seconds:.1f} s; 13 {args.bits}-bit keys made and stored in "
              f"{time.monotonic() - t:.1f} s", flush=True)
        rng = random.Random(args.seed)
        with plane.api_client() as api:
            core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
            for rep in range(max(repeats.values())):
                for variant in VARIANTS:
                    for who in configs:
                        if rep >= repeats[who]:
                            continue
                        t = time.monotonic()
                        r = measure(plane, who, variant == "hint", args, certs, bitnami_bin, rng, core, custom)
                        results.setdefault((who, variant), []).append(r)
                        ops = (f"; private-key ops/item {r['ops_cold'] / (3 * args.count):.2f} cold, "
                               f"{r['ops_steady'] / (3 * args.steady):.2f} steady") if who == "ours" else ""
                        print(f"  run {rep + 1} {who:13} {variant:6}: cold {r['cold']:6.2f} s (serving after "
                              f"{r['ready']:.2f} s), steady {r['steady']:5.2f} s (created in {r['create']:.2f} s)"
                              f"{ops}  [{time.monotonic() - t:.0f} s with set-up]", flush=True)
    finally:
        plane.stop()
    report(results, args, configs, why_not)
    print(f"total wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

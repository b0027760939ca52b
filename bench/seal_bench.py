"""Sealing speed of the `sealer` CLI, against Bitnami's kubeseal in the same run.

  cold: one Secret, `seal --cert`, whole process (start-up included): median of repeated runs
  bulk: 1,000 Secrets in one stream: throughput
  import profile: the cold run's top modules by cumulative import time (`python -X importtime`,
  median of several runs), to see where the start-up goes

Goal (issue 2): cold median within 120 ms on the 2-core machine.
Run: .venv/bin/python bench/seal_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, median_ms, peer_bin, table, time_process, venv_bin  # noqa: E402
from import_profile import run_profiled  # noqa: E402

CERT = REPO / "examples" / "example-cert.pem"  # 4096-bit, like a controller's default key


def secret(i: int) -> str:
    value = base64.b64encode(os.urandom(24)).decode()
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-{i}\n  namespace: team-{i % 7}\n"
        f"  labels:\n    app: app-{i}\ntype: Opaque\nstringData:\n  username: user{i}\n  password: {value}\n"
        f"  url: postgres://db-{i}:5432/app\n"
    )


def import_profile(
    command: list[str], stdin: bytes, env: dict, runs: int, top: int = 15
) -> list[tuple[str, float, float]]:
    """(module, cumulative ms, self ms) of the cold run's `top` slowest imports, medians of `runs`
    profiled runs (bench/import_profile.py aggregates them by package instead)."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        _, _, own, cumulative = run_profiled(command, stdin, env)
        for name, us in cumulative.items():
            samples.setdefault(name, []).append((own[name], us))
    rows = [
        (name, statistics.median(c for _, c in v) / 1000, statistics.median(s for s, _ in v) / 1000)
        for name, v in samples.items()
        if len(v) == runs
    ]
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--bulk-runs", type=int, default=5)
    parser.add_argument("--profile-runs", type=int, default=7)
    args = parser.parse_args()

    one = secret(0).encode()
    bulk = "---\n".join(secret(i) for i in range(1000)).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    with tempfile.TemporaryDirectory() as tmp:
        env["KUBECONFIG"] = str(Path(tmp) / "none")  # neither tool may need a cluster with --cert
        tools = {"sealer": [venv_bin("sealer"), "seal", "--cert", str(CERT), "-o", "yaml"]}
        kubeseal = peer_bin("bitnami", "kubeseal")
        if kubeseal:
            tools["kubeseal"] = [kubeseal, "--cert", str(CERT), "-o", "yaml"]
        results = {}
        for name, argv in tools.items():
            cold = time_process(argv, stdin=one, runs=args.runs, warmup=2, env=env)
            many = time_process(argv, stdin=bulk, runs=args.bulk_runs, warmup=1, env=env)
            results[name] = (median_ms(cold), median_ms(many))
        profile = import_profile(
            [sys.executable, "-m", "sealer", "seal", "--cert", str(CERT), "-o", "yaml"],
            one,
            {**env, "PYTHONPATH": str(REPO)},
            args.profile_runs,
        )

    rows = []
    for name, (cold, many) in results.items():
        rows.append((name, f"{cold:.1f}", f"{many:.0f}", f"{1000 / (many / 1000):.0f}"))
    print(
        f"sealing with a 4096-bit certificate; cold = 1 Secret ({args.runs} runs), bulk = 1,000 Secrets "
        f"x 3 items ({args.bulk_runs} runs); medians"
    )
    print(table(rows, ("tool", "cold ms", "bulk ms", "Secrets/s")))
    if "kubeseal" in results:
        s, k = results["sealer"], results["kubeseal"]
        print(f"ratio sealer/kubeseal: cold {s[0] / k[0]:.2f}x, bulk {s[1] / k[1]:.2f}x")
    else:
        print("kubeseal: not available (no Go toolchain); no comparison")
    print(
        f"\nimport profile of the cold run (python -X importtime, medians of {args.profile_runs} runs; "
        "cumulative includes the module's own imports)"
    )
    print(
        table(
            [(name, f"{cum:.1f}", f"{own:.1f}") for name, cum, own in profile], ("module", "cumulative ms", "self ms")
        )
    )
    print(
        f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} cores (a shared machine inflates every figure)"
    )
    goal = results["sealer"][0] <= 120
    print(f"goal: cold median <= 120 ms: {'met' if goal else 'NOT met'} ({results['sealer'][0]:.1f} ms)")


if __name__ == "__main__":
    main()

"""Cost of the post-quantum hybrid value format (issue 16) against the classic one, same run.

  in-process: seal and open one value (64 B and 64 KiB) with a 4096-bit RSA key, classic vs
              hybrid (RSA-OAEP + ML-KEM-768 + HKDF-SHA256): median microseconds of repeated calls
  cold:       `sealer seal` of one Secret (3 items), whole process, vs `sealer seal --pq`, and
              Bitnami's kubeseal (classic only) as the peer
  size:       bytes per sealed value

Run: .venv/bin/python bench/pq_bench.py [--repeat N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import median_ms, peer_bin, table, time_process, venv_bin  # noqa: E402
from seal_bench import secret  # noqa: E402

from keys.generate import generate_key_pair  # noqa: E402
from sealer.core import crypto  # noqa: E402

LABEL = b"team-1/app-1"


def median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=201)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    pair = generate_key_pair(4096, pq=True)
    rsa_public, kem_public = pair.private_key.public_key(), pair.mlkem_key.public_key()
    rows = []
    ratios = []
    for size in (64, 65536):
        plaintext = os.urandom(size)
        classic = crypto.seal(rsa_public, plaintext, LABEL)
        hybrid = crypto.seal_hybrid(rsa_public, kem_public, plaintext, LABEL)
        calls = {
            "seal classic": lambda p=plaintext: crypto.seal(rsa_public, p, LABEL),
            "seal hybrid": lambda p=plaintext: crypto.seal_hybrid(rsa_public, kem_public, p, LABEL),
            "open classic": lambda b=classic: crypto.open_sealed(pair.private_key, b, LABEL),
            "open hybrid": lambda b=hybrid: crypto.open_sealed(pair.private_key, b, LABEL, pair.mlkem_key),
        }
        costs = {what: median_us(call, args.repeat) for what, call in calls.items()}
        for what, us in costs.items():
            rows.append((f"{size} B", what, f"{us:.0f}", len(hybrid if "hybrid" in what else classic)))
        ratios.append(
            (size, costs["seal hybrid"] / costs["seal classic"], costs["open hybrid"] / costs["open classic"])
        )
    print(f"in-process, 4096-bit RSA, median of {args.repeat} calls")
    print(table(rows, ("value", "operation", "us", "sealed bytes")))
    for size, seal_ratio, open_ratio in ratios:
        print(f"ratio hybrid/classic at {size} B: seal {seal_ratio:.2f}x, open {open_ratio:.2f}x")

    one = secret(0).encode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    with tempfile.TemporaryDirectory() as tmp:
        cert = Path(tmp) / "cert.pem"
        cert.write_bytes(pair.published_pem())
        env["KUBECONFIG"] = str(Path(tmp) / "none")
        tools = {
            "sealer seal": [venv_bin("sealer"), "seal", "--cert", str(cert), "-o", "yaml"],
            "sealer seal --pq": [venv_bin("sealer"), "seal", "--pq", "--cert", str(cert), "-o", "yaml"],
        }
        kubeseal = peer_bin("bitnami", "kubeseal")
        if kubeseal:
            tools["kubeseal"] = [kubeseal, "--cert", str(cert), "-o", "yaml"]
        cold = {
            name: median_ms(time_process(argv, stdin=one, runs=args.runs, warmup=2, env=env))
            for name, argv in tools.items()
        }
    print(f"\ncold: one Secret of 3 items, whole process, median of {args.runs} runs")
    print(table([(name, f"{ms:.1f}") for name, ms in cold.items()], ("command", "ms")))
    print(
        f"ratio --pq/classic: {cold['sealer seal --pq'] / cold['sealer seal']:.2f}x"
        + (f"; sealer --pq/kubeseal: {cold['sealer seal --pq'] / cold['kubeseal']:.2f}x" if "kubeseal" in cold else "")
    )
    load = os.getloadavg()
    print(
        f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores "
        "(a shared machine: absolute figures are noisy, the ratios less so)"
    )


if __name__ == "__main__":
    main()

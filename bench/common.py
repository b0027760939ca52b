"""Small helpers shared by the benchmarks: timing whole processes and printing tables."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def time_process(
    argv: list[str], *, stdin: bytes = b"", runs: int, warmup: int = 1, env: dict | None = None
) -> list[float]:
    """Wall seconds of each run of a whole process (start-up included), after warm-up runs."""
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
        if i >= warmup:
            times.append(elapsed)
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def peer_bin(component: str, name: str) -> str | None:
    """A Go peer binary from the cache .ci/build-peers.sh fills, or None (the benchmark then says so)."""
    cache = Path(os.environ.get("SEALER_PEERS_CACHE", Path.home() / ".cache" / "sealer-peers"))
    found = sorted(cache.glob(f"*/bin/{name}"))
    if not found and shutil.which("go"):
        subprocess.run(
            ["bash", str(REPO / ".ci" / "build-peers.sh"), component], stdout=subprocess.DEVNULL, check=False
        )
        found = sorted(cache.glob(f"*/bin/{name}"))
    return str(found[-1]) if found else None


def table(rows: list[tuple], header: tuple) -> str:
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])

"""The controller image: its build time (as cached here), size, and start time, against the same
controller started as a plain process in the same run.

Start time: from `podman run` until /healthz answers (the Deployment's startup and liveness
probe), and until /readyz does (keys loaded, watches synced: the readiness probe). The container
runs as deploy/deployment.yaml's Pod (tests/e2e/image_controller.py) on the e2e control plane,
in a namespace of its own. The first start generates the 4096-bit key (the Deployment's default);
the later ones load it, as every restart of a Pod does. The plain process (`python -m controller`,
tests/e2e/sealer_controller.py) loads the same key as the same ServiceAccount.

Run from the repo root: .venv/bin/python bench/image_bench.py [--starts N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, table  # noqa: E402

sys.path.insert(0, str(REPO))
from tests.controller_image import Image, podman  # noqa: E402
from tests.e2e.cluster import ControlPlane  # noqa: E402
from tests.e2e.image_controller import ControllerContainer  # noqa: E402
from tests.e2e.sealer_controller import RunningController, install, second_install  # noqa: E402
from tests.peers import build_peer  # noqa: E402


def build() -> tuple[Image, float]:
    t0 = time.monotonic()
    out = subprocess.run(
        ["bash", str(REPO / ".ci" / "build-image.sh"), "image"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"build failed: {out.stderr.strip()[-2000:]}")
    seconds = time.monotonic() - t0
    return Image(out.stdout.strip().splitlines()[-1], seconds), seconds


def compressed_size(image: Image) -> int:
    """Bytes of the image's layers gzip-compressed (about what a registry stores and a node pulls)."""
    save = subprocess.Popen(["podman", "save", "--format", "docker-archive", image.id], stdout=subprocess.PIPE)
    gz = subprocess.run(["gzip", "-6"], stdin=save.stdout, capture_output=True, check=True)
    save.wait()
    return len(gz.stdout)


def container_start(plane: ControlPlane, image: Image, namespace: str) -> tuple[float, float]:
    ctrl = ControllerContainer(plane, image, namespace, "--label-selector", "sealer.bench/none=none").start()
    ready = time.monotonic() - ctrl.started_at
    healthz = ctrl.healthz_seconds
    code = ctrl.stop()
    if code != 0:
        raise SystemExit(f"container exited {code}")
    return healthz, ready


def process_start(plane: ControlPlane, namespace: str) -> float:
    t0 = time.monotonic()
    ctrl = RunningController(plane, namespace, "--label-selector", "sealer.bench/none=none", "--log-level", "INFO")
    ctrl.start()
    ready = time.monotonic() - t0
    ctrl.stop()
    return ready


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=5, help="starts with the key present (default 5)")
    args = ap.parse_args()

    image, build_seconds = build()
    size = image.inspect()["Size"]
    print(
        f"image {image.id[:19]}: built (cached) in {build_seconds:.1f} s; size {size / 1e6:.0f} MB "
        f"uncompressed, {compressed_size(image) / 1e6:.0f} MB gzip-compressed"
    )
    podman(
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        image.id,
        "--version",
    )  # warm the page cache

    with ControlPlane(build_peer("control-plane")) as plane:
        install(plane)
        with plane.api_client() as api, second_install(api, "bench-image") as namespace:
            first_healthz, first_ready = container_start(plane, image, namespace)
            runs = [container_start(plane, image, namespace) for _ in range(args.starts)]
            process = [process_start(plane, namespace) for _ in range(args.starts)]

    healthz = statistics.median(h for h, _ in runs)
    ready = statistics.median(r for _, r in runs)
    plain = statistics.median(process)
    rows = [
        ("container, first start (generates its key)", f"{first_healthz:.2f}", f"{first_ready:.2f}", ""),
        (
            f"container, key present (median of {args.starts})",
            f"{healthz:.2f}",
            f"{ready:.2f}",
            f"{ready / plain:.2f}x",
        ),
        (f"plain process, key present (median of {args.starts})", "", f"{plain:.2f}", "1.00x"),
    ]
    print(table(rows, ("start", "/healthz s", "/readyz s", "ready vs process")))


if __name__ == "__main__":
    main()

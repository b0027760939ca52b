"""The controller image (deploy/Dockerfile), built for real with buildah and run with podman.

`.ci/build-image.sh image` builds it on a Debian base made here with mmdebstrap (cached under
~/.cache/sealer-peers like the Go peers; buildah's layer cache makes a rebuild take seconds).
Policy (tests/peers.py): where buildah, podman or mmdebstrap are missing or the build fails, the
tests that need the image skip with a one-line reason, except in CI (CI=true), where they fail.
An image that was built but does not run is a failure, never a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers import REPO, cache_dir, unavailable

BUILD_SCRIPT = REPO / ".ci" / "build-image.sh"
TOOLS = ("buildah", "podman", "mmdebstrap")
# As in .ci/build-image.sh: Debian's podman 4.3 defaults to crun, which refuses this machine's
# hybrid cgroups (runc works), and its default ulimits exceed the machine's hard limits.
RUNTIME_ARGS = ("--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")

_result: list[Image | str] = []  # built once per run; a failed build is not retried


@dataclass(frozen=True)
class Image:
    id: str
    build_seconds: float
    revision: str | None = None  # the git HEAD it was built from (its revision label)

    def inspect(self) -> dict:
        return json.loads(podman("image", "inspect", self.id).stdout)[0]

    def run(self, *args: str, entrypoint: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """`podman run --rm` as the Deployment runs it: read-only root, UID 1001, no capabilities,
        no network."""
        entry = ("--entrypoint", json.dumps([entrypoint])) if entrypoint else ()
        return podman(
            "run",
            "--rm",
            *RUNTIME_ARGS,
            *pod_security_args(),
            "--network",
            "none",
            *entry,
            self.id,
            *args,
            check=False,
            timeout=timeout,
        )


def pod_security_args() -> tuple[str, ...]:
    """deploy/deployment.yaml's securityContext, and its /tmp emptyDir, as podman flags."""
    return (
        "--read-only",
        "--read-only-tmpfs=false",
        "--tmpfs",
        "/tmp:rw,size=64m,mode=1777",
        "--user",
        "1001:1001",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    )


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _build() -> Image | str:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not found on PATH (.ci/system-packages.sh installs them): cannot build the image"
    log = cache_dir() / "build-image.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    revision = head.stdout.strip() if head.returncode == 0 else None
    start = time.monotonic()
    with open(log, "w") as err:
        proc = subprocess.Popen(["bash", str(BUILD_SCRIPT), "image"], stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            print(
                f"\nbuilding the controller image (first build about 1.5 min; log: {log})",
                file=sys.__stderr__,
                flush=True,
            )
            out, _ = proc.communicate()
    if proc.returncode != 0:
        tail = " | ".join(Path(log).read_text().strip().splitlines()[-5:])
        return f".ci/build-image.sh failed (exit {proc.returncode}; log {log}): {tail}"
    return Image(out.strip().splitlines()[-1], time.monotonic() - start, revision)


def controller_image() -> Image:
    """The image built from this checkout; skips the test (fails it in CI) when it cannot be built."""
    if not _result:
        _result.append(_build())
    if isinstance(_result[0], str):
        unavailable(_result[0])
    return _result[0]

"""The Go test peers (a real control plane, Bitnami's kubeseal + controller, Flux), built on demand.

`.ci/build-peers.sh` compiles them from the Go module proxy and caches them by version
under ~/.cache/sealer-peers, so only the first call is slow (see docs/development.md).

Policy: where Go is missing or the build fails, tests that need a peer are skipped with a
one-line reason, except in CI (CI=true), where they are mandatory and fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / ".ci" / "build-peers.sh"
COMPONENTS = ("control-plane", "bitnami", "prometheus", "flux", "helm")

# Outcome per component, failures included: a failed build is not retried within a run.
_results: dict[str, Path | str] = {}


def mandatory() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip (or, in CI, fail) the current test because a peer cannot be had."""
    if mandatory():
        pytest.fail(f"{reason} (CI=true: the e2e/interop tests are mandatory)", pytrace=False)
    pytest.skip(reason)


def cache_dir() -> Path:
    return Path(os.environ.get("SEALER_PEERS_CACHE", Path.home() / ".cache" / "sealer-peers"))


def _build(component: str) -> Path | str:
    """The bin dir, or a one-line reason why there is none."""
    if shutil.which("go") is None:
        return "Go toolchain not found on PATH: cannot build the Go test peers"
    log = cache_dir() / f"build-{component}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.Popen(["bash", str(BUILD_SCRIPT), component], stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            out, _ = proc.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            # Not cached: pytest captures our output, so tell the terminal why it is quiet.
            print(
                f"\nbuilding Go peers '{component}' (first build takes minutes; log: {log})",
                file=sys.__stderr__,
                flush=True,
            )
            out, _ = proc.communicate()
    if proc.returncode != 0:
        tail = " | ".join(log.read_text().strip().splitlines()[-5:])
        return f".ci/build-peers.sh {component} failed (exit {proc.returncode}; log {log}): {tail}"
    return Path(out.strip().splitlines()[-1])


class PeerUnavailable(RuntimeError):
    pass


def build_peer(component: str) -> Path:
    """Directory holding the built binaries of `component`, building them on first use.

    "control-plane": etcd, etcdctl, kube-apiserver, kube-controller-manager.
    "bitnami": kubeseal, controller (and `build_peer("bitnami").parent / "crd.yaml"`, its Helm
    chart in `.parent / "chart"`).
    "prometheus": promtool.
    "flux": source-controller, kustomize-controller (their CRDs in `build_peer("flux").parent / "crd"`).
    "helm": helm (v3).
    Raises PeerUnavailable with a one-line reason; outside pytest (e.g. the cluster CLI).
    """
    if component not in COMPONENTS:
        raise ValueError(f"unknown peer component {component!r}; expected one of {COMPONENTS}")
    if component not in _results:
        _results[component] = _build(component)
    result = _results[component]
    if isinstance(result, str):
        raise PeerUnavailable(result)
    return result


def peer_bin_dir(component: str) -> Path:
    """`build_peer` for tests and fixtures: skips the test, or fails it in CI, when unavailable."""
    try:
        return build_peer(component)
    except PeerUnavailable as e:
        unavailable(str(e))
        raise  # unreachable: unavailable() always raises

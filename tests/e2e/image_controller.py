"""Our controller's image run with podman against the test control plane, as the kubelet would
run deploy/deployment.yaml's Pod: its command and args, its securityContext (read-only root,
UID/GID 1001, no capabilities, no privilege escalation), a /tmp emptyDir, the ServiceAccount's
token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST
and _PORT, POD_NAMESPACE and POD_NAME.

What differs, because there is no Pod network: host networking, since the API server listens on
127.0.0.1 only (its serving certificate has 127.0.0.1 as a SAN), so the two listen addresses are
free loopback ports instead of :8080 and :8081.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time

import yaml

from tests.controller_image import RUNTIME_ARGS, Image, pod_security_args, podman
from tests.e2e.cluster import ControlPlane, _free_port
from tests.e2e.sealer_controller import REPO, SERVICE_ACCOUNT, ControllerProcess
from tests.e2e.waiting import eventually

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Marks our containers, with the pid of the test run that started them (see remove_orphans).
RUN_LABEL = "sealer.test.run-pid"


def deployment() -> dict:
    return yaml.safe_load((REPO / "deploy" / "deployment.yaml").read_text())


def pod_command(listen: str, metrics: str) -> tuple[list[str], list[str]]:
    """deploy/deployment.yaml's command and args, with the two listen addresses replaced."""
    pod = deployment()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = list(container["args"])
    for flag, addr in (("--listen-addr", listen), ("--listen-metrics-addr", metrics)):
        args[args.index(flag) + 1] = addr
    return container["command"], args


def remove_orphans() -> None:
    """Containers left by a test run that was killed (the control plane they talked to is gone)."""
    listed = podman("ps", "-a", "--filter", f"label={RUN_LABEL}", "--format", "json").stdout
    for c in json.loads(listed or "[]"):
        pid = int((c.get("Labels") or {}).get(RUN_LABEL, "0"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            podman("rm", "-f", "-t", "0", c["Id"], check=False)
        except PermissionError:
            pass


class ControllerContainer(ControllerProcess):
    """The image as a Pod of deploy/deployment.yaml, with ``extra_args`` after the Deployment's."""

    def __init__(self, plane: ControlPlane, image: Image, namespace: str, *extra_args: str):
        self.plane, self.image, self.namespace = plane, image, namespace
        self.port, self.metrics_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"sealer-e2e-{secrets.token_hex(4)}"
        # The name matches conftest's controller-*.log, so failing tests show it.
        self.log = plane.dir / f"controller-image-{self.port}.log"
        self.pod_files = plane.dir / f"image-sa-{self.port}"
        self.command, args = pod_command(f"127.0.0.1:{self.port}", f"127.0.0.1:{self.metrics_port}")
        self.args = [*args, *extra_args]
        pod = deployment()["spec"]["template"]["spec"]
        self.grace = pod["terminationGracePeriodSeconds"]
        self.started_at: float | None = None
        self.healthz_seconds: float | None = None  # container start until /healthz answers 200

    def start(self, timeout: float = 120) -> ControllerContainer:
        remove_orphans()
        self.plane.write_pod_service_account_files(self.pod_files, self.namespace, SERVICE_ACCOUNT, fs_group=1001)
        env = {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.plane.port),
            "POD_NAMESPACE": self.namespace,
            "POD_NAME": self.name,
        }
        argv = [
            "run",
            "--detach",
            "--name",
            self.name,
            "--label",
            f"{RUN_LABEL}={os.getpid()}",
            *RUNTIME_ARGS,
            *pod_security_args(),
            "--network",
            "host",
            "--stop-timeout",
            str(self.grace),
            "--log-driver",
            "k8s-file",
            "--log-opt",
            f"path={self.log}",
            "--volume",
            f"{self.pod_files}:{SA_DIR}:ro",
            *(a for k, v in env.items() for a in ("--env", f"{k}={v}")),
            "--entrypoint",
            json.dumps(self.command),
            self.image.id,
            *self.args,
        ]
        self.started_at = time.monotonic()
        podman(*argv)
        try:
            eventually(lambda: self._http_ok("/healthz"), timeout, 0.05, "the container's /healthz")
            self.healthz_seconds = time.monotonic() - self.started_at
            eventually(lambda: self._http_ok("/readyz"), timeout, 0.2, "the container's /readyz")
        except (AssertionError, RuntimeError) as e:
            self.stop()
            raise AssertionError(f"{e}; its log ends:\n{self.logs()[-4000:]}") from None
        return self

    def _http_ok(self, path: str) -> bool:
        state = self.state()
        if state.get("Status") not in ("running", "created", "configured", "initialized"):
            raise RuntimeError(
                f"container {state.get('Status')} (exit {state.get('ExitCode')}):\n{self.logs()[-3000:]}"
            )
        try:
            return self.get(path)[0] == 200
        except OSError:
            return False

    def state(self) -> dict:
        proc = podman("container", "inspect", "--format", "{{json .State}}", self.name, check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else {}

    def pid(self) -> int:
        """The controller's pid on this host (the container's pid 1)."""
        return int(self.state()["Pid"])

    def exec(self, *argv: str):
        """A command in the running container: its user, capabilities, mounts and filesystem."""
        return podman("exec", self.name, *argv, check=False)

    def logs(self) -> str:
        """The container's output (podman's k8s-file format: time, stream, tag, line)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int | None:
        """`podman stop` (SIGTERM, then SIGKILL after the grace period); the exit status."""
        if not self.state():
            return None
        podman("stop", "--time", str(self.grace), self.name, check=False, timeout=self.grace + 30)
        code = self.state().get("ExitCode")
        podman("rm", "--force", self.name, check=False)
        shutil.rmtree(self.pod_files, ignore_errors=True)
        return code

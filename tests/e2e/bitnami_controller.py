"""Running Bitnami's controller (the Go peer) against the test control plane, as a Pod would.

Bitnami's controller knows only the in-cluster configuration: the API server from
KUBERNETES_SERVICE_HOST/PORT, and the ServiceAccount token, CA and namespace from the hard-coded
/var/run/secrets/kubernetes.io/serviceaccount/. Those files are never written on the host: the
controller runs in a private mount namespace (`unshare -m`) where a tmpfs covers /var/run/secrets
and holds a TokenRequest token for the ServiceAccount, so only RBAC bound to that ServiceAccount
applies to it, as in a Pod.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e.cluster import ControlPlane, _die_with_parent, _free_port
from tests.e2e.sealer_controller import SERVICE_ACCOUNT, ControllerProcess
from tests.e2e.waiting import eventually

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# Inside the new mount namespace: cover /var/run/secrets with a tmpfs (the mkdir is harmless on the
# host: at worst an empty directory), put the Pod's ServiceAccount files there, become the controller.
_POD_SCRIPT = """set -e
mkdir -p /var/run/secrets
mount -t tmpfs -o mode=0755,size=1m sealer-e2e-sa /var/run/secrets
mkdir -p "$1"
cp "$2/token" "$2/ca.crt" "$2/namespace" "$1/"
shift 2
exec "$@"
"""


def sandbox_unavailable() -> str | None:
    """Why Bitnami's controller cannot be given its in-cluster files here, or None if it can."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) not found: cannot give Bitnami's controller a private /var/run/secrets"
    if os.geteuid() != 0:
        return "not root: cannot mount a private /var/run/secrets for Bitnami's controller (unshare -m)"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -m failed ({probe.returncode}): {probe.stderr.strip()}"
    return None


class BitnamiController(ControllerProcess):
    """Bitnami's controller running as ``service_account`` (in ``sa_namespace``, default: the key
    namespace), with its keys in ``namespace`` (POD_NAMESPACE and the ServiceAccount namespace
    file, as in a Pod), HTTP and metrics on loopback. Log: ``plane.dir/bitnami-controller-<port>.log``."""

    def __init__(
        self,
        plane: ControlPlane,
        binary: Path,
        namespace: str = "kube-system",
        *args: str,
        service_account: str = SERVICE_ACCOUNT,
        sa_namespace: str | None = None,
    ):
        self.plane, self.binary, self.namespace = plane, Path(binary), namespace
        self.service_account, self.sa_namespace = service_account, sa_namespace or namespace
        self.port, self.metrics_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = plane.dir / f"bitnami-controller-{self.port}.log"
        self.pod_files = plane.dir / f"bitnami-sa-{self.port}"  # on the control plane's tmpfs, 0700
        self.argv = [
            str(self.binary),
            "--listen-addr",
            f"127.0.0.1:{self.port}",
            "--listen-metrics-addr",
            f"127.0.0.1:{self.metrics_port}",
            *args,
        ]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> BitnamiController:
        self.plane.write_pod_service_account_files(
            self.pod_files, self.sa_namespace, self.service_account, pod_namespace=self.namespace
        )
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",  # the serving certificate has SAN 127.0.0.1
            "KUBERNETES_SERVICE_PORT": str(self.plane.port),
            "POD_NAMESPACE": self.namespace,
        }
        argv = [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            _POD_SCRIPT,
            "sh",
            SA_DIR,
            str(self.pod_files),
            *self.argv,
        ]
        with open(self.log, "ab") as log:
            # unshare and sh exec, so the controller keeps this pid: terminate() reaches it, and
            # PR_SET_PDEATHSIG (kept across exec) ends it if the test run is killed.
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent,
            )
        try:
            eventually(self.ready, timeout, 0.2, "Bitnami's controller serving its certificate")
        except (AssertionError, RuntimeError) as e:
            self.stop()
            raise AssertionError(f"{e}; its log ends:\n{self.logs()[-4000:]}") from None
        return self

    def ready(self) -> bool:
        """Serving /v1/cert.pem: the keys are loaded (or generated) and the informers started."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"Bitnami's controller exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
        try:
            return self.get("/v1/cert.pem")[0] == 200
        except OSError:
            return False

    def stop(self) -> int | None:
        code = super().stop()
        shutil.rmtree(self.pod_files, ignore_errors=True)
        return code

"""Flux as a GitOps user runs it, against the test control plane: a Git repository served over HTTP
on loopback (git's own `git http-backend`), and Flux's source-controller and kustomize-controller
(built from the Go module proxy by .ci/build-peers.sh flux) as plain processes."""

from __future__ import annotations

import os
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.cluster import ControlPlane, _free_port, _Process
from tests.e2e.waiting import eventually

GIT_HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")
MAX_REQUEST = 16 << 20  # a fetch request of this test's small repository is a few KiB

# Git must not read the machine's or the user's configuration, nor sign commits.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "sealer e2e",
    "GIT_AUTHOR_EMAIL": "e2e@sealer.invalid",
    "GIT_COMMITTER_NAME": "sealer e2e",
    "GIT_COMMITTER_EMAIL": "e2e@sealer.invalid",
}


class _GitHandler(BaseHTTPRequestHandler):
    """Git's smart HTTP protocol, by running `git http-backend` as CGI for each request."""

    server: _GitHTTPServer

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        env = {
            **os.environ,
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(header):
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        out = subprocess.run([str(GIT_HTTP_BACKEND)], input=body, capture_output=True, env=env, timeout=60).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not payload and b"\n\n" in head:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.server.requests += 1

    def log_message(self, format: str, *args) -> None:  # quiet: pytest shows failures, not traffic
        pass


class _GitHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _GitHandler)
        self.root = root
        self.requests = 0


class GitServer:
    """A bare repository `<dir>/repo.git`, served read-only on loopback, and a work tree to commit in."""

    def __init__(self, directory: Path, branch: str = "main"):
        self.branch = branch
        self.bare, self.work = directory / "repo.git", directory / "work"
        directory.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "--bare", "-b", branch, str(self.bare), cwd=directory)
        self.git("init", "-q", "-b", branch, str(self.work), cwd=directory)
        self.git("remote", "add", "origin", str(self.bare))
        self._server = _GitHTTPServer(directory)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/repo.git"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> int:
        return self._server.requests

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd or self.work,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **GIT_ENV},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def commit(self, message: str) -> str:
        """Commit everything in the work tree and push it; returns the commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("push", "-q", "origin", self.branch)
        return self.git("rev-parse", "HEAD")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FluxControllers:
    """source-controller and kustomize-controller as the cluster admin, watching all namespaces."""

    def __init__(self, plane: ControlPlane, bin_dir: Path):
        self.plane, self.bin_dir = plane, bin_dir
        self.crd_dir = bin_dir.parent / "crd"
        storage = _free_port()
        self.storage_dir = plane.dir / "flux-artifacts"
        self.health = {"source-controller": _free_port(), "kustomize-controller": _free_port()}
        env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "RUNTIME_NAMESPACE": "flux-system"}
        common = [
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--metrics-addr=0",
            "--log-level=debug",
            "--events-addr=",
        ]
        self.procs = {
            "source-controller": _Process(
                "source-controller",
                [
                    str(bin_dir / "source-controller"),
                    *common,
                    f"--health-addr=127.0.0.1:{self.health['source-controller']}",
                    f"--storage-path={self.storage_dir}",
                    f"--storage-addr=127.0.0.1:{storage}",
                    f"--storage-adv-addr=127.0.0.1:{storage}",
                ],
                plane.dir / "logs" / "flux-source-controller.log",
                env,
            ),
            "kustomize-controller": _Process(
                "kustomize-controller",
                [
                    str(bin_dir / "kustomize-controller"),
                    *common,
                    f"--health-addr=127.0.0.1:{self.health['kustomize-controller']}",
                    "--no-remote-bases=true",  # nothing leaves loopback
                ],
                plane.dir / "logs" / "flux-kustomize-controller.log",
                env,
            ),
        }

    def install_crds(self) -> None:
        k = self.plane.kubectl
        k("apply", "--server-side", "-f", str(self.crd_dir))
        k("wait", "--for=condition=Established", "--timeout=60s", "-f", str(self.crd_dir))

    def start(self) -> FluxControllers:
        self.storage_dir.mkdir(exist_ok=True)
        for proc in self.procs.values():
            proc.start()
        for name in self.procs:
            eventually(lambda name=name: self._ready(name), 60, 0.2, f"{name} ready")
        return self

    def _ready(self, name: str) -> bool:
        proc = self.procs[name]
        if not proc.running():
            raise RuntimeError(f"{name} exited:\n{proc.tail(40)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health[name]}/readyz", timeout=5) as r:
                return r.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def peak_rss_mib(self) -> dict[str, float]:
        """Each controller's peak resident memory so far (VmHWM), in MiB."""
        peaks = {}
        for name, proc in self.procs.items():
            if proc.popen is None:
                continue
            for line in Path(f"/proc/{proc.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[name] = int(line.split()[1]) / 1024
        return peaks

    def logs_tail(self, lines: int = 40) -> str:
        return "\n".join(f"==> {p.name} <==\n{p.tail(lines)}" for p in self.procs.values())

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()

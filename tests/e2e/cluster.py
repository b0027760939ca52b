"""A real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) on loopback.

    python -m tests.e2e.cluster up [--print-logs]

The binaries come from tests.peers (built from the Go module proxy). Everything lives in one
temporary directory on tmpfs; only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import kubernetes
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KUBECTL = "/usr/bin/kubectl"
SERVICE_IP = "10.0.0.1"  # first address of --service-cluster-ip-range: the `kubernetes` Service
CONTROLLERS = (
    "garbage-collector-controller,namespace-controller,serviceaccount-controller,"
    "validatingadmissionpolicy-status-controller"
)


class ControlPlaneError(RuntimeError):
    pass


_given_ports: set[int] = set()


def _free_port() -> int:
    """A loopback port free now, and never one this process handed out before: the kernel may
    offer the same ephemeral port to two calls in a row (seen: a controller given one port for
    both its HTTP and metrics servers, which then could not bind the second)."""
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no fresh loopback port after 1000 tries")


_prctl = ctypes.CDLL(None).prctl  # looked up here: the forked child should not dlopen


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG=SIGKILL: a killed test run must not leave an apiserver behind.
    _prctl(1, signal.SIGKILL)


class _Process:
    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name, self.argv, self.log, self.env = name, argv, log, env
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10) -> None:
        if self.popen is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.popen = None

    def tail(self, lines: int) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"


# --- certificates -----------------------------------------------------------------------------


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(subject: str, key, issuer_cert, issuer_key, *, ca=False, sans=(), server=False):
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=ca,
                crl_sign=ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    if server:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def _write_pki(d: Path) -> None:
    """CA, apiserver serving cert and service-account signing key."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("sealer-e2e-ca", ca_key, None, None, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    sans = [
        x509.DNSName(n)
        for n in (
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        )
    ]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", SERVICE_IP)]
    srv = _cert("kube-apiserver", srv_key, ca, ca_key, sans=sans, server=True)
    (d / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "apiserver.crt").write_bytes(
        srv.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    (d / "apiserver.key").write_bytes(_pem_key(srv_key))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    (d / "sa.key").write_bytes(_pem_key(sa_key))
    (d / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


# --- the control plane ------------------------------------------------------------------------


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager as local processes."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = Path(bin_dir)
        shm = Path("/dev/shm")
        self.dir = Path(tempfile.mkdtemp(prefix="sealer-e2e-", dir=shm if shm.is_dir() else None))
        self._pick_ports()
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.admin_token = secrets.token_urlsafe(32)
        self.startup_seconds: float | None = None
        self._procs: dict[str, _Process] = {}
        self._ssl = None

    # lifecycle

    def _pick_ports(self) -> None:
        self.etcd_url = f"http://127.0.0.1:{_free_port()}"
        self.port = _free_port()
        self.server = f"https://127.0.0.1:{self.port}"

    def start(self, attempts: int = 3) -> ControlPlane:
        """Start etcd, the API server and the controller manager. A free port can be taken by
        someone else between picking it and binding it (other runs, outgoing connections): then
        the start is tried again on new ports."""
        t0 = time.monotonic()
        for attempt in range(attempts):
            try:
                self._start()
                break
            except ControlPlaneError as e:
                self.stop()
                if "address already in use" not in str(e) or attempt == attempts - 1:
                    raise
                self.dir.mkdir(parents=True)  # stop() removed it, certificates and etcd data with it
                self._procs.clear()
                self._pick_ports()
            except BaseException:
                self.stop()
                raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _start(self) -> None:
        d = self.dir
        (d / "logs").mkdir(exist_ok=True)
        _write_pki(d)
        (d / "tokens.csv").write_text(f'{self.admin_token},sealer-e2e-admin,admin,"system:masters"\n')
        self._write_kubeconfig(self.kubeconfig, "admin", self.admin_token)
        self._ssl = ssl.create_default_context(cafile=str(d / "ca.crt"))

        peer = _free_port()
        self._add(
            "etcd",
            [
                "etcd",
                "--name=e2e",
                f"--data-dir={d / 'etcd'}",
                "--unsafe-no-fsync",
                "--log-level=warn",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
            ],
        )
        self._add(
            "kube-apiserver",
            [
                "kube-apiserver",
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.port}",
                # No default route to pick an address from, and the `kubernetes` Endpoints may not
                # hold a loopback address: advertise loopback and leave the Endpoints alone.
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={d / 'apiserver.crt'}",
                f"--tls-private-key-file={d / 'apiserver.key'}",
                f"--cert-dir={d / 'apiserver-certs'}",
                f"--token-auth-file={d / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                f"--service-account-key-file={d / 'sa.pub'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                # Tests compact explicitly (compact_etcd), never behind their back.
                "--etcd-compaction-interval=0",
                # The watch cache serves old resourceVersions from memory, so compacting etcd alone
                # never yields 410 for a cached resource. ConfigMaps skip the cache to give tests a
                # deterministic 410; everything else keeps it, as in production.
                "--watch-cache-sizes=configmaps#0",
                # On SIGTERM, end open watches (the controller manager's, say) instead of waiting
                # up to a minute for them: restart_apiserver() stays quick and still graceful.
                "--shutdown-watch-termination-grace-period=2s",
                "--profiling=false",
            ],
        )
        self._add(
            "kube-controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={self.kubeconfig}",
                f"--controllers={CONTROLLERS}",
                "--leader-elect=false",
                "--secure-port=0",  # nothing scrapes it; one port less to find
            ],
        )

        self._procs["etcd"].start()
        self._wait("etcd", lambda: self._etcd("GET", "/health")["health"] == "true", 30)
        self._procs["kube-apiserver"].start()
        self._wait_apiserver()
        self._procs["kube-controller-manager"].start()
        # The serviceaccount controller creating `default/default` shows the manager is working.
        self._wait(
            "kube-controller-manager", lambda: self._get("/api/v1/namespaces/default/serviceaccounts/default"), 60
        )

    def stop(self) -> None:
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            if name in self._procs:
                self._procs[name].stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def pids(self) -> dict[str, int]:
        """The running processes by name (etcd, kube-apiserver, ...): the benchmarks read their CPU time."""
        return {name: p.popen.pid for name, p in self._procs.items() if p.popen is not None and p.running()}

    def restart_apiserver(self) -> None:
        """Stop the API server and start it again on the same port; returns once it is ready."""
        proc = self._procs["kube-apiserver"]
        proc.stop()
        proc.start()
        self._wait_apiserver()

    def restart_controller_manager(self) -> None:
        proc = self._procs["kube-controller-manager"]
        proc.stop()
        proc.start()

    def compact_etcd(self) -> int:
        """Compact etcd up to its current revision, which is returned."""
        rev = int(self._etcd("POST", "/v3/kv/range", {"key": _b64("/")})["header"]["revision"])
        try:
            self._etcd("POST", "/v3/kv/compaction", {"revision": rev, "physical": True})
        except urllib.error.HTTPError as e:
            if b"compacted" not in e.read():  # nothing was written since the last compaction
                raise
        return rev

    # helpers for tests

    def api_client(self, kubeconfig: Path | None = None) -> kubernetes.client.ApiClient:
        return kubernetes.config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, kubeconfig: Path | None = None
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [KUBECTL, f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def apply_crd(self, crd: Path | str | dict, timeout: float = 30) -> dict:
        """Create or replace a CustomResourceDefinition and wait until it is Established.

        A new CRD restarts the controller manager: its garbage collector rediscovers resource
        types only every 30 s, so owner references to the new kind would wait that long.
        """
        if not isinstance(crd, dict):
            crd = yaml.safe_load(Path(crd).read_text())
        name = crd["metadata"]["name"]
        created = False
        with self.api_client() as api:
            ext = kubernetes.client.ApiextensionsV1Api(api)
            try:
                ext.create_custom_resource_definition(crd)
                created = True
            except kubernetes.client.ApiException as e:
                if e.status != 409:
                    raise
                current = ext.read_custom_resource_definition(name)
                body = dict(crd, metadata=dict(crd["metadata"], resourceVersion=current.metadata.resource_version))
                ext.replace_custom_resource_definition(name, body)

            def established():
                obj = ext.read_custom_resource_definition(name)
                return any(c.type == "Established" and c.status == "True" for c in (obj.status.conditions or []))

            self._wait("kube-apiserver", established, timeout, what=f"CRD {name} Established")
        if created:
            self.restart_controller_manager()
        return crd

    def kubeconfig_for_service_account(self, namespace: str, name: str, expiration_seconds: int = 24 * 3600) -> Path:
        """A kubeconfig authenticating as the ServiceAccount (created if missing) via TokenRequest.

        Only RBAC bound to that ServiceAccount applies to it, as for a controller in a Pod.
        """
        token = self.service_account_token(namespace, name, expiration_seconds)
        path = self.dir / f"sa-{namespace}-{name}.kubeconfig"
        self._write_kubeconfig(path, f"{namespace}-{name}", token, namespace)
        return path

    def service_account_token(self, namespace: str, name: str, expiration_seconds: int = 24 * 3600) -> str:
        """A TokenRequest token for the ServiceAccount (created if missing), as the kubelet mounts one."""
        with self.api_client() as api:
            core = kubernetes.client.CoreV1Api(api)
            try:
                core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
            except kubernetes.client.ApiException as e:
                if e.status != 409:
                    raise
            req = core.create_namespaced_service_account_token(
                name, namespace, {"spec": {"expirationSeconds": expiration_seconds}}
            )
        return req.status.token

    def write_pod_service_account_files(
        self,
        directory: Path,
        namespace: str,
        name: str,
        *,
        pod_namespace: str | None = None,
        fs_group: int | None = None,
        expiration_seconds: int = 3600,
    ) -> Path:
        """What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount: a TokenRequest
        token for the ServiceAccount, the cluster CA and the Pod's namespace, in ``directory``.

        Owner-only; with ``fs_group`` (a Pod's securityContext.fsGroup) group-readable by it, as the
        kubelet makes them for a Pod that runs as another user.
        """
        dir_mode, file_mode = (0o700, 0o600) if fs_group is None else (0o750, 0o640)
        directory.mkdir(mode=dir_mode, exist_ok=True)
        token = self.service_account_token(namespace, name, expiration_seconds)
        files = {"token": token, "ca.crt": (self.dir / "ca.crt").read_text(), "namespace": pod_namespace or namespace}
        for file, text in files.items():
            fd = os.open(directory / file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            if fs_group is not None:
                os.chown(directory / file, -1, fs_group)
        if fs_group is not None:
            os.chown(directory, -1, fs_group)
        return directory

    def logs_tail(self, lines: int = 40) -> str:
        return "\n".join(f"==> {p.name} ({p.log}) <==\n{p.tail(lines)}" for p in self._procs.values())

    # internals

    def _add(self, name: str, argv: list[str]) -> None:
        argv[0] = str(self.bin_dir / argv[0])
        self._procs[name] = _Process(name, argv, self.dir / "logs" / f"{name}.log")

    def _write_kubeconfig(self, path: Path, user: str, token: str, namespace: str = "default"):
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "e2e",
            "clusters": [
                {"name": "e2e", "cluster": {"server": self.server, "certificate-authority": str(self.dir / "ca.crt")}}
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user, "namespace": namespace}}],
        }
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        path.chmod(0o600)

    def _wait_apiserver(self) -> None:
        self._wait("kube-apiserver", lambda: self._get("/readyz"), 60, what="/readyz")
        self._wait("kube-apiserver", lambda: self._get("/api/v1/namespaces/default"), 30, what="the default namespace")

    def _wait(self, name: str, ready: Callable[[], object], timeout: float, what: str = "") -> None:
        proc = self._procs[name]
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            if not proc.running():
                raise ControlPlaneError(f"{name} exited while waiting for {what or 'it'}:\n{proc.tail(40)}")
            try:
                if ready():
                    return
            except (OSError, ValueError, KeyError, kubernetes.client.ApiException) as e:
                last = e
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{name}: timed out after {timeout} s waiting for "
                    f"{what or 'it to be ready'} (last error: {last}):\n"
                    f"{proc.tail(40)}"
                )
            time.sleep(0.1)

    def _get(self, path: str) -> bool:
        req = urllib.request.Request(self.server + path, headers={"Authorization": f"Bearer {self.admin_token}"})
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=5) as resp:
                return resp.status == 200
        except urllib.error.HTTPError:
            return False

    def _etcd(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.etcd_url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# --- CLI --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from tests.peers import PeerUnavailable, build_peer

    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.cluster", description="Run a local Kubernetes control plane."
    )
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--print-logs", action="store_true", help="print the tails of the components' logs on exit")
    args = parser.parse_args(argv)

    try:
        bin_dir = build_peer("control-plane")
    except PeerUnavailable as e:
        print(f"control plane unavailable: {e}", file=sys.stderr)
        return 1

    def interrupt(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: background jobs inherit it ignored
        signal.signal(sig, interrupt)

    cp = ControlPlane(bin_dir)
    started = False
    try:
        cp.start()
        started = True
        print(f"control plane up in {cp.startup_seconds:.1f} s at {cp.server}")
        print(f"kubeconfig: {cp.kubeconfig}")
        print(f"export KUBECONFIG={cp.kubeconfig}")
        print("Ctrl-C or SIGTERM to stop.", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    except ControlPlaneError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        if args.print_logs and started:
            print(cp.logs_tail(), file=sys.stderr)
        cp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

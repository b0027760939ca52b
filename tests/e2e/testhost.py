"""A test host: a network namespace joined to this machine by a veth pair, as a Pod's network is.

The API server proxies to a Service only through an Endpoints address that is neither loopback nor
link-local, and only when that address is a Pod's `status.podIPs`. So a controller that the service
proxy can reach runs in its own network namespace, on an address of a veth pair that this test made
and nothing else uses. The addresses come from TEST-NET-2 (RFC 5737, 198.51.100.0/24): documentation
addresses that no real host has, so no packet can mean anything outside this machine.

The API server listens on 127.0.0.1 only; from inside the namespace it is reached through a TCP
forwarder on the host end of the pair (the kubeconfig names the server's TLS name, as Pods' do).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import shutil
import socket
import subprocess
import threading
from pathlib import Path

TEST_NET = "198.51.100"


class TestHostUnavailable(Exception):
    """This machine cannot make network namespaces (not root, no `ip`)."""

    __test__ = False


def _ip(*args: str, netns: str | None = None) -> None:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise TestHostUnavailable(f"{' '.join(argv)}: {done.stderr.strip()}")


def _taken_subnets() -> set[int]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=30).stdout
    taken = set()
    for word in out.split():
        if word.startswith(TEST_NET + "."):
            taken.add(int(word.split("/")[0].rsplit(".", 1)[1]) // 4)
    return taken


class TestHost:
    """``with TestHost() as host``: ``host.address`` is the namespace's end, ``host.gateway`` this
    machine's; ``host.popen(argv)`` runs a command inside; ``host.forward(port)`` makes a loopback
    port of this machine reachable from inside at ``host.gateway``."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise TestHostUnavailable("network namespaces need root and iproute2's `ip`")
        tag = secrets.token_hex(3)
        self.netns = f"sealer-test-{tag}"
        self._host_if, self._ns_if = f"slr{tag}h", f"slr{tag}n"
        free = sorted(set(range(1, 63)) - _taken_subnets())
        if not free:
            raise TestHostUnavailable(f"no free /30 left in {TEST_NET}.0/24")
        base = free[secrets.randbelow(len(free))] * 4
        self.gateway, self.address = f"{TEST_NET}.{base + 1}", f"{TEST_NET}.{base + 2}"
        self._forwarders: list[_Forwarder] = []
        self._made = False

    def __enter__(self) -> TestHost:
        try:
            _ip("netns", "add", self.netns)
            self._made = True
            _ip("link", "add", self._host_if, "type", "veth", "peer", "name", self._ns_if)
            _ip("link", "set", self._ns_if, "netns", self.netns)
            _ip("addr", "add", f"{self.gateway}/30", "dev", self._host_if)
            _ip("link", "set", self._host_if, "up")
            _ip("addr", "add", f"{self.address}/30", "dev", self._ns_if, netns=self.netns)
            _ip("link", "set", self._ns_if, "up", netns=self.netns)
            _ip("link", "set", "lo", "up", netns=self.netns)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for forwarder in self._forwarders:
            forwarder.close()
        if self._made:
            # Deleting the namespace deletes its end of the pair, and with it the host end.
            subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, timeout=30)
            subprocess.run(["ip", "link", "delete", self._host_if], capture_output=True, timeout=30)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.netns, *argv], **kwargs)

    def forward(self, loopback_port: int) -> int:
        """A port on ``self.gateway`` that forwards to 127.0.0.1:``loopback_port``; returns it."""
        forwarder = _Forwarder(self.gateway, loopback_port)
        self._forwarders.append(forwarder)
        return forwarder.port


class _Forwarder:
    """A TCP relay, one thread, select()-driven; stops with close()."""

    def __init__(self, address: str, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server((address, 0))
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"forward-{self.port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                if key.data is None:
                    self._accept()
                else:
                    self._relay(key.fileobj, key.data)

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError):
            client, _ = self._listener.accept()
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                return
            for a, b in ((client, upstream), (upstream, client)):
                a.setblocking(False)
                self._selector.register(a, selectors.EVENT_READ, b)

    def _relay(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            data = source.recv(65536)
            if data:
                sink.setblocking(True)
                sink.sendall(data)
                sink.setblocking(False)
                return
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            s.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


def kubeconfig_via(kubeconfig: Path, server: str, tls_server_name: str, out: Path) -> Path:
    """A copy of ``kubeconfig`` that reaches the API server at ``server`` and checks its certificate
    for ``tls_server_name`` (as a Pod reaches `kubernetes.default.svc` by its Service IP)."""
    import yaml

    cfg = yaml.safe_load(kubeconfig.read_text())
    for cluster in cfg["clusters"]:
        cluster["cluster"]["server"] = server
        cluster["cluster"]["tls-server-name"] = tls_server_name
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out.chmod(0o600)
    return out

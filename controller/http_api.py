"""The controller's HTTP API, as kubeseal calls it through the API server's service proxy:

  GET  /v1/cert.pem   the newest certificate (what `sealer seal` / `kubeseal` fetch)
  POST /v1/verify     200 if every SealedSecret in the body opens, 409 if one does not
  POST /v1/rotate     the SealedSecret re-sealed for the newest key (template untouched)
  GET  /healthz       liveness;  GET /readyz  readiness (keys loaded, watches synced)

No plaintext ever leaves: verify answers yes/no, rotate answers ciphertext."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from controller.metrics import Metrics
from controller.ratelimit import RateLimiter
from keys.registry import KeyRegistry
from sealer.core import crypto, manifests
from sealer.core.errors import InputError, SealerError
from sealer.core.scope import KEY_HINT_ANNOTATION
from sealer.core.sealing import check_sealed_secret
from sealer.core.unsealing import Target, open_items

log = logging.getLogger(__name__)
MAX_BODY = 4 * 1024 * 1024


def parse_listen_addr(addr: str) -> tuple[str, int]:
    """``host:port`` or ``:port`` (all interfaces), as Go's net.Listen takes it."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'invalid listen address "{addr}": expected host:port or :port')
    return host.strip("[]") or "0.0.0.0", int(port)


def _sealed_secrets(body: bytes) -> list[dict]:
    docs = manifests.parse_stream(body, "request body")
    if not docs:
        raise InputError("no SealedSecret in the request body")
    return [check_sealed_secret(d.body, d.index) for d in docs]


def reseal(sealed: dict, registry: KeyRegistry) -> dict:
    """The same SealedSecret with every item opened and sealed again for the newest key."""
    newest = registry.newest
    if newest is None:
        raise SealerError("no keys")
    items = open_items(sealed, registry)
    target = Target.of(sealed)
    public = newest.private_key.public_key()
    out = copy.deepcopy(sealed)
    out["spec"]["encryptedData"] = {k: crypto.encode(crypto.seal(public, v, target.label)) for k, v in sorted(items.items())}
    out["metadata"].setdefault("annotations", {})[KEY_HINT_ANNOTATION] = newest.fingerprint
    for server_field in ("creationTimestamp", "deletionTimestamp", "generation", "resourceVersion", "uid", "managedFields"):
        out["metadata"].pop(server_field, None)
    out.pop("status", None)
    return out


class Api:
    def __init__(self, registry: KeyRegistry, metrics: Metrics, ready: Callable[[], bool], *, rate: float = 2, burst: int = 2):
        self.registry, self.metrics, self.ready = registry, metrics, ready
        self.limiter = RateLimiter(rate, burst)

    def handle(self, method: str, path: str, body: bytes, client: str) -> tuple[int, str, bytes, dict]:
        """(status, content type, body, extra headers) for one request. Pure of sockets, for tests."""
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n", {}
        if path == "/readyz":
            ok = self.ready()
            return (200 if ok else 503), "text/plain; charset=utf-8", b"ok\n" if ok else b"not ready\n", {}
        if path == "/v1/cert.pem":
            try:
                return 200, "application/x-pem-file", self.registry.sealing_certificate_pem(), {}
            except LookupError:
                return 500, "text/plain; charset=utf-8", b"cannot get certificate\n", {}
        if path in ("/v1/verify", "/v1/rotate"):
            if method != "POST":
                return 405, "text/plain; charset=utf-8", b"use POST\n", {"Allow": "POST"}
            allowed, wait = self.limiter.allow(f"{path} {client}")
            if not allowed:
                return 429, "text/plain; charset=utf-8", b"limit exceeded\n", {"Retry-After": str(max(1, round(wait)))}
            try:
                docs = _sealed_secrets(body)
            except SealerError as e:
                return 400, "text/plain; charset=utf-8", (" ".join(str(e).split()) + "\n").encode(), {}
            if path == "/v1/verify":
                try:
                    for doc in docs:
                        open_items(doc, self.registry)
                except SealerError:
                    return 409, "text/plain; charset=utf-8", b"", {}
                return 200, "text/plain; charset=utf-8", b"", {}
            try:
                resealed = [reseal(doc, self.registry) for doc in docs]
            except SealerError as e:
                log.info("rotate: cannot re-seal: %s", " ".join(str(e).split()))
                return 409, "text/plain; charset=utf-8", (" ".join(str(e).split()) + "\n").encode(), {}
            payload = resealed[0] if len(resealed) == 1 else {"apiVersion": "v1", "kind": "List", "items": resealed}
            return 200, "application/json", json.dumps(payload).encode(), {}
        return 404, "text/plain; charset=utf-8", b"not found\n", {}


def serve(api: Api, addr: str, stop: threading.Event) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sealer-controller"

        def _respond(self, method: str) -> None:
            start = time.perf_counter()
            path = self.path.split("?", 1)[0]
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                status, ctype, body, headers = 400, "text/plain; charset=utf-8", b"bad Content-Length\n", {}
                self.close_connection = True
            elif length > MAX_BODY:
                status, ctype, body, headers = 413, "text/plain; charset=utf-8", b"request body too large\n", {}
                self.close_connection = True
            else:
                data = self.rfile.read(length) if length else b""
                client = self.headers.get("X-Forwarded-For") or self.client_address[0]
                try:
                    status, ctype, body, headers = api.handle(method, path, data, client)
                except Exception:  # noqa: BLE001 - a handler bug answers 500, the server lives on
                    log.exception("HTTP %s %s failed", method, path)
                    status, ctype, body, headers = 500, "text/plain; charset=utf-8", b"internal error\n", {}
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            if path.startswith("/v1/"):
                api.metrics.http_requests.labels(path, str(status), method.lower()).inc()
                api.metrics.http_duration.labels(path, method.lower()).observe(time.perf_counter() - start)

        def do_GET(self) -> None:  # noqa: N802
            self._respond("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._respond("POST")

        def log_message(self, fmt: str, *args: Any) -> None:
            if not self.path.startswith(("/healthz", "/readyz")):  # probes would drown the log
                log.debug("http: " + fmt, *args)

    host, port = parse_listen_addr(addr)
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
    threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
    return server

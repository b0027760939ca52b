"""The HTTP/1.1 server in front of controller.http_api: whoever can reach the port must not be able
to hold threads, file descriptors or memory, nor keep the health probes from answering.

- One asyncio loop reads every connection, so a connection that is slow to send its request
  (slowloris) costs a socket and a few KiB, never a thread. Requests that cost private-key
  operations run on a pool of ``max_concurrent`` threads; when all are busy the answer is 503 at
  once (nothing queues). Cheap requests (probes, the certificate) are answered on the loop itself.
- Deadlines, as Go's http.Server: the request head within ``read_header_timeout``, the whole
  request within ``read_timeout``, each response within ``write_timeout``, and a kept-alive
  connection closed after ``idle_timeout`` without a new request.
- At most ``max_connections`` open: one more closes the connection that has waited longest
  without being served (idle, or still sending its request), so a new client, the kubelet's probe
  among them, always gets in.
- Bodies: a ``Content-Length`` above the limit is answered 413 without reading a byte; bytes held
  by all connections together are bounded by ``max_buffered_bytes`` (503 beyond), counted as they
  arrive, so a body trickled slowly holds only what it has sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from controller.metrics import Metrics
from controller.ratelimit import Budget

log = logging.getLogger(__name__)
Response = tuple[int, str, bytes, dict[str, Any]]
TEXT = "text/plain; charset=utf-8"
REASONS = {
    200: "OK",
    100: "Continue",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
FD_RESERVE = 64  # descriptors kept for the API-server client, logs and the metrics server
MAX_BODY = 2 * 1024 * 1024  # what one SealedSecret can be: derived in controller/http_api.py


class Handler(Protocol):
    metrics: Metrics

    def client(self, peer: str, forwarded_for: Sequence[str] = ()) -> str: ...
    def expensive(self, method: str, path: str) -> bool: ...
    def admit(self, method: str, path: str, client: str) -> Response | None: ...
    def process(self, method: str, path: str, body: bytes) -> Response: ...


@dataclass(frozen=True)
class ServerLimits:
    read_header_timeout: float = 10.0
    read_timeout: float = 120.0  # Bitnami's --read-timeout
    write_timeout: float = 120.0  # Bitnami's --write-timeout
    idle_timeout: float = 120.0  # as Go's (IdleTimeout falls back to ReadTimeout): above the API-server proxy's 90 s
    max_connections: int = 512
    max_concurrent: int = 2
    max_header_bytes: int = 16 * 1024
    max_body: int = MAX_BODY
    max_buffered_bytes: int = 32 * 1024 * 1024

    def connections_allowed(self) -> int:
        """``max_connections``, lowered to what the process's descriptor limit leaves room for."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(8, min(self.max_connections, soft - FD_RESERVE))


class _Refused(Exception):
    """Answer this and close the connection."""

    def __init__(self, status: int, message: str, headers: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    serving: bool = False  # its request is on the worker pool: not evicted (at most max_concurrent are)


@dataclass
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, list[str]]

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[-1] if values else None


def parse_head(head: bytes) -> Request:
    """The request line and headers; _Refused(400) for anything not plainly HTTP/1.x."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1].startswith("/"):
        raise _Refused(400, "bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _Refused(505, "HTTP/1.1 only")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        # No obsolete line folding and no space before the colon: both have been used to smuggle.
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise _Refused(400, "bad header line")
        headers.setdefault(name.lower(), []).append(value.strip())
    return Request(method, target.split("?", 1)[0], version, headers)


class HttpServer:
    def __init__(self, handler: Handler, limits: ServerLimits):
        self.handler, self.limits = handler, limits
        self.max_connections = limits.connections_allowed()
        self.connections: dict[_Connection, None] = {}  # insertion order: oldest first
        self.buffered = Budget(limits.max_buffered_bytes)
        self.in_progress = Budget(limits.max_concurrent)
        self.pool = ThreadPoolExecutor(max_workers=limits.max_concurrent, thread_name_prefix="http-worker")
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.base_events.Server | None = None
        self.server_address: tuple[str, int] = ("", 0)

    # --- connections ---------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(writer)
        self.connections[conn] = None
        self._evict()
        try:
            first = True
            while await self._one_request(conn, reader, first):
                first = False
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:  # noqa: BLE001 - a bug in one connection must not end the loop
            log.exception("http: connection failed")
        finally:
            self.connections.pop(conn, None)
            writer.close()

    def _evict(self) -> None:
        while len(self.connections) > self.max_connections:
            victim = next((c for c in self.connections if not c.serving), None)
            if victim is None:
                return
            self.connections.pop(victim)
            victim.writer.transport.abort()

    async def _one_request(self, conn: _Connection, reader: asyncio.StreamReader, first: bool) -> bool:
        """Serve one request; whether the connection stays open for another."""
        limits = self.limits
        if not first:  # kept alive: wait for the next request's first byte
            self.connections.pop(conn, None)
            self.connections[conn] = None  # now the newest waiting
            start_byte = await asyncio.wait_for(reader.readexactly(1), limits.idle_timeout)
        else:
            start_byte = b""
        started = time.monotonic()
        peer = _peer(conn.writer)
        try:
            head = start_byte + await asyncio.wait_for(
                reader.readuntil(b"\r\n\r\n"), min(limits.read_header_timeout, limits.read_timeout)
            )
        except asyncio.LimitOverrunError:
            await self._send(
                conn, Request("GET", "", "HTTP/1.1", {}), (431, TEXT, b"request head too large\n", {}), close=True
            )
            return False
        except asyncio.IncompleteReadError as e:
            if e.partial or start_byte:
                raise
            return False  # closed between requests: normal
        except TimeoutError:
            await self._send(
                conn, Request("GET", "", "HTTP/1.1", {}), (408, TEXT, b"request timeout\n", {}), close=True
            )
            return False
        try:
            request = parse_head(head)
        except _Refused as e:
            await self._send(
                conn, Request("GET", "", "HTTP/1.1", {}), (e.status, TEXT, f"{e.message}\n".encode(), {}), close=True
            )
            return False
        return await self._serve(conn, reader, request, peer, started)

    async def _serve(
        self, conn: _Connection, reader: asyncio.StreamReader, request: Request, peer: str, started: float
    ) -> bool:
        handler, limits = self.handler, self.limits
        keep_alive = request.version == "HTTP/1.1" and (request.header("connection") or "").lower() != "close"
        if request.method not in ("GET", "POST"):
            await self._send(conn, request, (501, TEXT, b"unsupported method\n", {}), close=True)
            return False
        client = handler.client(peer, request.headers.get("x-forwarded-for", []))
        held = 0
        try:
            length = _content_length(request, limits.max_body)
            refusal = handler.admit(request.method, request.path, client)
            if refusal is not None:
                # The body is never read, so the connection cannot carry another request.
                await self._send(conn, request, refusal, close=length != 0, started=started)
                return keep_alive and length == 0
            if (request.header("expect") or "").lower() == "100-continue" and length:
                conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            deadline = started + limits.read_timeout
            body, held = await self._read_body(reader, request, length, deadline)
            if handler.expensive(request.method, request.path):
                if not self.in_progress.take():
                    raise _Refused(503, "too many requests in progress", {"Retry-After": "1"})
                conn.serving = True
                try:
                    response = await self.loop.run_in_executor(
                        self.pool, handler.process, request.method, request.path, body
                    )
                finally:
                    conn.serving = False
                    self.in_progress.give()
            else:
                response = handler.process(request.method, request.path, body)
        except _Refused as e:
            await self._send(
                conn, request, (e.status, TEXT, f"{e.message}\n".encode(), e.headers), close=True, started=started
            )
            return False
        except TimeoutError:
            await self._send(conn, request, (408, TEXT, b"request timeout\n", {}), close=True, started=started)
            return False
        except Exception:  # noqa: BLE001 - a handler bug answers 500, the server lives on
            log.exception("HTTP %s %s failed", request.method, request.path)
            response = (500, TEXT, b"internal error\n", {})
        finally:
            self.buffered.give(held)
        await self._send(conn, request, response, close=not keep_alive, started=started)
        return keep_alive

    async def _read_body(
        self, reader: asyncio.StreamReader, request: Request, length: int | None, deadline: float
    ) -> tuple[bytes, int]:
        """(body, bytes taken from the shared budget). ``length`` None: chunked."""
        chunks: list[bytes] = []
        held = 0

        async def take(n: int) -> bytes:
            nonlocal held
            if held + n > self.limits.max_body:
                raise _Refused(413, "request body too large")
            if not self.buffered.take(n):
                raise _Refused(503, "server busy", {"Retry-After": "1"})
            held += n
            return await asyncio.wait_for(reader.readexactly(n), _left(deadline))

        try:
            if length is not None:
                done = 0
                while done < length:
                    n = min(64 * 1024, length - done)
                    chunks.append(await take(n))
                    done += n
            else:
                while True:
                    line = await asyncio.wait_for(reader.readuntil(b"\r\n"), _left(deadline))
                    size_text = line.split(b";", 1)[0].strip()
                    if (
                        not size_text
                        or len(size_text) > 8
                        or not all(c in b"0123456789abcdefABCDEF" for c in size_text)
                    ):
                        raise _Refused(400, "bad chunk size")
                    size = int(size_text, 16)
                    if size == 0:
                        while (await asyncio.wait_for(reader.readuntil(b"\r\n"), _left(deadline))) != b"\r\n":
                            pass  # trailers, ignored
                        break
                    chunks.append((await take(size + 2))[:-2])
        except asyncio.LimitOverrunError:
            self.buffered.give(held)
            raise _Refused(400, "bad chunk") from None
        except BaseException:
            self.buffered.give(held)
            raise
        return b"".join(chunks), held

    async def _send(
        self, conn: _Connection, request: Request, response: Response, *, close: bool, started: float | None = None
    ) -> None:
        status, ctype, body, headers = response
        lines = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
            "Server: sealer-controller",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if close:
            lines.append("Connection: close")
        conn.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await asyncio.wait_for(conn.writer.drain(), self.limits.write_timeout)
        if request.path.startswith("/v1/"):
            method = request.method.lower()
            self.handler.metrics.http_requests.labels(request.path, str(status), method).inc()
            if started is not None:
                self.handler.metrics.http_duration.labels(request.path, method).observe(time.monotonic() - started)

    # --- life cycle ----------------------------------------------------------------------------

    def start(self, host: str, port: int) -> HttpServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.server = self.loop.run_until_complete(
                    asyncio.start_server(self._connection, host, port, limit=self.limits.max_header_bytes, backlog=1024)
                )
                self.server_address = self.server.sockets[0].getsockname()[:2]
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                failure.append(e)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, name="http-api", daemon=True).start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def shutdown(self) -> None:
        async def stop() -> None:
            if self.server is not None:
                self.server.close()
            for conn in list(self.connections):
                conn.writer.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(stop(), self.loop)
        self.pool.shutdown(wait=False, cancel_futures=True)


def _left(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else ""


def _content_length(request: Request, limit: int) -> int | None:
    """The body's length (0 if none, None if chunked); _Refused for what cannot be trusted."""
    encodings = request.headers.get("transfer-encoding")
    lengths = request.headers.get("content-length")
    if encodings:
        if lengths or [e.strip().lower() for e in ",".join(encodings).split(",")] != ["chunked"]:
            raise _Refused(400 if lengths else 501, "unsupported transfer encoding")
        return None
    if not lengths:
        return 0
    if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
        raise _Refused(400, "bad Content-Length")
    length = int(lengths[0])
    if length > limit:
        raise _Refused(413, "request body too large")
    return length


def server_limits(args: Any, **override: Any) -> ServerLimits:
    """The limits controller.config's flags set."""
    limits = ServerLimits(
        read_header_timeout=args.read_header_timeout,
        read_timeout=args.read_timeout,
        write_timeout=args.write_timeout,
        idle_timeout=args.idle_timeout,
        max_connections=args.max_connections,
        max_concurrent=args.max_concurrent_requests,
    )
    return dataclasses.replace(limits, **override)


def serve(handler: Handler, addr: str, stop: threading.Event, limits: ServerLimits = ServerLimits()) -> HttpServer:
    """Start serving on ``addr`` (host:port) in background threads until ``stop`` is set."""
    from controller.http_api import parse_listen_addr

    host, port = parse_listen_addr(addr)
    server = HttpServer(handler, limits).start(host, port)

    def shut_down_when_stopped() -> None:
        stop.wait()
        server.shutdown()

    threading.Thread(target=shut_down_when_stopped, name="http-api-stop", daemon=True).start()
    return server

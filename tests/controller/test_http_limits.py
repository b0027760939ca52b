"""The HTTP API's limits without a cluster: proxy trust, request caps, budgets, and the server's
deadlines and connection cap on a loopback socket (a key registry of test keys behind it)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.forwarded import TrustedProxies, parse_networks
from controller.http_api import LARGEST_SEALED_SECRET, MAX_BODY, Api, RequestLimits, TooLarge, sealed_secrets
from controller.http_server import ServerLimits, parse_head, serve
from controller.metrics import Metrics
from controller.ratelimit import Budget
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer

# --- who the client is -------------------------------------------------------------------------


def test_untrusted_peer_is_its_own_key_whatever_it_forwards():
    proxies = TrustedProxies(parse_networks("10.0.0.0/8"))
    assert proxies.client("192.168.1.5", ["1.2.3.4"]) == "192.168.1.5"
    assert TrustedProxies().client("10.1.1.1", ["1.2.3.4"]) == "10.1.1.1"  # default: nobody trusted


def test_trusted_peer_gives_only_the_last_hop():
    proxies = TrustedProxies(parse_networks("10.0.0.0/8, 2001:db8::/32"))
    assert proxies.client("10.0.0.7", ["6.6.6.6, 7.7.7.7, 192.0.2.9"]) == "192.0.2.9"
    assert proxies.client("10.0.0.7", ["6.6.6.6", "192.0.2.9"]) == "192.0.2.9"  # two header lines, in order
    assert proxies.client("2001:db8::1", ["[2001:db8::99]:4711"]) == "2001:db8::99"
    assert proxies.client("::ffff:10.0.0.7", ["192.0.2.9:80"]) == "192.0.2.9"
    # A last hop that is not an address is the client's invention: the proxy is the key then.
    assert proxies.client("10.0.0.7", ["192.0.2.9, evil"]) == "10.0.0.7"
    assert proxies.client("10.0.0.7", []) == "10.0.0.7"
    assert proxies.client("10.0.0.7", [" , "]) == "10.0.0.7"


@given(st.lists(st.text(max_size=20), max_size=5), st.ip_addresses(v=4))
def test_client_chosen_prefixes_never_change_the_key(prefix, last):
    proxies = TrustedProxies(parse_networks("127.0.0.0/8"))
    forwarded = ", ".join([p.replace(",", "") for p in prefix] + [str(last)])
    assert proxies.client("127.0.0.2", [forwarded]) == str(last)
    assert TrustedProxies().client("127.0.0.2", [forwarded]) == "127.0.0.2"


def test_parse_networks_names_the_bad_entry():
    assert parse_networks("") == ()
    assert [str(n) for n in parse_networks("10.0.0.1, 10.0.0.0/8")] == ["10.0.0.1/32", "10.0.0.0/8"]
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        parse_networks("10.0.0.1,10.0.0.0/33")


def test_trusted_proxies_flag_is_checked_at_start():
    from controller import config

    assert [str(n) for n in config.parser().parse_args(["--trusted-proxies", "10.0.0.0/8"]).trusted_proxies] == [
        "10.0.0.0/8"
    ]
    with pytest.raises(SystemExit):
        config.parser().parse_args(["--trusted-proxies", "nonsense"])
    with pytest.raises(SystemExit):
        config.parser().parse_args(["--read-timeout", "0s"])
    args = config.parser().parse_args([])
    assert (args.read_timeout, args.write_timeout, args.read_header_timeout) == (120, 120, 10)
    assert args.trusted_proxies == ()


# --- caps ----------------------------------------------------------------------------------------


def test_budget_is_never_overdrawn():
    b = Budget(3)
    assert [b.take() for _ in range(4)] == [True, True, True, False]
    b.give()
    assert b.take(1) and not b.take(1)
    assert not Budget(10).take(11)


def test_the_body_cap_holds_the_largest_sealed_secret_of_a_valid_secret(tmp_path):
    """The derivation in controller/http_api.py: 1 MiB of data in one item, sealed for a 4096-bit
    key, with 256 KiB of annotations on the SealedSecret and on its template, fits the cap."""
    from tests.conftest import make_test_key

    assert LARGEST_SEALED_SECRET <= MAX_BODY
    key = make_test_key(tmp_path, bits=4096)
    big = "a" * (256 * 1024 - 10)
    secret = {
        "kind": "Secret",
        "metadata": {"name": "n" * 253, "namespace": "s" * 63, "annotations": {"k": big}},
        "data": {"v": __import__("base64").b64encode(b"\0" * (1024 * 1024 - 1)).decode()},
    }
    sealed = Sealer(parse_certificate(key.cert_pem)).seal_secret(secret)
    sealed["metadata"]["annotations"] = {"k": big}
    body = json.dumps(sealed).encode()
    assert len(body) <= MAX_BODY
    assert len(sealed_secrets(body)) == 1


def _sealed(items: int, n: int = 1) -> bytes:
    doc = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"encryptedData": {f"k{i}": "AAAA" for i in range(items)}},
    }
    return "\n".join(json.dumps(doc) for _ in range(n)).encode()


def test_items_and_documents_are_capped_before_anything_is_opened():
    limits = RequestLimits(max_items=10, max_documents=3)
    assert len(sealed_secrets(_sealed(5, 2), limits)) == 2
    with pytest.raises(TooLarge, match="11 items"):
        sealed_secrets(_sealed(11), limits)
    with pytest.raises(TooLarge, match="12 items"):
        sealed_secrets(_sealed(4, 3), limits)  # the item budget is per request, not per document
    with pytest.raises(TooLarge, match="4 documents"):
        sealed_secrets(_sealed(1, 4), limits)
    with pytest.raises(TooLarge, match="larger than"):
        sealed_secrets(b" " * (MAX_BODY + 1))


@pytest.fixture(scope="module")
def registry(test_key, other_key):
    pairs = [KeyPair.from_pem(k.key_pem, k.cert_pem, k.cert_path.name) for k in (test_key, other_key)]
    return KeyRegistry([StoredKey(f"k{i}", p) for i, p in enumerate(pairs)])


def _many_items(cert_pem: bytes, items: int, bad_first: bytes | None = None) -> dict:
    doc = {
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": {f"k{i:04}": "x" for i in range(items)},
    }
    sealed = Sealer(parse_certificate(cert_pem)).seal_secret(doc)
    if bad_first:
        wrong = Sealer(parse_certificate(bad_first)).seal_secret(doc)
        sealed["spec"]["encryptedData"]["k0000"] = wrong["spec"]["encryptedData"]["k0000"]
    return sealed


def test_verify_and_rotate_stop_at_the_first_item_that_does_not_open(registry, test_key, tmp_path):
    from tests.conftest import make_test_key

    stranger = make_test_key(tmp_path, "stranger")
    sealed = _many_items(test_key.cert_pem, 100, bad_first=stranger.cert_pem)
    api = Api(registry, Metrics(), lambda: True, rate=0)
    body = json.dumps(sealed).encode()
    for path in ("/v1/verify", "/v1/rotate"):
        before = registry.private_key_operations
        assert api.handle("POST", path, body, "c")[0] == 409
        # Python dicts keep the order: k0000 comes first; it costs one try per key, then it ends.
        assert registry.private_key_operations - before <= len(registry)


def test_too_many_items_cost_no_private_key_operation(registry, test_key):
    api = Api(registry, Metrics(), lambda: True, rate=0, limits=RequestLimits(max_items=50))
    body = json.dumps(_many_items(test_key.cert_pem, 51)).encode()
    before = registry.private_key_operations
    for path in ("/v1/verify", "/v1/rotate"):
        status, _, text, _ = api.handle("POST", path, body, "c")
        assert status == 413 and b"51 items" in text
    assert registry.private_key_operations == before


def test_bad_json_is_400_not_500(registry):
    api = Api(registry, Metrics(), lambda: True, rate=0)
    for body in (b"{", b"[" * 100_000, b'{"a":' * 50_000, b"- " * 50_000 + b"x", b"\xff\xfe", b"null", b"[]"):
        status, _, text, _ = api.handle("POST", "/v1/verify", body, "c")
        assert status == 400, (body[:20], status, text)
        assert b"\n" == text[-1:] and text.count(b"\n") == 1


def test_parse_head_refuses_smuggling_shapes():
    from controller.http_server import _Refused

    req = parse_head(b"POST /v1/verify?x=1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1\r\nX-Forwarded-For: 2\r\n\r\n")
    assert (req.method, req.path, req.headers["x-forwarded-for"]) == ("POST", "/v1/verify", ["1", "2"])
    for bad in (
        b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET http://x/ HTTP/1.1\r\n\r\n",
    ):
        with pytest.raises(_Refused):
            parse_head(bad)


# --- the server on loopback ----------------------------------------------------------------------


@pytest.fixture
def server(registry):
    """Our server with short deadlines and small caps, so the tests take seconds."""
    stop = threading.Event()
    limits = ServerLimits(
        read_header_timeout=1.0,
        read_timeout=2.0,
        write_timeout=2.0,
        idle_timeout=1.0,
        max_connections=20,
        max_concurrent=1,
        max_buffered_bytes=3 * MAX_BODY,
    )
    srv = serve(Api(registry, Metrics(), lambda: True, rate=0), "127.0.0.1:0", stop, limits)
    yield srv
    stop.set()


def _connect(srv, timeout: float = 5) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=timeout)


def _status(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            return 0
        head += chunk
    return int(head.split(b" ", 2)[1])


def _get(srv, path: str = "/healthz") -> int:
    with _connect(srv) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return _status(s)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_server_refuses_huge_body_before_reading_it(server):
    with _connect(server) as s:
        s.sendall(f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n".encode())
        assert _status(s) == 413  # answered although not one byte of the body was sent
    with _connect(server) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.sendall(b"%x\r\n" % (MAX_BODY + 1) + b"a" * 1000)
        assert _status(s) == 413


def test_server_reads_chunked_bodies(server, registry, test_key):
    body = json.dumps(_many_items(test_key.cert_pem, 2)).encode()
    with _connect(server) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.sendall(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
        assert _status(s) == 200


def test_slow_headers_are_cut_off_and_probes_still_answer(server):
    slow = [_connect(server) for _ in range(15)]
    for s in slow:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    assert _get(server, "/healthz") == 200 and _get(server, "/readyz") == 200
    assert time.monotonic() - started < 1
    assert all(_closed_within(s, 3) for s in slow)  # read_header_timeout = 1 s
    for s in slow:
        s.close()


def test_more_connections_than_the_cap_evict_the_longest_waiting(server):
    idle = [_connect(server) for _ in range(60)]  # three times max_connections
    assert _get(server) == 200
    time.sleep(0.2)  # well inside read_header_timeout: only eviction closes anything here
    closed = [_readable(s) for s in idle]  # closed by the server: EOF is readable
    assert sum(closed) >= 60 - 20 + 1
    assert not any(closed[-15:])  # the newest stay
    for s in idle:
        s.close()


def test_slow_body_is_cut_off_at_the_read_timeout(server):
    import select

    with _connect(server) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        started = time.monotonic()
        while not select.select([s], [], [], 0.1)[0] and time.monotonic() - started < 5:
            s.sendall(b"a")  # a byte each 0.1 s: never idle long, never done
        assert _status(s) == 408
        assert 1.5 < time.monotonic() - started < 3.5  # read_timeout = 2 s, from the request's start


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def test_keep_alive_serves_many_then_idles_out(server):
    with _connect(server) as s:
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_within(s, 2.5)  # idle_timeout = 1 s


def test_busy_workers_answer_503_with_retry_after(registry, test_key):
    stop = threading.Event()
    gate, release = threading.Event(), threading.Event()

    class SlowApi(Api):
        def process(self, method, path, body):
            if path == "/v1/verify":
                gate.set()
                release.wait(10)
            return super().process(method, path, body)

    srv = serve(SlowApi(registry, Metrics(), lambda: True, rate=0), "127.0.0.1:0", stop, ServerLimits(max_concurrent=1))
    body = json.dumps(_many_items(test_key.cert_pem, 1)).encode()
    request = b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    try:
        first = _connect(srv)
        first.sendall(request)
        assert gate.wait(5)
        with _connect(srv) as second:
            second.sendall(request)
            answer = second.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer
        assert _get(srv, "/healthz") == 200  # probes are not behind the workers
        release.set()
        assert _status(first) == 200
        first.close()
    finally:
        release.set()
        stop.set()


def test_rate_limit_refuses_without_reading_the_body(registry):
    stop = threading.Event()
    srv = serve(Api(registry, Metrics(), lambda: True, rate=0.001, burst=1), "127.0.0.1:0", stop, ServerLimits())
    try:
        with _connect(srv) as s:
            s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{")
            assert _status(s) == 400
        for hop in range(3):
            with _connect(srv) as s:
                # A new X-Forwarded-For each time changes nothing from an untrusted peer, and the
                # refusal comes although the announced body never does.
                s.sendall(
                    b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %d.0.0.1\r\n"
                    b"Content-Length: 100\r\n\r\n" % hop
                )
                assert _status(s) == 429
    finally:
        stop.set()


def test_a_huge_head_is_431_and_expect_continue_is_honoured(server, test_key):
    with _connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (64 * 1024))
        assert _status(s) == 431
    body = json.dumps(_many_items(test_key.cert_pem, 1)).encode()
    with _connect(server) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert s.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before the body, as curl waits for it
        s.sendall(body)
        assert _status(s) == 200

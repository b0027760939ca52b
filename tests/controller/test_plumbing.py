"""Work queue, rate limiter and HTTP API handlers, without sockets or a cluster."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.http_api import Api, parse_listen_addr, reseal
from controller.metrics import Metrics
from controller.ratelimit import RateLimiter
from controller.workqueue import WorkQueue
from keys.keypair import KeyPair
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core.certs import parse_certificate
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope
from sealer.core.sealing import Sealer
from sealer.core.unsealing import open_items


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_queue_dedups_and_never_hands_out_a_key_twice_at_once():
    q = WorkQueue()
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    first = q.get(timeout=0)
    q.add(first)  # changed while being processed: comes back after done()
    second = q.get(timeout=0)
    assert {first, second} == {"a", "b"}
    assert q.get(timeout=0) is None
    q.done(first)
    assert q.get(timeout=0) == first


def test_queue_backoff_grows():
    clock = FakeClock()
    q = WorkQueue(base_delay=1.0, max_delay=8.0, clock=clock)
    assert q.retry("k") == 1
    assert q.get(timeout=0) is None
    clock.t = 1.0
    assert q.get(timeout=0) == "k"
    q.done("k")
    q.retry("k")
    clock.t = 2.5
    assert q.get(timeout=0) is None
    clock.t = 3.0
    assert q.get(timeout=0) == "k"
    q.forget("k")
    assert q.failures("k") == 0


def test_queue_wakes_waiting_worker():
    q = WorkQueue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    t.start()
    q.add("x")
    t.join(5)
    assert got == ["x"]


@given(st.lists(st.sampled_from("abcde"), max_size=50))
def test_queue_processes_every_added_key(keys):
    q = WorkQueue()
    for k in keys:
        q.add(k)
    seen = set()
    while (k := q.get(timeout=0)) is not None:
        seen.add(k)
        q.done(k)
    assert seen == set(keys)


def test_rate_limiter_bursts_then_refills():
    clock = FakeClock()
    limiter = RateLimiter(2, 2, clock=clock)
    assert [limiter.allow("c")[0] for _ in range(3)] == [True, True, False]
    assert limiter.allow("other")[0]  # per client
    clock.t = 0.5
    assert limiter.allow("c")[0] and not limiter.allow("c")[0]


def test_parse_listen_addr():
    assert parse_listen_addr(":8080") == ("0.0.0.0", 8080)
    assert parse_listen_addr("127.0.0.1:9") == ("127.0.0.1", 9)
    for bad in ("8080", "host:", "host:99999", ":http"):
        with pytest.raises(ValueError):
            parse_listen_addr(bad)


def test_server_refuses_bad_or_huge_content_length(registry):
    import socket

    from controller.http_server import serve

    stop = threading.Event()
    server = serve(api(registry), "127.0.0.1:0", stop)
    port = server.server_address[1]
    try:
        for length, code in (("-1", b" 400 "), ("abc", b" 400 "), (str(5 * 1024 * 1024), b" 413 ")):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
                assert code in s.recv(1024).split(b"\r\n")[0] + b" "
    finally:
        stop.set()


@pytest.fixture(scope="module")
def registry(test_key, other_key):
    pairs = [KeyPair.from_pem(k.key_pem, k.cert_pem, k.cert_path.name) for k in (test_key, other_key)]
    return KeyRegistry([StoredKey(f"k{i}", p) for i, p in enumerate(pairs)])


@pytest.fixture(scope="module")
def sealed_old(test_key):
    doc = {
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", "labels": {"a": "b"}},
        "stringData": {"pw": "x"},
    }
    return Sealer(parse_certificate(test_key.cert_pem)).seal_secret(doc, scope=Scope.NAMESPACE_WIDE)


def api(registry, rate=100.0):
    return Api(registry, Metrics(), lambda: True, rate=rate, burst=int(rate))


def test_cert_endpoint_serves_newest(registry):
    status, ctype, body, _ = api(registry).handle("GET", "/v1/cert.pem", b"", "c")
    assert status == 200 and ctype == "application/x-pem-file" and body == registry.newest.cert_pem


def test_verify(registry, sealed_old):
    a = api(registry)
    assert a.handle("POST", "/v1/verify", json.dumps(sealed_old).encode(), "c")[0] == 200
    moved = json.loads(json.dumps(sealed_old))
    moved["metadata"]["namespace"] = "elsewhere"
    assert a.handle("POST", "/v1/verify", json.dumps(moved).encode(), "c")[0] == 409
    assert a.handle("POST", "/v1/verify", b"not: [yaml", "c")[0] == 400
    assert a.handle("GET", "/v1/verify", b"", "c")[0] == 405


def test_rotate_reseals_for_newest_and_keeps_template(registry, sealed_old):
    status, ctype, body, _ = api(registry).handle("POST", "/v1/rotate", json.dumps(sealed_old).encode(), "c")
    assert status == 200 and ctype == "application/json"
    out = json.loads(body)
    assert out["spec"]["template"] == sealed_old["spec"]["template"]
    assert out["metadata"]["annotations"][KEY_HINT_ANNOTATION] == registry.newest.fingerprint
    assert out["spec"]["encryptedData"]["pw"] != sealed_old["spec"]["encryptedData"]["pw"]
    assert Scope.from_annotations(out["metadata"]["annotations"]) is Scope.NAMESPACE_WIDE
    only_newest = KeyRegistry([StoredKey("n", registry.newest)])
    assert open_items(out, only_newest) == {"pw": b"x"}


def test_verify_is_rate_limited(registry, sealed_old):
    a = Api(registry, Metrics(), lambda: True, rate=1, burst=1)
    body = json.dumps(sealed_old).encode()
    assert a.handle("POST", "/v1/verify", body, "c")[0] == 200
    status, _, _, headers = a.handle("POST", "/v1/verify", body, "c")
    assert status == 429 and int(headers["Retry-After"]) >= 1


def test_reseal_requires_keys(sealed_old):
    from sealer.core.errors import SealerError

    with pytest.raises(SealerError):
        reseal(sealed_old, KeyRegistry())

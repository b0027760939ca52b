"""Attacks on the controller's HTTP API (issue 17), each run against our controller on the real
control plane and expected to fail: with the controller's CPU, memory, threads and descriptors read
from /proc while it is under attack. Every loop is bounded in count and time."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.security.attacker import Timer, connect, hop, memory_limit_bytes, read_answer, request, usage
from tests.security.conftest import (
    IDLE_TIMEOUT,
    MAX_CONCURRENT,
    MAX_CONNECTIONS,
    READ_HEADER_TIMEOUT,
    READ_TIMEOUT,
    TRUSTED_PROXY,
)

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def sealer(target):
    return Sealer(parse_certificate(target.cert_pem()))


def sealed_body(sealer, items: int, value: bytes = b"v", name: str = "s", namespace: str = "attacker") -> bytes:
    doc = {
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {f"k{i:05}": __import__("base64").b64encode(value).decode() for i in range(items)},
    }
    return json.dumps(sealer.seal_secret(doc)).encode()


def random_items_body(items: int, key_bytes: int = 256) -> bytes:
    """Well-formed sealed values that open with no key: the issue's 3.7 MiB body had 10,265."""
    encrypted = {
        f"k{i:05}": __import__("base64").b64encode(len_prefix(key_bytes) + os.urandom(key_bytes + 16)).decode()
        for i in range(items)
    }
    return json.dumps(
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "s", "namespace": "attacker"},
            "spec": {"encryptedData": encrypted},
        }
    ).encode()


def len_prefix(n: int) -> bytes:
    return n.to_bytes(2, "big")


def assert_memory_below_limit(target) -> None:
    peak = usage(target.proc.pid).peak_rss_bytes
    assert peak < memory_limit_bytes(), f"peak RSS {peak / MIB:.0f} MiB"


# --- the rate limit ------------------------------------------------------------------------------


def test_a_new_forwarded_for_per_request_does_not_bypass_the_rate_limit(target, sealer):
    body = sealed_body(sealer, 1)
    time.sleep(1.5)  # a full bucket
    codes = []
    with Timer() as t:
        for i in range(12):
            codes.append(
                request(target.port, "POST", "/v1/verify", body, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status
            )
    # burst 2, 2/s: what elapsed may have refilled, no more.
    assert codes.count(200) <= 2 + int(2 * t.seconds) + 1, (codes, t.seconds)
    assert 429 in codes


def test_a_trusted_proxy_counts_only_its_own_hop(target, sealer):
    body = sealed_body(sealer, 1)
    time.sleep(1.5)
    # The client writes whatever it likes left of the proxy's hop: one bucket all the same.
    codes = [
        request(
            target.port,
            "POST",
            "/v1/verify",
            body,
            source=TRUSTED_PROXY,
            headers={"X-Forwarded-For": f"10.9.9.{i}, 192.0.2.77"},
        ).status
        for i in range(8)
    ]
    assert codes[:2] == [200, 200] and 429 in codes[2:]
    refused = request(
        target.port, "POST", "/v1/verify", body, source=TRUSTED_PROXY, headers={"X-Forwarded-For": "192.0.2.77"}
    )
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    # Another client behind the same proxy has its own bucket.
    assert (
        request(
            target.port, "POST", "/v1/verify", body, source=TRUSTED_PROXY, headers={"X-Forwarded-For": "192.0.2.78"}
        ).status
        == 200
    )


def test_concurrent_expensive_requests_are_bounded(target, sealer):
    body = sealed_body(sealer, 256)  # the most items one request may have: the slowest allowed
    results: list[int] = []
    retry_after: list[str] = []

    def one():
        answer = request(target.port, "POST", "/v1/rotate", body, source=TRUSTED_PROXY, headers=hop(), timeout=60)
        results.append(answer.status)
        if answer.status == 503:
            retry_after.append(answer.headers.get("retry-after", ""))

    threads_before = usage(target.proc.pid).threads
    threads = [threading.Thread(target=one) for _ in range(12)]
    with Timer() as t:
        for th in threads:
            th.start()
        probe = request(target.port, "GET", "/healthz")  # probes are never behind the workers
        for th in threads:
            th.join(90)
    assert probe.status == 200
    assert len(results) == 12, results
    assert results.count(503) >= 1, results
    # The workers are the only threads that run these: no thread per request.
    assert usage(target.proc.pid).threads <= threads_before + MAX_CONCURRENT
    assert 200 in results and set(results) <= {200, 503}
    assert retry_after and all(v == "1" for v in retry_after)
    assert t.seconds < 60
    assert_memory_below_limit(target)


# --- CPU amplification ---------------------------------------------------------------------------


def test_the_issue_body_is_refused_before_it_is_read(target):
    body = random_items_body(10_265)
    assert len(body) > 3.5 * MIB
    before = usage(target.proc.pid)
    with connect(target.port, TRUSTED_PROXY) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: c\r\nX-Forwarded-For: 192.0.2.1\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        answer = read_answer(s)  # before a byte of the body is sent
    assert answer.status == 413
    spent = usage(target.proc.pid).cpu_seconds - before.cpu_seconds
    print(f"\nCPU for the issue's 3.7 MiB body: {spent * 1000:.0f} ms (clock ticks of 10 ms)")
    assert spent < 0.05


def test_cpu_per_rejected_request_is_bounded(target, record_property):
    """Bodies within the size cap but over the item cap (~5,000 items in 2 MiB) are parsed and
    refused without a private-key operation; so are items past the first that fails."""
    over_items = random_items_body(5_000)
    assert len(over_items) < 2 * MIB
    operations = target.metric("sealed_secrets_controller_private_key_operations_total")
    before = usage(target.proc.pid)
    n = 20
    for _ in range(n):
        answer = request(target.port, "POST", "/v1/verify", over_items, source=TRUSTED_PROXY, headers=hop())
        assert answer.status == 413 and b"items" in answer.body
    per_request = (usage(target.proc.pid).cpu_seconds - before.cpu_seconds) / n
    record_property("cpu_seconds_per_rejected_2mib_request", per_request)
    print(f"\nCPU per rejected 2 MiB request: {per_request * 1000:.0f} ms")
    assert per_request < 0.25
    assert target.metric("sealed_secrets_controller_private_key_operations_total") == operations

    # 256 items that open with no key: one failure ends it, whatever follows.
    failing = random_items_body(256)
    keys = target.metric("sealed_secrets_controller_keys")
    before = usage(target.proc.pid)
    for _ in range(n):
        assert request(target.port, "POST", "/v1/verify", failing, source=TRUSTED_PROXY, headers=hop()).status == 409
    per_request = (usage(target.proc.pid).cpu_seconds - before.cpu_seconds) / n
    print(f"CPU per refused 256-item verify: {per_request * 1000:.1f} ms")
    spent = target.metric("sealed_secrets_controller_private_key_operations_total") - operations
    assert spent <= n * keys
    assert per_request < 0.05
    assert_memory_below_limit(target)


def test_a_hundred_megabytes_are_refused_early(target):
    before = usage(target.proc.pid)
    with connect(target.port) as s:
        s.sendall(b"POST /v1/rotate HTTP/1.1\r\nHost: c\r\nContent-Length: %d\r\n\r\n" % (100 * MIB))
        assert read_answer(s).status == 413
    # Chunked, so no length to refuse up front: cut off at the cap, not at 100 MB.
    sent = 0
    with connect(target.port, TRUSTED_PROXY) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: c\r\nX-Forwarded-For: 192.0.2.3\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (MIB, b"a" * MIB)
        try:
            while sent < 100 * MIB:
                s.sendall(chunk)
                sent += MIB
        except OSError:
            pass
        try:
            status = read_answer(s).status
        except ConnectionError:
            status = 0  # closed hard while we were still sending: refused all the same
    assert status in (413, 0)
    assert sent < 100 * MIB
    after = usage(target.proc.pid)
    assert after.rss_bytes - before.rss_bytes < 64 * MIB
    assert_memory_below_limit(target)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"kind": "SealedSecret", ',
        b"[" * 500_000,
        b'{"a":' * 200_000,
        b"- " * 500_000 + b"x",
        b"a: &a [*a]",
        b"\xff\xfe\x00",
        b"null",
        b"[1, 2]",
        b'{"kind": "SealedSecret", "metadata": {"name": 5}}',
    ],
    ids=[
        "truncated",
        "unterminated",
        "nested-arrays",
        "nested-objects",
        "nested-yaml",
        "yaml-self-alias",
        "not-utf8",
        "null",
        "list",
        "wrong-types",
    ],
)
def test_malformed_and_deeply_nested_bodies_are_400(target, body):
    for path in ("/v1/verify", "/v1/rotate"):
        answer = request(target.port, "POST", path, body, source=TRUSTED_PROXY, headers=hop())
        assert answer.status == 400, (path, answer)
        assert answer.body.count(b"\n") == 1  # one line, no traceback
    assert target.proc.poll() is None


# --- slow clients --------------------------------------------------------------------------------


def test_slowloris_neither_holds_threads_nor_silences_the_probes(target, record_property):
    pid = target.proc.pid
    before = usage(pid)
    attackers = []
    for _ in range(1000):
        s = connect(target.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: c\r\nX-Slow: ")  # and never the end of the head
        attackers.append(s)
    latencies = []
    for _ in range(10):
        for path in ("/healthz", "/readyz"):
            with Timer() as t:
                assert request(target.port, "GET", path, timeout=2).status == 200
            latencies.append(t.seconds)
    during = usage(pid)
    record_property("probe_latency_max_seconds", max(latencies))
    print(
        f"\nprobe latency under 1,000 slow connections: median {sorted(latencies)[10] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; threads {before.threads} -> {during.threads}, fds {before.fds} -> {during.fds}"
    )
    assert max(latencies) < 1.0  # the kubelet's probes time out at 2 s
    assert during.threads <= before.threads + MAX_CONCURRENT + 2
    assert during.fds <= before.fds + MAX_CONNECTIONS + 16  # the cap, not one per attacker
    # The header deadline frees the rest.
    deadline = time.monotonic() + READ_HEADER_TIMEOUT + 5
    open_left = attackers
    while open_left and time.monotonic() < deadline:
        time.sleep(0.5)
        open_left = [s for s in open_left if not _closed(s)]
    assert not open_left, f"{len(open_left)} slow connections still open"
    for s in attackers:
        s.close()
    assert usage(pid).fds <= before.fds + 16
    assert_memory_below_limit(target)


def test_the_metrics_port_holds_too(target):
    """Its own server of the same kind: prometheus_client's took a thread per connection."""
    pid = target.proc.pid
    before = usage(pid)
    attackers = [connect(target.metrics_port) for _ in range(300)]
    for s in attackers:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
    with Timer() as t:
        answer = request(target.metrics_port, "GET", "/metrics", timeout=5)
    assert answer.status == 200 and b"sealed_secrets_controller_build_info" in answer.body
    assert t.seconds < 1
    assert usage(pid).threads <= before.threads + 2
    for s in attackers:
        s.close()


def _closed(sock) -> bool:
    """Whether the controller closed it (its 408 answer is read and dropped on the way)."""
    import select
    import socket

    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(65536, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_body_and_idle_keep_alive_are_cut_off(target, sealer):
    body = sealed_body(sealer, 1)
    with connect(target.port) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: c\r\nContent-Length: %d\r\n\r\n" % len(body))
        started = time.monotonic()
        import select

        sent = 0
        while not select.select([s], [], [], 0.5)[0] and time.monotonic() - started < READ_TIMEOUT + 5:
            s.sendall(body[sent : sent + 1])  # a byte each half second
            sent += 1
        assert read_answer(s).status == 408
        assert time.monotonic() - started < READ_TIMEOUT + 2
    with connect(target.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: c\r\n\r\n")
        assert read_answer(s).status == 200
        started = time.monotonic()
        s.settimeout(IDLE_TIMEOUT + 5)
        assert s.recv(1) == b""  # closed by the controller
        assert time.monotonic() - started < IDLE_TIMEOUT + 2


def test_zz_memory_stayed_below_the_pod_limit_through_every_attack(target, record_property):
    peak = usage(target.proc.pid).peak_rss_bytes
    record_property("peak_rss_bytes", peak)
    print(
        f"\npeak RSS of the controller through the attacks: {peak / MIB:.0f} MiB (limit {memory_limit_bytes() / MIB:.0f} MiB)"
    )
    assert peak < memory_limit_bytes()
    assert target.proc.poll() is None

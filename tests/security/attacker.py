"""What the attacks share: raw HTTP on loopback (from any 127.0.0.0/8 source address), and what a
process costs, read from /proc (CPU in clock ticks, resident memory, threads, descriptors)."""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer ({data[:80]!r})")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(int(lines[0].split(" ")[1]), headers, body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    head = [f"{method} {path} HTTP/1.1", "Host: controller", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with connect(port, source, timeout) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        return read_answer(s)


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, this process only
    rss_bytes: int
    peak_rss_bytes: int  # VmHWM: the most it has ever been resident
    threads: int
    fds: int


def usage(pid: int) -> Usage:
    # /proc/<pid>/stat: the fields after the parenthesised command; utime and stime are 14 and 15.
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    status = Path(f"/proc/{pid}/status").read_text()

    def kib(name: str) -> int:
        return int(re.search(rf"^{name}:\s+(\d+) kB", status, re.M).group(1)) * 1024

    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
    return Usage(
        (int(fields[11]) + int(fields[12])) / TICKS,
        kib("VmRSS"),
        kib("VmHWM"),
        threads,
        len(os.listdir(f"/proc/{pid}/fd")),
    )


def memory_limit_bytes() -> int:
    """The controller container's memory limit in deploy/deployment.yaml."""
    deployment = yaml.safe_load((REPO / "deploy" / "deployment.yaml").read_text())
    limit = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", limit).groups()
    return int(number) * {"Mi": 2**20, "Gi": 2**30}[unit]


def hop() -> dict[str, str]:
    """A client the trusted proxy vouches for: a fresh one each time, so the per-client rate limit
    is not what answers (the attack of the test is, or the limit that test is about)."""
    return {
        "X-Forwarded-For": f"198.51.100.{secrets.randbelow(250)}, 10.{secrets.randbelow(250)}."
        f"{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    }


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start

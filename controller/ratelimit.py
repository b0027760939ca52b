"""A token bucket per client: Bitnami limits ``/v1/verify`` (default 2/s, burst 2) keyed by path and
``X-Forwarded-For`` (the API-server proxy sets it), so one client cannot make the controller burn
private-key operations for everybody."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 65536
    ):
        self.rate, self.burst, self.clock = float(rate), max(1, int(burst)), clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_clients
        self._lock = threading.Lock()

    def allow(self, client: str) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        if self.rate <= 0:
            return True, 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return allowed, 0.0 if allowed else (1.0 - tokens) / self.rate

    def wait(self, client: str, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until ``client`` may go: client-go's token-bucket throttle (``--kubeclient-qps``)."""
        while True:
            allowed, wait = self.allow(client)
            if allowed:
                return
            sleep(wait)


class Budget:
    """A count of something scarce (requests in progress, bytes of request bodies held) that is
    taken without waiting: whoever finds it spent is answered "busy" at once, so a flood queues
    nowhere and holds nothing."""

    def __init__(self, total: int):
        self.total = max(1, int(total))
        self._used = 0
        self._lock = threading.Lock()

    def take(self, amount: int = 1) -> bool:
        with self._lock:
            if self._used + amount > self.total:
                return False
            self._used += amount
            return True

    def give(self, amount: int = 1) -> None:
        with self._lock:
            self._used = max(0, self._used - amount)

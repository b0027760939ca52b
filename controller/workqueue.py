"""A work queue of object keys: each key at most once in the queue and never processed by two
workers at once; failed keys come back after an exponential delay, up to a retry limit."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)  # the key type: the controller's (namespace, name)


class WorkQueue(Generic[K]):
    def __init__(
        self, *, base_delay: float = 0.005, max_delay: float = 300.0, clock: Callable[[], float] = time.monotonic
    ):
        self._clock = clock
        self._base, self._max = base_delay, max_delay
        self._ready: list[K] = []
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()  # added again while being processed
        self._delayed: list[tuple[float, int, K]] = []
        self._failures: dict[K, int] = {}
        self._seq = 0
        self._cond = threading.Condition()
        self._shutdown = False

    def add(self, key: K) -> None:
        with self._cond:
            self._enqueue(key)

    def _enqueue(self, key: K) -> None:
        """Queue ``key`` unless queued; if a worker has it, queue it again once that worker is done."""
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.append(key)
            self._cond.notify()

    def add_after(self, key: K, delay: float) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (self._clock() + delay, self._seq, key))
            self._cond.notify()

    def retry(self, key: K) -> int:
        """Schedule ``key`` again after its next backoff delay; returns how many times it failed."""
        with self._cond:
            n = self._failures.get(key, 0) + 1
            self._failures[key] = n
        self.add_after(key, min(self._base * 2 ** (n - 1), self._max))
        return n

    def forget(self, key: K) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def get(self, timeout: float | None = None) -> K | None:
        """The next key to process (mark it with ``done`` afterwards), or None on timeout/shutdown."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                self._promote()
                if self._ready:
                    key = self._ready.pop(0)
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown:
                    return None
                wait = None if deadline is None else deadline - self._clock()
                if self._delayed:
                    until_next = self._delayed[0][0] - self._clock()
                    wait = until_next if wait is None else min(wait, until_next)
                if wait is not None and wait <= 0:
                    if deadline is not None and self._clock() >= deadline:
                        return None
                    continue
                self._cond.wait(wait)

    def _promote(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self._enqueue(key)

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._enqueue(key)

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready) + len(self._delayed)

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

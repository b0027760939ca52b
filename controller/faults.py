"""How the controller tells passing trouble from a real failure, and how it talks about either.

- *Transient*: the API server is away, overloaded or restarting (connection errors, 429, 5xx; and
  401/403, which a freshly started API server answers until its RBAC caches are filled) or an
  object moved on meanwhile (409). Retried with a bounded backoff for as long as it takes,
  never counted against ``--max-unseal-retries``: an outage must not make the controller give up
  on objects that are fine.
- *Refused*: the API server will say the same again (400, 413, 422): reported in the status with
  the server's reason where that names fields and limits, and not retried until the object changes.
- Logging of transient trouble is one line per kind of failure per interval, not one traceback per
  object: a 3 s outage with 120 objects in flight is a handful of lines.
"""

from __future__ import annotations

import http.client
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Hashable

from sealer.kube import ApiError

TRANSIENT_STATUSES = frozenset({0, 401, 403, 408, 409, 425, 429, 500, 502, 503, 504})
REFUSED_STATUSES = frozenset({400, 413, 422})


def _too_large(e: ApiError) -> bool:
    # etcd's request limit comes back as a 500; it is no more transient than a 422.
    return e.status == 413 or (e.status == 500 and "too large" in e.message.lower())


def is_transient(e: BaseException) -> bool:
    if isinstance(e, ApiError):
        return e.status in TRANSIENT_STATUSES and not _too_large(e)
    status = getattr(e, "status", None)
    if type(e).__name__ == "ApiException" and isinstance(status, int):  # the kubernetes client's (TLS errors: 0)
        return status in TRANSIENT_STATUSES
    errors: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)
    try:
        from urllib3.exceptions import HTTPError as Urllib3Error
    except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
        pass
    else:
        errors = (*errors, Urllib3Error)
    return isinstance(e, errors)


def is_refused(e: ApiError) -> bool:
    return e.status in REFUSED_STATUSES or _too_large(e)


def kind_of(e: BaseException) -> str:
    """A short, value-free name for a failure: ``503 ServiceUnavailable``, ``ConnectionRefusedError``."""
    if isinstance(e, ApiError):
        return e.summary.split(" (", 1)[0]
    cause = e
    # urllib3 wraps the socket error (MaxRetryError -> NewConnectionError -> ConnectionRefusedError).
    for _ in range(4):
        inner = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if not isinstance(inner, BaseException):
            break
        cause = inner
    return type(cause).__name__ if cause is e else f"{type(e).__name__}: {type(cause).__name__}"


# Field paths and limits only: these are the shapes apimachinery's field.TooLong / TooMany produce,
# and none of them can carry a value. Anything else of the server's message is never repeated.
_FIELD = r"[A-Za-z][A-Za-z0-9_.\[\]/-]{0,199}"
_TOO_LONG = re.compile(
    rf"({_FIELD}): Too long: (?:may not be (?:longer|more) than|must have at most) (\d{{1,12}}) "
    r"(bytes|characters|items)"
)
_TOO_MANY = re.compile(rf"({_FIELD}): Too many: \d{{1,12}}: must have at most (\d{{1,12}}) items")
_ENTITY = re.compile(r"limit is (\d{1,12})")


def refusal_reason(e: ApiError) -> str:
    """What the API server refused, in words a user can act on; built from the field names and
    limits in the server's message, never from the message itself (it may quote values)."""
    details = [f"{f} is over the API server's limit of {n} {unit}" for f, n, unit in _TOO_LONG.findall(e.message)]
    details += [f"{f} has more than the API server's limit of {n} items" for f, n in _TOO_MANY.findall(e.message)]
    if e.status == 413:
        m = _ENTITY.search(e.message)
        details.append("the request is over the API server's size limit" + (f" of {m.group(1)} bytes" if m else ""))
    elif _too_large(e):
        details.append("the object is over etcd's request size limit")
    if any(f.startswith("data") for f, *_ in _TOO_LONG.findall(e.message)):
        details.append("a Secret's data may not exceed 1 MiB in total")
    return e.summary + (": " + "; ".join(dict.fromkeys(details)) if details else "")


class OncePer:
    """A log line per kind at most every ``interval`` seconds, then a count of what was held back."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 256,
    ):
        self.logger, self.interval, self.clock, self.max_kinds = logger, interval, clock, max_kinds
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def warning(self, kind: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` unless ``kind`` was logged within the interval; whether it was logged."""
        now = self.clock()
        with self._lock:
            last, held = self._seen.get(kind, (None, 0))
            if last is not None and now - last < self.interval:
                self._seen[kind] = (last, held + 1)
                return False
            if len(self._seen) >= self.max_kinds and kind not in self._seen:
                self._seen.pop(next(iter(self._seen)))
            self._seen[kind] = (now, 0)
        if held:
            msg += f" ({held} more like this in the last {self.interval:g} s)"
        self.logger.warning(msg, *args)
        return True


class Backoff:
    """Per-key delays for transient trouble: doubling from ``base`` up to ``cap``, with jitter so
    that many keys failing together do not come back together. Bounded: no busy loop, no give-up."""

    def __init__(self, base: float = 0.25, cap: float = 30.0, *, rand: Callable[[], float] = random.random):
        self.base, self.cap, self.rand = base, cap, rand
        self._tries: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def next(self, key: Hashable) -> float:
        with self._lock:
            n = self._tries.get(key, 0)
            self._tries[key] = n + 1
        delay: float = min(self.cap, self.base * 2 ** min(n, 30)) * (0.5 + self.rand() / 2)  # int ** int is Any to mypy
        return delay

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._tries.pop(key, None)

"""Polling for the end-to-end tests: the cluster converges, it is not instant."""

from __future__ import annotations

import time


def eventually(check, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``check`` until it returns a truthy value (returned) or raises no AssertionError."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except AssertionError as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last}" if last else ""))

"""List-then-watch with a local cache, resuming from the last resourceVersion and re-listing after
``410 Gone`` (etcd compacted past it) or a lost connection, so no change is missed across API-server
restarts. Each change reaches ``handler(kind, obj, old)`` with kind ADDED, MODIFIED or DELETED."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from controller.faults import OncePer
from sealer.kube import ApiError, Kube

log = logging.getLogger(__name__)
# Hundreds of informers lose the API server together: one line per kind of failure, not per informer.
_warn = OncePer(log).warning

Handler = Callable[[str, dict[str, Any], "dict[str, Any] | None"], None]


def object_key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


class Informer:
    def __init__(
        self,
        kube: Kube,
        path: str,
        handler: Handler,
        *,
        name: str,
        label_selector: str | None = None,
        list_accept: str = "application/json",
        watch_accept: str = "application/json",
        watch_timeout: int = 300,
        namespaces: frozenset[str] | None = None,
    ):
        """``namespaces``: keep only objects in these (a cluster-wide watch standing in for many
        namespaced ones: two watches instead of two per namespace)."""
        self.kube, self.path, self.handler, self.name = kube, path, handler, name
        self.namespaces = namespaces
        self.label_selector = label_selector
        self.list_accept, self.watch_accept = list_accept, watch_accept
        self.watch_timeout = watch_timeout
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.synced = threading.Event()
        self.resource_version = ""
        self._lock = threading.Lock()

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self.cache.get((namespace, name))

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.cache)

    def _relist(self) -> None:
        items, rv = self.kube.list(self.path, label_selector=self.label_selector, accept=self.list_accept)
        fresh = {object_key(o): o for o in items if self._wanted(o)}
        with self._lock:
            old, self.cache = self.cache, fresh
        self.resource_version = rv
        # Replay the difference, so a restart or a 410 looks to the handler like the changes it missed.
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._dispatch("ADDED", obj, None)
            elif (before.get("metadata") or {}).get("resourceVersion") != (obj.get("metadata") or {}).get(
                "resourceVersion"
            ):
                self._dispatch("MODIFIED", obj, before)
        for key, obj in old.items():
            if key not in fresh:
                self._dispatch("DELETED", obj, obj)
        self.synced.set()

    def _wanted(self, obj: dict[str, Any]) -> bool:
        return self.namespaces is None or object_key(obj)[0] in self.namespaces

    def _dispatch(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        try:
            self.handler(kind, obj, old)
        except Exception:  # noqa: BLE001 - one bad object must not stop the watch
            log.exception("%s: handler failed for %s/%s", self.name, *object_key(obj))

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.resource_version = rv
        if kind == "BOOKMARK" or not self._wanted(obj):
            return
        key = object_key(obj)
        with self._lock:
            old = self.cache.get(key)
            if kind == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
        self._dispatch(kind, obj, old)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        need_list = True
        gone = 0  # 410s in a row: a watch that expires as soon as it starts must not spin
        while not stop.is_set():
            started = time.monotonic()
            try:
                if need_list:
                    self._relist()
                    need_list = False
                for kind, obj in self.kube.watch(
                    self.path,
                    self.resource_version,
                    label_selector=self.label_selector,
                    timeout_seconds=self.watch_timeout,
                    accept=self.watch_accept,
                ):
                    self._apply(kind, obj)
                    gone = 0
                    if stop.is_set():
                        return
                if time.monotonic() - started < 1.0:
                    # Ended at once (a server shutting down answers 200 and closes): not a busy loop.
                    stop.wait(backoff * (1 + random.random()))
                    backoff = min(backoff * 2, 30.0)
                else:
                    backoff = 0.2
            except ApiError as e:
                if e.status == 410:
                    log.info("%s: resourceVersion %s expired; re-listing", self.name, self.resource_version)
                    need_list = True
                    gone += 1
                    if gone > 1:
                        stop.wait(min(backoff * gone, 30.0))
                    continue
                _warn(f"watch {e.summary}", "%s: watch failed (%s); retrying with backoff", self.name, e.summary)
                need_list = e.status in (0, 500, 503) or need_list
                stop.wait(backoff * (1 + random.random()))
                backoff = min(backoff * 2, 30.0)
            except Exception as e:  # noqa: BLE001 - connection drops surface as many exception types
                _warn(
                    f"connection {type(e).__name__}",
                    "%s: connection to the API server lost (%s); retrying with backoff",
                    self.name,
                    type(e).__name__,
                )
                stop.wait(backoff * (1 + random.random()))
                backoff = min(backoff * 2, 30.0)

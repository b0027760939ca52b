"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

Every replica runs an elector. The one whose identity is the Lease's ``holderIdentity`` leads, and
renews ``renewTime`` every retry period. Others read the Lease every retry period; a Lease counts
as expired once its record has not changed for ``leaseDurationSeconds`` *as measured on the
reader's own clock* (client-go's rule: no trust in the writer's clock). Every write carries the
``resourceVersion`` it read, so two candidates can never both win the same round: the API server
refuses the second with 409 Conflict. A leader that cannot renew for ``renew_deadline`` steps down
by itself, before (``renew_deadline < lease_duration``) anybody else may take over. Releasing on
shutdown empties ``holderIdentity``, so the next replica takes over at once instead of waiting
for the Lease to expire.

``next_spec`` is the decision alone (pure, unit-tested); ``LeaderElector`` does the I/O.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sealer.kube import ApiError, Kube

log = logging.getLogger(__name__)

JITTER = 1.2  # client-go's JitterFactor: retries are spread over [retry, retry * 1.2)
# A Lease's spec as read (holderIdentity, leaseDurationSeconds, renewTime, acquireTime,
# leaseTransitions): compared whole to notice any change, so the values stay as the server sent them.
LeaseRecord = tuple[str, Any, Any, Any, Any]


def lease_path(namespace: str, name: str = "") -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{quote(namespace)}/leases" + (f"/{quote(name)}" if name else "")


@dataclass(frozen=True)
class ElectionConfig:
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def validate(self) -> None:
        """client-go's constraints, so a configuration means the same thing here and there."""
        if not self.identity:
            raise ValueError("leader election needs an identity (POD_NAME or the host name)")
        if self.retry_period <= 0:
            raise ValueError("--leader-election-retry-period must be positive")
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("--leader-election-lease-duration must be greater than --leader-election-renew-deadline")
        if self.renew_deadline <= JITTER * self.retry_period:
            raise ValueError(
                "--leader-election-renew-deadline must be greater than 1.2 x --leader-election-retry-period"
            )


def micro_time(now: dt.datetime) -> str:
    """metav1.MicroTime, as the API server stores ``acquireTime`` and ``renewTime``."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_spec(
    current: dict[str, Any] | None, identity: str, lease_seconds: int, *, expired: bool, now: str
) -> dict[str, Any] | None:
    """The Lease spec to write for ``identity`` to hold (or renew) the Lease, or None when another
    holder's Lease has not expired. ``current`` is the spec read (None: there is no Lease)."""
    if current is None:
        return {
            "holderIdentity": identity,
            "leaseDurationSeconds": lease_seconds,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        }
    holder = current.get("holderIdentity") or ""
    if holder and holder != identity and not expired:
        return None
    spec = dict(current)
    spec.update(holderIdentity=identity, leaseDurationSeconds=lease_seconds, renewTime=now)
    if holder != identity:
        # A new holder: a transition (client-go counts one even after a release).
        spec["acquireTime"] = now
        spec["leaseTransitions"] = int(current.get("leaseTransitions") or 0) + 1
    elif not spec.get("acquireTime"):
        spec["acquireTime"] = now
    return spec


def released_spec(current: dict[str, Any], now: str) -> dict[str, Any]:
    """What a leader writes on shutdown: no holder, and a 1 s duration for readers that still
    look at the time (client-go's ReleaseOnCancel)."""
    spec = dict(current)
    spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
    return spec


class LeaderElector:
    """``leading`` is set while this replica holds the Lease. ``on_change(leading)`` runs on the
    elector's thread at each transition."""

    def __init__(
        self,
        kube: Kube,
        config: ElectionConfig,
        *,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] | None = None,
    ):
        config.validate()
        self.kube, self.config, self.on_change = kube, config, on_change
        self.clock = clock
        self.wall = wall or (lambda: dt.datetime.now(dt.UTC))
        self.leading = threading.Event()
        self._observed: LeaseRecord | None = None  # the last record read, and when (our clock) it changed
        self._observed_at = 0.0
        self._last_renew = 0.0
        self._lock = threading.Lock()  # one Lease write at a time (the loop and release)
        self._released = False
        # A request must not outlive the renew deadline, or a hung connection would keep a
        # replica believing it leads.
        self._timeout = max(0.5, min(self.config.renew_deadline / 2, 5.0))

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    def _record(self, spec: dict[str, Any]) -> LeaseRecord:
        return (
            spec.get("holderIdentity") or "",
            spec.get("leaseDurationSeconds"),
            spec.get("renewTime"),
            spec.get("acquireTime"),
            spec.get("leaseTransitions"),
        )

    def try_acquire_or_renew(self) -> bool:
        """One round: read the Lease, write it if ours to take; whether this replica holds it now."""
        c = self.config
        with self._lock:
            if self._released:
                return False
            path = lease_path(c.namespace, c.name)
            lease = self.kube.get(path, timeout=self._timeout)
            now_local = self.clock()
            spec = (lease or {}).get("spec") or {}
            if lease is not None:
                record = self._record(spec)
                if record != self._observed:
                    self._observed, self._observed_at = record, now_local
                duration = spec.get("leaseDurationSeconds") or c.lease_duration
                expired = self._observed_at + float(duration) <= now_local
            else:
                expired = True
            new = next_spec(
                spec if lease is not None else None,
                c.identity,
                round(c.lease_duration),
                expired=expired,
                now=micro_time(self.wall()),
            )
            if new is None:
                return False
            if lease is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": c.name, "namespace": c.namespace},
                    "spec": new,
                }
                written = self.kube.create(lease_path(c.namespace), body, timeout=self._timeout)
            else:
                body = {**lease, "spec": new}  # carries metadata.resourceVersion: 409 if it moved on
                written = self.kube.replace(path, body, timeout=self._timeout)
            self._observed, self._observed_at = self._record(written.get("spec") or new), self.clock()
            return True

    def _round(self) -> bool:
        try:
            return self.try_acquire_or_renew()
        except ApiError as e:
            if e.status == 409:
                log.debug("leader election: the Lease changed meanwhile (409); another replica won this round")
            else:
                log.warning(
                    "leader election: cannot read or write Lease %s/%s: %s",
                    self.config.namespace,
                    self.config.name,
                    e.summary,
                )
        except Exception as e:  # noqa: BLE001 - connection failures surface as many types
            log.warning("leader election: cannot reach the API server (%s)", type(e).__name__)
        return False

    def _set(self, leading: bool) -> None:
        if leading == self.leading.is_set():
            return
        if leading:
            self.leading.set()
            log.info(
                "leader election: %s now leads (Lease %s/%s)",
                self.config.identity,
                self.config.namespace,
                self.config.name,
            )
        else:
            self.leading.clear()
            log.warning("leader election: %s stopped leading", self.config.identity)
        if self.on_change:
            self.on_change(leading)

    def run(self, stop: threading.Event) -> None:
        c = self.config
        while not stop.is_set():
            if self._round():
                self._last_renew = self.clock()
                self._set(True)
            elif self.leading.is_set() and self.clock() - self._last_renew >= c.renew_deadline:
                self._set(False)
            elif self.leading.is_set() and self._observed is not None and self._observed[0] != c.identity:
                self._set(False)  # somebody else holds it now: we lost it, whatever our clock says
            jitter = (JITTER - 1) * random.random()  # noqa: S311 - spreading retries, not a secret
            wait = c.retry_period if self.leading.is_set() else c.retry_period * (1 + jitter)
            if self.leading.is_set():
                # Wake up by the renew deadline even if a round hangs up to its timeout.
                wait = min(wait, max(0.0, self._last_renew + c.renew_deadline - self.clock()))
            stop.wait(wait)

    def release(self) -> bool:
        """Give the Lease up if this replica holds it (on shutdown); whether it was released."""
        c = self.config
        was_leading = self.leading.is_set()
        self._set(False)
        with self._lock:
            self._released = True
            if not was_leading:
                return False
            try:
                path = lease_path(c.namespace, c.name)
                lease = self.kube.get(path, timeout=self._timeout)
                if lease is None or ((lease.get("spec") or {}).get("holderIdentity") or "") != c.identity:
                    return False
                self.kube.replace(
                    path,
                    {**lease, "spec": released_spec(lease["spec"], micro_time(self.wall()))},
                    timeout=self._timeout,
                )
                log.info("leader election: released Lease %s/%s", c.namespace, c.name)
                return True
            except Exception as e:  # noqa: BLE001 - shutting down: the Lease expires by itself
                log.warning(
                    "leader election: cannot release the Lease (%s); it expires in %g s",
                    type(e).__name__,
                    c.lease_duration,
                )
                return False


class AlwaysLeader:
    """``--leader-elect=false``: this replica acts alone, as Bitnami's single controller does."""

    def __init__(self) -> None:
        self.leading = threading.Event()
        self.leading.set()

    @property
    def is_leader(self) -> bool:
        return True

    def run(self, stop: threading.Event) -> None:
        stop.wait()

    def release(self) -> bool:
        return False


def identity() -> str:
    """client-go's convention: the Pod's name (or host name) plus a random suffix, so a restarted
    container is a new candidate rather than a holder resuming a Lease it cannot vouch for."""
    import os
    import socket
    import uuid

    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def election_config(args: argparse.Namespace, namespace: str) -> ElectionConfig:
    """The ``--leader-election-*`` flags, checked as client-go checks them."""

    def seconds(v: dt.timedelta | float | str) -> float:
        return v.total_seconds() if isinstance(v, dt.timedelta) else float(v)

    config = ElectionConfig(
        namespace,
        args.leader_election_id,
        identity(),
        seconds(args.leader_election_lease_duration),
        seconds(args.leader_election_renew_deadline),
        seconds(args.leader_election_retry_period),
    )
    if not config.name:
        raise ValueError("--leader-election-id must not be empty")
    config.validate()
    return config

"""The controller's keys: loaded from key Secrets in its namespace, watched (so a key relabelled
``compromised`` stops opening at once, and a restored backup starts), generated at first start
or past the cutoff, and rotated on schedule or on demand (SIGUSR1).

Every replica loads and watches the keys (so each can serve the certificate and open
SealedSecrets); only the leader generates or rotates them, so two replicas never race to make
the first key. A replica that becomes leader first catches up with the key Secrets in the cluster,
then decides, as at a start, whether a key is due."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller.informer import Informer
from keys.clock import Clock, rfc3339, utc_now
from keys.errors import KeyFormatError
from keys.generate import clock_after, generate_key_pair
from keys.registry import KeyRegistry
from keys.rotation import RotationPolicy, plan
from keys.secret_format import KEY_LABEL, RETIRED, RETIRED_AT_ANNOTATION, StoredKey, from_secret, to_secret
from sealer.kube import ApiError, Kube, secret_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeySettings:
    namespace: str
    prefix: str = "sealed-secrets-key"
    bits: int = 4096
    ttl: dt.timedelta = dt.timedelta(hours=87600)
    cn: str = ""
    policy: RotationPolicy = RotationPolicy()
    pq: bool = False  # new keys get an ML-KEM-768 key beside the RSA key (--pq-keys)
    retired_grace: dt.timedelta = dt.timedelta(days=30)  # --retired-key-grace-period


class KeysManager:
    def __init__(
        self,
        kube: Kube,
        settings: KeySettings,
        *,
        clock: Clock = utc_now,
        on_change: Callable[[], None] | None = None,
        leading: Callable[[], bool] = lambda: True,
    ):
        self.kube, self.settings, self.clock = kube, settings, clock
        self.registry = KeyRegistry()
        self.on_change = on_change
        self.leading = leading
        self.invalid: dict[str, str] = {}  # key Secret name -> why it cannot be used
        self._wake = threading.Event()  # a rotation was asked for, or the leadership changed
        self._asked = False
        self._in_charge = False  # this leader has checked, as at a start, whether a key is due
        self._lock = threading.Lock()
        self.informer = Informer(
            kube, secret_path(settings.namespace), self._on_secret, name="key-secrets", label_selector=KEY_LABEL
        )
        self.next_rotation: dt.datetime | None = None
        self.on_secrets: Callable[[], None] | None = None  # any key Secret changed (the certificate ConfigMap)

    # --- loading ---------------------------------------------------------------------------

    def _on_secret(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if self.informer.synced.is_set():
            self._reload()
            if self.on_secrets:
                self.on_secrets()
            if ((obj.get("metadata") or {}).get("labels") or {}).get(KEY_LABEL) == RETIRED:
                self._wake.set()  # the leader's loop times its deletion

    def _usable(self) -> list[StoredKey]:
        keys = []
        invalid = {}
        for (_, name), doc in sorted(self.informer.cache.items()):
            try:
                stored = from_secret(doc, f"key Secret {self.settings.namespace}/{name}")
            except KeyFormatError as e:
                # Logged, not fatal: one bad key Secret must not take the controller down (Bitnami crashes).
                invalid[name] = str(e)
                continue
            if stored.usable(self.settings.prefix):
                keys.append(stored)
        legacy = (
            self.kube.get(secret_path(self.settings.namespace, self.settings.prefix)) if self.settings.prefix else None
        )
        if legacy is not None and all(k.name != self.settings.prefix for k in keys):
            try:
                keys.append(from_secret(legacy, f"legacy key Secret {self.settings.prefix}"))
            except KeyFormatError as e:
                invalid[self.settings.prefix] = str(e)
        for name, why in invalid.items():
            if self.invalid.get(name) != why:
                log.error("ignoring unusable key Secret %s: %s", name, why)
        self.invalid = invalid
        return keys

    def _reload(self) -> None:
        with self._lock:
            before = set(self.registry.fingerprints)
            self.registry.replace(self._usable())
            after = set(self.registry.fingerprints)
        if before != after:
            log.info(
                "keys loaded: %d active (added %d, dropped %d)", len(after), len(after - before), len(before - after)
            )
            if self.on_change:
                self.on_change()

    def start(self, stop: threading.Event) -> None:
        """Load the keys (blocking until listed), start watching; if this replica leads, make the
        first key now if needed (a follower leaves that to the leader)."""
        threading.Thread(target=self.informer.run, args=(stop,), name="key-secrets", daemon=True).start()
        while not self.informer.synced.wait(0.5):
            if stop.is_set():
                return
        self._reload()
        if self.leading():
            try:
                self._take_charge(stop)
            except Exception as e:  # noqa: BLE001 - the rotation loop tries again; keys may still load
                log.error("cannot make the first key yet (%s); trying again", type(e).__name__)
        threading.Thread(target=self._rotation_loop, args=(stop,), name="key-rotation", daemon=True).start()

    def _take_charge(self, stop: threading.Event) -> None:
        """As at a start: make a key if there is none or the newest predates the cutoff."""
        self._catch_up(stop)
        newest = self.registry.newest
        decision = plan(self.settings.policy, newest.not_before if newest else None, self.clock(), at_start=True)
        if decision.generate_now:
            self.rotate("first start" if newest is None else "newest key predates the cutoff time")
        else:
            self.next_rotation = decision.next_rotation
        self._in_charge = True

    def _catch_up(self, stop: threading.Event, timeout: float = 5.0) -> None:
        """A new leader's watch may lag behind a key the old leader made just before it died:
        read the key Secrets' names from the API server and wait for the watch to have them all,
        so the new leader never makes a second "first" key."""
        items, _ = self.kube.list(secret_path(self.settings.namespace), label_selector=KEY_LABEL)
        names = {(i.get("metadata") or {}).get("name") for i in items}
        deadline = time.monotonic() + timeout
        while not names <= {name for _, name in self.informer.keys()} and time.monotonic() < deadline:
            if stop.wait(0.05):
                return
        self._reload()

    def leadership_changed(self) -> None:
        self._wake.set()

    # --- rotation --------------------------------------------------------------------------

    def rotate(self, why: str) -> str:
        """Make and store a new key; it seals from now on, old keys keep opening."""
        newest = self.registry.newest
        clock = clock_after(newest.not_before if newest else None, self.clock)
        pair = generate_key_pair(
            self.settings.bits, self.settings.ttl, self.settings.cn, clock=clock, pq=self.settings.pq
        )
        body = to_secret(StoredKey("", pair), self.settings.namespace, generate_name_prefix=self.settings.prefix)
        created = self.kube.create(secret_path(self.settings.namespace), body)
        name: str = created["metadata"]["name"]  # the server's, from generateName
        with self._lock:
            self.registry.add(StoredKey(name, pair))
            self.next_rotation = plan(self.settings.policy, pair.not_before, self.clock()).next_rotation
        # The certificate is public; users copy it from here (as Bitnami's docs tell them to).
        log.info(
            "new sealing key %s (%s%s) because %s; certificate:\n%s",
            name,
            pair.fingerprint,
            " with an ML-KEM-768 key" if pair.mlkem_key else "",
            why,
            pair.published_pem().decode("ascii").strip(),
        )
        if self.on_change:
            self.on_change()
        return name

    def request_rotation(self) -> None:
        self._asked = True
        self._wake.set()

    def _rotation_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.leading():
                self._in_charge = False
                if self._asked:
                    self._asked = False
                    log.warning(
                        "key rotation asked of a replica that does not lead: only the leader makes keys "
                        "(send SIGUSR1 to the leader)"
                    )
                self._wake.wait(3600.0)
                self._wake.clear()
                continue
            if not self._in_charge:
                try:
                    self._take_charge(stop)
                except Exception as e:  # noqa: BLE001 - try again later, keep serving with the old keys
                    log.error("cannot check the keys as the new leader: %s", type(e).__name__)
                    stop.wait(5)
                continue
            wait = 3600.0
            if self.next_rotation is not None:
                wait = max(0.0, min(wait, (self.next_rotation - self.clock()).total_seconds()))
            due = self._delete_retired()
            if due is not None:
                wait = max(0.0, min(wait, (due - self.clock()).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()
            if stop.is_set():
                return
            if not self.leading():
                continue
            asked, self._asked = self._asked, False
            newest = self.registry.newest
            decision = plan(self.settings.policy, newest.not_before if newest else None, self.clock(), rotate_now=asked)
            if decision.generate_now:
                try:
                    self.rotate("rotation was requested" if asked else "the renew period elapsed")
                except Exception as e:  # noqa: BLE001 - try again later, keep serving with the old key
                    log.error("key rotation failed: %s", e)
                    stop.wait(30)
            else:
                self.next_rotation = decision.next_rotation

    # --- retired keys --------------------------------------------------------------------------

    def _delete_retired(self) -> dt.datetime | None:
        """Delete the key Secrets retired longer ago than the grace period (the leader only; only
        key Secrets labelled retired, with their retired-at annotation: nothing else is ever
        deleted). Returns when the next one falls due."""
        now, due = self.clock(), None
        for (_, name), doc in sorted(self.informer.cache.items()):
            meta = doc.get("metadata") or {}
            if (meta.get("labels") or {}).get(KEY_LABEL) != RETIRED:
                continue
            try:
                at = dt.datetime.fromisoformat(str((meta.get("annotations") or {})[RETIRED_AT_ANNOTATION]))
            except (KeyError, ValueError):
                continue  # labelled by hand: kept until someone deletes it (docs/keys.md)
            if at.tzinfo is None:
                continue
            deadline = at + self.settings.retired_grace
            if deadline > now:
                due = deadline if due is None else min(due, deadline)
                continue
            # Preconditions: a key un-retired (relabelled) a moment ago is never deleted.
            preconditions = {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
            try:
                self.kube.request(
                    "DELETE",
                    secret_path(self.settings.namespace, name),
                    body={"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": preconditions},
                )
                log.info("deleted key Secret %s: retired at %s, past the grace period", name, rfc3339(at))
            except ApiError as e:
                if e.status not in (404, 409):
                    log.warning("cannot delete retired key Secret %s yet: %s", name, e.summary)
                    retry = now + dt.timedelta(seconds=30)
                    due = retry if due is None else min(due, retry)
        return due

    # --- for metrics and the API -----------------------------------------------------------

    def newest_age_seconds(self) -> float:
        newest = self.registry.newest
        return (self.clock() - newest.not_before).total_seconds() if newest else 0.0

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "fingerprint": p.fingerprint,
                "name": self.registry.name_of(p.fingerprint),
                "notBefore": rfc3339(p.not_before),
                "notAfter": rfc3339(p.not_after),
            }
            for p in self.registry.pairs
        ]

"""Automatic key escrow (docs/keys.md, "Key escrow"): every active key gets an escrow object, its
private material sealed for the recipients in ``--escrow-recipients`` (keys.escrow).

Every replica reads the recipients (the ConfigMap and/or Secret of that name in its namespace)
and the escrow objects every ``interval`` seconds, and at once when the keys or the leadership
change, so each can report which keys lack escrow. Only the leader writes: a missing escrow
object is created, one sealed for another set of recipients (one was added, removed, or its
certificate expired) or another threshold is rewritten with a fresh split. Escrow objects are
never deleted, not even when their key is: they are the way back.

``plan`` is the decision (pure, unit-tested); ``EscrowKeeper`` does the I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from controller.faults import OncePer
from keys import escrow
from keys.clock import Clock, utc_now
from keys.escrow_recipients import Recipients, from_objects
from keys.registry import KeyRegistry
from keys.secret_format import StoredKey
from sealer.core.escrow_format import ESCROW_LABEL
from sealer.kube import ApiError, Kube, secret_path
from sealer.kube.client import configmap_path

log = logging.getLogger(__name__)
DEFAULT_RECIPIENTS = "sealed-secrets-escrow-recipients"
SELECTOR = ESCROW_LABEL


@dataclass(frozen=True)
class Step:
    """What to do for one key: ``create`` or ``replace`` its escrow object (``existing`` is the
    object to replace), or nothing (``none``: up to date; ``blocked``: cannot, see ``why``)."""

    key: StoredKey
    action: str
    why: str
    existing: dict[str, Any] | None = None


def plan(keys: Iterable[StoredKey], recipients: Recipients, existing: dict[str, dict[str, Any]]) -> list[Step]:
    """For each key, what its escrow object needs. ``existing``: escrow objects by name."""
    steps = []
    for key in keys:
        name = escrow.escrow_name(key.name)
        current = existing.get(name)
        if not recipients.usable:
            steps.append(Step(key, "blocked", "no usable escrow recipients"))
            continue
        if current is None:
            steps.append(Step(key, "create", "the key has no escrow object"))
            continue
        try:
            parsed = escrow.parse(current, f"escrow object {name}")
        except escrow.EscrowError as e:
            steps.append(Step(key, "replace", f"the escrow object is malformed ({e})", current))
            continue
        if parsed.fingerprint != key.fingerprint:
            # Another key's escrow under this name: never overwritten, it may be the only copy.
            steps.append(Step(key, "blocked", f"escrow object {name} holds another key ({parsed.fingerprint})"))
        elif parsed.cert_pem != key.pair.cert_pem:
            steps.append(Step(key, "replace", "the escrow object's certificate is not the key's", current))
        elif frozenset(parsed.shares) != recipients.ids or parsed.threshold != recipients.threshold:
            steps.append(Step(key, "replace", "the recipients or the threshold changed", current))
        else:
            steps.append(Step(key, "none", "up to date"))
    return steps


class EscrowKeeper:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        recipients_name: str,
        registry: KeyRegistry,
        *,
        leading: Callable[[], bool] = lambda: True,
        clock: Clock = utc_now,
        interval: float = 10.0,
    ):
        self.kube, self.namespace, self.recipients_name = kube, namespace, recipients_name
        self.registry, self.leading, self.clock, self.interval = registry, leading, clock, interval
        self._wake = threading.Event()
        self._problems: frozenset[str] = frozenset()
        self._ids: frozenset[str] = frozenset()  # the recipients last seen, to log changes once
        self.trouble = OncePer(log, 300.0)  # a key that stays without escrow: a line every 5 minutes
        self._lacking_since: dict[str, float] = {}  # fingerprint -> monotonic time it was first seen lacking
        self.recipient_count = 0
        self.configured = False

    # --- for metrics ---------------------------------------------------------------------------

    def keys_without_escrow(self) -> int:
        return len(self._lacking_since)

    def longest_without_escrow_seconds(self) -> float:
        since = list(self._lacking_since.values())
        return time.monotonic() - min(since) if since else 0.0

    # --- the loop ------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.once()
            except Exception as e:  # noqa: BLE001 - the API server is away: try again next round
                kind = type(e).__name__
                self.trouble.warning(
                    f"check {kind}", "escrow: cannot check the escrow objects (%s); trying again", kind
                )
            self._wake.wait(self.interval)
            self._wake.clear()

    def _recipients(self) -> Recipients:
        objects = []
        for kind, path in (
            ("ConfigMap", configmap_path(self.namespace, self.recipients_name)),
            ("Secret", secret_path(self.namespace, self.recipients_name)),
        ):
            obj = self.kube.get(path)
            if obj is not None:
                obj.setdefault("kind", kind)
                objects.append((obj, f"{kind} {self.namespace}/{self.recipients_name}"))
        return from_objects(objects, self.clock())

    def _report(self, recipients: Recipients) -> None:
        problems = frozenset(recipients.problems)
        for problem in sorted(problems - self._problems):
            log.error("escrow recipient left out: %s", problem)
        if recipients.configured and not recipients.recipients and not recipients.problems:
            problems |= {"empty"}
            if "empty" not in self._problems:
                log.error("escrow: %s holds no recipient certificates", self.recipients_name)
        self._problems = problems
        ids = recipients.ids
        if recipients.configured and ids != self._ids:
            log.info(
                "escrow recipients: %d usable (%s), %s of them restore a key",
                len(ids),
                ", ".join(r.fingerprint for r in recipients.recipients) or "none",
                recipients.threshold if recipients.threshold is not None else "no valid threshold: none",
            )
        self._ids = ids

    def once(self) -> None:
        recipients = self._recipients()
        self._report(recipients)
        self.configured, self.recipient_count = recipients.configured, len(recipients.recipients)
        items, _ = self.kube.list(configmap_path(self.namespace), label_selector=SELECTOR)
        existing = {(i.get("metadata") or {}).get("name", ""): i for i in items}
        keys = [StoredKey(self.registry.name_of(p.fingerprint) or "", p) for p in self.registry.pairs]
        lacking = set()
        for step in plan([k for k in keys if k.name] if recipients.configured else [], recipients, existing):
            if step.action == "none":
                continue
            if step.action == "blocked" and recipients.usable:  # no usable recipients: _report said why
                self.trouble.warning(
                    f"blocked {step.key.name}", "escrow: no escrow for key %s: %s", step.key.name, step.why
                )
            if step.action == "blocked" or not self.leading() or not self._write(step, recipients):
                lacking.add(step.key.fingerprint)
        now = time.monotonic()
        self._lacking_since = {fp: self._lacking_since.get(fp, now) for fp in lacking}

    def _write(self, step: Step, recipients: Recipients) -> bool:
        assert recipients.threshold is not None  # plan() blocks keys without a usable threshold
        body = escrow.build(step.key, recipients.recipients, recipients.threshold, self.namespace)
        name = body["metadata"]["name"]
        try:
            if step.existing is None:
                self.kube.create(configmap_path(self.namespace), body)
            else:
                body["metadata"]["resourceVersion"] = (step.existing.get("metadata") or {}).get("resourceVersion")
                self.kube.replace(configmap_path(self.namespace, name), body)
        except ApiError as e:
            self.trouble.warning(
                f"write {name} {e.status}",
                "escrow: cannot write escrow object %s for key %s: %s",
                name,
                step.key.name,
                e.summary,
            )
            return False
        log.info(
            "escrow: %s %s for key %s (%s): %d of %d recipient(s) restore it, because %s",
            "wrote" if step.existing is None else "rewrote",
            name,
            step.key.name,
            step.key.fingerprint,
            recipients.threshold,
            len(recipients.recipients),
            step.why,
        )
        return True

"""The watch loop: carries out what ``reconcile.decide`` plans. Everything here is I/O and retries."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from controller import faults, reconcile, record, status, takeover
from controller.informer import Informer, object_key
from controller.keys_manager import KeysManager
from controller.metrics import Metrics
from controller.workqueue import WorkQueue
from sealer.core import sealed_status
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION
from sealer.kube import (
    METADATA_ONLY,
    METADATA_ONLY_OBJECT,
    METADATA_ONLY_WATCH,
    ApiError,
    Kube,
    sealed_secret_path,
    secret_path,
)

log = logging.getLogger(__name__)
COMPONENT = "sealed-secrets"
# Above this many --additional-namespaces, one cluster-wide watch per kind, filtered to them, is
# cheaper than a watch per namespace (Bitnami's #1959: about 1 s per namespace at start).
CLUSTER_WIDE_ABOVE = 10
INSTANCE_LABEL = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class Settings:
    namespaces: tuple[str, ...] | None = None  # None: all namespaces
    label_selector: str | None = None
    update_status: bool = True
    skip_recreate: bool = False
    max_retries: int = 5
    workers: int = 2
    repair_drift: bool = True
    resync_period: float = 300.0  # the safety net: SealedSecrets not synced are tried again this often


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome(plan: reconcile.Plan) -> str:
    """What a requested reconcile did, for its condition (names and fields, never values)."""
    if not plan.result.ok:
        return plan.result.message or plan.result.reason
    if plan.drift == "repaired":
        return plan.events[0].message
    return {"create": "Secret created", "update": "Secret updated"}.get(plan.action, "Secret verified, unchanged")


def _spec_changed(obj: dict[str, Any], old: dict[str, Any] | None) -> bool:
    if old is None:
        return True
    meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
    # Scope annotations live on the top-level metadata and change what opens: they count as spec.
    return obj.get("spec") != old.get("spec") or meta.get("annotations") != old_meta.get("annotations")


class Controller:
    def __init__(self, kube: Kube, keys: KeysManager, metrics: Metrics, settings: Settings):
        self.kube, self.keys, self.metrics, self.settings = kube, keys, metrics, settings
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue()
        self.records = record.RecordKeys(keys.registry)
        # Set while this replica may write (it leads, or leader election is off); workers wait on it.
        self.active = threading.Event()
        self.active.set()
        self.backoff = faults.Backoff()
        self.gave_up: set[tuple[str, str]] = set()  # out of retries: the resync tries them again
        self.trouble = faults.OncePer(log)
        wide = settings.namespaces is not None and len(settings.namespaces) > CLUSTER_WIDE_ABOVE
        self._informers(None if wide else settings.namespaces, frozenset(settings.namespaces or ()) if wide else None)

    def _informers(self, scopes: tuple[str, ...] | None, only: frozenset[str] | None) -> None:
        settings, kube = self.settings, self.kube
        self.sealed = [
            Informer(
                kube,
                sealed_secret_path(ns),
                self._on_sealed,
                name=f"sealedsecrets[{ns or '*'}]",
                label_selector=settings.label_selector,
                namespaces=only,
            )
            for ns in scopes or (None,)
        ]
        self.secrets = (
            []
            if settings.skip_recreate
            else [
                Informer(
                    kube,
                    secret_path(ns) if ns else "/api/v1/secrets",
                    self._on_secret,
                    name=f"secrets[{ns or '*'}]",
                    list_accept=METADATA_ONLY,
                    watch_accept=METADATA_ONLY_WATCH,
                    namespaces=only,
                )
                for ns in scopes or (None,)
            ]
        )

    def _check_cluster_wide(self) -> None:
        """Filtered cluster-wide watches need cluster-wide list/watch (deploy/ grants it); where
        RBAC allows only the listed namespaces, fall back to a watch per namespace."""
        if self.sealed[0].namespaces is None:
            return
        try:
            self.kube.request("GET", sealed_secret_path(), query={"limit": 1})
            if self.secrets:
                self.kube.request("GET", "/api/v1/secrets", query={"limit": 1}, accept=METADATA_ONLY)
        except ApiError as e:
            if e.status != 403:
                return  # anything else: the informers retry and report it
            log.info(
                "no cluster-wide list/watch allowed (%s): watching each of the %d namespaces",
                e.summary,
                len(self.settings.namespaces or ()),
            )
            self._informers(self.settings.namespaces, None)
        except Exception:  # noqa: BLE001 - the API server is away: the informers retry and report it
            return

    # --- events in ---------------------------------------------------------------------------

    def _on_sealed(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        key = object_key(obj)
        if kind == "DELETED":
            instance = ((obj.get("metadata") or {}).get("labels") or {}).get(INSTANCE_LABEL, "")
            self.metrics.drop_condition(*key, instance)
            self.metrics.unseal_requests.inc()
            self.queue.forget(key)
            return  # the garbage collector removes the owned Secret
        if kind == "ADDED" or _spec_changed(obj, old):
            self.queue.forget(key)
            self.queue.add(key)

    def _on_secret(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if takeover.wanted(kind, obj, old, self.get_sealed(*object_key(obj))):
            log.info("Secret %s/%s may now be taken over; reconciling", *object_key(obj))
            self.queue.forget(object_key(obj))
            self.queue.add(object_key(obj))
            return
        if kind not in ("DELETED", "MODIFIED"):
            return
        meta = obj.get("metadata") or {}
        owned = takeover.owned(meta)
        annotations = meta.get("annotations") or {}
        managed = annotations.get(MANAGED_ANNOTATION) == "true"
        key = object_key(obj)
        sealed = self.get_sealed(*key) if (owned or managed or annotations.get(PATCH_ANNOTATION) == "true") else None
        if sealed is None:
            return
        if kind == "DELETED" and (owned or managed):
            log.info("Secret %s/%s was deleted; recreating it", *key)
            self.queue.add(key)
        elif kind == "MODIFIED":
            # Our own writes are recorded at their resourceVersion; any other write may be drift.
            known = record.parse(sealed.get("status"))
            if known is None or known.resource_version != meta.get("resourceVersion"):
                self.queue.add(key)

    def secret_meta(self, namespace: str, name: str) -> tuple[bool, dict[str, Any] | None]:
        """(whether the metadata cache is there and synced, the Secret's cached metadata or None)."""
        if not self.secrets or not all(i.synced.is_set() for i in self.secrets):
            return False, None
        for informer in self.secrets:
            obj = informer.get(namespace, name)
            if obj is not None:
                return True, obj
        return True, None

    def get_sealed(self, namespace: str, name: str) -> dict[str, Any] | None:
        for informer in self.sealed:
            obj = informer.get(namespace, name)
            if obj is not None:
                return obj
        return None

    def requeue_failed(self) -> None:
        """New keys may open what failed before: try every SealedSecret that is not synced."""
        for informer in self.sealed:
            for key in informer.keys():
                obj = informer.get(*key)
                if obj is not None and (status.condition_value(obj.get("status")) != 1 or key in self.gave_up):
                    self.gave_up.discard(key)
                    self.queue.forget(key)
                    self.queue.add(key)

    def requeue_all(self) -> None:
        """A new leader takes everything its informers hold into account."""
        for informer in self.sealed:
            for key in informer.keys():
                self.queue.add(key)

    def set_leading(self, leading: bool) -> None:
        if leading:
            self.active.set()
            self.requeue_all()
        else:
            self.active.clear()

    @property
    def synced(self) -> bool:
        return all(i.synced.is_set() for i in (*self.sealed, *self.secrets))

    # --- work --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._check_cluster_wide()
        for informer in (*self.secrets, *self.sealed):
            threading.Thread(target=informer.run, args=(stop,), name=informer.name, daemon=True).start()
        workers = [
            threading.Thread(target=self._worker, args=(stop,), name=f"worker-{i}", daemon=True)
            for i in range(self.settings.workers)
        ]
        for w in workers:
            w.start()
        threading.Thread(target=self._resync, args=(stop,), name="resync", daemon=True).start()
        # Python runs signal handlers on the main thread only, and a signal the kernel hands to
        # another thread does not wake it from an untimed wait: poll, so SIGTERM and SIGUSR1
        # are acted on within half a second whichever thread received them.
        while not stop.wait(0.5):
            pass
        self.queue.shutdown()
        # SIGTERM: the items in hand are finished (their writes done) before the Lease is released.
        deadline = time.monotonic() + 10
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))

    def _resync(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.resync_period):
            if self.active.is_set():
                self.requeue_failed()

    def _worker(self, stop: threading.Event) -> None:
        # The Secret cache first: it spares a GET per SealedSecret (absent, or as recorded).
        while self.secrets and not all(i.synced.wait(0.1) for i in self.secrets):
            if stop.is_set():
                return
        while not stop.is_set():
            if not self.active.wait(1.0):
                continue  # a follower: informers stay warm, nothing is written
            key = self.queue.get(timeout=1.0)
            if key is None:
                continue
            transient: BaseException | None = None
            try:
                retry = self.process(*key)
            except Exception as e:  # noqa: BLE001 - log and retry; never let one object stop a worker
                if faults.is_transient(e):
                    transient, retry = e, False
                else:
                    kind = faults.kind_of(e)
                    if self.trouble.warning(f"bug {kind}", "reconciling %s/%s failed unexpectedly (%s)", *key, kind):
                        log.debug("the unexpected failure", exc_info=True)
                    retry = True
            finally:
                self.queue.done(key)
            if transient is not None:
                # The API server is away or busy: back off and try again, whatever the retry budget.
                kind = faults.kind_of(transient)
                self.trouble.warning(
                    f"transient {kind}",
                    "API server trouble (%s) while reconciling %s/%s; retrying with backoff",
                    kind,
                    *key,
                )
                self.queue.add_after(key, self.backoff.next(key))
                continue
            self.backoff.forget(key)
            if retry and self.queue.failures(key) < self.settings.max_retries:
                self.queue.retry(key)
            elif retry:
                self.gave_up.add(key)
                log.warning(
                    "giving up on %s/%s after %d attempts (until it or the keys change, or the next resync)",
                    *key,
                    self.settings.max_retries + 1,
                )
            else:
                self.gave_up.discard(key)
                self.queue.forget(key)

    def process(self, namespace: str, name: str) -> bool:
        """Reconcile one SealedSecret; returns whether to retry."""
        sealed = self.get_sealed(namespace, name)
        self.metrics.unseal_requests.inc()
        if sealed is None:
            return False
        started = time.perf_counter()
        try:
            return self._sync(sealed, namespace, name)
        finally:
            self.metrics.reconcile_duration.observe(time.perf_counter() - started)

    def _sync(self, sealed: dict[str, Any], namespace: str, name: str) -> bool:
        cached, meta = self.secret_meta(namespace, name)
        verdict, known = (
            self.records.assess(sealed, meta, cached) if self.settings.update_status else (record.FULL, None)
        )
        # `sealer reconcile` asked for a full sync (unseal, repair) that the record would spare:
        # once per value of the annotation, which the status then names (a restart costs nothing).
        request = sealed_status.pending_request(sealed) if self.settings.update_status else None
        if request is not None and verdict == record.CURRENT:
            verdict = record.VERIFY
        if verdict == record.CURRENT and known is not None:
            # As recorded, and untouched since: no GET, no private-key operation, and (status unchanged) no write.
            self._write_status(sealed, self._recorded_result(sealed, known), known)
            return False
        existing = None if cached and meta is None else self.kube.get(secret_path(namespace, name))
        if verdict == record.VERIFY and known is not None and existing is not None and request is None:
            rv = existing["metadata"].get("resourceVersion", "")
            if self.records.matches(sealed, known, existing):
                # Written by someone, but not where the SealedSecret decides (another tool's annotation, say).
                self._write_status(
                    sealed, status.Result(True, reconcile.UNSEALED), self.records.refresh(sealed, known, rv)
                )
                return False
        plan = reconcile.decide(sealed, self.keys.registry, existing)
        if verdict == record.VERIFY and known is not None and existing is not None and plan.action == "update":
            plan = reconcile.drifted(plan, sealed, existing, self.settings.repair_drift)
        result, retry = plan.result, plan.retry
        written = existing
        try:
            # decide() puts the Secret to write in every create and update plan.
            if plan.action == "create":
                assert plan.secret is not None
                written = self.kube.create(secret_path(namespace), plan.secret)
            elif plan.action == "update":
                assert plan.secret is not None
                written = self.kube.replace(secret_path(namespace, name), plan.secret)
        except ApiError as e:
            if faults.is_transient(e):
                raise  # no status, no event: the worker backs off and tries again
            # The server's message is read, never repeated: it may quote the Secret's values.
            immutable = e.status == 422 and "immutable" in e.message
            retry = not immutable and not faults.is_refused(e)
            if immutable:
                message = f"Error updating {namespace}/{name}: {reconcile.IMMUTABLE_MESSAGE}"
            else:
                message = f"cannot {plan.action} Secret {namespace}/{name}: {faults.refusal_reason(e)}"
            result = status.Result(False, reconcile.ERR_UPDATE, message)
            plan = reconcile.Plan(
                "none", result, None, [reconcile.Event("Warning", reconcile.ERR_UPDATE, message)], "update", retry
            )
            written = None
        if plan.error_reason:
            self.metrics.unseal_errors.labels(plan.error_reason, namespace).inc()
            log.warning("%s/%s: %s", namespace, name, result.message)
        elif plan.drift:
            self.metrics.secret_drift.labels(namespace, plan.drift).inc()
            log.warning("%s/%s: %s", namespace, name, plan.events[0].message)
        elif plan.action != "none":
            log.info(
                "%s/%s: unsealed (%s Secret)", namespace, name, "created" if plan.action == "create" else "updated"
            )
        new_record = None
        if written is not None and (result.ok or plan.drift == "reported"):
            state_of = plan.secret if plan.drift == "reported" else written
            assert state_of is not None  # a reported drift's plan carries the Secret it would have written
            new_record = self.records.make(
                sealed,
                state_of,
                plan.keys_used,
                written["metadata"].get("resourceVersion", ""),
                in_sync=plan.drift != "reported",
            )
        handled = None if request is None else sealed_status.request_condition(request, result.ok, _outcome(plan))
        conditions_changed = self._write_status(sealed, result, new_record, handled)
        for event in plan.events:
            self._event(sealed, event)
        if result.ok and plan.action == "none" and conditions_changed and not plan.events:
            # First sync of an already-correct Secret (e.g. taken over from another controller).
            self._event(sealed, reconcile.Event("Normal", reconcile.UNSEALED, "SealedSecret unsealed successfully"))
        return retry

    @staticmethod
    def _recorded_result(sealed: dict[str, Any], known: record.Record) -> status.Result:
        if known.in_sync:
            return status.Result(True, reconcile.UNSEALED)
        for c in (sealed.get("status") or {}).get("conditions") or []:  # the drift report, as made
            if isinstance(c, dict) and c.get("type") == status.SYNCED:
                return status.Result(False, reconcile.DRIFTED, str(c.get("message") or ""))
        return status.Result(False, reconcile.DRIFTED, "the Secret differs from its SealedSecret")

    def _write_status(
        self,
        sealed: dict[str, Any],
        result: status.Result,
        known: record.Record | None = None,
        request: tuple[str, bool, str, str] | None = None,
    ) -> bool:
        """Writes the status if it changed; returns whether more than the record did."""
        meta = sealed["metadata"]
        instance = (meta.get("labels") or {}).get(INSTANCE_LABEL, "")
        self.metrics.set_condition(meta.get("namespace", ""), meta["name"], 1 if result.ok else -1, instance)
        if not self.settings.update_status:
            return False
        now = _now()
        conditions_changed = status.next_status(sealed.get("status"), meta.get("generation"), result, now) is not None
        # A failure (not a reported drift) leaves no record behind: it would claim a Secret in sync.
        new = status.next_status(
            sealed.get("status"),
            meta.get("generation"),
            result,
            now,
            known.condition() if known is not None else None,
            forget=record.CONDITION if known is None and not result.ok else None,
            request=request,
        )
        if new is None:
            return False
        path = sealed_secret_path(meta.get("namespace"), meta["name"]) + "/status"
        try:
            # Only the metadata comes back (the object is not encoded, sent and decoded for nothing):
            # what was written is the status now, and the cache sees it before the watch does.
            self.kube.merge_patch(path, {"status": new}, accept=METADATA_ONLY_OBJECT)
            sealed["status"] = new
            return conditions_changed
        except ApiError as e:
            if faults.is_transient(e):
                raise  # the Secret is right, its status is not: try again
            self.metrics.unseal_errors.labels("status", meta.get("namespace", "")).inc()
            log.warning("%s/%s: cannot update status: %s", meta.get("namespace"), meta["name"], e)
            return False

    def _event(self, sealed: dict[str, Any], event: reconcile.Event) -> None:
        meta = sealed["metadata"]
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta.get("namespace")},
            "involvedObject": {
                "apiVersion": reconcile.API_VERSION,
                "kind": reconcile.KIND,
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": event.reason,
            "message": event.message,
            "type": event.type,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now[:19] + "Z",
            "lastTimestamp": now[:19] + "Z",
            "eventTime": None,
            "count": 1,
        }
        try:
            self.kube.create(f"/api/v1/namespaces/{meta.get('namespace')}/events", body, accept=METADATA_ONLY_OBJECT)
        except Exception as e:  # noqa: BLE001 - events are best effort: never a reason to redo the work
            kind = faults.kind_of(e)
            self.trouble.warning(
                f"event {kind}",
                "cannot record event %s on %s/%s (%s)",
                event.reason,
                meta.get("namespace"),
                meta["name"],
                kind,
            )

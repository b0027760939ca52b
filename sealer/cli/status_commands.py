"""The bodies of `sealer status` and `sealer reconcile`: what the controller reports about each
SealedSecret, for one cluster or the fleet's, and asking it to reconcile one now.

Only SealedSecrets and Secrets' *metadata* are read (``PartialObjectMetadata``): drift comes from
the controller's record and the Secret's resourceVersion, never from its data. Without the right
to list Secrets, the Secret column says ``unknown`` and the rest still works.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from sealer.cli import fleet_targets
from sealer.cli.arguments import ReconcileOptions, StatusOptions
from sealer.cli.environment import Environment
from sealer.core import sealed_status
from sealer.core.errors import SealerError
from sealer.core.exit_status import ExitStatus
from sealer.core.fleet import FleetError
from sealer.core.scope import RECONCILE_ANNOTATION
from sealer.kube.client import METADATA_ONLY, Kube, sealed_secret_path, secret_path
from sealer.kube.connection import Connection, current_namespace
from sealer.kube.controller_api import reached
from sealer.kube.errors import ApiError, Forbidden, NotFound

WATCH_SECONDS = 300  # one watch request; it is renewed until --timeout or Ctrl-C
REPRINT_EVERY = 0.5  # seconds to wait before a new watch when the server ended one at once
# The metadata-only list form and nothing else: the client's METADATA_ONLY falls back to full
# objects, which for Secrets would carry their values; a server that cannot answer this says 406.
SECRETS_METADATA_ONLY = METADATA_ONLY.split(",")[0]


@dataclasses.dataclass(frozen=True)
class Target:
    cluster: str | None  # the fleet's name for it; None for the kubeconfig's cluster
    connection: Connection
    namespace: str | None  # None: all namespaces


def targets(options: StatusOptions, env: Environment) -> list[Target]:
    """The clusters to look at: the connection flags' one, or the fleet's (each through its context)."""
    if not (options.all_clusters or options.clusters):
        return [Target(None, options.connection, _namespace(options, options.connection, env))]
    fleet = fleet_targets.fleet_from(options.config)
    out = []
    for cluster in fleet_targets.chosen(fleet, options.clusters, options.all_clusters):
        if cluster.context is None:
            if options.all_clusters:
                env.note(f"note: cluster {cluster.name!r} has no context: in {fleet.source}; skipped")
                continue
            raise FleetError(f"cluster {cluster.name!r} has no context: in {fleet.source}, so it cannot be reached")
        # The cluster's kubeconfig and context, and the command line's other flags (--as, --token ...).
        own = fleet_targets.connection_for(cluster)
        conn = dataclasses.replace(
            options.connection, context=own.context, kubeconfig=own.kubeconfig or options.connection.kubeconfig
        )
        out.append(Target(cluster.name, conn, _namespace(options, conn, env)))
    if not out:
        raise FleetError(f"no cluster in {fleet.source} has a context: to reach it through")
    return out


def _namespace(options: StatusOptions, conn: Connection, env: Environment) -> str | None:
    if options.all_namespaces:
        return None
    return options.namespace or current_namespace(conn, env.environ) or "default"


def secrets_metadata(kube: Kube, namespace: str | None) -> dict[tuple[str, str], dict[str, Any]] | None:
    """Every Secret's identity, owners and resourceVersion, by (namespace, name), from a metadata-only
    list (no values cross the wire); None when RBAC forbids listing Secrets."""
    try:
        items, _ = kube.list(secret_path(namespace) if namespace else "/api/v1/secrets", accept=SECRETS_METADATA_ONLY)
    except Forbidden:
        return None
    out = {}
    for item in items:
        meta = item.get("metadata") or {}
        # Keep what the rows need only: annotations (last-applied-configuration may hold data) are dropped.
        out[(meta.get("namespace") or "", meta.get("name") or "")] = {
            "resourceVersion": meta.get("resourceVersion"),
            "ownerReferences": meta.get("ownerReferences") or [],
        }
    return out


def rows_of(
    sealed: Iterable[dict[str, Any]], secrets: dict[tuple[str, str], dict[str, Any]] | None, cluster: str | None
) -> list[sealed_status.Row]:
    rows = []
    for obj in sealed:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        secret = None if secrets is None else secrets.get(key)
        rows.append(sealed_status.row(obj, secret, secrets_known=secrets is not None, cluster=cluster))
    return sorted(rows, key=lambda r: (r.cluster or "", r.namespace, r.name))


class ClusterView:
    """One cluster's SealedSecrets and Secret metadata, kept current by ``refresh`` and ``apply``."""

    def __init__(self, target: Target, env: Environment):
        self.target = target
        self.kube = env.kube(target.connection)
        self.sealed: dict[tuple[str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] | None = None
        self.resource_version = ""
        self.warned = False

    def refresh(self, env: Environment) -> None:
        items, self.resource_version = reached(lambda: self.kube.list(sealed_secret_path(self.target.namespace)))
        self.sealed = {_key(o): o for o in items}
        self.refresh_secrets(env)

    def refresh_secrets(self, env: Environment) -> None:
        self.secrets = reached(lambda: secrets_metadata(self.kube, self.target.namespace))
        if self.secrets is None and not self.warned:
            self.warned = True
            env.note(f"note: {self._where()}not allowed to list Secrets: their existence is shown as unknown")

    def _where(self) -> str:
        return f"cluster {self.target.cluster}: " if self.target.cluster else ""

    def rows(self) -> list[sealed_status.Row]:
        return rows_of(self.sealed.values(), self.secrets, self.target.cluster)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def render(rows: list[sealed_status.Row], fmt: str, clusters: int | None, errors: list[str]) -> str:
    if fmt == "json":
        doc: dict[str, Any] = {
            "items": [r.to_json() for r in rows],
            "summary": {**sealed_status.summary(rows), "ok": not errors and all(r.ok for r in rows)},
        }
        if errors:
            doc["errors"] = errors
        return json.dumps(doc, indent=2) + "\n"
    text = sealed_status.table(rows) if rows else ""
    return text + sealed_status.summary_line(rows, clusters) + "\n"


def status(options: StatusOptions, env: Environment) -> int:
    views = [ClusterView(t, env) for t in targets(options, env)]
    fleet = any(v.target.cluster is not None for v in views)
    errors = _refresh_all(views, env, fleet)
    rows = [r for v in views for r in v.rows()]
    env.write(render(rows, options.fmt, len(views) if fleet else None, errors))
    if options.watch:
        _watch(views, options, env, fleet)
    return ExitStatus.FAILURE if errors or not all(r.ok for r in rows) else ExitStatus.OK


def _refresh_all(views: list[ClusterView], env: Environment, fleet: bool) -> list[str]:
    errors = []
    for view in views:
        try:
            view.refresh(env)
        except (SealerError, ApiError) as e:
            if not fleet:
                raise _cluster_error(e) from None
            # One unreachable cluster must not hide the others: said, counted, and the exit status is 1.
            message = f"cluster {view.target.cluster}: {_cluster_error(e)}"
            env.note(f"error: {message}")
            errors.append(message)
            view.sealed, view.secrets = {}, {}
    return errors


def _cluster_error(e: SealerError | ApiError) -> SealerError:
    if isinstance(e, ApiError):
        return SealerError(f"cannot list SealedSecrets: {e.summary}")
    return e


def _watch(views: list[ClusterView], options: StatusOptions, env: Environment, fleet: bool) -> None:
    """Print again on every change of a SealedSecret, as it arrives: one watch request per cluster at
    a time (its answer streams), a new one when the server ends it, until --timeout or Ctrl-C (the
    CLI's 130). With several clusters each watch lasts a few seconds, so all are heard in turn."""
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    last = [r for v in views for r in v.rows()]

    def changed(view: ClusterView) -> None:
        nonlocal last
        view.refresh_secrets(env)  # the controller may have just created or repaired a Secret
        rows = [r for v in views for r in v.rows()]
        if rows != last:
            last = rows
            env.write(render(rows, options.fmt, len(views) if fleet else None, []))

    while deadline is None or time.monotonic() < deadline:
        for view in views:
            remaining = WATCH_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return
            left = math.ceil(remaining)
            if not _watch_once(view, env, min(left, WATCH_SECONDS if len(views) == 1 else 2), changed):
                time.sleep(REPRINT_EVERY)  # the server ended the watch at once: do not spin


def _watch_once(view: ClusterView, env: Environment, seconds: int, changed: Callable[[ClusterView], None]) -> bool:
    """One watch request (at most ``seconds`` long), calling ``changed`` after each change; whether
    it lasted (False: it ended at once, e.g. the server is going away)."""
    started = time.monotonic()
    try:
        for kind, obj in view.kube.watch(
            sealed_secret_path(view.target.namespace), view.resource_version, timeout_seconds=seconds
        ):
            meta = obj.get("metadata") or {}
            if meta.get("resourceVersion"):
                view.resource_version = meta["resourceVersion"]
            if kind == "BOOKMARK":
                continue
            if kind == "DELETED":
                view.sealed.pop(_key(obj), None)
            else:
                view.sealed[_key(obj)] = obj
            changed(view)
    except ApiError as e:
        if e.status != 410:
            raise
        view.refresh(env)  # the watch's resourceVersion expired: list again
        changed(view)
    return time.monotonic() - started >= min(seconds, 1)


# --- reconcile ---------------------------------------------------------------------------------------


def reconcile(options: ReconcileOptions, env: Environment) -> int:
    namespace = options.namespace or current_namespace(options.connection, env.environ) or "default"
    kube = env.kube(options.connection)
    path = sealed_secret_path(namespace, options.name)
    value = env.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    where = f"sealedsecret {namespace}/{options.name}"
    try:
        reached(lambda: kube.merge_patch(path, {"metadata": {"annotations": {RECONCILE_ANNOTATION: value}}}))
    except NotFound:
        raise SealerError(f"{where}: not found") from None
    except ApiError as e:
        raise SealerError(f"{where}: cannot annotate it: {e.summary}") from None
    if not options.wait:
        env.write(f"{where}: reconcile requested ({RECONCILE_ANNOTATION}={value})\n")
        return ExitStatus.OK
    done = _wait_for(lambda: _handled(kube, path, value), options.timeout)
    if done is None:
        raise SealerError(
            f"{where}: the controller did not report handling the request within {options.timeout:g} s "
            "(is sealer's controller running and leading? Bitnami's controller ignores the annotation)"
        )
    env.write(f"{where}: {'reconciled' if done.ok else 'reconcile failed'}: {done.outcome}\n")
    return ExitStatus.OK if done.ok else ExitStatus.FAILURE


def _handled(kube: Kube, path: str, value: str) -> sealed_status.Handled | None:
    obj = reached(lambda: kube.get(path))
    if obj is None:
        raise SealerError("the SealedSecret was deleted while waiting")
    done = sealed_status.handled(obj.get("status"))
    return done if done is not None and done.value == value else None


def _wait_for(check: Callable[[], sealed_status.Handled | None], timeout: float) -> sealed_status.Handled | None:
    """Poll (a GET every 0.2-1 s: bounded, and simpler than a watch for one object's answer)."""
    deadline, interval = time.monotonic() + timeout, 0.2
    while True:
        done = check()
        if done is not None or time.monotonic() >= deadline:
            return done
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 1.0)

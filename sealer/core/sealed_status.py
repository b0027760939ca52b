"""What a SealedSecret's status says, read by anyone (``sealer status``) as the controller writes it
(controller/status.py, controller/record.py). Pure: objects in, plain values out; no values read.

Three things live here because the controller writes them and the CLI reads them:
- the record's message format (``SecretInSync``: the Secret's resourceVersion when verified and
  the ids of the keys that opened the values),
- the reconcile request: the ``sealer.dev/reconcile-requested-at`` annotation and the
  ``ReconcileRequest`` condition that says the controller handled a value of it,
- one row of ``sealer status`` per SealedSecret, from the object and its Secret's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sealer.core.scope import KEY_HINT_ANNOTATION, RECONCILE_ANNOTATION
from sealer.core.sealing import split_hint

SYNCED = "Synced"
READY = "Ready"
RECORD_CONDITION = "SecretInSync"
RECORD_VERSION = "v1"
REQUEST_CONDITION = "ReconcileRequest"
REQUEST_HANDLED = "Handled"
REQUEST_FAILED = "Failed"
KEY_ID_CHARS = 12  # of a fingerprint's base64 part, as the record names keys

RECORD_MESSAGE = re.compile(
    r"resourceVersion (?P<rv>\S+); record v1 keys=(?P<keys>[A-Za-z0-9+/,]+) "
    r"state=(?P<state>[A-Za-z0-9_-]+) check=(?P<check>[A-Za-z0-9_-]+)$"
)
# A request's value is a time (RFC 3339) or any short token: it goes into the status message as is.
_REQUEST_VALUE = re.compile(r"[0-9A-Za-z:.+_-]{1,64}")
_HANDLED_MESSAGE = re.compile(r"^request (?P<value>\S+) handled: (?P<outcome>.*)$", re.DOTALL)


def key_id(fingerprint: str) -> str:
    """A key's short id, as the record names it: 12 characters of its fingerprint's base64."""
    return fingerprint.removeprefix("SHA256:")[:KEY_ID_CHARS]


def conditions(status: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The status's conditions by type (the first of each type wins, as readers take them)."""
    out: dict[str, dict[str, Any]] = {}
    items = (status or {}).get("conditions") if isinstance(status, Mapping) else None
    for c in items if isinstance(items, list) else []:
        if isinstance(c, dict) and isinstance(c.get("type"), str):
            out.setdefault(c["type"], c)
    return out


class RecordFields(NamedTuple):
    in_sync: bool
    resource_version: str
    keys: tuple[str, ...]
    state: str
    check: str


def parse_record(status: Mapping[str, Any] | None) -> RecordFields | None:
    """The controller's record (``SecretInSync``), or None when there is none or it is not ours."""
    c = conditions(status).get(RECORD_CONDITION)
    if c is None:
        return None
    m = RECORD_MESSAGE.search(str(c.get("message") or ""))
    if m is None:
        return None
    return RecordFields(c.get("status") == "True", m["rv"], tuple(m["keys"].split(",")), m["state"], m["check"])


# --- the reconcile request ------------------------------------------------------------------------


def requested(sealed: Mapping[str, Any]) -> str | None:
    """The value of the reconcile-request annotation, if it is one the controller honours."""
    meta = sealed.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(RECONCILE_ANNOTATION) if isinstance(meta, Mapping) else None
    return value if isinstance(value, str) and _REQUEST_VALUE.fullmatch(value) else None


class Handled(NamedTuple):
    value: str
    ok: bool
    outcome: str


def handled(status: Mapping[str, Any] | None) -> Handled | None:
    """The last request the controller handled, as its ``ReconcileRequest`` condition says."""
    c = conditions(status).get(REQUEST_CONDITION)
    m = _HANDLED_MESSAGE.match(str((c or {}).get("message") or ""))
    if c is None or m is None:
        return None
    return Handled(m["value"], c.get("status") == "True", m["outcome"])


def pending_request(sealed: Mapping[str, Any]) -> str | None:
    """A request not handled yet (a value of the annotation the status does not name), or None: an
    unchanged annotation after a restart costs nothing."""
    value = requested(sealed)
    if value is None:
        return None
    done = handled(sealed.get("status"))
    return None if done is not None and done.value == value else value


def request_condition(value: str, ok: bool, outcome: str) -> tuple[str, bool, str, str]:
    """(type, status, reason, message) of the condition saying request ``value`` was handled."""
    return REQUEST_CONDITION, ok, REQUEST_HANDLED if ok else REQUEST_FAILED, f"request {value} handled: {outcome}"


# --- one row of `sealer status` ----------------------------------------------------------------------

# What `drift` says: from the controller's record and the Secret's metadata, never its data.
DRIFT_NONE = "none"  # the Secret is at the resourceVersion the controller verified
DRIFT_DRIFTED = "drifted"  # the controller found it changed and did not restore it (--repair-drift=false)
DRIFT_UNVERIFIED = "unverified"  # written since the controller verified it; it has not checked yet
DRIFT_UNKNOWN = "unknown"  # no record (Bitnami's controller, --update-status=false) or no Secret metadata


class Row(NamedTuple):
    cluster: str | None
    namespace: str
    name: str
    synced: str  # "True", "False" or "Unknown"
    ready: str
    reason: str  # why it is not synced ("" when it is)
    generation: int | None
    observed_generation: int | None
    sealed_for: tuple[str, ...]  # the key hint's fingerprints
    opened_by: tuple[str, ...]  # the record's key ids
    secret: str  # "present", "absent" or "unknown" (not allowed to see)
    owned: bool | None
    drift: str
    request: Handled | None

    @property
    def lag(self) -> int | None:
        if self.generation is None:
            return None
        return self.generation - (self.observed_generation or 0)

    @property
    def ok(self) -> bool:
        """Synced, the current generation observed, its Secret there and not drifted."""
        return (
            self.synced == "True"
            and not self.lag
            and self.secret != "absent"
            and self.drift not in (DRIFT_DRIFTED, DRIFT_UNVERIFIED)
        )

    @property
    def problem(self) -> str:
        """Why it is not ok, in a few words (value-free: the controller's messages name items only)."""
        if self.synced != "True":
            return self.reason or "no Synced condition (is a controller running?)"
        if self.lag:
            return f"generation {self.generation} not observed yet (observed {self.observed_generation or 0})"
        if self.secret == "absent":
            return "the Secret does not exist"
        if self.drift == DRIFT_DRIFTED:
            return "the Secret differs from its SealedSecret (not restored)"
        if self.drift == DRIFT_UNVERIFIED:
            return "the Secret was written since the controller verified it"
        return ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.cluster is None else {"cluster": self.cluster}
        out.update(
            namespace=self.namespace,
            name=self.name,
            ok=self.ok,
            synced=self.synced,
            ready=self.ready,
            reason=self.problem,
            generation=self.generation,
            observedGeneration=self.observed_generation,
            generationLag=self.lag,
            sealedFor=list(self.sealed_for),
            openedBy=list(self.opened_by),
            secret=self.secret,
            owned=self.owned,
            drift=self.drift,
        )
        if self.request is not None:
            out["lastReconcileRequest"] = {
                "value": self.request.value,
                "ok": self.request.ok,
                "outcome": self.request.outcome,
            }
        return out


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _condition_status(c: Mapping[str, Any] | None) -> str:
    status = (c or {}).get("status")
    return status if status in ("True", "False") else "Unknown"


def row(
    sealed: Mapping[str, Any], secret_meta: Mapping[str, Any] | None, *, secrets_known: bool, cluster: str | None = None
) -> Row:
    """One SealedSecret's row. ``secret_meta``: its Secret's metadata (a PartialObjectMetadata or a
    Secret's ``metadata``), None if absent; ``secrets_known``: False when the caller may not list
    Secrets, so absence means nothing."""
    meta = sealed.get("metadata") or {}
    status = sealed.get("status") or {}
    by_type = conditions(status)
    synced = by_type.get(SYNCED)
    record = parse_record(status)
    smeta: Mapping[str, Any] = (secret_meta or {}).get("metadata", secret_meta) or {}
    uid = meta.get("uid")
    owned = (
        None
        if secret_meta is None
        else any(
            isinstance(r, dict) and r.get("controller") and r.get("kind") == "SealedSecret" and r.get("uid") == uid
            for r in smeta.get("ownerReferences") or []
        )
    )
    if record is None:
        # A failed sync drops the record; a drift the controller reported keeps it (in_sync False).
        drift = DRIFT_UNKNOWN
    elif not record.in_sync:
        drift = DRIFT_DRIFTED
    elif secret_meta is None:
        drift = DRIFT_UNKNOWN
    else:
        drift = DRIFT_NONE if smeta.get("resourceVersion") == record.resource_version else DRIFT_UNVERIFIED
    reason = ""
    if _condition_status(synced) != "True" and synced is not None:
        reason = " ".join(f"{synced.get('reason') or ''}: {synced.get('message') or ''}".split()).strip(": ")
    return Row(
        cluster=cluster,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        synced=_condition_status(synced),
        ready=_condition_status(by_type.get(READY)),
        reason=reason,
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        sealed_for=tuple(split_hint((meta.get("annotations") or {}).get(KEY_HINT_ANNOTATION))),
        opened_by=record.keys if record is not None else (),
        secret="unknown" if not secrets_known else ("absent" if secret_meta is None else "present"),
        owned=owned,
        drift=drift,
        request=handled(status),
    )


def summary(rows: list[Row]) -> dict[str, int]:
    return {
        "total": len(rows),
        "synced": sum(r.ok for r in rows),
        "notSynced": sum(not r.ok for r in rows),
        "drifted": sum(r.drift in (DRIFT_DRIFTED, DRIFT_UNVERIFIED) for r in rows),
        "secretMissing": sum(r.secret == "absent" for r in rows),
        "generationLag": sum(bool(r.lag) for r in rows),
    }


def summary_line(rows: list[Row], clusters: int | None = None) -> str:
    s = summary(rows)
    where = f" in {clusters} cluster{'s' if clusters != 1 else ''}" if clusters is not None else ""
    text = f"{s['total']} SealedSecret{'s' if s['total'] != 1 else ''}{where}: {s['synced']} synced"
    if s["notSynced"]:
        details = [
            f"{s[k]} {what}"
            for k, what in (("drifted", "drifted"), ("secretMissing", "without Secret"), ("generationLag", "lagging"))
            if s[k]
        ]
        text += f", {s['notSynced']} not synced" + (f" ({', '.join(details)})" if details else "")
    return text


def _keys_column(r: Row) -> str:
    ids = list(r.opened_by) or [key_id(fp) for fp in r.sealed_for]
    return ",".join(ids) or "-"


MAX_CELL = 300  # characters: a status message is the controller's, but anyone with status rights can write one
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def cell(text: str) -> str:
    """A table cell: control characters (terminal escapes, newlines) out, length bounded."""
    clean = _UNPRINTABLE.sub("?", text)
    return clean if len(clean) <= MAX_CELL else clean[: MAX_CELL - 3] + "..."


def table(rows: list[Row]) -> str:
    """kubectl-style columns, one line per SealedSecret, then nothing else (the summary is separate)."""
    with_cluster = any(r.cluster is not None for r in rows)
    header = [*(["CLUSTER"] if with_cluster else []), "NAMESPACE", "NAME", "SYNCED", "READY", "GEN"]
    header += ["KEYS", "SECRET", "DRIFT", "REASON"]
    lines = [header]
    for r in rows:
        gen = "-" if r.generation is None else f"{r.observed_generation or 0}/{r.generation}"
        secret = r.secret if r.owned is not False else f"{r.secret},unowned"
        cells = [*([r.cluster or ""] if with_cluster else []), r.namespace, r.name, r.synced, r.ready, gen]
        cells += [_keys_column(r), secret, r.drift, r.problem or "-"]
        lines.append([cell(c) for c in cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "".join(
        "   ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "   " + line[-1] + "\n"
        for line in lines
    )

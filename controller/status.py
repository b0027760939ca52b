"""The SealedSecret status the controller reports. Pure: the clock is a parameter.

Three audiences read it:
- Argo CD's SealedSecret health check and Bitnami's printer columns read the ``Synced`` condition
  (first in the list, as ``.status.conditions[0]``).
- Flux and other kstatus users read ``observedGeneration`` and the ``Ready``/``Stalled`` conditions:
  ``Stalled=True`` is how kstatus learns that a resource failed rather than is still in progress.
- People read the messages.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

SYNCED = "Synced"
READY = "Ready"
STALLED = "Stalled"


@dataclass(frozen=True)
class Result:
    """What a reconcile concluded: ``reason`` is a CamelCase word (Unsealed, ErrUnsealFailed, ...)."""

    ok: bool
    reason: str
    message: str = ""


def _condition(
    kind: str, status: bool, reason: str, message: str, now: str, old: dict[str, Any] | None
) -> dict[str, Any]:
    status_text = "True" if status else "False"
    changed = old is None or old.get("status") != status_text
    return {
        "type": kind,
        "status": status_text,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now if old is None or changed else old.get("lastTransitionTime", now),
    }


def next_status(
    old: dict[str, Any] | None,
    generation: int | None,
    result: Result,
    now: str,
    record: tuple[str, bool, str, str] | None = None,
    forget: str | None = None,
    request: tuple[str, bool, str, str] | None = None,
) -> dict[str, Any] | None:
    """The status to write, or None when the current one already says the same thing
    (so an unchanged SealedSecret costs no write, and lastUpdateTime means "last change").
    ``record``: (type, status, reason, message) of a condition to set besides Synced/Ready/Stalled
    (controller.record's); None keeps whatever is there. ``forget``: a condition type to drop.
    ``request``: another such condition, the handled reconcile request (sealer.core.sealed_status's)."""
    old = old or {}
    by_type = {c.get("type"): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    message = "" if result.ok else result.message
    synced = by_type.get(SYNCED)
    stalled = by_type.get(STALLED)
    unchanged = (
        synced is not None
        and synced.get("status") == ("True" if result.ok else "False")
        and (synced.get("message") or "") == message
        and old.get("observedGeneration") == generation
        and (READY in by_type)
        and ((stalled is None or stalled.get("status") != "True") if result.ok else stalled is not None)
        and all(extra is None or _same_condition(by_type.get(extra[0]), *extra[1:]) for extra in (record, request))
        and (forget is None or forget not in by_type)
    )
    if unchanged:
        return None
    conditions = [
        _condition(SYNCED, result.ok, result.reason, message, now, synced),
        _condition(READY, result.ok, result.reason, message, now, by_type.get(READY)),
    ]
    if not result.ok:
        conditions.append(_condition(STALLED, True, result.reason, message, now, stalled))
    ours = {SYNCED, READY, STALLED, *((forget,) if forget else ())}
    for extra in (record, request):
        if extra is not None:
            kind, ok, reason, text = extra
            conditions.append(_condition(kind, ok, reason, text, now, by_type.get(kind)))
            ours.add(kind)
    # Conditions other tools added are theirs: keep them.
    conditions.extend(copy.deepcopy(c) for t, c in by_type.items() if t not in ours)
    status = {k: copy.deepcopy(v) for k, v in old.items() if k not in ("conditions", "observedGeneration")}
    if generation is not None:
        status["observedGeneration"] = generation
    status["conditions"] = conditions
    return status


def _same_condition(old: dict[str, Any] | None, ok: bool, reason: str, message: str) -> bool:
    return (
        old is not None
        and old.get("status") == ("True" if ok else "False")
        and old.get("reason") == reason
        and (old.get("message") or "") == message
    )


# Keyed by object: a condition's status is whatever the object holds (the CRD's schema makes it a string).
_CONDITION_INFO: dict[object, int] = {"True": 1, "False": -1}


def condition_value(status: dict[str, Any] | None) -> int:
    """The ``condition_info`` metric's value: 1 True, -1 False, 0 unknown (Bitnami's encoding)."""
    for c in (status or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == SYNCED:
            return _CONDITION_INFO.get(c.get("status"), 0)
    return 0

"""What Secret should exist for a SealedSecret: the controller's whole decision, with no I/O.

``decide(sealed, keys, existing)`` is a function of its inputs; the watch loop feeds it objects as
the API server returns them (plain JSON dicts) and carries out the returned plan. Keeping it pure
lets the unit tests walk the full matrix (owned / managed / patch / foreign Secrets, scopes,
templates, immutability) without a cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from controller.status import Result
from sealer.core.errors import InputError, UnsealError
from sealer.core.keyset import Opener
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION, SKIP_SET_OWNER_REFERENCES_ANNOTATION
from sealer.core.unsealing import opened_data, secret_from_items

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"

UNSEALED = "Unsealed"
ERR_UNSEAL = "ErrUnsealFailed"
ERR_UPDATE = "ErrUpdateFailed"
DRIFTED = "SecretDrifted"

IMMUTABLE_MESSAGE = (
    "the target Secret is immutable. Once a Secret is marked as immutable, it is not possible to revert this "
    "change nor to mutate the contents of the data field. You can only delete and recreate the Secret."
)


@runtime_checkable
class _KeyedOpener(Opener, Protocol):
    """An Opener that also says which key opened a value (keys.registry.KeyRegistry)."""

    def open_with_key(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> tuple[bytes, str]: ...


class _Recording:
    """Opens through a KeyRegistry, noting which keys opened the values (controller.record keys its MACs by them)."""

    def __init__(self, keys: Opener):
        self.keys = keys
        # Once, not per value: a runtime Protocol check walks the protocol's members.
        self.keyed: _KeyedOpener | None = keys if isinstance(keys, _KeyedOpener) else None
        self.used: set[str] = set()

    def open(self, blob: bytes, label: bytes, hints: Sequence[str] = ()) -> bytes:
        if self.keyed is None:
            return self.keys.open(blob, label, hints)
        value, fingerprint = self.keyed.open_with_key(blob, label, hints)
        self.used.add(fingerprint)
        return value


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass
class Plan:
    """``action``: "create", "update" or "none". ``error_reason`` labels the errors metric
    (unseal, update, unmanaged). ``retry``: worth trying again later without a spec change."""

    action: str
    result: Result
    secret: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    error_reason: str | None = None
    retry: bool = False
    keys_used: tuple[str, ...] = ()
    drift: str | None = None  # "repaired" or "reported": the Secret had been changed behind the SealedSecret's back


def _fail(reason: str, message: str, metric: str, *, retry: bool, event: str | None = None) -> Plan:
    """Bitnami's wording: the status says what failed, the event may add context."""
    return Plan(
        "none", Result(False, reason, message), None, [Event("Warning", reason, event or message)], metric, retry
    )


def owner_reference(sealed: dict[str, Any]) -> dict[str, Any]:
    meta = sealed["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
    }


def is_controlled_by(secret: dict[str, Any], sealed: dict[str, Any]) -> bool:
    uid = sealed["metadata"].get("uid")
    return any(
        ref.get("controller") and ref.get("kind") == KIND and ref.get("uid") == uid
        for ref in (secret.get("metadata") or {}).get("ownerReferences") or []
    )


def _annotation(obj: dict[str, Any], key: str) -> bool:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key) == "true"


def desired_secret(sealed: dict[str, Any], data: dict[str, bytes]) -> dict[str, Any]:
    """The Secret a SealedSecret describes (sealer.core.unsealing's), as the controller creates it:
    owned by the SealedSecret, without fields only the API server may set."""
    secret = secret_from_items(sealed, data)
    metadata = secret["metadata"]
    for server_field in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"):
        metadata.pop(server_field, None)
    if ((metadata.get("annotations") or {}).get(SKIP_SET_OWNER_REFERENCES_ANNOTATION)) == "true":
        metadata.pop("ownerReferences", None)
    else:
        metadata["ownerReferences"] = [owner_reference(sealed)]
    secret.setdefault("type", "Opaque")
    if "immutable" in secret:
        secret["immutable"] = bool(secret["immutable"])
    return secret


def _merged_update(existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """Apply ``desired`` onto ``existing`` following the managed/patch annotations (Bitnami's rules)."""
    out = copy.deepcopy(existing)
    meta = out.setdefault("metadata", {})
    want = desired["metadata"]
    if _annotation(existing, PATCH_ANNOTATION):
        out["data"] = {**(existing.get("data") or {}), **desired["data"]}
        for key in ("labels", "annotations"):
            merged = {**(meta.get(key) or {}), **(want.get(key) or {})}
            if merged:
                meta[key] = merged
        if _annotation(existing, MANAGED_ANNOTATION):
            _set(meta, "ownerReferences", want.get("ownerReferences"))
    else:
        out["data"] = desired["data"]
        for key in ("labels", "annotations", "ownerReferences"):
            _set(meta, key, want.get(key))
    out["type"] = desired["type"]  # immutable is not changed on an existing Secret (as Bitnami)
    return out


def _set(meta: dict[str, Any], key: str, value: object) -> None:
    if value:
        meta[key] = value
    else:
        meta.pop(key, None)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def pick(s: dict[str, Any]) -> tuple[Any, ...]:
        return (
            s.get("data") or {},
            s.get("type") or "Opaque",
            (s.get("metadata") or {}).get("labels") or {},
            (s.get("metadata") or {}).get("annotations") or {},
            (s.get("metadata") or {}).get("ownerReferences") or [],
        )

    return pick(a) == pick(b)


def decide(sealed: dict[str, Any], keys: Opener, existing: dict[str, Any] | None) -> Plan:
    """The plan for one SealedSecret, given the keys and the Secret of the same name (or None)."""
    opener = _Recording(keys)
    plan = _decide(sealed, opener, existing)
    plan.keys_used = tuple(sorted(opener.used))
    return plan


def _decide(sealed: dict[str, Any], keys: Opener, existing: dict[str, Any] | None) -> Plan:
    name = sealed["metadata"]["name"]
    try:
        data = opened_data(sealed, keys)
    except (UnsealError, InputError) as e:
        # The message names items, never values (see sealer.core.unsealing).
        return _fail(ERR_UNSEAL, str(e), "unseal", retry=True, event=f"Failed to unseal: {e}")
    desired = desired_secret(sealed, data)

    if existing is None:
        return Plan(
            "create", Result(True, UNSEALED), desired, [Event("Normal", UNSEALED, "SealedSecret unsealed successfully")]
        )

    if not (
        is_controlled_by(existing, sealed)
        or _annotation(existing, MANAGED_ANNOTATION)
        or _annotation(existing, PATCH_ANNOTATION)
    ):
        message = f'Resource "{name}" already exists and is not managed by SealedSecret'
        return _fail(ERR_UPDATE, f"failed update: {message}", "unmanaged", retry=True, event=message)

    updated = _merged_update(existing, desired)
    if _same(updated, existing):
        return Plan("none", Result(True, UNSEALED))
    if existing.get("immutable") and (updated.get("data") or {}) != (existing.get("data") or {}):
        ns = sealed["metadata"].get("namespace")
        return _fail(ERR_UPDATE, f"Error updating {ns}/{name}: {IMMUTABLE_MESSAGE}", "update", retry=False)
    return Plan(
        "update", Result(True, UNSEALED), updated, [Event("Normal", UNSEALED, "SealedSecret unsealed successfully")]
    )


def drift_fields(existing: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What differs between a Secret and what it should be, by name only (never a value)."""
    out = []
    have, want = existing.get("data") or {}, wanted.get("data") or {}
    for key in sorted(set(have) | set(want)):
        if key not in want:
            out.append(f"data.{key} added")
        elif key not in have:
            out.append(f"data.{key} removed")
        elif have[key] != want[key]:
            out.append(f"data.{key}")
    if (existing.get("type") or "Opaque") != (wanted.get("type") or "Opaque"):
        out.append("type")
    emeta, wmeta = existing.get("metadata") or {}, wanted.get("metadata") or {}
    for part in ("labels", "annotations"):
        mine, theirs = emeta.get(part) or {}, wmeta.get(part) or {}
        out.extend(f"{part}.{k}" for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k))
    if (emeta.get("ownerReferences") or []) != (wmeta.get("ownerReferences") or []):
        out.append("ownerReferences")
    return out


def drifted(plan: Plan, sealed: dict[str, Any], existing: dict[str, Any], repair: bool) -> Plan:
    """``plan`` (an update) repairs a Secret that was changed while its SealedSecret was not: say so,
    and with ``repair`` off only report it."""
    meta = sealed["metadata"]
    assert plan.secret is not None
    fields = ", ".join(drift_fields(existing, plan.secret)) or "metadata"
    where = f"Secret {meta.get('namespace')}/{meta['name']}"
    if repair:
        message = f"{where} was changed outside its SealedSecret ({fields}); restored the sealed state"
        return Plan(
            "update",
            plan.result,
            plan.secret,
            [Event("Warning", DRIFTED, message)],
            keys_used=plan.keys_used,
            drift="repaired",
        )
    message = f"{where} differs from its SealedSecret ({fields}); not restored (--repair-drift=false)"
    return Plan(
        "none",
        Result(False, DRIFTED, message),
        plan.secret,
        [Event("Warning", DRIFTED, message)],
        keys_used=plan.keys_used,
        drift="reported",
    )

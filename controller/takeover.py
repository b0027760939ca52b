"""When a change to a Secret lets a waiting SealedSecret proceed at once.

A SealedSecret whose Secret exists but is not the controller's (``already exists and is not
managed by SealedSecret``) waits. It may go ahead as soon as somebody annotates that Secret
``managed: "true"`` or ``patch: "true"``, or deletes it; the Secret watch (metadata only) sees
both, so the controller need not wait for a key change or the next resync. Pure: objects in,
a yes or no out.
"""

from __future__ import annotations

from typing import Any

from controller import status
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION
from sealer.core.sealing import KIND


def _claimable(meta: dict[str, Any]) -> bool:
    annotations = meta.get("annotations") or {}
    return annotations.get(MANAGED_ANNOTATION) == "true" or annotations.get(PATCH_ANNOTATION) == "true"


def owned(meta: dict[str, Any]) -> bool:
    """Whether a Secret (its metadata) is controlled by a SealedSecret."""
    return any(r.get("controller") and r.get("kind") == KIND for r in meta.get("ownerReferences") or [])


def wanted(kind: str, secret: dict[str, Any], old: dict[str, Any] | None, sealed: dict[str, Any] | None) -> bool:
    """Whether this Secret event should reconcile the SealedSecret of the same name now."""
    if sealed is None or status.condition_value(sealed.get("status")) == 1:
        return False  # nothing waits (drift and recreation are handled elsewhere)
    meta = secret.get("metadata") or {}
    if kind == "DELETED":
        # Only a foreign Secret blocked it. An owned or managed one is recreated by the Secret watch;
        # a patch-only one stays deleted, as with Bitnami's controller (its status may simply not
        # have reached the cache yet, which is no reason to take it over).
        return not _claimable(meta) and not owned(meta)
    if kind == "MODIFIED":
        return _claimable(meta) and not _claimable((old or {}).get("metadata") or {})
    return False

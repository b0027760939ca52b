"""Sealing scopes and the annotations that record them (Bitnami's names, so both tools agree)."""

from __future__ import annotations

import enum
from collections.abc import Mapping

ANNOTATION_PREFIX = "sealedsecrets.bitnami.com/"
NAMESPACE_WIDE_ANNOTATION = ANNOTATION_PREFIX + "namespace-wide"
CLUSTER_WIDE_ANNOTATION = ANNOTATION_PREFIX + "cluster-wide"
MANAGED_ANNOTATION = ANNOTATION_PREFIX + "managed"
PATCH_ANNOTATION = ANNOTATION_PREFIX + "patch"
SKIP_SET_OWNER_REFERENCES_ANNOTATION = ANNOTATION_PREFIX + "skip-set-owner-references"

# This project's own annotation: the fingerprint of the key a SealedSecret was sealed for. It is a
# hint only (it is not part of the ciphertext), so other tools ignore it and it may be wrong.
KEY_HINT_ANNOTATION = "sealer.dev/sealing-key"
# Also ours: `sealer reconcile` sets it to the time of asking; sealer's controller then syncs that
# SealedSecret fully once per value (Bitnami's ignores metadata-only changes, and so this one).
RECONCILE_ANNOTATION = "sealer.dev/reconcile-requested-at"


class Scope(enum.Enum):
    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f'invalid scope "{text}": must be one of: {choices}') from None

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, object] | None) -> Scope:
        """Cluster-wide wins over namespace-wide; only the exact string "true" counts."""
        if not isinstance(annotations, Mapping):
            return cls.STRICT
        if annotations.get(CLUSTER_WIDE_ANNOTATION) == "true":
            return cls.CLUSTER_WIDE
        if annotations.get(NAMESPACE_WIDE_ANNOTATION) == "true":
            return cls.NAMESPACE_WIDE
        return cls.STRICT

    def annotations(self) -> dict[str, str]:
        """The annotations that record this scope (none for strict)."""
        if self is Scope.CLUSTER_WIDE:
            return {CLUSTER_WIDE_ANNOTATION: "true"}
        if self is Scope.NAMESPACE_WIDE:
            return {NAMESPACE_WIDE_ANNOTATION: "true"}
        return {}


def with_scope_annotations(annotations: Mapping[str, str] | None, scope: Scope) -> dict[str, str]:
    """``annotations`` with the scope annotations replaced by those of ``scope``."""
    out = {
        k: v
        for k, v in (annotations if isinstance(annotations, Mapping) else {}).items()
        if k not in (NAMESPACE_WIDE_ANNOTATION, CLUSTER_WIDE_ANNOTATION)
    }
    out.update(scope.annotations())
    return out

"""Opening SealedSecrets back into Secrets (offline recovery, and the controller's decryption)."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from typing import Any

from sealer.core import crypto
from sealer.core.errors import UnsealError
from sealer.core.keyset import Opener
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope
from sealer.core.sealing import check_sealed_secret, go_field_order, split_hint


@dataclass(frozen=True)
class Target:
    """Where a SealedSecret's values may be opened: derived from its own metadata, never the template."""

    name: str
    namespace: str
    scope: Scope
    hints: tuple[str, ...]

    @classmethod
    def of(cls, sealed: dict[str, Any]) -> Target:
        meta = sealed.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        return cls(
            meta.get("name", ""),
            meta.get("namespace") or "",
            Scope.from_annotations(annotations),
            tuple(split_hint(annotations.get(KEY_HINT_ANNOTATION))),
        )

    @property
    def label(self) -> bytes:
        return crypto.encryption_label(self.scope, self.namespace, self.name)


def open_items(sealed: dict[str, Any], keys: Opener, index: int = 1, *, fail_fast: bool = False) -> dict[str, bytes]:
    """Decrypt every ``spec.encryptedData`` item. All or nothing: one failure fails the whole.
    ``fail_fast``: stop at the first item that does not open (each costs up to one private-key
    operation per key), for callers that need only yes or no, not the list of failed items."""
    check_sealed_secret(sealed, index)
    spec = sealed["spec"]
    if spec.get("data") and spec.get("encryptedData"):
        raise UnsealError("cannot use the field 'encryptedData' and the deprecated field 'data' at the same time")
    if spec.get("data"):
        raise UnsealError("field spec.data: using deprecated 'data' field, use 'encryptedData'")
    target = Target.of(sealed)
    opened: dict[str, bytes] = {}
    undecryptable: list[str] = []
    malformed: list[str] = []
    for key, text in spec["encryptedData"].items():
        try:
            opened[key] = keys.open(crypto.decode(text), target.label, target.hints)
        except crypto.UndecryptableError:
            undecryptable.append(key)
        except crypto.SealedValueError as e:
            malformed.append(f"{key}: {e}")
        if fail_fast and (malformed or undecryptable):
            break
    if malformed or undecryptable:
        parts = []
        if malformed:
            parts.append("malformed sealed value in spec.encryptedData (" + "; ".join(malformed) + ")")
        if undecryptable:
            parts.append(f"no key could decrypt secret ({', '.join(undecryptable)})")
        raise UnsealError("; ".join(parts))
    return opened


def render_template_data(template_data: dict[str, Any], items: dict[str, bytes]) -> dict[str, bytes]:
    """``spec.template.data``: Go templates over the opened items (``{{ .key }}``), as Bitnami's
    controller renders them."""
    from sealer import template  # only SealedSecrets with templates pay for the engine

    if not isinstance(template_data, dict):
        raise UnsealError("spec.template.data must be a map of strings")
    # Go's map[string]string holds arbitrary bytes; surrogateescape carries them through str.
    values = {k: v.decode("utf-8", "surrogateescape") for k, v in items.items()}
    out = {}
    budget = template.Budget()  # one for all keys: the limits hold per SealedSecret
    for key, text in sorted(template_data.items()):
        try:
            out[key] = template.render(str(text), values, budget).encode("utf-8", "surrogateescape")
        except template.TemplateError as e:
            raise UnsealError(f"template data.{key}: {e}") from None
    return out


def secret_from_items(sealed: dict[str, Any], items: dict[str, bytes]) -> dict[str, Any]:
    """The Secret a SealedSecret describes, given its opened items and rendered template data."""
    template = sealed["spec"].get("template") or {}
    metadata = copy.deepcopy(template.get("metadata") or {})
    metadata["name"] = sealed["metadata"]["name"]
    namespace = sealed["metadata"].get("namespace")
    if namespace:
        metadata["namespace"] = namespace
    # Go's field order for a Secret, so JSON output matches kubeseal's.
    secret: dict[str, Any] = {"kind": "Secret", "apiVersion": "v1", "metadata": go_field_order(metadata)}
    if template.get("immutable") is not None:
        secret["immutable"] = template["immutable"]
    secret["data"] = {k: base64.b64encode(v).decode("ascii") for k, v in sorted(items.items())}
    if template.get("type"):
        secret["type"] = template["type"]
    return secret


def opened_data(sealed: dict[str, Any], keys: Opener, index: int = 1) -> dict[str, bytes]:
    """The Secret's data a SealedSecret describes: its opened items, then its rendered
    ``spec.template.data`` (a template key wins over an item of the same name)."""
    items = open_items(sealed, keys, index)
    template_data = (sealed["spec"].get("template") or {}).get("data")
    if template_data:
        items = {**items, **render_template_data(template_data, items)}
    return items


def unseal(sealed: dict[str, Any], keys: Opener, index: int = 1) -> dict[str, Any]:
    """The Secret a SealedSecret describes, as the controller would make it (template data too)."""
    return secret_from_items(sealed, opened_data(sealed, keys, index))

"""The Secret rules: plaintext values, key backups, and private keys in any other object."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sealer.core import escrow_format
from sealer.hooks import pem
from sealer.hooks.documents import FieldPath, annotations_of, display_name, field_text, metadata

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
TLS_TYPE = "kubernetes.io/tls"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Cheap pre-parse check: a document is a Secret (or a List that may hold Secrets) only if this
# matches; "\b" keeps SealedSecret, ExternalSecret and SecretStore out.
SECRET_KIND = re.compile(rb"""kind['"]?\s*:\s*['"]?(?:Secret|[A-Za-z]*List)\b""")
_SECRET_KIND_TEXT = re.compile(SECRET_KIND.pattern.decode())
ESCROW_MARK = escrow_format.ESCROW_LABEL.encode()  # an escrow object's label or data.format
_SECRET = re.compile(rb"""kind['"]?\s*:\s*['"]?Secret\b""")
_DATA = re.compile(rb"""\b(?:data|stringData)['"]?\s*:""")


def looks_like_secret_with_data(data: bytes) -> bool:
    """For a file that does not parse: could it be a Secret with values?"""
    return _SECRET.search(data) is not None and _DATA.search(data) is not None


def could_hold_secrets(text: str) -> bool:
    """For a document with duplicate keys: could it be (or hold) a Secret or a key backup? Asked
    of its source text, since the parsed view has lost whatever the duplicates replaced (a
    ``kind: Secret`` among them)."""
    return _SECRET_KIND_TEXT.search(text) is not None


def duplicate_message(who: str, field: FieldPath, line: int, first: int) -> str:
    where = "" if not line else f" (line {line})" if first in (0, line) else f" (lines {first} and {line})"
    return (
        f"{who}: {field_text(field)} is given twice{where}; parsers keep only the last, so what the "
        "first holds is never checked, but Git keeps it"
    )


# Values that are filled in later, not secrets: Helm/Go templates anywhere in the value, and whole
# values that are a ${VAR} (Flux post-build substitution, envsubst) or <path:...> placeholder
# (argocd-vault-plugin).
_PLACEHOLDER = re.compile(r"\{\{.*\}\}|^\$\{[A-Za-z_][A-Za-z0-9_]*\}$|^<[^<>\n]+>$", re.S)


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and _PLACEHOLDER.search(value.strip()) is not None


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == {} or value == []


Hit = tuple[str, FieldPath, str]  # (rule id, field path inside the object, message)


def check_object(obj: dict[str, Any], *, look_for_keys: bool) -> Iterator[Hit]:
    """``look_for_keys``: whether the file passed ``pem.worth_looking`` (walking every value of
    every object costs time a file without key-like bytes does not need)."""
    if obj.get("kind") == "Secret":
        yield from _check_secret(obj, look_for_keys)
        return
    if obj.get("kind") == "ConfigMap" and escrow_format.is_escrow(obj):
        # Escrow objects pass (their shares are sealed), as long as they are only what the
        # controller writes: a share that is no sealed value may be a key in disguise (its DER).
        for problem in escrow_format.problems(obj):
            yield "escrow-malformed", ("data",), f'escrow object "{display_name(obj)}": {problem}'
    if look_for_keys:
        yield from _private_keys(obj, skip=())


def _check_secret(obj: dict[str, Any], look_for_keys: bool) -> Iterator[Hit]:
    who = f'Secret "{display_name(obj)}"'
    backup = _key_backup(obj)
    if backup is not None:
        key_field, why = backup
        yield (
            "sealing-key-backup",
            key_field,
            (
                f"{who} is a {why}: its {'.'.join(key_field)} is a private key (anyone with this file can open "
                "everything sealed for it); keep it out of Git"
            ),
        )
    else:
        for field in ("data", "stringData"):
            yield from _plaintext_items(obj, field, who)
    yield from _last_applied(obj, who)
    if look_for_keys:
        # Anywhere else in a Secret (an annotation, say), a private key is still a private key.
        yield from _private_keys(obj, skip=("data", "stringData"))


def _plaintext_items(obj: dict[str, Any], field: str, who: str) -> Iterator[Hit]:
    items = obj.get(field)
    if _is_empty(items):
        return
    if not isinstance(items, dict):
        yield "plaintext-secret", (field,), f"{who} has plaintext {field}"
        return
    for key, value in items.items():
        if _is_empty(value) or is_placeholder(value):
            continue
        raw = pem.decode_base64(value) if field == "data" else _raw(value)
        if (raw is not None and pem.is_private_key_pem(raw)) or (
            field == "stringData" and raw is not None and pem.scan_text(raw.decode("utf-8", "surrogatepass"))
        ):
            yield "private-key", (field, key), f"{who} has a private key in {field}.{key}"
        else:
            yield "plaintext-secret", (field, key), f"{who} has plaintext {field}.{key}"


def _raw(value: object) -> bytes | None:
    """A stringData value's bytes; None for a map or list (not a value Kubernetes takes, and
    str() of one nested deeply enough would overflow Python's stack)."""
    return None if isinstance(value, (dict, list)) else str(value).encode("utf-8", "surrogatepass")


def _key_backup(obj: dict[str, Any]) -> tuple[tuple[str, str], str] | None:
    """(field of the key, what kind of backup) if the Secret is a key Secret with its key."""
    for field in ("stringData", "data"):
        items = obj.get(field)
        if not isinstance(items, dict) or _is_empty(items.get("tls.key")):
            continue
        labels = metadata(obj).get("labels")
        if obj.get("type") == TLS_TYPE and isinstance(labels, dict) and KEY_LABEL in labels:
            return (field, "tls.key"), "sealed-secrets key backup"
        value = items["tls.key"]
        raw = pem.decode_base64(value) if field == "data" else _raw(value)
        if raw is not None and pem.is_private_key_pem(raw):
            return (field, "tls.key"), "key Secret (a sealing-key or TLS key backup)"
    return None


def _last_applied(obj: dict[str, Any], who: str) -> Iterator[Hit]:
    # `kubectl apply` keeps the whole applied object, data included, in this annotation: a Secret
    # exported from a cluster may have its data removed and still carry it here.
    text = annotations_of(obj).get(_LAST_APPLIED)
    if not isinstance(text, str) or "ata" not in text:
        return
    import json

    repeated: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            repeated.append("")
        return obj

    try:
        applied = json.loads(text, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return
    if not isinstance(applied, dict):
        return
    if repeated:  # the last of each key is all json.loads returns: what the others hold goes unseen
        yield (
            "duplicate-key",
            ("metadata", "annotations", _LAST_APPLIED),
            (
                f"{who} has a key given twice in its {_LAST_APPLIED} annotation; parsers keep only the last, "
                "so what the first holds is never checked, but Git keeps it"
            ),
        )
        return
    for field in ("data", "stringData"):
        items = applied.get(field)
        if not _is_empty(items) and not (isinstance(items, dict) and all(_is_empty(v) for v in items.values())):
            yield (
                "plaintext-secret",
                ("metadata", "annotations", _LAST_APPLIED),
                (f"{who} has plaintext {field} in its {_LAST_APPLIED} annotation"),
            )
            return


def _private_keys(obj: dict[str, Any], *, skip: tuple[str, ...]) -> Iterator[Hit]:
    """Every string value of the object, except its top-level fields named in ``skip``."""
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "object"
    who = f'{kind} "{display_name(obj)}"'
    stack: list[tuple[Any, FieldPath]] = [(v, (k,)) for k, v in obj.items() if k not in skip]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            what = pem.scan_text(value)
            if what:
                shown = ".".join(map(str, where)) or "itself"
                yield "private-key", where, f"{who} has a {what} in {shown}"
        elif isinstance(value, dict):
            stack.extend((v, (*where, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(value))

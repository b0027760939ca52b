"""Reviewable diffs of SealedSecrets (``sealer diff``): what a change does, never a value. Pure.

A ciphertext changes whenever an item is re-sealed (fresh randomness), so a plain diff of two
SealedSecrets is a wall of base64. Here every document becomes a short description (its identity,
scope, key hint, template, and per item a digest of its ciphertext), which Git can diff as text
(textconv), and two of them become a summary: items added, removed or re-sealed, scope, key and
template changes.

With private keys, each item's plaintext is also described, by a *keyed* digest: HMAC-SHA256
under a key derived (HKDF) from the private keys given, so the same keys give the same digests in
every run (Git runs a textconv once per side) and nobody without them can test guesses against a
digest (a plain hash of a short password could be brute-forced by anyone who reads the diff).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sealer.core import crypto
from sealer.core.keyset import KeySet
from sealer.core.manifests import Document
from sealer.core.sealing import KIND
from sealer.core.unsealing import Target

DIGEST_BYTES = 9  # 12 base64 characters: enough to tell values apart, too short to matter otherwise
# Items opened per run: each costs up to one RSA operation per key given (~2 ms at 4096 bits), and a
# file under review may come from anyone (a pull request): the rest are described, not opened.
MAX_OPENED_ITEMS = 5000


def digest_key(keys: Sequence[rsa.RSAPrivateKey]) -> bytes:
    """The HMAC key of the value digests: from every private key given (ordered by fingerprint, so
    the order of the flags does not matter); only their holders can compute or check a digest."""
    material = b"".join(_exponent(k) for k in sorted(keys, key=lambda k: crypto.fingerprint(k.public_key())))
    return HKDF(hashes.SHA256(), 32, salt=b"sealer.dev/diff", info=b"value digest v1").derive(material)


def _exponent(key: rsa.RSAPrivateKey) -> bytes:
    d = key.private_numbers().d
    return d.to_bytes((d.bit_length() + 7) // 8, "big")


def _short(mac: bytes) -> str:
    return base64.urlsafe_b64encode(mac[:DIGEST_BYTES]).decode("ascii")


@dataclass(frozen=True)
class Item:
    sealed: str  # digest of the ciphertext (public data): changes whenever the item is re-sealed
    value: str | None = None  # keyed digest of the plaintext; None: no keys given
    opened_by: str | None = None
    problem: str | None = None  # why the value could not be opened


@dataclass(frozen=True)
class Described:
    """One document of a file, as the diff sees it."""

    id: str  # "SealedSecret ns/name", or "document N (kind X)" for anything else
    sealed: bool
    scope: str = ""
    hints: tuple[str, ...] = ()
    template: dict[str, str] = field(default_factory=dict)  # "type", "labels.x", "data.y": their text
    items: dict[str, Item] = field(default_factory=dict)


class _Budget:
    def __init__(self, items: int) -> None:
        self.left = items


def describe(
    docs: Sequence[Document],
    keys: KeySet | None = None,
    mac_key: bytes | None = None,
    max_opened: int = MAX_OPENED_ITEMS,
) -> list[Described]:
    budget = _Budget(max_opened)
    return [_describe(d, keys, mac_key, budget) for d in docs]


def _describe(doc: Document, keys: KeySet | None, mac_key: bytes | None, budget: _Budget) -> Described:
    body = doc.body
    kind = body.get("kind") if isinstance(body, dict) else None
    spec = body.get("spec") if isinstance(body, dict) else None
    if kind != KIND or not isinstance(spec, dict):
        # Not shown: a plaintext Secret committed by mistake must not reach the reviewer's screen from here.
        return Described(f"document {doc.index} (kind {_safe(kind) if isinstance(kind, str) else '?'})", False)
    assert isinstance(body, dict)
    target = Target.of(body)
    ident = f"SealedSecret {_safe(target.namespace) or '(no namespace)'}/{_safe(target.name) or '(no name)'}"
    items = {}
    encrypted = _map(spec.get("encryptedData"))
    for name, text in sorted(encrypted.items()):
        items[_safe(name)] = _item(str(text), target, keys, mac_key, budget)
    hints = tuple(_safe(h) for h in target.hints)
    return Described(ident, True, target.scope.value, hints, _template(spec.get("template")), items)


def _item(text: str, target: Target, keys: KeySet | None, mac_key: bytes | None, budget: _Budget) -> Item:
    sealed = _short(hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest())
    if keys is None or mac_key is None:
        return Item(sealed)
    if budget.left <= 0:
        return Item(sealed, problem=f"over the limit of {MAX_OPENED_ITEMS} items opened per run")
    budget.left -= 1
    try:
        value = keys.open(crypto.decode(text), target.label, target.hints)
    except crypto.UndecryptableError:
        return Item(sealed, problem="no key given opens it")
    except (crypto.SealedValueError, ValueError) as e:
        return Item(sealed, problem=f"malformed ({' '.join(str(e).split())})")
    mac = hmac.new(mac_key, b"value\0" + value, hashlib.sha256).digest()
    return Item(sealed, _short(mac), keys.last_opened_by)


def _template(template: object) -> dict[str, str]:
    """The template's fields as text (all of it is in the file in clear: nothing sealed is shown)."""
    if not isinstance(template, dict):
        return {}
    out: dict[str, str] = {}
    for key in ("type", "immutable"):
        if key in template:
            out[key] = json.dumps(template[key])
    meta = _map(template.get("metadata"))
    for part in ("labels", "annotations"):
        for k, v in sorted(_map(meta.get(part)).items()):
            out[f"{part}.{_safe(k)}"] = json.dumps(v)
    for k, v in sorted(_map(template.get("data")).items()):
        out[f"data.{_safe(k)}"] = json.dumps(v)
    return out


_PLAIN = re.compile(r"[-._a-zA-Z0-9/:+=]*")


def _safe(text: object) -> str:
    """Names from the file as they are when plain, else JSON-quoted: a name with a newline or a
    terminal escape must not forge lines of the diff or reach the reviewer's terminal (and a name
    that YAML read as something else, `namespace: y`, shows as what it is)."""
    return text if isinstance(text, str) and _PLAIN.fullmatch(text) else json.dumps(text, default=str)


def _map(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def textconv(described: Sequence[Described]) -> str:
    """A stable text per file for Git to diff: one line per fact, so a changed fact is a changed line."""
    lines = []
    for d in described:
        lines.append(d.id if d.sealed else f"{d.id}: not a SealedSecret (not shown)")
        if not d.sealed:
            continue
        lines.append(f"  scope: {d.scope}")
        lines.append(f"  sealed for: {', '.join(d.hints) or '(no key hint)'}")
        lines.extend(f"  template {k}: {v}" for k, v in d.template.items())
        lines.extend(f"  item {name}: {_item_text(item)}" for name, item in d.items.items())
    return "".join(line + "\n" for line in lines)


def _item_text(item: Item) -> str:
    text = f"sealed {item.sealed}"
    if item.problem is not None:
        return f"{text}, value not opened ({item.problem})"
    if item.value is not None:
        text += f", value {item.value}" + (f" (opened by {item.opened_by})" if item.opened_by else "")
    return text


def compare(old: Sequence[Described], new: Sequence[Described]) -> list[str]:
    """What changed between two versions of a file, document by document (matched by identity)."""
    before, after = {d.id: d for d in old}, {d.id: d for d in new}
    lines = []
    for ident in [*before, *(i for i in after if i not in before)]:
        a, b = before.get(ident), after.get(ident)
        if a is None and b is not None:
            lines.append(f"{ident}: added" + (f" ({_count(b)})" if b.sealed else ""))
            lines.extend(f"  + item {name}" for name in b.items)
        elif b is None and a is not None:
            lines.append(f"{ident}: removed")
        elif a is not None and b is not None:
            changes = _changes(a, b)
            if changes:
                lines.append(f"{ident}: changed")
                lines.extend(f"  {c}" for c in changes)
    return lines


def _count(d: Described) -> str:
    return f"{len(d.items)} item{'s' if len(d.items) != 1 else ''}"


def _changes(a: Described, b: Described) -> list[str]:
    out = []
    if a.scope != b.scope:
        out.append(f"scope: {a.scope} -> {b.scope}")
    if a.hints != b.hints:
        out.append(f"key: {', '.join(a.hints) or '(no hint)'} -> {', '.join(b.hints) or '(no hint)'}")
    for k in sorted(set(a.template) | set(b.template)):
        if k not in a.template:
            out.append(f"template {k}: added")
        elif k not in b.template:
            out.append(f"template {k}: removed")
        elif a.template[k] != b.template[k]:
            out.append(f"template {k}: changed")
    for name in sorted(set(a.items) | set(b.items)):
        old, new = a.items.get(name), b.items.get(name)
        if old is None:
            out.append(f"+ item {name}")
        elif new is None:
            out.append(f"- item {name}")
        elif old.sealed != new.sealed:
            out.append(f"~ item {name}: re-sealed, {_value_change(old, new)}")
    return out


def _value_change(old: Item, new: Item) -> str:
    if old.value is None or new.value is None:
        problem = old.problem or new.problem
        return f"value not compared ({problem})" if problem else "value not compared (no private key given)"
    if old.value == new.value:
        return "value unchanged" + (f" (now for {new.opened_by})" if new.opened_by != old.opened_by else "")
    return "value changed"

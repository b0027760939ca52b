"""What is sealed for which key, and whether a key can be retired (``sealer keys usage``,
``sealer keys retire``). Pure: SealedSecrets and keys in, a report out; the sources (files, a
cluster) are keys/usage_sources.py's.

A SealedSecret is attributed to keys by the best evidence at hand, in this order:

- ``trial``: a local private key opens the item (exact, per item);
- ``record``: the controller's record of the keys that opened it (keys/opened_by.py), while the
  SealedSecret has not changed since (per SealedSecret: exact when one key opened it all);
- ``hint``: the ``sealer.dev/sealing-key`` annotation sealer writes when it seals (per
  SealedSecret, and only a hint: another tool may have changed the values since).

What none of them attributes is *unattributed*: it may be sealed for any key, so while there is any,
no key is reported retirable (a retirement would be a guess).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keys.errors import KeyStoreError
from keys.opened_by import key_id, opened_by
from sealer.core import crypto
from sealer.core.keyset import KeySet
from sealer.core.unsealing import Target

TRIAL, RECORD, HINT = "trial", "record", "hint"


@dataclass(frozen=True)
class KnownKey:
    """A key the report is about; dates and label when the source knows them."""

    fingerprint: str  # "SHA256:...", or only a key id when nothing names the full fingerprint
    name: str = ""
    not_before: str = ""
    not_after: str = ""
    status: str = ""  # the key Secret's label (active, retired...); "" for a local key file
    sealing: bool = False
    retired_at: str | None = None

    @property
    def key_id(self) -> str:
        return key_id(self.fingerprint)


@dataclass(frozen=True)
class Use:
    """Items of one SealedSecret sealed for ``keys`` (one key: exactly; several: for one of them)."""

    source: str  # a file (with its document number) or "cluster"
    namespace: str
    name: str
    items: tuple[str, ...]
    keys: tuple[str, ...]  # fingerprints or key ids
    how: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "namespace": self.namespace,
            "name": self.name,
            "items": list(self.items),
            "how": self.how,
            "exact": len(self.keys) == 1,
        }


@dataclass(frozen=True)
class Unattributed:
    source: str
    namespace: str
    name: str
    items: tuple[str, ...]
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "namespace": self.namespace,
            "name": self.name,
            "items": list(self.items),
            "why": self.why,
        }


@dataclass
class Findings:
    uses: list[Use] = field(default_factory=list)
    unattributed: list[Unattributed] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.uses.extend(other.uses)
        self.unattributed.extend(other.unattributed)


def attribute(
    sealed: dict[str, Any], source: str, *, keyset: KeySet | None = None, use_record: bool = False
) -> Findings:
    """The keys ``sealed`` (a checked SealedSecret) is sealed for, by trial with ``keyset``, by the
    controller's record (``use_record``: a cluster's object), else by its key hint."""
    meta = sealed.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    items = dict((sealed.get("spec") or {}).get("encryptedData") or {})
    found = Findings()
    if keyset is not None and len(keyset) and items:
        target = Target.of(sealed)
        by_key: dict[str, list[str]] = {}
        for item, text in sorted(items.items()):
            try:
                keyset.open(crypto.decode(text), target.label, target.hints)  # the plaintext is dropped at once
            except crypto.SealedValueError:
                continue
            fp = keyset.last_opened_by
            assert fp is not None  # set by the successful open
            by_key.setdefault(fp, []).append(item)
            del items[item]
        for fp, opened in by_key.items():
            found.uses.append(Use(source, namespace, name, tuple(opened), (fp,), TRIAL))
    if not items:
        return found
    rest = tuple(sorted(items))
    record = opened_by(sealed) if use_record else None
    hints = tuple(dict.fromkeys(Target.of(sealed).hints))
    if record is not None and record.current:
        found.uses.append(Use(source, namespace, name, rest, record.key_ids, RECORD))
    elif hints:
        found.uses.append(Use(source, namespace, name, rest, hints, HINT))
    else:
        why = "no key hint"
        if use_record:
            why = "changed since the controller's record" if record is not None else "no record of the controller yet"
            why += ", no key hint"
        if keyset is not None:
            why += ", and no local key opens it"
        found.unattributed.append(Unattributed(source, namespace, name, rest, why))
    return found


def _matches(key: KnownKey, ref: str) -> bool:
    return key_id(ref) == key.key_id


def report(known: Sequence[KnownKey], found: Findings) -> dict[str, Any]:
    """The report (the JSON of ``sealer keys usage -o json``): each key, oldest first, with what is
    sealed for it and whether it may be retired; then what could not be attributed."""
    keys = list(known)
    for use in found.uses:  # keys that only the SealedSecrets name (not in the cluster, not local)
        for ref in use.keys:
            if not any(_matches(k, ref) for k in keys):
                keys.append(KnownKey(ref, status="unknown"))
    rows = []
    for key in keys:
        uses = [u for u in found.uses if any(_matches(key, ref) for ref in u.keys)]
        if uses:
            why = f"{len(uses)} SealedSecret(s) sealed for it"
        elif found.unattributed:
            why = f"{len(found.unattributed)} SealedSecret(s) could not be attributed to a key"
        elif key.sealing:
            why = "it is the sealing key: rotate first"
        else:
            why = "nothing is sealed for it"
        rows.append(
            {
                "fingerprint": key.fingerprint,
                "keyId": key.key_id,
                "name": key.name,
                "notBefore": key.not_before,
                "notAfter": key.not_after,
                "status": key.status,
                "active": key.status == "active",
                "sealing": key.sealing,
                **({"retiredAt": key.retired_at} if key.retired_at else {}),
                "sealedSecrets": [u.to_json() for u in uses],
                "items": sum(len(u.items) for u in uses),
                "retirable": not uses and not found.unattributed and not key.sealing,
                "why": why,
            }
        )
    return {"keys": rows, "unattributed": [u.to_json() for u in found.unattributed]}


def uses_of(fingerprint: str, found: Findings) -> list[Use]:
    return [u for u in found.uses if any(key_id(ref) == key_id(fingerprint) for ref in u.keys)]


def find_key(text: str, fingerprints: Iterable[str], where: str) -> str:
    """The one fingerprint ``text`` names: whole (``SHA256:...``), or a prefix of it with or without
    ``SHA256:`` (a key id is one). One-line errors for none and for several."""
    wanted = text.strip().removeprefix("SHA256:")
    if not wanted:
        raise KeyStoreError("give the fingerprint of the key (sealer keys list shows them)")
    candidates = sorted({fp for fp in fingerprints if fp.removeprefix("SHA256:").startswith(wanted)})
    if not candidates:
        raise KeyStoreError(f"no key {text} in {where} (sealer keys list shows the keys)")
    if len(candidates) > 1:
        raise KeyStoreError(f"{text} is ambiguous in {where}: it begins {', '.join(candidates)}; give more of it")
    return candidates[0]


def borrow_records(
    in_files: Findings, bodies: dict[str, dict[str, Any]], listed: list[dict[str, Any]], cluster: Findings
) -> None:
    """A file's SealedSecret that neither trial nor hint attributes (kubeseal writes no hint) takes
    the controller's record of the cluster's object of the same name when their ciphertexts are
    identical: then it is the very same sealing. ``bodies``: the files' SealedSecrets by source."""
    by_name = {
        ((o.get("metadata") or {}).get("namespace") or "", (o.get("metadata") or {}).get("name") or ""): o
        for o in listed
    }
    for u in list(in_files.unattributed):
        body, twin = bodies.get(u.source), by_name.get((u.namespace, u.name))
        if body is None or twin is None:
            continue
        if (body.get("spec") or {}).get("encryptedData") != (twin.get("spec") or {}).get("encryptedData"):
            continue
        recorded = [c for c in cluster.uses if (c.namespace, c.name) == (u.namespace, u.name)]
        if recorded:
            in_files.unattributed.remove(u)
            in_files.uses.extend(Use(u.source, u.namespace, u.name, c.items, c.keys, c.how) for c in recorded)

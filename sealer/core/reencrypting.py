"""Re-sealing SealedSecrets offline for another certificate (``sealer reencrypt``; docs/fleets.md).

Pure: the caller reads the files, holds the private keys (a KeySet) and the target certificate,
and writes the result. For each item of ``spec.encryptedData`` the plan says whether it moves:

- by default, every item that is not sealed for the target already: the item is opened with the
  local keys, and the key that opens it says whom it was sealed for. An item no local key opens
  stays as it is when the SealedSecret's key hint names the target and the target's private key
  is not at hand (it is sealed for the target, as far as anyone here can tell); otherwise the
  SealedSecret cannot be re-encrypted;
- with ``from_key``, only the items that key opens (nothing else is tried).

A moved item is sealed with the label it had (its scope, name and namespace from the
SealedSecret's own metadata), in the hybrid format when the target asks for it (``pq``) or when it
was hybrid already: an item is never downgraded from post-quantum to classic. Nothing else of the
SealedSecret changes but its key-hint annotation, which names the keys its items are sealed for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from sealer.core import crypto
from sealer.core.errors import UnsealError
from sealer.core.keyset import KeySet
from sealer.core.sealing import check_sealed_secret
from sealer.core.unsealing import Target

if TYPE_CHECKING:
    from sealer.core.certs import Certificate


class Plan(NamedTuple):
    """What happens to one SealedSecret: the new sealed value of each moved item, the keys the
    moved items were sealed for, and the key hint it should carry (None: no change)."""

    name: str  # namespace/name, for messages
    moved: dict[str, str]
    moved_from: dict[str, str | None]
    hint: str | None


def plan(
    body: dict[str, Any],
    keys: KeySet,
    target: Certificate,
    *,
    pq: bool = False,
    from_key: str | None = None,
) -> Plan:
    """The re-encryption of one SealedSecret for ``target``. Raises UnsealError (value-free) when
    an item that must move cannot be opened, or would lose its post-quantum format."""
    check_sealed_secret(body)
    spec = body["spec"]
    if spec.get("data"):
        raise UnsealError("uses the deprecated spec.data field; re-seal it with sealer seal")
    where = Target.of(body)
    label = where.label
    meta = body.get("metadata") or {}
    name = f"{meta.get('namespace') or ''}/{meta.get('name')}"
    moved: dict[str, str] = {}
    moved_from: dict[str, str | None] = {}
    kept_for: list[str] = []  # the keys the items that stay are known to be sealed for
    unknown_kept = False
    undecryptable: list[str] = []
    malformed: list[str] = []
    for key, text in spec["encryptedData"].items():
        try:
            blob = crypto.decode(text)
            crypto.parse(blob)
        except crypto.SealedValueError as e:
            malformed.append(f"{key}: {e}")
            continue
        if from_key is not None:
            plaintext = _open_with(keys, from_key, blob, label)
            if plaintext is None:
                unknown_kept = True
                continue
            opener: str | None = from_key
        else:
            try:
                plaintext = keys.open(blob, label, (target.fingerprint, *where.hints))
            except crypto.UndecryptableError:
                if target.fingerprint not in keys and target.fingerprint in where.hints:
                    kept_for.append(target.fingerprint)
                    continue
                undecryptable.append(key)
                continue
            except crypto.SealedValueError as e:
                malformed.append(f"{key}: {e}")
                continue
            opener = keys.last_opened_by
            if opener == target.fingerprint:
                kept_for.append(opener)
                continue
        hybrid = pq or crypto.is_hybrid(blob)
        if hybrid and target.mlkem_public is None:
            raise UnsealError(
                f"item {key} is sealed in the post-quantum format, and the target certificate has no "
                "ML-KEM-768 public key: it would be downgraded to classic"
            )
        if hybrid:
            sealed = crypto.seal_hybrid(target.public_key, target.mlkem_public, plaintext, label)
        else:
            sealed = crypto.seal(target.public_key, plaintext, label)
        moved[key] = crypto.encode(sealed)
        moved_from[key] = opener
    if malformed or undecryptable:
        parts = []
        if malformed:
            parts.append("malformed sealed value in spec.encryptedData (" + "; ".join(malformed) + ")")
        if undecryptable:
            parts.append(f"no local key opens {', '.join(undecryptable)}")
        raise UnsealError("; ".join(parts))
    hint = None
    if moved:
        hints = [target.fingerprint, *kept_for]
        if unknown_kept:
            # Items that stayed and were not opened: sealed for one of the keys the hint named.
            hints.extend(h for h in where.hints if h != from_key)
        hint = ",".join(dict.fromkeys(hints))
    return Plan(name, moved, moved_from, hint)


def _open_with(keys: KeySet, fingerprint: str, blob: bytes, label: bytes) -> bytes | None:
    """The plaintext if the key ``fingerprint`` opens ``blob``, else None."""
    for fp, private_key in keys.in_order((fingerprint,)):
        if fp != fingerprint:
            break
        try:
            return crypto.open_sealed(private_key, blob, label, keys.mlkem_key(fp))
        except crypto.UndecryptableError:
            return None
    return None

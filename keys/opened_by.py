"""Which keys opened a SealedSecret, as the controller records it: a stable, value-free reading.

Our controller keeps, in each SealedSecret's ``SecretInSync`` condition, the keys that opened its
values (controller/record.py writes it; docs/controller.md describes it):

    message: Secret verified at resourceVersion 4711; record v1 keys=3f9a1c2b4d5e,8b0d... state=... check=...

A key id is the first 12 characters of the base64 part of the key's fingerprint (``SHA256:<base64>``):
72 bits, enough to find the key among a cluster's, and public like the fingerprint itself. Anyone who
may read SealedSecrets may read this (``sealer keys usage`` does), without a private key and without
reading any Secret. The record is the controller's word as of its last sync: it counts only while
the SealedSecret has not changed since (``observedGeneration`` equals ``generation``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CONDITION = "SecretInSync"
VERSION = "v1"
KEY_ID_CHARS = 12  # of the base64 part of "SHA256:<base64>": 72 bits, only to find the key again

MESSAGE = re.compile(
    r"resourceVersion (?P<rv>\S+); record v1 keys=(?P<keys>[A-Za-z0-9+/,]+) "
    r"state=(?P<state>[A-Za-z0-9_-]+) check=(?P<check>[A-Za-z0-9_-]+)$"
)


def key_id(fingerprint: str) -> str:
    """The short id the record names a key by."""
    return fingerprint.removeprefix("SHA256:")[:KEY_ID_CHARS]


def record_condition(status: object) -> dict[str, Any] | None:
    """The ``SecretInSync`` condition of a status, if any."""
    if not isinstance(status, dict):
        return None
    for c in status.get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == CONDITION:
            return c
    return None


@dataclass(frozen=True)
class OpenedBy:
    key_ids: tuple[str, ...]
    in_sync: bool  # False: the controller reported drift (the keys still opened the values)
    current: bool  # the SealedSecret has not changed since the record was made


def opened_by(sealed: dict[str, Any]) -> OpenedBy | None:
    """The keys the controller recorded for ``sealed`` (None: no record, e.g. never synced, or failed)."""
    condition = record_condition(sealed.get("status"))
    if condition is None:
        return None
    m = MESSAGE.search(str(condition.get("message") or ""))
    if m is None:
        return None
    status = sealed.get("status") or {}
    generation = (sealed.get("metadata") or {}).get("generation")
    current = generation is None or status.get("observedGeneration") == generation
    return OpenedBy(tuple(m["keys"].split(",")), condition.get("status") == "True", current)


def resolve(key_ids: Iterable[str], fingerprints: Iterable[str]) -> dict[str, str | None]:
    """Each key id with the fingerprint it abbreviates (None when none of ``fingerprints`` does)."""
    by_id = {key_id(fp): fp for fp in fingerprints}
    return {kid: by_id.get(kid) for kid in key_ids}

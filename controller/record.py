"""What the controller remembers about each SealedSecret it synced, so that a restart (or a
failover, or a resync) knows without decrypting anything that a Secret is still right.

The record is one condition in the SealedSecret's status (the CRD is Bitnami's field for field, and
the Secret's labels and annotations are the template's, so neither can carry a new field):

    type: SecretInSync   status: "True"   reason: Recorded
    message: Secret verified at resourceVersion 4711; record v1 keys=3f9a1c2b4d5e state=<mac> check=<mac>

- ``resourceVersion``: the Secret's, when the controller last wrote it or read it and found it in
  the sealed state. The API server changes it on every write, so an equal resourceVersion in the
  metadata-only Secret cache means "nobody has touched the Secret since", at no cost.
- ``state``: HMAC of the Secret's *sealed state*: the data keys the SealedSecret sets (every data key
  unless the Secret is ``patch``-annotated, whose extra keys are its own), the type, the template's
  labels and annotations, and whether the SealedSecret owns it. When the resourceVersion differs
  (someone wrote the Secret), one GET and this MAC tell a harmless write (another controller's
  annotation) from drift, still without decrypting.
- ``check``: HMAC binding everything to the SealedSecret's inputs: namespace, name, uid, scope,
  ciphertexts, template, the keys that opened it. A change of spec or scope annotations, a
  SealedSecret deleted and re-created, a forged record: the check fails, and the SealedSecret is
  unsealed again as on a first sync. ``keys`` names (by fingerprint prefix) the keys that opened the
  values: one of them no longer loaded means the keys changed, and it is unsealed again too.

The MACs are keyed with HKDF(private exponent of the first key in ``keys``): only the controller can
make or check them, and they reveal nothing about the values (a plain hash of a short password could
be brute-forced by anyone who may read SealedSecrets; this cannot).

The format of the message and the key ids are keys/opened_by.py's: the CLI reads them there
(``sealer keys usage``, ``sealer keys retire``) without any of the MAC machinery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys.opened_by import CONDITION, KEY_ID_CHARS, MESSAGE, VERSION, key_id, record_condition
from sealer.core.scope import PATCH_ANNOTATION
from sealer.core.unsealing import Target

if TYPE_CHECKING:
    from keys.registry import KeyRegistry

__all__ = ["CONDITION", "KEY_ID_CHARS", "VERSION", "key_id"]  # re-exported: the record's names

RECORDED = "Recorded"
DRIFTED = "Drifted"
MAC_BYTES = 16

# What a SealedSecret needs, by its record and the Secret's cached metadata (RecordKeys.assess):
CURRENT = "current"  # the Secret is as recorded: nothing to do, not even a GET
VERIFY = "verify"  # the inputs are as recorded but the Secret was written since: GET it, compare MACs
FULL = "full"  # no (valid) record, or no Secret: unseal (private-key operations)


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _annotation(obj: dict[str, Any], key: str) -> bool:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key) == "true"


def inputs(sealed: dict[str, Any]) -> bytes:
    """Everything the desired Secret is made from, except the keys (public data: ciphertexts)."""
    meta = sealed.get("metadata") or {}
    spec = sealed.get("spec") or {}
    target = Target.of(sealed)
    return _canonical(
        [
            VERSION,
            meta.get("namespace") or "",
            meta.get("name") or "",
            meta.get("uid") or "",
            target.scope.value,
            spec.get("encryptedData") or {},
            spec.get("data"),
            spec.get("template") or {},
        ]
    )


def sealed_state(sealed: dict[str, Any], secret: dict[str, Any]) -> bytes:
    """The part of ``secret`` that ``sealed`` decides, canonically (plaintext: only ever MACed)."""
    spec = sealed.get("spec") or {}
    template = spec.get("template") or {}
    tmeta = template.get("metadata") or {}
    keys = sorted({*(spec.get("encryptedData") or {}), *(template.get("data") or {})})
    data = secret.get("data") or {}
    smeta = secret.get("metadata") or {}
    patch = _annotation(secret, PATCH_ANNOTATION)
    uid = (sealed.get("metadata") or {}).get("uid")
    owned = any(
        r.get("controller") and r.get("kind") == "SealedSecret" and r.get("uid") == uid
        for r in smeta.get("ownerReferences") or []
    )
    labels, annotations = smeta.get("labels") or {}, smeta.get("annotations") or {}
    return _canonical(
        {
            "data": {k: data.get(k) for k in keys},
            "extra": [] if patch else sorted(set(data) - set(keys)),
            "patch": patch,
            "type": secret.get("type") or "Opaque",
            "labels": {k: labels.get(k) for k in sorted(tmeta.get("labels") or {})},
            "annotations": {k: annotations.get(k) for k in sorted(tmeta.get("annotations") or {})},
            "owned": owned,
        }
    )


@dataclass(frozen=True)
class Record:
    in_sync: bool
    resource_version: str
    keys: tuple[str, ...]  # key ids
    state: str
    check: str

    def message(self) -> str:
        what = "verified" if self.in_sync else "differs from the SealedSecret"
        return (
            f"Secret {what} at resourceVersion {self.resource_version}; record {VERSION} "
            f"keys={','.join(self.keys)} state={self.state} check={self.check}"
        )

    def condition(self) -> tuple[str, bool, str, str]:
        """(type, status, reason, message) for status.next_status."""
        return CONDITION, self.in_sync, RECORDED if self.in_sync else DRIFTED, self.message()


def parse(status: dict[str, Any] | None) -> Record | None:
    c = record_condition(status)
    m = MESSAGE.search(str(c.get("message") or "")) if c is not None else None
    if c is None or m is None:
        return None
    return Record(c.get("status") == "True", m["rv"], tuple(m["keys"].split(",")), m["state"], m["check"])


def _b64(mac: bytes) -> str:
    return base64.urlsafe_b64encode(mac[:MAC_BYTES]).decode("ascii").rstrip("=")


class RecordKeys:
    """The MAC keys, one per controller key pair, derived once (HKDF is cheap; private_numbers is not free)."""

    def __init__(self, registry: KeyRegistry) -> None:  # uses .pairs (.fingerprint, .private_key)
        self.registry = registry
        self._derived: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _key(self, kid: str) -> bytes | None:
        with self._lock:
            cached = self._derived.get(kid)
        if cached is not None:
            return cached
        for pair in self.registry.pairs:
            if key_id(pair.fingerprint) == kid:
                d = pair.private_key.private_numbers().d
                secret = d.to_bytes((d.bit_length() + 7) // 8, "big")
                derived = HKDF(hashes.SHA256(), 32, salt=b"sealer.dev/controller-record", info=VERSION.encode()).derive(
                    secret
                )
                with self._lock:
                    self._derived[kid] = derived
                return derived
        return None

    def loaded(self, kids: Iterable[str]) -> bool:
        loaded = {key_id(fp) for fp in self.registry.fingerprints}
        return all(k in loaded for k in kids)

    def _mac(self, kid: str, *parts: bytes) -> str | None:
        key = self._key(kid)
        if key is None:
            return None
        h = hmac.new(key, digestmod=hashlib.sha256)
        for part in parts:
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return _b64(h.digest())

    def state_mac(self, kid: str, sealed: dict[str, Any], secret: dict[str, Any]) -> str | None:
        return self._mac(kid, b"state", sealed_state(sealed, secret))

    def make(
        self,
        sealed: dict[str, Any],
        secret: dict[str, Any],
        fingerprints: Iterable[str],
        resource_version: str,
        in_sync: bool = True,
    ) -> Record | None:
        """The record of ``secret`` (as written or as found) made from ``sealed`` by the keys ``fingerprints``."""
        kids = tuple(sorted({key_id(fp) for fp in fingerprints}))
        if not kids:
            return None  # nothing was opened (a SealedSecret without items): nothing to key a MAC with
        state = self.state_mac(kids[0], sealed, secret)
        if state is None:
            return None
        return Record(
            in_sync, resource_version, kids, state, self._check(sealed, kids, resource_version, in_sync, state)
        )

    def _check(self, sealed: dict[str, Any], kids: tuple[str, ...], rv: str, in_sync: bool, state: str) -> str:
        mac = self._mac(
            kids[0],
            b"check",
            inputs(sealed),
            ",".join(kids).encode(),
            rv.encode(),
            b"1" if in_sync else b"0",
            state.encode(),
        )
        assert mac is not None  # the caller derived kids[0]'s key a moment ago
        return mac

    def valid(self, sealed: dict[str, Any], record: Record) -> bool:
        """The record is ours, about this very SealedSecret's current inputs, and its keys are loaded."""
        if not record.keys or not self.loaded(record.keys) or self._key(record.keys[0]) is None:
            return False
        expected = self._check(sealed, record.keys, record.resource_version, record.in_sync, record.state)
        return hmac.compare_digest(expected, record.check)

    def matches(self, sealed: dict[str, Any], record: Record, secret: dict[str, Any]) -> bool:
        """The full ``secret`` (read with its data) is in the recorded sealed state."""
        mac = self.state_mac(record.keys[0], sealed, secret)
        return mac is not None and hmac.compare_digest(mac, record.state)

    def refresh(self, sealed: dict[str, Any], record: Record, resource_version: str, in_sync: bool = True) -> Record:
        """The same record, for the Secret at another resourceVersion (found unchanged in its sealed state)."""
        return Record(
            in_sync,
            resource_version,
            record.keys,
            record.state,
            self._check(sealed, record.keys, resource_version, in_sync, record.state),
        )

    def assess(
        self, sealed: dict[str, Any], secret_meta: dict[str, Any] | None, cached: bool
    ) -> tuple[str, Record | None]:
        """``secret_meta``: the Secret's metadata from the cache (None: absent); ``cached``: whether
        there is a synced cache at all (with --skip-recreate there is none)."""
        record = parse(sealed.get("status"))
        if record is None or not self.valid(sealed, record):
            return FULL, None
        if not cached:
            return VERIFY, record
        if secret_meta is None:
            return FULL, record
        current = (secret_meta.get("metadata") or {}).get("resourceVersion")
        return (CURRENT if current == record.resource_version else VERIFY), record

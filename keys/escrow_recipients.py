"""Escrow recipients: the public certificates (people, an offline vault) the controller seals its
private keys for (docs/keys.md, "Key escrow").

They come as one ConfigMap and/or Secret in the controller's namespace (``--escrow-recipients``),
one PEM certificate per data key (``alice.pem: |-----BEGIN CERTIFICATE-----...``), and
optionally a ``threshold`` entry: how many recipients it takes to restore a key (M of N;
default 1: any one of them alone).

Each certificate is checked on its own: parseable, RSA of at least 2048 bits, inside its
validity. A bad one is a one-line problem naming the object, the entry and what is wrong, and
is left out; the others keep working. Pure: the controller and the CLI hand objects in.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from sealer.core import crypto
from sealer.core.errors import SealerError

MIN_RECIPIENT_BITS = 2048
THRESHOLD_ENTRY = "threshold"
MAX_RECIPIENTS = 64
MAX_CERT_BYTES = 64 * 1024


class RecipientError(SealerError):
    """A recipient certificate, or the recipients' threshold, cannot be used."""


@dataclass(frozen=True)
class Recipient:
    """One recipient: where it was given (for messages), its public key and fingerprint."""

    source: str = field(compare=False)
    public_key: rsa.RSAPublicKey = field(repr=False, compare=False)
    fingerprint: str = ""
    not_after: dt.datetime | None = field(default=None, compare=False)

    @property
    def entry_id(self) -> str:
        return recipient_id(self.fingerprint)


def recipient_id(fingerprint: str) -> str:
    """The fingerprint as a ConfigMap data key can spell it: ``SHA256:`` dropped, base64url."""
    return fingerprint.removeprefix("SHA256:").replace("+", "-").replace("/", "_")


def fingerprint_of_id(entry_id: str) -> str:
    return "SHA256:" + entry_id.replace("-", "+").replace("_", "/")


def parse_recipient(pem: bytes, source: str, now: dt.datetime) -> Recipient:
    """The recipient in a PEM certificate, or RecipientError: ``<source>: <problem>``, one line."""
    if len(pem) > MAX_CERT_BYTES:
        raise RecipientError(f"{source}: too large to be a certificate")
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        if b"PRIVATE KEY-----" in pem:
            raise RecipientError(f"{source}: holds a private key, not a certificate (give only the certificate!)")
        raise RecipientError(f"{source}: not a PEM certificate")
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise RecipientError(f"{source}: not a valid PEM certificate") from None
    try:
        key = cert.public_key()
    except Exception:  # noqa: BLE001 - an unsupported algorithm is the input's fault
        raise RecipientError(f"{source}: unsupported public key algorithm; escrow recipients must be RSA") from None
    if not isinstance(key, rsa.RSAPublicKey):
        kind = type(key).__name__.lstrip("_").removesuffix("PublicKey") or "unknown"
        raise RecipientError(f"{source}: not an RSA certificate ({kind}); escrow recipients must be RSA")
    if key.key_size < MIN_RECIPIENT_BITS:
        raise RecipientError(f"{source}: RSA key of {key.key_size} bits; at least {MIN_RECIPIENT_BITS} needed")
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if not_after < now:
        raise RecipientError(f"{source}: the certificate expired on {not_after:%Y-%m-%d %H:%M:%S} UTC")
    if not_before > now:
        raise RecipientError(f"{source}: the certificate is not valid before {not_before:%Y-%m-%d %H:%M:%S} UTC")
    return Recipient(source, key, crypto.fingerprint(key), not_after)


@dataclass(frozen=True)
class Recipients:
    """The usable recipients and threshold, with a one-line problem for each thing left out.
    ``threshold`` is None when the threshold itself is unusable: then nothing can be escrowed."""

    recipients: tuple[Recipient, ...] = ()
    threshold: int | None = 1
    problems: tuple[str, ...] = ()
    configured: bool = False  # a recipients object exists (escrow is wanted)

    @property
    def usable(self) -> bool:
        return self.threshold is not None and 1 <= self.threshold <= len(self.recipients)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(r.entry_id for r in self.recipients)


def entries(obj: dict[str, Any], source: str) -> tuple[dict[str, bytes], list[str]]:
    """The data entries of a ConfigMap (data, binaryData) or Secret (data base64, stringData)."""
    found: dict[str, bytes] = {}
    problems: list[str] = []
    secret = obj.get("kind") == "Secret"
    for section in ("stringData", "data", "binaryData") if secret else ("data", "binaryData"):
        items = obj.get(section)
        if items is None:
            continue
        if not isinstance(items, dict):
            problems.append(f"{source}: {section} must be a map")
            continue
        for key, value in items.items():
            where = f"{source}, {section}.{key}"
            if not isinstance(value, str):
                problems.append(f"{where}: must be a string")
                continue
            if section == "binaryData" or (secret and section == "data"):
                try:
                    found[str(key)] = base64.b64decode("".join(value.split()), validate=True)
                except (binascii.Error, ValueError):
                    problems.append(f"{where}: not valid base64")
            else:
                found[str(key)] = value.encode("utf-8", "replace")
    return found, problems


def from_objects(objects: Iterable[tuple[dict[str, Any], str]], now: dt.datetime) -> Recipients:
    """The recipients of the given (object, description) pairs: a ConfigMap and/or a Secret."""
    recipients: dict[str, Recipient] = {}
    problems: list[str] = []
    thresholds: list[tuple[str, bytes]] = []
    configured = False
    for obj, source in objects:
        configured = True
        items, bad = entries(obj, source)
        problems.extend(bad)
        for key in sorted(items):
            where = f"{source}, data.{key}"
            if key == THRESHOLD_ENTRY:
                thresholds.append((where, items[key]))
                continue
            if len(recipients) >= MAX_RECIPIENTS:
                problems.append(f"{where}: more than {MAX_RECIPIENTS} recipients; left out")
                continue
            try:
                recipient = parse_recipient(items[key], where, now)
            except RecipientError as e:
                problems.append(str(e))
                continue
            recipients.setdefault(recipient.fingerprint, recipient)  # the same certificate twice counts once
    threshold: int | None = 1
    values = set()
    for where, raw in thresholds:
        text = raw.decode("utf-8", "replace").strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_RECIPIENTS:
            problems.append(f"{where}: must be a whole number from 1 to {MAX_RECIPIENTS}")
            threshold = None
            continue
        values.add(int(text))
    if threshold is not None and len(values) > 1:
        problems.append(f"threshold: the ConfigMap and the Secret disagree ({', '.join(map(str, sorted(values)))})")
        threshold = None
    elif threshold is not None and values:
        threshold = values.pop()
    if threshold is not None and recipients and threshold > len(recipients):
        problems.append(
            f"threshold {threshold} is more than the {len(recipients)} usable recipient(s): no key can be escrowed"
        )
    ordered = tuple(sorted(recipients.values(), key=lambda r: r.fingerprint))
    return Recipients(ordered, threshold, tuple(problems), configured)

"""The shape of an escrow object (docs/format.md, "Escrow objects"), checked without a key: what
keys.escrow reads before opening anything, and what the pre-commit hooks check in Git. The
cryptography is sealer.core.crypto's classic format; only its framing is looked at here, so this
module stays as light as the hooks need.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sealer.core import crypto

FORMAT = "sealer.dev/escrow/v1"
ESCROW_LABEL = "sealer.dev/escrow"
SHARE_PREFIX = "share."
FIELDS = ("format", "key.name", "key.fingerprint", "key.crt", "threshold", "split")
MAX_SHARES = 64
MAX_SHARE_CHARS = 128 * 1024  # base64 of a share of a 16384-bit key's PEM with its ML-KEM key: ~18 KiB


def is_escrow(doc: object) -> bool:
    """A ConfigMap that says it is an escrow object (its label, or its data.format)."""
    if not isinstance(doc, dict) or doc.get("kind", "ConfigMap") != "ConfigMap":
        return False
    labels = (doc.get("metadata") or {}).get("labels") if isinstance(doc.get("metadata"), dict) else None
    data = doc.get("data")
    return (isinstance(labels, dict) and ESCROW_LABEL in labels) or (
        isinstance(data, dict) and data.get("format") == FORMAT
    )


def problems(doc: dict[str, Any]) -> Iterator[str]:
    """One-line problems of an escrow object's shape, each naming its field; none if well formed.
    Every share must be a well-framed classic sealed value: anything else (a key pasted in, its
    DER in base64) is not what the controller writes."""
    data = doc.get("data")
    if not isinstance(data, dict):
        yield "missing data"
        return
    if doc.get("binaryData"):
        yield "binaryData: escrow objects hold none"
    for name in FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value:
            yield f"missing data.{name}"
    if data.get("format") not in (None, "", FORMAT):
        yield f"data.format is not {FORMAT} (made by a newer sealer?)"
    crt = data.get("key.crt")
    if (
        isinstance(crt, str)
        and crt
        and (not crt.lstrip().startswith("-----BEGIN CERTIFICATE-----") or crt.count("-----BEGIN ") != 1)
    ):
        yield "data.key.crt must be one PEM certificate and nothing else"
    threshold = data.get("threshold")
    if isinstance(threshold, str) and threshold and (not threshold.isdigit() or not 1 <= int(threshold) <= MAX_SHARES):
        yield f"data.threshold must be a whole number from 1 to {MAX_SHARES}"
    shares = 0
    for key, value in data.items():
        if not isinstance(key, str) or not key.startswith(SHARE_PREFIX):
            if key not in FIELDS:
                yield f"data.{key}: not a field of an escrow object"
            continue
        shares += 1
        problem = share_problem(value)
        if problem:
            yield f"data.{key} is not a sealed share ({problem})"
    if not shares:
        yield "no data.share.* entries"
    elif shares > MAX_SHARES:
        yield f"more than {MAX_SHARES} shares"
    elif isinstance(threshold, str) and threshold.isdigit() and int(threshold) > shares:
        yield f"data.threshold is {threshold}, but it holds only {shares} share(s)"


def share_problem(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_SHARE_CHARS:
        return "not a base64 string of a sealed value"
    try:
        blob = crypto.decode(value)
        crypto.check_framing(blob)
    except crypto.SealedValueError as e:
        return str(e)
    if crypto.is_hybrid(blob):
        return "post-quantum format; escrow uses the classic one"
    return None

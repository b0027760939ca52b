"""Sprig's hashes, base64/base32 and JSON functions."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable

from sealer.template.encodings import b32decode, b64decode
from sealer.template.errors import CallError
from sealer.template.functions.registry import fn
from sealer.template.jsoncodec import from_json, write_json
from sealer.template.limits import Budget
from sealer.template.values import Value, from_bytes, to_bytes

fn("sha1sum", "s")(lambda s: hashlib.sha1(to_bytes(s)).hexdigest())
fn("sha256sum", "s")(lambda s: hashlib.sha256(to_bytes(s)).hexdigest())
fn("sha512sum", "s")(lambda s: hashlib.sha512(to_bytes(s)).hexdigest())
fn("adler32sum", "s")(lambda s: str(zlib.adler32(to_bytes(s))))


@fn("b64enc", "s", budget=True)
def _b64enc(b: Budget, s: str) -> str:
    raw = to_bytes(s)
    b.need_string((len(raw) + 2) // 3 * 4)
    return base64.b64encode(raw).decode()


@fn("b32enc", "s", budget=True)
def _b32enc(b: Budget, s: str) -> str:
    raw = to_bytes(s)
    b.need_string((len(raw) + 4) // 5 * 8)
    return base64.b32encode(raw).decode()


def _decoder(decode: Callable[[str], tuple[bytes | None, int | None]], what: str) -> Callable[[str], str]:
    def run(s: str) -> str:
        data, bad = decode(s)
        return from_bytes(data) if data is not None else f"illegal {what} data at input byte {bad}"
    return run


fn("b64dec", "s")(_decoder(b64decode, "base64"))
fn("b32dec", "s")(_decoder(b32decode, "base32"))


def _json_fn(must: bool, html: bool = True, indent: str = "") -> Callable[[Budget, Value], str]:
    def encode(b: Budget, v: Value) -> str:
        sink = b.sink()
        try:
            write_json(sink, v, b, html, indent)
        except CallError:
            if must:
                raise
            return ""
        return sink.text()
    return encode


fn("toJson", "a", budget=True)(_json_fn(False))
fn("mustToJson", "a", budget=True)(_json_fn(True))
fn("toPrettyJson", "a", budget=True)(_json_fn(False, indent="  "))
fn("mustToPrettyJson", "a", budget=True)(_json_fn(True, indent="  "))
fn("toRawJson mustToRawJson", "a", budget=True)(_json_fn(True, html=False))
fn("fromJson", "s", budget=True)(lambda b, s: from_json(s, b)[0])


@fn("mustFromJson", "s", budget=True)
def _must_from_json(b: Budget, s: str) -> Value:
    v, err = from_json(s, b)
    if err:
        raise CallError(err)
    return v

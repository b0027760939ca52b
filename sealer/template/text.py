"""Go's view of text: Unicode case mapping, printability, strconv.Quote.

Long strings are processed in chunks, so that the per-character work never holds more than a
chunk's worth of pieces (a 1 MiB string of non-Latin letters would otherwise cost ~80 MiB of
one-character strings at once).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sealer.template.limits import Sink
from sealer.template.values import GO_SPACES

CHUNK = 4096
_CASE_SPECIAL = {"\u0130": "i"}  # simple (1:1) case mappings Python's str methods lack


def chunked(s: str, f: Callable[[str], str]) -> str:
    """f applied to s chunk by chunk (f must map characters independently)."""
    if len(s) <= CHUNK:
        return f(s)
    return "".join([f(s[i : i + CHUNK]) for i in range(0, len(s), CHUNK)])


def is_print(c: str) -> bool:  # Go's unicode.IsPrint
    return c == " " or unicodedata.category(c)[0] in "LMNPS"


def _one(c: str, mapped: str, fallback: str | None = None) -> str:
    """Go maps case rune by rune with Unicode's simple mappings only."""
    if 0xD800 <= ord(c) <= 0xDFFF:
        return "\ufffd"
    if len(mapped) == 1:
        return mapped
    if fallback is not None and len(fallback) == 1:
        return fallback
    return _CASE_SPECIAL.get(c, c)


def upper(s: str) -> str:
    if s.isascii():
        return s.upper()
    return chunked(s, lambda part: "".join([_one(c, c.upper(), c.title()) for c in part]))


def lower(s: str) -> str:
    if s.isascii():
        return s.lower()
    return chunked(s, lambda part: "".join([_one(c, c.lower()) for c in part]))


def title(s: str) -> str:  # strings.Title: upper-case the first letter of each word
    out: list[str] = []
    chunks: list[str] = []
    prev_sep = True
    for c in s:
        out.append(_one(c, c.title(), c.upper()) if prev_sep else ("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c))
        if c.isascii():
            prev_sep = not (c.isalnum() or c == "_")
        else:
            prev_sep = not (c.isalpha() or unicodedata.category(c) == "Nd") and c in GO_SPACES
        if len(out) >= CHUNK:
            chunks.append("".join(out))
            out.clear()
    chunks.append("".join(out))
    return "".join(chunks)


def _quote_part(s: str, q: str, ascii_only: bool) -> str:
    out = []
    for c in s:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif c == q or c == "\\":
            out.append("\\" + c)
        elif is_print(c) and (o < 0x80 or not ascii_only):
            out.append(c)
        elif c in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(c)])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


def write_quoted(sink: Sink, s: str, q: str = '"', ascii_only: bool = False) -> None:
    """strconv.Quote / QuoteRune / QuoteToASCII, written into a bounded sink."""
    sink.write(q)
    for i in range(0, len(s), CHUNK):
        sink.write(_quote_part(s[i : i + CHUNK], q, ascii_only))
    sink.write(q)


def quote(s: str, q: str = '"', ascii_only: bool = False) -> str:
    """strconv.Quote of a short string (a template literal, one rune)."""
    return q + _quote_part(s, q, ascii_only) + q

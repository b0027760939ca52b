"""Go literals: strconv's Unquote, ParseInt, ParseUint and ParseFloat, as the parser needs them."""

from __future__ import annotations

import math

from sealer.template.errors import TemplateError
from sealer.template.lexer import Tok, where
from sealer.template.values import from_bytes, to_bytes

_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def unquote_char(s: str, quote: str) -> tuple[int, bool, str]:
    """strconv.UnquoteChar: (value, value is a raw byte, rest of s); ValueError if bad."""
    c = s[0]
    if c == quote:
        raise ValueError(c)
    if c != "\\":
        return ord(c), False, s[1:]
    e = s[1:2]
    if e and e in _ESCAPES:
        return _ESCAPES[e], False, s[2:]
    if e and e in "xuU":
        width = {"x": 2, "u": 4, "U": 8}[e]
        digits = s[2 : 2 + width]
        if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise ValueError(e)
        v = int(digits, 16)
        if e != "x" and (v > 0x10FFFF or 0xD800 <= v <= 0xDFFF):
            raise ValueError(e)
        return v, e == "x", s[2 + width :]
    if e and e in "01234567":
        digits = s[1:4]
        if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
            raise ValueError(e)
        return int(digits, 8), True, s[4:]
    if e == quote:
        return ord(e), False, s[2:]
    raise ValueError(e)


def unquote(tok: Tok, text: str) -> str:
    """strconv.Unquote of a string literal; \\x and octal escapes yield raw bytes."""
    s = tok.val
    if s[0] == "`":
        return s[1:-1].replace("\r", "")
    out, body = bytearray(), s[1:-1]
    try:
        while body:
            v, raw, body = unquote_char(body, '"')
            out += bytes([v]) if raw else to_bytes(chr(v))
    except ValueError:
        raise TemplateError(f"template: {where(text, tok.pos)}: invalid syntax in {s}") from None
    return from_bytes(bytes(out))


def _underscore_ok(s: str) -> bool:
    saw, i = "^", 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i, saw, hexa = 2, "0", s[1] in "xX"
    for c in s[i:]:
        if "0" <= c <= "9" or (hexa and c in "abcdefABCDEF"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


def parse_uint(s: str, base: int = 0) -> int | None:
    """strconv.ParseUint(s, base, 64); None on any error."""
    if not s:
        return None
    s0 = s
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1] in "bBoOxX":
                base = {"b": 2, "o": 8, "x": 16}[s[1].lower()]
                s = s[2:]
            else:
                base, s = 8, s[1:]
        underscores = True
    else:
        underscores = False
    n, seen = 0, False
    for c in s:
        if c == "_" and underscores:
            seen = True
            continue
        d = "0123456789abcdefghijklmnopqrstuvwxyz".find(c.lower()) if c.isascii() else -1
        if d < 0 or d >= base:
            return None
        n = n * base + d
    if (seen and not _underscore_ok(s0)) or n >= 1 << 64:
        return None
    return n


def parse_int(s: str, base: int = 0) -> int | None:
    """strconv.ParseInt(s, base, 64); None on any error."""
    neg = s[:1] == "-"
    u = parse_uint(s[1:] if s[:1] in ("+", "-") else s, base)
    if u is None or u > (1 << 63) - (0 if neg else 1):
        return None
    return -u if neg else u


def parse_float(s: str) -> float | None:
    """strconv.ParseFloat on the characters the lexer accepts; None on error."""
    if "_" in s and not _underscore_ok(s):
        return None
    t = s.replace("_", "")
    try:
        body = t.lstrip("+-")
        if body[:2] in ("0x", "0X"):
            if "p" not in body.lower():
                return None
            f = float.fromhex(t)
        elif body[:2].lower() in ("0b", "0o"):
            return None
        else:
            f = float(t)
    except (ValueError, OverflowError):
        return None
    return None if math.isinf(f) else f

"""Sprig's integer arithmetic (int64, wrapping as Go does) and conversions."""

from __future__ import annotations

from sealer.template.errors import CallError
from sealer.template.functions.common import to_int
from sealer.template.functions.registry import fn
from sealer.template.literals import parse_int
from sealer.template.values import Int64, Value, wrap64


@fn("atoi", "s")
def _atoi(s: str) -> int:  # strconv.Atoi, errors ignored: out-of-range values clamp
    n = parse_int(s, 10)
    digits = s[1:] if s[:1] in ("+", "-") else s
    if n is None and digits.isascii() and digits.isdigit():
        n = -(1 << 63) if s[0] == "-" else (1 << 63) - 1
    return n or 0


fn("int", "a")(to_int)
fn("int64", "a")(lambda v: Int64(to_int(v)))
fn("add1", "a")(lambda v: wrap64(to_int(v) + 1))
fn("add", "a", True)(lambda *a: wrap64(sum(to_int(x) for x in a)))
fn("sub", "aa")(lambda a, b: wrap64(to_int(a) - to_int(b)))
fn("max biggest", "aa", True)(lambda a, *r: wrap64(max([to_int(a)] + [to_int(x) for x in r])))
fn("min", "aa", True)(lambda a, *r: wrap64(min([to_int(a)] + [to_int(x) for x in r])))


@fn("mul", "aa", True)
def _mul(a: Value, *rest: Value) -> Int64:
    n = wrap64(to_int(a))
    for x in rest:
        n = wrap64(n * to_int(x))
    return n


def _divmod(a: Value, b: Value, want_mod: bool) -> Int64:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise CallError("runtime error: integer divide by zero")
    q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)  # Go truncates toward zero
    return wrap64(x - q * y if want_mod else q)


fn("div", "aa")(lambda a, b: _divmod(a, b, False))
fn("mod", "aa")(lambda a, b: _divmod(a, b, True))

"""Conversions and walks that several function families share (Sprig's and spf13/cast's rules)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sealer.template.errors import CallError
from sealer.template.fmt import enter, go_v, sprint
from sealer.template.limits import Budget
from sealer.template.literals import parse_int
from sealer.template.values import INTS, NilList, NilMap, StrList, Value, kind, type_name


def strval(v: Value, budget: Budget) -> str:
    return v if type(v) is str else go_v(v, budget)


def to_int(v: Value) -> int:  # spf13/cast ToInt64, errors ignored
    t = type(v)
    if t is bool or t in INTS:
        return int(v)
    if t is float:  # out of range, amd64 yields the most negative int64
        return int(v) if math.isfinite(v) and abs(v) < 2**63 else -(1 << 63)
    if t is str:
        n = parse_int(_trim_zero_decimal(v))
        return 0 if n is None else n
    return 0


def _trim_zero_decimal(s: str) -> str:  # spf13/cast: "12.00" -> "12"
    found_zero = False
    for i in range(len(s) - 1, -1, -1):
        if s[i] == ".":
            if found_zero:
                return s[:i]
        elif s[i] == "0":
            found_zero = True
        else:
            return s
    return s


def deep_equal(a: Value, b: Value, budget: Budget, depth: int = 0) -> bool:
    """reflect.DeepEqual; each node compared is a step, and long strings cost their length."""
    if type(a) is not type(b) and not (isinstance(a, list) and isinstance(b, list) and type_name(a) == type_name(b)):
        return False
    if isinstance(a, dict):  # loops, not all(...): one Python frame per level of the value
        enter(budget, depth)
        if not (isinstance(b, dict) and a.keys() == b.keys() and isinstance(a, NilMap) == isinstance(b, NilMap)):
            return False
        for k in a:
            if not deep_equal(a[k], b[k], budget, depth + 1):
                return False
        return True
    if isinstance(a, list):
        enter(budget, depth)
        if isinstance(a, NilList) != isinstance(b, NilList) or len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if not deep_equal(x, y, budget, depth + 1):
                return False
        return True
    if type(a) is str and a is not b:
        budget.step(len(a) >> 12)
    return bool(a == b)


def strslice(v: Value, budget: Budget) -> list[str]:
    if isinstance(v, StrList):
        return list(v)
    if isinstance(v, list):
        return [strval(e, budget) for e in v if e is not None]
    return [] if v is None else [strval(v, budget)]


def need_list(v: Value, what: str) -> list[Value]:
    if not isinstance(v, list):
        raise CallError(f"Cannot {what} on type {kind(v)}")
    return v


def eval_args(args: Sequence[Value], budget: Budget) -> str:  # text/template's evalArgs, for html/js/urlquery
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return sprint(["<no value>" if a is None else a for a in args], budget)

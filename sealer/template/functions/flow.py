"""Sprig's defaults, flow and reflection functions, and fail."""

from __future__ import annotations

from sealer.template.errors import CallError
from sealer.template.functions.common import deep_equal
from sealer.template.functions.registry import fn
from sealer.template.values import empty, kind, type_name


@fn("fail", "s")
def fail(msg: str) -> None:
    raise CallError(msg)  # the executor shows the message only if the template spells it out


fn("default", "aa", True)(lambda d, *given: d if not given or empty(given[0]) else given[0])
fn("empty", "a")(empty)
fn("all", "a", True)(lambda *a: all(not empty(x) for x in a))
fn("any", "a", True)(lambda *a: any(not empty(x) for x in a))
fn("coalesce", "a", True)(lambda *a: next((x for x in a if not empty(x)), None))
fn("ternary", "aab")(lambda t, f, cond: t if cond else f)
fn("typeOf", "a")(type_name)
fn("kindOf", "a")(kind)
fn("typeIs", "sa")(lambda t, v: t == type_name(v))
fn("kindIs", "sa")(lambda k, v: k == kind(v))
fn("deepEqual", "aa", budget=True)(lambda b, x, y: deep_equal(x, y, b))

"""Sprig's dict and list functions. Lists and dicts are charged by the executor when made."""

from __future__ import annotations

import math

from sealer.template.errors import CallError
from sealer.template.functions.common import deep_equal, need_list, strval, to_int
from sealer.template.functions.registry import fn
from sealer.template.limits import Budget
from sealer.template.values import INTS, NilList, NilMap, StrList, Value, empty, kind, skey


@fn("dict", "a", True, budget=True)
def _dict(b: Budget, *a: Value) -> dict[str, Value]:
    d = {}
    for i in range(0, len(a), 2):
        d[strval(a[i], b)] = a[i + 1] if i + 1 < len(a) else ""
    return d


@fn("set", "msa")
def _set(d: dict[str, Value], k: str, v: Value) -> dict[str, Value]:
    if isinstance(d, NilMap):
        raise CallError("assignment to entry in nil map")
    d[k] = v
    return d


@fn("unset", "ms")
def _unset(d: dict[str, Value], k: str) -> dict[str, Value]:
    d.pop(k, None)
    return d


fn("get", "ms")(lambda d, k: d.get(k, ""))
fn("hasKey", "ms")(lambda d, k: k in d)


# Go iterates maps in random order; sorted keys are the deterministic choice.
@fn("keys", "m", True, budget=True)
def _keys(b: Budget, *ds: dict[str, Value]) -> StrList:
    b.step(sum(map(len, ds)))  # sorting costs Python work per key
    return StrList(k for d in ds for k in sorted(d, key=skey))


fn("pick", "ms", True)(lambda d, *ks: {k: d[k] for k in ks if k in d})
fn("omit", "ms", True)(lambda d, *ks: {k: v for k, v in d.items() if k not in ks})
fn("list tuple", "a", True)(lambda *a: list(a))
fn("first mustFirst", "a")(lambda v: (need_list(v, "find first") or [None])[0])
fn("last mustLast", "a")(lambda v: (need_list(v, "find last") or [None])[-1])
fn("rest mustRest", "a")(lambda v: list(v[1:]) if need_list(v, "find rest") else NilList())
fn("initial mustInitial", "a")(lambda v: list(v[:-1]) if need_list(v, "find initial") else NilList())
fn("append push mustAppend mustPush", "aa")(lambda v, x: [*need_list(v, "push"), x])
fn("prepend mustPrepend", "aa")(lambda v, x: [x, *need_list(v, "prepend")])
fn("reverse mustReverse", "a")(lambda v: list(reversed(need_list(v, "reverse"))))
fn("compact mustCompact", "a")(lambda v: [x for x in need_list(v, "compact") if not empty(x)])


def _key(x: Value) -> tuple[type, Value] | None:
    """A hashable stand-in for a scalar under deep equality (None for lists and maps)."""
    t = type(x)
    if t is float and math.isnan(x):  # NaN equals nothing, not even itself
        return None
    return (t, x) if t in (str, bool, float, *INTS) or x is None else None


@fn("has mustHas", "aa", budget=True)
def _has(b: Budget, n: Value, h: Value) -> bool:
    if h is None:
        return False
    for x in need_list(h, "find has"):
        b.step()
        if deep_equal(n, x, b):
            return True
    return False


@fn("without mustWithout", "aa", True, budget=True)
def _without(b: Budget, v: Value, *o: Value) -> list[Value]:
    out = []
    for x in need_list(v, "find without"):
        b.step(len(o))
        if not any(deep_equal(x, y, b) for y in o):
            out.append(x)
    return out


@fn("uniq mustUniq", "a", budget=True)
def _uniq(b: Budget, v: Value) -> list[Value]:
    out: list[Value] = []
    seen: set[tuple[type, Value]] = set()
    for x in need_list(v, "find uniq"):
        b.step()
        key = _key(x)
        if key is not None:  # scalars: a set, not a scan of all kept so far
            if key in seen:
                continue
            seen.add(key)
        elif any(deep_equal(x, y, b) for y in out):
            continue
        out.append(x)
    return out


@fn("slice mustSlice", "aa", True)
def _slice(v: Value, *ix: Value) -> Value:  # Sprig's slice replaces the builtin in Bitnami's function map
    if v is None:
        raise CallError("invalid memory address or nil pointer dereference")
    if not isinstance(v, list):
        raise CallError(f"list should be type of slice or array but {kind(v)}")
    if not v:
        return None
    lo = to_int(ix[0]) if ix else 0
    hi = to_int(ix[1]) if len(ix) > 1 else len(v)
    if not 0 <= lo <= hi <= len(v):
        raise CallError("index out of range")
    return type(v)(v[lo:hi]) if isinstance(v, StrList) else list(v[lo:hi])

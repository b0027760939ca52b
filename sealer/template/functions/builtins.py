"""text/template's own functions: print, printf, len, index, comparisons, escapers."""

from __future__ import annotations

import urllib.parse

from sealer.template.errors import CallError
from sealer.template.fmt import sprint, sprintf, write_v
from sealer.template.functions.common import eval_args
from sealer.template.functions.registry import fn, register_special
from sealer.template.limits import Budget
from sealer.template.text import CHUNK, is_print
from sealer.template.values import (
    MISSING,
    Int64,
    NilList,
    NilMap,
    StrMap,
    Uint8,
    Value,
    is_int,
    kind,
    to_bytes,
    truth,
    type_name,
)


@fn("print", "a", True, budget=True)
def _print(b: Budget, *a: Value) -> str:
    return sprint(a, b)


@fn("println", "a", True, budget=True)
def _println(b: Budget, *a: Value) -> str:  # fmt.Sprintln: always a space between operands
    sink = b.sink()
    for i, x in enumerate(a):
        if i:
            sink.write(" ")
        write_v(sink, x, b)
    sink.write("\n")
    return sink.text()


@fn("printf", "sa", True, budget=True)
def _printf(b: Budget, f: str, *a: Value) -> str:
    return sprintf(f, a, b)


fn("not", "v")(lambda v: not truth(v))
register_special("and or", "vv", True)  # short-circuit: evaluated by the executor

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "\0": "\ufffd"}
_HTML_TABLE = {ord(k): v for k, v in _HTML.items()}


@fn("html", "a", True, budget=True)
def _html(b: Budget, *a: Value) -> str:
    s = eval_args(a, b)
    b.need_string(len(s) + sum((len(v) - 1) * s.count(k) for k, v in _HTML.items()))
    return s.translate(_HTML_TABLE)


@fn("urlquery", "a", True, budget=True)
def _urlquery(b: Budget, *a: Value) -> str:
    raw = to_bytes(eval_args(a, b))
    sink = b.sink()
    for i in range(0, len(raw), CHUNK):  # bytes are escaped one by one: chunks bound the growth
        sink.write(urllib.parse.quote_plus(raw[i : i + CHUNK], safe=""))
    return sink.text()


def _js_part(s: str) -> str:
    out = []
    for c in s:
        o = ord(c)
        if c in "\\'\"<>&=" or o < 0x20:
            out.append({"\\": "\\\\", "'": "\\'", '"': '\\"'}.get(c, f"\\u{o:04X}"))
        elif o >= 0x80 and not 0xDC80 <= o <= 0xDCFF and not is_print(c):
            out.append(f"\\u{o:04X}")
        else:
            out.append(c)
    return "".join(out)


@fn("js", "a", True, budget=True)
def _js(b: Budget, *a: Value) -> str:
    s = eval_args(a, b)
    sink = b.sink()
    for i in range(0, len(s), CHUNK):
        sink.write(_js_part(s[i : i + CHUNK]))
    return sink.text()


@fn("len", "v")
def _len(v: Value) -> int:
    if v is None:
        raise CallError("len of nil pointer")
    if type(v) is str:
        return len(to_bytes(v))
    if isinstance(v, list | dict):
        return len(v)
    raise CallError(f"len of type {type_name(v)}")


def _index_arg(i: Value, cap: int) -> int:
    if i is MISSING or i is None:
        raise CallError("cannot index slice/array with nil")
    if not is_int(i):
        raise CallError(f"cannot index slice/array with type {type_name(i)}")
    if i < 0 or i > cap:
        raise CallError("index out of range")
    return int(i)


@fn("index", "vv", True)
def _index(item: Value, *indexes: Value) -> Value:
    if item is MISSING or item is None:
        raise CallError("index of untyped nil")
    for ix in indexes:
        ix = MISSING if ix is None else ix
        if item is None:
            raise CallError("index of nil pointer")
        if type(item) is str:
            raw = to_bytes(item)
            x = _index_arg(ix, len(raw))
            if x >= len(raw):
                raise CallError("index out of range")
            item = Uint8(raw[x])
        elif isinstance(item, list):
            x = _index_arg(ix, len(item))
            if x >= len(item):
                raise CallError("index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if ix is MISSING:
                raise CallError("value is nil; should be of type string")
            if type(ix) is not str:
                raise CallError(f"value has type {type_name(ix)}; should be string")
            item = item.get(ix, "" if isinstance(item, StrMap) else None)
        else:
            raise CallError(f"can't index item of type {type_name(item)}")
    return item


def _basic(v: Value) -> str | None:
    t = type(v)
    if t is bool:
        return "bool"
    if t in (int, Int64):
        return "int"
    return {Uint8: "uint", float: "float", str: "string"}.get(t)


@fn("eq", "vv", True)
def eq(a: Value, *rest: Value) -> bool:
    a = MISSING if a is None else a
    if not rest:
        raise CallError("missing argument for comparison")
    k1 = _basic(a)
    for b in rest:
        b = MISSING if b is None else b
        k2 = _basic(b)
        if k1 != k2:
            if {k1, k2} == {"int", "uint"}:
                truth_ = a == b
            elif a is not MISSING and b is not MISSING:
                raise CallError(f"incompatible types for comparison: {type_name(a)} and {type_name(b)}")
            else:
                truth_ = False
        elif k1:
            truth_ = a == b
        else:
            if kind(a) != kind(b) and MISSING not in (a, b):
                raise CallError("non-comparable types")
            nil_a = a is MISSING or isinstance(a, NilList | NilMap)
            nil_b = b is MISSING or isinstance(b, NilList | NilMap)
            if not (nil_a or nil_b):
                raise CallError(f"non-comparable type {type_name(b)}")
            truth_ = nil_a == nil_b
        if truth_:
            return True
    return False


def lt(a: Value, b: Value) -> bool:
    a, b = (MISSING if x is None else x for x in (a, b))
    k1, k2 = _basic(a), _basic(b)
    if not k1 or not k2:
        raise CallError("invalid type for comparison")
    if k1 != k2:
        if {k1, k2} != {"int", "uint"}:
            raise CallError(f"incompatible types for comparison: {type_name(a)} and {type_name(b)}")
    elif k1 == "bool":
        raise CallError("invalid type for comparison")
    return bool(to_bytes(a) < to_bytes(b) if k1 == "string" else a < b)


fn("ne", "vv")(lambda a, b: not eq(a, b))
fn("lt", "vv")(lt)
fn("le", "vv")(lambda a, b: lt(a, b) or eq(a, b))
fn("gt", "vv")(lambda a, b: not (lt(a, b) or eq(a, b)))
fn("ge", "vv")(lambda a, b: not lt(a, b))

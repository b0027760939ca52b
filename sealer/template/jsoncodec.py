"""encoding/json as Sprig's toJson/fromJson use it: Marshal into a bounded sink, Unmarshal with a budget."""

from __future__ import annotations

import json
import math

from sealer.template.errors import CallError
from sealer.template.fmt import enter, fmt_e, fmt_f, shortest
from sealer.template.limits import DICT_BASE, DICT_ITEM, LIST_BASE, LIST_ITEM, SCALAR, Budget, Sink, str_cost
from sealer.template.values import INTS, MISSING, NilList, NilMap, Value, skey, type_name

_CHUNK = 1 << 16


def _escapes(html: bool) -> dict[int, str]:
    table = {ord(c): "\\" + c for c in '"\\'}
    table.update({ord(c): "\\" + e for c, e in zip("\b\f\n\r\t", "bfnrt", strict=True)})
    for o in [*range(0x20), 0x2028, 0x2029, *(map(ord, "<>&") if html else ())]:
        table.setdefault(o, f"\\u{o:04x}")
    table.update({o: "\\ufffd" for o in range(0xD800, 0xE000)})  # invalid UTF-8 and lone surrogates
    return table


_ESCAPE = {True: _escapes(True), False: _escapes(False)}
_SURROGATES = {o: "\ufffd" for o in range(0xD800, 0xE000)}


def write_json_str(sink: Sink, s: str, html: bool) -> None:
    table = _ESCAPE[html]
    sink.write('"')
    for i in range(0, len(s), _CHUNK):  # escaping may grow a chunk six-fold: chunks bound that
        sink.write(s[i : i + _CHUNK].translate(table))
    sink.write('"')


def write_json(sink: Sink, v: Value, budget: Budget, html: bool = True, indent: str = "", level: int = 0) -> None:
    """encoding/json.Marshal (or MarshalIndent with a non-empty indent)."""
    t = type(v)
    if v is None or v is MISSING or isinstance(v, NilList | NilMap):
        sink.write("null")
    elif t is bool:
        sink.write("true" if v else "false")
    elif t in INTS:
        sink.write(str(int(v)))
    elif t is float:
        if math.isinf(v) or math.isnan(v):
            raise CallError("json: unsupported value: an infinite or NaN float64")
        neg = math.copysign(1, v) < 0
        ds, dp = shortest(v)
        if v and (abs(v) < 1e-6 or abs(v) >= 1e21):
            sink.write(fmt_e(neg, ds, dp).replace("e-0", "e-"))
        else:
            sink.write(fmt_f(neg, ds, dp))
    elif t is str:
        write_json_str(sink, v, html)
    elif isinstance(v, list | dict):
        enter(budget, level, len(v))
        is_dict = isinstance(v, dict)
        opener, closer = ("{", "}") if is_dict else ("[", "]")
        if not v:
            sink.write(opener + closer)
            return
        inner = outer = ""
        if indent:
            inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
        colon = ": " if indent else ":"
        sink.write(opener)
        for i, k in enumerate(sorted(v, key=skey) if is_dict else range(len(v))):
            sink.write("," + inner if i else inner)
            if is_dict:
                write_json_str(sink, k, html)
                sink.write(colon)
            write_json(sink, v[k], budget, html, indent, level + 1)
        sink.write(outer + closer)
    else:
        raise CallError(f"json: unsupported type: {type_name(v)}")


JSON_ERROR = "invalid JSON, or a number out of the range of float64"
_JSON_GROWTH = 32  # bytes of Python objects per byte of JSON text, at most ("[[],[],...]")


def from_json(s: str, budget: Budget) -> tuple[Value, str | None]:
    """json.Unmarshal into interface{}: (value, error message or None).

    The message names no part of the input (no character, number or offset): the input
    may be a secret value, and the message may end up in a SealedSecret's status.
    """
    budget.need(_JSON_GROWTH * len(s))  # before parsing: what the parse may allocate
    bad_number = []

    def number(text: str) -> float | None:
        f = float(text)
        if math.isinf(f):
            bad_number.append(True)
            return None
        return f

    def reject(name: str) -> None:
        raise ValueError(name)

    def fix(v: Value, depth: int) -> Value:  # Go decodes lone surrogates and invalid UTF-8 as U+FFFD
        if isinstance(v, str):
            budget.alloc(str_cost(v))
            return v if v.isascii() else v.translate(_SURROGATES)
        if isinstance(v, list):
            enter(budget, depth, len(v))
            budget.alloc(LIST_BASE + LIST_ITEM * len(v))
            return [fix(e, depth + 1) for e in v]
        if isinstance(v, dict):
            enter(budget, depth, len(v))
            budget.alloc(DICT_BASE + DICT_ITEM * len(v))
            return {fix(k, depth + 1): fix(e, depth + 1) for k, e in v.items()}
        budget.alloc(SCALAR)
        return v

    try:
        v = json.loads(s, parse_float=number, parse_int=number, parse_constant=reject)
    except (ValueError, RecursionError):
        return None, JSON_ERROR
    v = fix(v, 0)
    return v, JSON_ERROR if bad_number else None

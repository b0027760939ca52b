"""Sprig's string functions. Those whose result may outgrow their arguments check first."""

from __future__ import annotations

from sealer.template.errors import CallError
from sealer.template.fmt import write_v
from sealer.template.functions.common import strslice, strval
from sealer.template.functions.registry import fn
from sealer.template.limits import DICT_ITEM, LIST_ITEM, Budget, str_cost
from sealer.template.text import lower, title, upper, write_quoted
from sealer.template.values import GO_SPACES, StrList, StrMap, Value, from_bytes, skey, to_bytes

fn("hello")(lambda: "Hello!")
fn("upper", "s")(upper)
fn("lower", "s")(lower)
fn("title", "s")(title)
fn("trim", "s")(lambda s: s.strip(GO_SPACES))
fn("trimAll trimall", "ss")(lambda cut, s: s.strip(cut))
fn("trimPrefix", "ss")(lambda p, s: s[len(p) :] if s.startswith(p) else s)
fn("trimSuffix", "ss")(lambda x, s: s[: -len(x)] if x and s.endswith(x) else s)
fn("contains", "ss")(lambda sub, s: sub in s)
fn("hasPrefix", "ss")(lambda p, s: s.startswith(p))
fn("hasSuffix", "ss")(lambda x, s: s.endswith(x))
fn("plural", "ssi")(lambda one, many, n: one if n == 1 else many)


@fn("replace", "sss", budget=True)
def _replace(b: Budget, old: str, new: str, s: str) -> str:
    count = len(s) + 1 if not old else s.count(old)
    b.need_string(len(s) + count * (len(new) - len(old)))
    return s.replace(old, new)


@fn("quote", "a", True, budget=True)
def _quote(b: Budget, *a: Value) -> str:
    sink = b.sink()
    for i, x in enumerate(x for x in a if x is not None):
        if i:
            sink.write(" ")
        write_quoted(sink, strval(x, b))
    return sink.text()


@fn("squote", "a", True, budget=True)
def _squote(b: Budget, *a: Value) -> str:
    sink = b.sink()
    for i, x in enumerate(x for x in a if x is not None):
        sink.write(" '" if i else "'")
        write_v(sink, x, b)
        sink.write("'")
    return sink.text()


@fn("cat", "a", True, budget=True)
def _cat(b: Budget, *a: Value) -> str:
    sink = b.sink()
    for i, x in enumerate(x for x in a if x is not None):
        if i:
            sink.write(" ")
        write_v(sink, x, b)
    return sink.text()


fn("toString", "a", budget=True)(lambda b, v: strval(v, b))


@fn("nospace", "s")
def _nospace(s: str) -> str:  # goutils.DeleteWhiteSpace works byte by byte, re-encoding each byte
    raw = to_bytes(s)
    kept = raw.translate(None, GO_SPACES[:8].encode("latin-1"))
    return s if len(kept) == len(raw) else kept.decode("latin-1")


@fn("repeat", "is", budget=True)
def _repeat(b: Budget, n: int, s: str) -> str:
    if n < 0:
        raise CallError("strings: negative Repeat count")
    if s:
        b.need_string(n * len(to_bytes(s)))
    return s * n


def _indent(b: Budget, n: int, s: str) -> str:
    if n < 0:
        raise CallError("strings: negative Repeat count")
    b.need_string(n * (s.count("\n") + 1) + len(s) + 1)
    return " " * n + s.replace("\n", "\n" + " " * n)


fn("indent", "is", budget=True)(_indent)
fn("nindent", "is", budget=True)(lambda b, n, s: "\n" + _indent(b, n, s))


@fn("trunc", "is")
def _trunc(c: int, s: str) -> str:
    raw = to_bytes(s)
    if c < 0 and len(raw) + c > 0:
        return from_bytes(raw[len(raw) + c :])
    return from_bytes(raw[:c]) if 0 <= c < len(raw) else s


@fn("substr", "iis")
def _substr(start: int, end: int, s: str) -> str:
    raw = to_bytes(s)
    if start < 0:
        lo, hi = 0, end
    elif end < 0 or end > len(raw):
        lo, hi = start, len(raw)
    else:
        lo, hi = start, end
    if not 0 <= lo <= hi <= len(raw):
        raise CallError("runtime error: slice bounds out of range")
    return from_bytes(raw[lo:hi])


def _split(b: Budget, s: str, sep: str, n: int = -1, item: int = LIST_ITEM) -> list[str]:
    """strings.Split/SplitN; the parts are charged (each a new string) before they are made."""
    if n == 0:
        return []
    parts = len(s) if not sep else s.count(sep) + 1
    if n > 0:
        parts = min(parts, n)
    ascii = s.isascii()  # else each part may be a new object of 4-byte characters
    b.alloc(parts * (item + (str_cost("") if ascii else str_cost("\u4e00"))) + (len(s) if ascii else 4 * len(s)))
    if not sep:
        chars = list(s)
        return chars if n < 0 or len(chars) <= n else chars[: n - 1] + ["".join(chars[n - 1 :])]
    return s.split(sep, n - 1 if n > 0 else -1)


fn("splitList", "ss", budget=True)(lambda b, sep, s: StrList(_split(b, s, sep)))
fn("split", "ss", budget=True)(
    lambda b, sep, s: StrMap({f"_{i}": p for i, p in enumerate(_split(b, s, sep, item=DICT_ITEM))})
)
fn("splitn", "sis", budget=True)(
    lambda b, sep, n, s: StrMap({f"_{i}": p for i, p in enumerate(_split(b, s, sep, n, item=DICT_ITEM))})
)


@fn("join", "sa", budget=True)
def _join(b: Budget, sep: str, v: Value) -> str:
    parts = strslice(v, b)
    b.need_string(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
    return sep.join(parts)


fn("toStrings", "a", budget=True)(lambda b, v: StrList(strslice(v, b)))


@fn("sortAlpha", "a", budget=True)
def _sort_alpha(b: Budget, v: Value) -> StrList:
    b.step(len(v) if isinstance(v, list) else 1)
    return StrList(sorted(strslice(v, b), key=skey) if isinstance(v, list) else [strval(v, b)])

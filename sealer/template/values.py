"""Go's dynamic types, as the engine models them with Python values.

``int`` is Go int, ``Int64``/``Uint8`` the other integers, ``float`` float64, ``list``
[]interface{}, ``StrList`` []string, ``dict`` map[string]interface{}, ``StrMap``
map[string]string, ``None`` a nil interface and ``MISSING`` Go's invalid reflect.Value (a
missing map key: "<no value>"). Go strings are bytes: bytes that are not UTF-8 are carried as
PEP 383 surrogate escapes.
"""

from __future__ import annotations

from typing import Any, TypeAlias

# Go's interface{}: any of the types above (checked at run time, as Go does).
Value: TypeAlias = Any


class Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()  # Go's invalid reflect.Value
NOFINAL: Any = object()  # no value piped in from a previous command (Go's missingVal)


class Int64(int):
    pass


class Uint8(int):
    pass


class StrList(list[Any]):
    pass


class NilList(list[Any]):  # a nil []interface{}: prints "[]" but encodes as JSON null
    pass


class StrMap(dict[str, Any]):
    pass


class NilMap(dict[str, Any]):  # a nil map[string]interface{}: readable, but writing panics
    pass


_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "bool",
    int: "int",
    Int64: "int64",
    Uint8: "uint8",
    float: "float64",
    list: "[]interface {}",
    NilList: "[]interface {}",
    StrList: "[]string",
    dict: "map[string]interface {}",
    NilMap: "map[string]interface {}",
    StrMap: "map[string]string",
}
INTS = (int, Int64, Uint8)


def type_name(v: Value) -> str:
    return _TYPE_NAMES.get(type(v), "<nil>")


def kind(v: Value) -> str:
    t = type(v)
    if t in (Int64, Uint8, int, str, bool, float):
        return type_name(v)
    if isinstance(v, list):
        return "slice"
    return "map" if isinstance(v, dict) else "invalid"


def is_int(v: Value) -> bool:
    return type(v) in INTS


def to_bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def from_bytes(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


skey = to_bytes  # Go sorts map keys by their bytes


def wrap64(n: int) -> Int64:
    return Int64((n + (1 << 63)) % (1 << 64) - (1 << 63))


def empty(v: Value) -> bool:
    if v is None or v is MISSING:
        return True
    return not v  # empty string, list or map; false; zero


def truth(v: Value) -> bool:
    return not empty(v)


GO_SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

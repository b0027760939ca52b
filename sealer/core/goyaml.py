"""YAML scalars as Kubernetes' Go tooling reads and writes them (yaml.v2: YAML 1.1 with Go's parsers).

kubectl and kubeseal decode YAML with sigs.k8s.io/yaml, which resolves plain scalars with yaml.v2
and then turns whatever lands in a string field (a label, an annotation, a `stringData` value) into
text. So `port: 5432` is sealed as "5432", `enabled: y` as "true", `f: 1e3` as "1000" and `mode:
0777` as "511", and a key `n:` becomes "false". PyYAML's YAML 1.1 differs in the corners (no `y`/`n`,
no `1e3`, sexagesimal `1:20`), so sealer resolves plain scalars by yaml.v2's rules instead: a Secret
sealed by sealer opens to exactly what `kubectl apply` of the plain Secret, or kubeseal, would give.

On output, a string that yaml.v2 would read back as something else is double-quoted, as yaml.v2
writes it, and a multi-line string is a literal block: the same bytes as kubeseal's YAML.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
FLOAT_TAG = "tag:yaml.org,2002:float"
NUMBER_TAG = "tag:sealer.dev,2026:go-number"  # resolved by go_number() when constructed

_TRUE = ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")
_FALSE = ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")
_NULL = ("", "~", "null", "Null", "NULL")
_SPECIAL_FLOATS = {
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    **{
        f"{sign}{inf}": (-math.inf if sign == "-" else math.inf)
        for sign in ("", "+", "-")
        for inf in (".inf", ".Inf", ".INF")
    },
}

BOOLS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}

# yaml.v2 hands every plain scalar starting with a digit, a sign or a dot to Go's number parsers.
_NUMBER_CANDIDATE = re.compile(r"^[-+.0-9][-+._0-9a-zA-Z]*$")
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
# yaml.v2 reads these plain as timestamps, so it quotes them on output (sealer reads them as text).
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?"
    r"(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?)?)?$"
)

_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64_MAX = (1 << 64) - 1


def implicit_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """A PyYAML ``yaml_implicit_resolvers`` table with yaml.v2's rules (and no timestamps: they
    stay strings, as Kubernetes leaves them)."""
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def add(tag: str, pattern: str, first: str) -> None:
        regex = re.compile(pattern)
        for ch in first:
            table.setdefault(ch, []).append((tag, regex))

    add(BOOL_TAG, "^(?:" + "|".join(_TRUE + _FALSE) + ")$", "yYnNtTfFoO")
    add(NULL_TAG, "^(?:~|null|Null|NULL|)$", "~nN")
    table.setdefault("", []).append((NULL_TAG, re.compile("^$")))
    add(FLOAT_TAG, r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.")
    add(NUMBER_TAG, _NUMBER_CANDIDATE.pattern, "-+.0123456789")
    return table


def construct_bool(text: str) -> bool:
    return BOOLS[text]


def construct_float(text: str) -> float:
    return _SPECIAL_FLOATS[text]


def go_number(text: str) -> int | float | str:
    """yaml.v2's resolution of a plain scalar that starts like a number: Go's ParseInt (base 0,
    underscores dropped), then ParseUint, then ParseFloat for YAML-style floats; else the text."""
    if text.startswith("."):
        try:
            return float(text) if re.fullmatch(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?", text) else text
        except ValueError:
            return text
    plain = text.replace("_", "")
    value = _parse_go_int(plain)
    if value is not None:
        return value
    if _YAML_STYLE_FLOAT.match(plain):
        return float(plain)
    return text


def _parse_go_int(plain: str) -> int | None:
    sign, digits = (plain[0], plain[1:]) if plain[:1] in ("+", "-") else ("", plain)
    base, body = 10, digits
    lowered = digits[:2].lower()
    if lowered in ("0x", "0o", "0b"):
        base, body = {"0x": 16, "0o": 8, "0b": 2}[lowered], digits[2:]
    elif len(digits) > 1 and digits.startswith("0"):
        base, body = 8, digits[1:]
    if not body or not all(c in "0123456789abcdefABCDEF"[: base if base <= 10 else 22] for c in body):
        return None
    value = int(body, base) * (-1 if sign == "-" else 1)
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if not sign and value <= _UINT64_MAX:  # ParseUint: no sign at all
        return value
    return None


def go_string(value: Any) -> Any:
    """What sigs.k8s.io/yaml puts in a Go string field for a resolved scalar: numbers and booleans
    as text (floats through FormatFloat(f, 'g', -1, 32)); anything else unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float32_g(value)
    return value


def go_key(key: Any) -> Any:
    """A mapping key as sigs.k8s.io/yaml makes it a JSON key: numbers and booleans become text
    (so a key `1` and a key `y` stay two keys, "1" and "true")."""
    if isinstance(key, float):
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(format_float32_g(key), format_float32_g(key))
    return go_string(key)


def format_float32_g(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'g', -1, 32): the shortest digits that identify the float32."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    try:
        f32 = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # beyond float32's range: Go's conversion gives infinity
        f32 = math.copysign(math.inf, value)
    if math.isinf(f32):
        return "+Inf" if f32 > 0 else "-Inf"
    if f32 == 0:
        return "-0" if math.copysign(1, f32) < 0 else "0"
    text = ""  # the loop below runs at least once
    for precision in range(1, 18):
        text = f"{abs(f32):.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == abs(f32):
            break
    mantissa, exponent = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    exp = int(exponent)  # the value is 0.DIGITS x 10^(exp+1); Go's decimal point is at exp+1
    point = exp + 1
    sign = "-" if f32 < 0 else ""
    if exp < -4 or exp >= 6:  # %e for the shortest form, Go's rule ("eprec = 6")
        frac = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{frac}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def reads_back_as_non_string(text: str) -> bool:
    """Whether yaml.v2 would read this string, written plain, as something else: then it quotes it."""
    if text in BOOLS or text in _NULL or text in _SPECIAL_FLOATS:
        return True
    if _BASE60_FLOAT.match(text) or _TIMESTAMP.match(text):
        return True
    return bool(_NUMBER_CANDIDATE.match(text)) and not isinstance(go_number(text), str)


def represent_str(dumper: Any, value: str) -> Any:
    """yaml.v2's choice of style: a literal block for multi-line text, double quotes for text that
    would read back as another type, else whatever PyYAML finds plain or safe."""
    style = None
    if "\n" in value:
        style = "|"
    elif reads_back_as_non_string(value):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

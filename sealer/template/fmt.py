"""Go's fmt, as templates use it: %v of any value, Sprint, Sprintf.

Everything is written into a ``Sink`` that refuses to grow past its cap before it does, so a
value that shares itself (``list $l $l``, doubled twelve times) or a width such as ``%900000d``
over many operands is stopped at the string limit, not after expanding.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from typing import NoReturn

from sealer.template.errors import CallError, LimitError
from sealer.template.limits import Budget, Sink
from sealer.template.text import quote, write_quoted
from sealer.template.values import INTS, Value, skey, to_bytes, type_name


def too_deep(budget: Budget) -> NoReturn:
    raise LimitError(f"a value is nested deeper than {budget.limits.depth} levels (or contains itself)")


def enter(budget: Budget, depth: int, items: int = 0) -> None:
    """One more level of a list or dict being walked: the depth limit, and a step for it and
    for each of its ``items`` (Python-level work each)."""
    if depth >= budget.limits.depth:
        too_deep(budget)
    budget.step(1 + items)


def shortest(f: float) -> tuple[str, int]:
    """(digits, decimal point position) of the shortest repr of abs(f), like strconv."""
    if f == 0:
        return "", 0
    _, digits, exp = decimal.Decimal(repr(abs(f))).as_tuple()
    assert isinstance(exp, int)
    ds = "".join(map(str, digits)).lstrip("0")
    stripped = ds.rstrip("0")
    return stripped, len(ds) + exp


def fmt_e(neg: bool, ds: str, dp: int) -> str:
    ds = ds or "0"
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    exp = dp - 1 if ds != "0" else 0
    return f"{'-' if neg else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def fmt_f(neg: bool, ds: str, dp: int) -> str:
    if not ds:
        body = "0"
    elif dp <= 0:
        body = "0." + "0" * -dp + ds
    elif dp >= len(ds):
        body = ds + "0" * (dp - len(ds))
    else:
        body = ds[:dp] + "." + ds[dp:]
    return ("-" if neg else "") + body


def float_g(f: float) -> str:  # %v of a float64: strconv.FormatFloat(f, 'g', -1, 64)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1, f) < 0
    ds, dp = shortest(f)
    exp = dp - 1
    if ds and (exp < -4 or exp >= 6):
        return fmt_e(neg, ds, dp)
    return fmt_f(neg, ds, dp)


def write_v(sink: Sink, v: Value, budget: Budget, depth: int = 0) -> None:
    """fmt's %v."""
    t = type(v)
    if t is str:
        sink.write(v)
    elif t is bool:
        sink.write("true" if v else "false")
    elif t in INTS:
        sink.write(str(int(v)))
    elif t is float:
        sink.write(float_g(v))
    elif isinstance(v, list):
        enter(budget, depth, len(v))
        sink.write("[")
        for i, e in enumerate(v):
            if i:
                sink.write(" ")
            write_v(sink, e, budget, depth + 1)
        sink.write("]")
    elif isinstance(v, dict):
        enter(budget, depth, len(v))
        sink.write("map[")
        for i, k in enumerate(sorted(v, key=skey)):
            if i:
                sink.write(" ")
            sink.write(k)
            sink.write(":")
            write_v(sink, v[k], budget, depth + 1)
        sink.write("]")
    else:
        sink.write("<nil>")


def go_v(v: Value, budget: Budget) -> str:
    """fmt's %v as a string (bounded by the string limit and the budget)."""
    if type(v) is str:
        return v
    sink = budget.sink()
    write_v(sink, v, budget)
    return sink.text()


def write_sprint(sink: Sink, args: Sequence[Value], budget: Budget) -> None:
    """fmt.Sprint: spaces between operands when neither is a string."""
    prev_str = False
    for i, a in enumerate(args):
        is_str = type(a) is str
        if i and not is_str and not prev_str:
            sink.write(" ")
        write_v(sink, a, budget)
        prev_str = is_str


def sprint(args: Sequence[Value], budget: Budget) -> str:
    sink = budget.sink()
    write_sprint(sink, args, budget)
    return sink.text()


def _unsupported_fmt(budget: Budget) -> NoReturn:
    # One message for all: the format may be a secret value, so which of these it holds,
    # and where, is not told.
    raise CallError(
        "unsupported printf format: one of the '#' and ' ' flags, a '*' width, an "
        f"argument index, a width or precision over {budget.limits.string}, %x, %X or %b "
        "of a float64, or a verb such as %U"
    )


def _pad(s: str, width: int | None, minus: bool, zero: bool = False) -> str:
    if width is None or len(s) >= width:
        return s
    fill = width - len(s)
    return s + " " * fill if minus else ("0" if zero else " ") * fill + s


def _fmt_int(n: int, verb: str, plus: bool, minus: bool, zero: bool, width: int | None, prec: int | None) -> str:
    base = {"d": 10, "v": 10, "x": 16, "X": 16, "o": 8, "b": 2}[verb]
    digits = format(abs(n), {10: "d", 16: "x", 8: "o", 2: "b"}[base])
    if verb == "X":
        digits = digits.upper()
    sign = "-" if n < 0 else "+" if plus else ""
    if prec == 0 and n == 0:  # fmt prints nothing at all, not even the sign
        return _pad("", width, minus)
    if prec is not None:
        digits = digits.zfill(prec)
    elif zero and width is not None and not minus:
        digits = digits.zfill(width - len(sign))
    return _pad(sign + digits, width, minus)


def _fmt_scalar(
    a: Value, verb: str, flags: str, width: int | None, prec: int | None, top: bool, budget: Budget
) -> str | None:
    """One operand that is not a list or map (None: the verb does not apply to it)."""
    minus, plus = "-" in flags, "+" in flags
    zero = "0" in flags and not minus
    t = type(a)
    if a is None:
        return _pad("<nil>", width, minus, zero) if verb == "v" or not top else f"%!{verb}(<nil>)"
    if t is bool and verb in "vt":
        return _pad("true" if a else "false", width, minus, zero)
    if t in INTS and verb in "vdxXob":
        return _fmt_int(int(a), verb, plus, minus, zero, width, prec)
    if t in INTS and verb in "cq":
        r = chr(a) if 0 <= a <= 0x10FFFF and not 0xD800 <= a <= 0xDFFF else "\ufffd"
        return _pad(r if verb == "c" else quote(r, "'", plus), width, minus, zero)
    if t is float and verb in "xXb":  # Go prints hexadecimal/binary floats; we do not
        _unsupported_fmt(budget)
    if t is float and verb in "vgfFeE":
        if (verb in "vg" and prec is None) or math.isinf(a) or math.isnan(a):
            s = float_g(a)
        else:
            s = ("%." + str(6 if prec is None else prec) + ("g" if verb == "v" else verb)) % a
        if plus and not s.startswith("-") and s != "NaN":
            s = "+" + s
        if zero and width and len(s) < width and s[-1].isdigit():
            sign = s[0] if s[0] in "+-" else ""
            s = sign + s[len(sign) :].zfill(width - len(sign))
        return _pad(s, width, minus)
    if t is str and verb in "vsqxX":
        if verb in "xX":
            raw = to_bytes(a)[:prec] if prec is not None else to_bytes(a)
            budget.need_string(2 * len(raw))
            s = raw.hex().upper() if verb == "X" else raw.hex()
        else:
            s = a[:prec] if prec is not None else a
            if verb == "q":
                sink = budget.sink()
                write_quoted(sink, s, ascii_only=plus)
                s = sink.text()
        return _pad(s, width, minus, zero)
    return None


def write_arg(
    sink: Sink,
    a: Value,
    verb: str,
    flags: str,
    width: int | None,
    prec: int | None,
    budget: Budget,
    top: bool = True,
    depth: int = 0,
) -> None:
    """One printf operand, following fmt's printArg/printValue."""
    if isinstance(a, list | dict):
        enter(budget, depth, len(a))
        if isinstance(a, list):
            sink.write("[")
            for i, e in enumerate(a):
                if i:
                    sink.write(" ")
                write_arg(sink, e, verb, flags, width, prec, budget, False, depth + 1)
        else:
            sink.write("map[")
            for i, k in enumerate(sorted(a, key=skey)):
                if i:
                    sink.write(" ")
                write_arg(sink, k, verb, flags, width, prec, budget, False, depth + 1)
                sink.write(":")
                write_arg(sink, a[k], verb, flags, width, prec, budget, False, depth + 1)
        sink.write("]")
        return
    sink.need(max(width or 0, prec or 0))  # padding and zeros are refused before they are made
    s = _fmt_scalar(a, verb, flags, width, prec, top, budget)
    if s is not None:
        sink.write(s)
        return
    if verb not in "vdsqxXtfFeEgcob":
        _unsupported_fmt(budget)
    sink.write(f"%!{verb}({type_name(a)}=")
    write_arg(sink, a, "v", flags, width, prec, budget, False, depth)
    sink.write(")")


def sprintf(fmt: str, args: Sequence[Value], budget: Budget) -> str:
    out = budget.sink()
    i, argi, n = 0, 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.write(fmt[i:])
            break
        out.write(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-0":
            flags += fmt[i]
            i += 1
        if i < n and fmt[i] in "# ":
            _unsupported_fmt(budget)
        width: int | None = None
        prec: int | None = None
        for which in ("width", "prec"):
            if which == "prec":
                if i >= n or fmt[i] != ".":
                    break
                i += 1
            start = i
            while i < n and fmt[i].isdigit() and fmt[i].isascii():
                i += 1
            if i < n and fmt[i] in "*[":
                _unsupported_fmt(budget)
            if i > start or which == "prec":
                digits = fmt[start:i] or "0"
                if len(digits) > 9 or int(digits) > budget.limits.string:
                    _unsupported_fmt(budget)
                if which == "width":
                    width = int(digits)
                else:
                    prec = int(digits)
        if i >= n:
            out.write("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "v":  # for %v, fmt reads "+" as "show field names", not as a sign
            flags = flags.replace("+", "")
        if verb == "%":
            out.write("%")
        elif argi >= len(args):
            out.write(f"%!{verb}(MISSING)")
        else:
            write_arg(out, args[argi], verb, flags, width, prec, budget)
            argi += 1
    if argi < len(args):
        out.write("%!(EXTRA ")
        for k, a in enumerate(args[argi:]):
            if k:
                out.write(", ")
            if a is None:
                out.write("<nil>")
            else:
                out.write(f"{type_name(a)}=")
                write_v(out, a, budget)
        out.write(")")
    return out.text()

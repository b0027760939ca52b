"""Go text/template + Sprig, as Bitnami's controller renders ``spec.template.data``.

Bitnami parses each template with ``text/template`` and Sprig's ``GenericFuncMap``
(minus ``env``, ``expandenv`` and ``getHostByName``) and executes it against a
``map[string]string`` of the decrypted items. This module re-implements a
well-defined subset of that, byte for byte, with no dependencies::

    render('user: {{ .user | quote }}', {"user": "bob"})  ->  'user: "bob"'

The subset is the whole template language (actions, trim markers, comments,
variables, pipelines, if/with/range/else/break/continue, define/template/block)
with the Go builtins and the deterministic Sprig functions listed in ``_FUNCS``.
Anything else -- complex numbers, ``call``, non-deterministic Sprig functions
such as ``randAlphaNum`` or ``now`` (the controller would rewrite the Secret on
every sync), and Sprig functions not implemented here -- raises ``TemplateError``
naming the construct and its line and column.  Output size, evaluation steps and
nesting are bounded, so no template can hang the controller.

Go strings are bytes.  Values are Python ``str``; bytes that are not UTF-8 (from
``b64dec``, ``trunc``, ``"\\xff"`` ...) are carried as PEP 383 surrogate escapes,
so ``render(...).encode("utf-8", "surrogateescape")`` gives exactly Go's bytes.

Go's dynamic types matter to text/template (``repeat`` wants an ``int`` and
refuses the ``int64`` that ``add`` returns), so values are modelled with small
marker types: ``int`` is Go int, ``Int64``/``Uint8`` the other integers, ``float``
float64, ``list`` []interface{}, ``StrList`` []string, ``dict``
map[string]interface{}, ``StrMap`` map[string]string, ``None`` a nil interface
and ``MISSING`` Go's invalid reflect.Value (a missing map key: "<no value>").

Templates run over decrypted secret values, and a ``TemplateError``'s message ends up
in the SealedSecret's status, in Events and in logs, which people who may not read
Secrets can see.  So an execution error names its position, the construct or function
and type names, but never a value, nor anything computed from one (an index, a
length, a bound, a character, a fragment of output).  ``fail`` shows its message only
when the template spells it out as a string constant.  Parse errors may quote the
template itself, which is not secret.
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import json
import math
import unicodedata
import urllib.parse
import zlib
from collections.abc import Mapping

__all__ = ["render", "TemplateError"]

MAX_OUTPUT = 1 << 20  # bytes of output (and of any one intermediate string)
MAX_STEPS = 200_000  # evaluation steps: nodes walked, commands run, loop rounds
MAX_NESTING = 100  # parse nesting (parentheses, control blocks) and template calls


class TemplateError(ValueError):
    """The template cannot be parsed or executed, or uses an unsupported construct."""


# --------------------------------------------------------------------------- values


class _Missing:
    __slots__ = ()

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()  # Go's invalid reflect.Value
_NOFINAL = object()  # no value piped in from a previous command (Go's missingVal)


class Int64(int):
    pass


class Uint8(int):
    pass


class StrList(list):
    pass


class NilList(list):  # a nil []interface{}: prints "[]" but encodes as JSON null
    pass


class StrMap(dict):
    pass


class NilMap(dict):  # a nil map[string]interface{}: readable, but writing panics
    pass


_TYPE_NAMES = {
    str: "string", bool: "bool", int: "int", Int64: "int64", Uint8: "uint8", float: "float64",
    list: "[]interface {}", NilList: "[]interface {}", StrList: "[]string",
    dict: "map[string]interface {}", NilMap: "map[string]interface {}", StrMap: "map[string]string",
}
_INTS = (int, Int64, Uint8)


def _type(v):
    return _TYPE_NAMES.get(type(v), "<nil>")


def _kind(v):
    t = type(v)
    if t in (Int64, Uint8, int, str, bool, float):
        return _type(v)
    if isinstance(v, list):
        return "slice"
    return "map" if isinstance(v, dict) else "invalid"


def _is_int(v):
    return type(v) in _INTS


def _b(s):
    return s.encode("utf-8", "surrogateescape")


def _s(b):
    return b.decode("utf-8", "surrogateescape")


def _wrap64(n):
    return Int64((n + (1 << 63)) % (1 << 64) - (1 << 63))


_skey = _b  # Go sorts map keys by their bytes


class _CallError(Exception):
    """A Go function returned an error or panicked."""


# ---------------------------------------------------------------------------- lexer

_SPACE = " \t\r\n"
_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil",
             "template", "with"}
(TEXT, LDELIM, RDELIM, SPACE, FIELD, IDENT, VAR, DOT, STRING, RAWSTRING, NUMBER, CHARCONST,
 COMPLEX, BOOL, PIPE, LPAREN, RPAREN, ASSIGN, DECLARE, CHAR, EOF) = range(21)


def _is_alnum(c):
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


class _Tok:
    __slots__ = ("typ", "val", "pos", "idx")

    def __init__(self, typ, val, pos):
        self.typ, self.val, self.pos, self.idx = typ, val, pos, 0

    def __str__(self):
        if self.typ == EOF:
            return "EOF"
        return f"<{self.val}>" if self.val in _KEYWORDS else repr(self.val)


def _where(text, pos):
    line = text.count("\n", 0, pos) + 1
    return f"{line}:{pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _lex(text):
    """Tokenize like Go's text/template/parse lexer (a port of its state machine)."""
    toks, n = [], len(text)
    pos = start = paren = 0

    def err(msg, at=None):
        raise TemplateError(f"template: {_where(text, start if at is None else at)}: {msg}")

    def emit(typ):
        nonlocal start
        toks.append(_Tok(typ, text[start:pos], start))
        start = pos

    def left_trim(i):
        return i + 1 < n and text[i] == "-" and text[i + 1] in _SPACE

    def right_trim(i):
        return i + 1 < n and text[i] in _SPACE and text[i + 1] == "-"

    def at_right_delim():
        if right_trim(pos) and text.startswith("}}", pos + 2):
            return True, True
        return text.startswith("}}", pos), False

    def at_terminator():
        return pos >= n or text[pos] in " \t\r\n.,|:)(" or text.startswith("}}", pos)

    def accept(valid):
        nonlocal pos
        if pos < n and text[pos] in valid:
            pos += 1
            return True
        return False

    def accept_run(valid):
        while accept(valid):
            pass

    def scan_number():
        nonlocal pos
        accept("+-")
        digits = "0123456789_"
        if accept("0"):
            if accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif accept("oO"):
                digits = "01234567_"
            elif accept("bB"):
                digits = "01_"
        accept_run(digits)
        if accept("."):
            accept_run(digits)
        if len(digits) == 11 and accept("eE"):
            accept("+-")
            accept_run("0123456789_")
        if len(digits) == 23 and accept("pP"):
            accept("+-")
            accept_run("0123456789_")
        accept("i")
        if pos < n and _is_alnum(text[pos]):
            pos += 1
            return False
        return True

    inside = False
    while True:
        if not inside:
            x = text.find("{{", pos)
            if x < 0:
                pos = n
                if n > start:
                    emit(TEXT)
                toks.append(_Tok(EOF, "", n))
                for i, tok in enumerate(toks):
                    tok.idx = i
                return toks
            end = x
            if left_trim(x + 2):
                end = len(text[start:x].rstrip(_SPACE)) + start
            if end > start:
                toks.append(_Tok(TEXT, text[start:end], start))
            start = pos = x
            pos += 2
            after = 2 if left_trim(pos) else 0
            if text.startswith("/*", pos + after):
                close = text.find("*/", pos + after + 2)
                if close < 0:
                    err("unclosed comment")
                pos = close + 2
                delim, trim = at_right_delim()
                if not delim:
                    err("comment ends before closing delimiter")
                pos += 4 if trim else 2
                if trim:
                    while pos < n and text[pos] in _SPACE:
                        pos += 1
                start = pos
                continue
            emit(LDELIM)
            pos += after
            start = pos
            inside, paren = True, 0
            continue
        delim, trim = at_right_delim()
        if delim:
            if paren:
                err("unclosed left paren")
            if trim:
                pos += 2
                start = pos
            pos += 2
            emit(RDELIM)
            if trim:
                while pos < n and text[pos] in _SPACE:
                    pos += 1
                start = pos
            inside = False
            continue
        if pos >= n:
            err("unclosed action")
        c = text[pos]
        pos += 1
        if c in _SPACE:
            while pos < n and text[pos] in _SPACE:
                pos += 1
            # " -}}" belongs to the delimiter: leave its space for it.
            if right_trim(pos - 1) and text.startswith("}}", pos + 1):
                pos -= 1
                if pos == start:
                    continue
            emit(SPACE)
        elif c == "=":
            emit(ASSIGN)
        elif c == ":":
            if not accept("="):
                err("expected :=")
            emit(DECLARE)
        elif c == "|":
            emit(PIPE)
        elif c in "\"'":
            while True:
                if pos >= n or text[pos] == "\n":
                    err("unterminated quoted string" if c == '"' else
                        "unterminated character constant")
                ch = text[pos]
                pos += 1
                if ch == "\\":
                    if pos >= n or text[pos] == "\n":
                        err("unterminated quoted string" if c == '"' else
                            "unterminated character constant")
                    pos += 1
                elif ch == c:
                    break
            emit(STRING if c == '"' else CHARCONST)
        elif c == "`":
            close = text.find("`", pos)
            if close < 0:
                err("unterminated raw quoted string")
            pos = close + 1
            emit(RAWSTRING)
        elif c == "$" or c == "." and pos < n and not "0" <= text[pos] <= "9":
            if at_terminator():
                emit(VAR if c == "$" else DOT)
                continue
            while pos < n and _is_alnum(text[pos]):
                pos += 1
            if not at_terminator():
                err(f"bad character {text[pos]!r}", pos)
            emit(VAR if c == "$" else FIELD)
        elif c in "+-." or "0" <= c <= "9":
            pos -= 1
            if not scan_number():
                err(f"bad number syntax: {text[start:pos]!r}")
            if pos < n and text[pos] in "+-":
                if not scan_number() or text[pos - 1] != "i":
                    err(f"bad number syntax: {text[start:pos]!r}")
                emit(COMPLEX)
            else:
                emit(NUMBER)
        elif _is_alnum(c):
            while pos < n and _is_alnum(text[pos]):
                pos += 1
            word = text[start:pos]
            if not at_terminator():
                err(f"bad character {text[pos]!r}", pos)
            emit(IDENT if word not in _KEYWORDS else word)  # keywords are their own type
            if word in ("true", "false"):
                toks[-1].typ = BOOL
        elif c == "(":
            paren += 1
            emit(LPAREN)
        elif c == ")":
            paren -= 1
            if paren < 0:
                err("unexpected right paren")
            emit(RPAREN)
        elif " " <= c <= "~":
            emit(CHAR)
        else:
            err(f"unrecognized character in action: {c!r}")


# ------------------------------------------------------------------ Go literal parsing

_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote_char(s, quote):
    """strconv.UnquoteChar: (value, value is a raw byte, rest of s); ValueError if bad."""
    c = s[0]
    if c == quote:
        raise ValueError(c)
    if c != "\\":
        return ord(c), False, s[1:]
    e = s[1:2]
    if e and e in _ESCAPES:
        return _ESCAPES[e], False, s[2:]
    if e and e in "xuU":
        width = {"x": 2, "u": 4, "U": 8}[e]
        digits = s[2:2 + width]
        if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise ValueError(e)
        v = int(digits, 16)
        if e != "x" and (v > 0x10FFFF or 0xD800 <= v <= 0xDFFF):
            raise ValueError(e)
        return v, e == "x", s[2 + width:]
    if e and e in "01234567":
        digits = s[1:4]
        if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
            raise ValueError(e)
        return int(digits, 8), True, s[4:]
    if e == quote:
        return ord(e), False, s[2:]
    raise ValueError(e)


def _unquote(tok, text):
    """strconv.Unquote of a string literal; \\x and octal escapes yield raw bytes."""
    s = tok.val
    if s[0] == "`":
        return s[1:-1].replace("\r", "")
    out, body = bytearray(), s[1:-1]
    try:
        while body:
            v, raw, body = _unquote_char(body, '"')
            out += bytes([v]) if raw else _b(chr(v))
    except ValueError:
        raise TemplateError(f"template: {_where(text, tok.pos)}: invalid syntax in {s}") from None
    return _s(bytes(out))


def _underscore_ok(s):
    saw, i = "^", 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i, saw, hexa = 2, "0", s[1] in "xX"
    for c in s[i:]:
        if "0" <= c <= "9" or hexa and c in "abcdefABCDEF":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


def _parse_uint(s, base=0):
    """strconv.ParseUint(s, base, 64); None on any error."""
    if not s:
        return None
    s0 = s
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1] in "bBoOxX":
                base = {"b": 2, "o": 8, "x": 16}[s[1].lower()]
                s = s[2:]
            else:
                base, s = 8, s[1:]
        underscores = True
    else:
        underscores = False
    n, seen = 0, False
    for c in s:
        if c == "_" and underscores:
            seen = True
            continue
        d = "0123456789abcdefghijklmnopqrstuvwxyz".find(c.lower()) if c.isascii() else -1
        if d < 0 or d >= base:
            return None
        n = n * base + d
    if seen and not _underscore_ok(s0) or n >= 1 << 64:
        return None
    return n


def _parse_int(s, base=0):
    """strconv.ParseInt(s, base, 64); None on any error."""
    neg = s[:1] == "-"
    u = _parse_uint(s[1:] if s[:1] in ("+", "-") else s, base)
    if u is None or u > (1 << 63) - (0 if neg else 1):
        return None
    return -u if neg else u


def _parse_float(s):
    """strconv.ParseFloat on the characters the lexer accepts; None on error."""
    if "_" in s and not _underscore_ok(s):
        return None
    t = s.replace("_", "")
    try:
        body = t.lstrip("+-")
        if body[:2] in ("0x", "0X"):
            if "p" not in body.lower():
                return None
            f = float.fromhex(t)
        elif body[:2].lower() in ("0b", "0o"):
            return None
        else:
            f = float(t)
    except (ValueError, OverflowError):
        return None
    return None if math.isinf(f) else f


class _Number:
    """A number literal, with Go's parse.NumberNode interpretations."""

    __slots__ = ("pos", "text", "int", "float")

    def __init__(self, tok, text):
        self.pos, self.text = tok.pos, tok.val
        self.int = self.float = None
        where = f"template: {_where(text, tok.pos)}"
        if tok.typ == COMPLEX or tok.val.endswith("i"):
            raise TemplateError(f"{where}: complex number {tok.val} is not supported")
        if tok.typ == CHARCONST:
            try:
                self.int, _, tail = _unquote_char(tok.val[1:], "'")
            except ValueError:
                tail = None
            if tail != "'":
                raise TemplateError(f"{where}: malformed character constant: {tok.val}")
            self.float = float(self.int)
            return
        u, i = _parse_uint(tok.val), _parse_int(tok.val)
        if i is not None:
            self.int, self.float = i, float(i)
        elif u is not None:
            self.float = float(u)
        else:
            f = _parse_float(tok.val)
            if f is not None:
                if not any(c in tok.val for c in ".eEpP"):
                    raise TemplateError(f"{where}: integer overflow: {tok.val}")
                self.float = f
                if f == int(f) and -(1 << 63) <= int(f) < 1 << 63:
                    self.int = int(f)
            else:
                raise TemplateError(f"{where}: illegal number syntax: {tok.val!r}")

    def constant(self):
        """The value of the literal where its type is free (Go's idealConstant)."""
        t = self.text
        hex_int = len(t) > 2 and t[0] == "0" and t[1] in "xX" and not any(c in t for c in "pP")
        if self.float is not None and t[0] != "'" and not hex_int and any(c in t for c in ".eEpP"):
            return self.float
        if self.int is not None:
            return self.int
        raise _ExecError(self.pos, f"{t} overflows int")


# ----------------------------------------------------------------------------- parser


class _Node:
    __slots__ = ("pos",)


class _Text(_Node):
    __slots__ = ("text",)


class _Action(_Node):
    __slots__ = ("pipe",)


class _Control(_Node):  # if / with / range
    __slots__ = ("kind", "pipe", "body", "orelse")


class _TemplateCall(_Node):
    __slots__ = ("name", "pipe")


class _Jump(_Node):  # break / continue / end / else markers
    __slots__ = ("kind",)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")


class _Command(_Node):
    __slots__ = ("args",)


class _Field(_Node):
    __slots__ = ("names",)


class _Var(_Node):
    __slots__ = ("name", "names")


class _Chain(_Node):
    __slots__ = ("node", "names")


class _Ident(_Node):
    __slots__ = ("name",)


class _Literal(_Node):  # string, bool, nil, dot
    __slots__ = ("kind", "value")


def _node(cls, pos, **fields):
    n = cls()
    n.pos = pos
    for k, v in fields.items():
        setattr(n, k, v)
    return n


class _Parser:
    """A port of Go's text/template/parse recursive-descent parser."""

    def __init__(self, text):
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.vars = ["$"]
        self.range_depth = self.depth = 0
        self.trees = {}

    # token stream
    def next(self):
        t = self.toks[self.i]
        if t.typ != EOF:
            self.i += 1
        return t

    def peek(self):
        return self.toks[self.i]

    def next_non_space(self):
        t = self.next()
        while t.typ == SPACE:
            t = self.next()
        return t

    def peek_non_space(self):
        t = self.next_non_space()
        self.backup(t)
        return t

    def backup(self, tok):
        self.i = tok.idx

    def error(self, msg, pos=None):
        if pos is None:
            pos = self.toks[max(self.i - 1, 0)].pos
        raise TemplateError(f"template: {_where(self.text, pos)}: {msg}")

    def unexpected(self, tok, context):
        self.error(f"unexpected {tok} in {context}", tok.pos)

    def expect(self, typ, context):
        t = self.next_non_space()
        if t.typ != typ:
            self.unexpected(t, context)
        return t

    def nest(self, delta):
        self.depth += delta
        if self.depth > MAX_NESTING:
            self.error(f"nesting deeper than {MAX_NESTING} levels is not supported")

    # structure
    def parse(self):
        root = []
        while self.peek().typ != EOF:
            if self.peek().typ == LDELIM:
                save = self.i
                self.next()
                if self.next_non_space().typ == "define":
                    self.parse_definition()
                    continue
                self.i = save
            n = self.text_or_action()
            if isinstance(n, _Jump) and n.kind in ("end", "else"):
                self.error(f"unexpected {{{{{n.kind}}}}}", n.pos)
            root.append(n)
        return root, self.trees

    def in_new_tree(self, fn):
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        try:
            return fn()
        finally:
            self.vars, self.range_depth = saved

    def add_tree(self, name, body, pos):
        old = self.trees.get(name)
        if old is None or _is_empty(old):
            self.trees[name] = body
        elif not _is_empty(body):
            self.error(f"template: multiple definition of template {name!r}", pos)

    def parse_definition(self):
        tok = self.next_non_space()
        if tok.typ not in (STRING, RAWSTRING):
            self.unexpected(tok, "define clause")
        name = _unquote(tok, self.text)
        self.expect(RDELIM, "define clause")

        def body():
            lst, end = self.item_list()
            if end.kind != "end":
                self.unexpected(end, "define clause")
            return lst
        self.add_tree(name, self.in_new_tree(body), tok.pos)

    def item_list(self):
        nodes = []
        while self.peek_non_space().typ != EOF:
            n = self.text_or_action()
            if isinstance(n, _Jump) and n.kind in ("end", "else"):
                return nodes, n
            nodes.append(n)
        self.error("unexpected EOF", len(self.text))

    def text_or_action(self):
        tok = self.next_non_space()
        if tok.typ == TEXT:
            return _node(_Text, tok.pos, text=tok.val)
        if tok.typ == LDELIM:
            return self.action()
        self.unexpected(tok, "input")

    def action(self):
        tok = self.next_non_space()
        kw = tok.typ if isinstance(tok.typ, str) else None
        if kw in ("if", "with", "range"):
            return self.control(kw, tok.pos)
        if kw in ("break", "continue"):
            t = self.next_non_space()
            if t.typ != RDELIM:
                self.unexpected(t, f"{{{{{kw}}}}}")
            if not self.range_depth:
                self.error(f"{{{{{kw}}}}} outside {{{{range}}}}", tok.pos)
            return _node(_Jump, tok.pos, kind=kw)
        if kw == "else":
            if self.peek_non_space().typ not in ("if", "with"):
                self.expect(RDELIM, "else")
            return _node(_Jump, tok.pos, kind="else")
        if kw == "end":
            self.expect(RDELIM, "end")
            return _node(_Jump, tok.pos, kind="end")
        if kw in ("template", "block"):
            return self.template_call(kw, tok)
        self.backup(tok)
        return _node(_Action, tok.pos, pipe=self.pipeline("command", RDELIM))

    def control(self, kind, pos):
        nvars = len(self.vars)
        self.nest(1)
        try:
            pipe = self.pipeline(kind, RDELIM)
            self.range_depth += kind == "range"
            body, nxt = self.item_list()
            self.range_depth -= kind == "range"
            orelse = None
            if nxt.kind == "else":
                if kind in ("if", "with") and self.peek().typ == kind:
                    tok = self.next()
                    orelse = [self.control(kind, tok.pos)]
                else:
                    orelse, nxt = self.item_list()
                    if nxt.kind != "end":
                        self.error("expected end; found {{else}}", nxt.pos)
            return _node(_Control, pos, kind=kind, pipe=pipe, body=body, orelse=orelse)
        finally:
            del self.vars[nvars:]
            self.nest(-1)

    def template_call(self, kw, kwtok):
        context = f"{kw} clause"
        tok = self.next_non_space()
        if tok.typ not in (STRING, RAWSTRING):
            self.unexpected(tok, context)
        name = _unquote(tok, self.text)
        pipe = None
        if kw == "block":
            pipe = self.pipeline(context, RDELIM)

            def body():
                lst, end = self.item_list()
                if end.kind != "end":
                    self.unexpected(end, context)
                return lst
            self.add_tree(name, self.in_new_tree(body), tok.pos)
        else:
            tok = self.next_non_space()
            if tok.typ != RDELIM:
                self.backup(tok)
                pipe = self.pipeline(context, RDELIM)
        return _node(_TemplateCall, kwtok.pos, name=name, pipe=pipe)

    # pipelines
    def pipeline(self, context, end):
        pipe = _node(_Pipe, self.peek_non_space().pos, decl=[], is_assign=False, cmds=[])
        while self.peek_non_space().typ == VAR:
            v_index = self.i
            v = self.next()
            nxt = self.peek_non_space()
            if nxt.typ in (ASSIGN, DECLARE):
                pipe.is_assign = nxt.typ == ASSIGN
                self.next_non_space()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
            elif nxt.typ == CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (VAR, RDELIM, RPAREN):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            else:
                self.i = v_index
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                if not pipe.cmds:
                    self.error(f"missing value for {context}")
                for i, c in enumerate(pipe.cmds[1:]):
                    a = c.args[0]
                    if isinstance(a, (_Literal, _Number)):
                        self.error(f"non executable command in pipeline stage {i + 2}", a.pos)
                return pipe
            if tok.typ in (BOOL, CHARCONST, COMPLEX, DOT, FIELD, IDENT, NUMBER, "nil", RAWSTRING,
                           STRING, VAR, LPAREN):
                self.backup(tok)
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def command(self):
        cmd = _node(_Command, self.peek_non_space().pos, args=[])
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            tok = self.next()
            if tok.typ == SPACE:
                continue
            if tok.typ in (RDELIM, RPAREN):
                self.backup(tok)
            elif tok.typ != PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.error("empty command")
        return cmd

    def operand(self):
        node = self.term()
        if node is None or self.peek().typ != FIELD:
            return node
        names = []
        while self.peek().typ == FIELD:
            names.append(self.next().val[1:])
        if isinstance(node, _Field):
            return _node(_Field, node.pos, names=node.names + names)
        if isinstance(node, _Var):
            return _node(_Var, node.pos, name=node.name, names=node.names + names)
        if isinstance(node, (_Literal, _Number)):
            self.error("unexpected . after term")
        return _node(_Chain, node.pos, node=node, names=names)

    def term(self):
        tok = self.next_non_space()
        t = tok.typ
        if t == IDENT:
            _check_function(tok.val, self.text, tok.pos)
            return _node(_Ident, tok.pos, name=tok.val)
        if t in (DOT, "nil", BOOL):
            kind = {DOT: "dot", "nil": "nil", BOOL: "bool"}[t]
            return _node(_Literal, tok.pos, kind=kind, value=tok.val == "true")
        if t == VAR:
            name = tok.val.split(".")[0]
            if name not in self.vars:
                self.error(f"undefined variable {name!r}", tok.pos)
            return _node(_Var, tok.pos, name=tok.val, names=[])
        if t == FIELD:
            return _node(_Field, tok.pos, names=[tok.val[1:]])
        if t in (NUMBER, CHARCONST, COMPLEX):
            return _Number(tok, self.text)
        if t == LPAREN:
            self.nest(1)
            pipe = self.pipeline("parenthesized pipeline", RPAREN)
            self.nest(-1)
            return pipe
        if t in (STRING, RAWSTRING):
            return _node(_Literal, tok.pos, kind="string", value=_unquote(tok, self.text))
        self.backup(tok)
        return None


def _is_empty(nodes):
    return all(isinstance(n, _Text) and not n.text.strip(_GO_SPACES) for n in nodes)


# ------------------------------------------------------------------- fmt-style output

_CASE_SPECIAL = {"\u0130": "i"}  # simple (1:1) case mappings Python's str methods lack


def _is_print(c):  # Go's unicode.IsPrint
    return c == " " or unicodedata.category(c)[0] in "LMNPS"


def _one(c, mapped, fallback=None):
    """Go maps case rune by rune with Unicode's simple mappings only."""
    if 0xD800 <= ord(c) <= 0xDFFF:
        return "\ufffd"
    if len(mapped) == 1:
        return mapped
    if fallback is not None and len(fallback) == 1:
        return fallback
    return _CASE_SPECIAL.get(c, c)


def _upper(s):
    return "".join(_one(c, c.upper(), c.title()) for c in s) if not s.isascii() else s.upper()


def _lower(s):
    return "".join(_one(c, c.lower()) for c in s) if not s.isascii() else s.lower()


_GO_SPACES = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
             "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _title(s):  # strings.Title: upper-case the first letter of each word
    out, prev_sep = [], True
    for c in s:
        out.append(_one(c, c.title(), c.upper()) if prev_sep else
                   ("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c))
        if c.isascii():
            prev_sep = not (c.isalnum() or c == "_")
        else:
            prev_sep = not (c.isalpha() or unicodedata.category(c) == "Nd") and c in _GO_SPACES
    return "".join(out)


def _quote(s, q='"', ascii_only=False):  # strconv.Quote / QuoteRune / QuoteToASCII
    out = [q]
    for c in s:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif c == q or c == "\\":
            out.append("\\" + c)
        elif _is_print(c) and (o < 0x80 or not ascii_only):
            out.append(c)
        elif c in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(c)])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    out.append(q)
    return "".join(out)


def _shortest(f):
    """(digits, decimal point position) of the shortest repr of abs(f), like strconv."""
    if f == 0:
        return "", 0
    _, digits, exp = decimal.Decimal(repr(abs(f))).as_tuple()
    ds = "".join(map(str, digits)).lstrip("0")
    stripped = ds.rstrip("0")
    return stripped, len(ds) + exp


def _fmt_e(neg, ds, dp, prec=None):
    ds = ds or "0"
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    exp = dp - 1 if ds != "0" else 0
    return f"{'-' if neg else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fmt_f(neg, ds, dp):
    if not ds:
        body = "0"
    elif dp <= 0:
        body = "0." + "0" * -dp + ds
    elif dp >= len(ds):
        body = ds + "0" * (dp - len(ds))
    else:
        body = ds[:dp] + "." + ds[dp:]
    return ("-" if neg else "") + body


def _float_g(f):  # %v of a float64: strconv.FormatFloat(f, 'g', -1, 64)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1, f) < 0
    ds, dp = _shortest(f)
    exp = dp - 1
    if ds and (exp < -4 or exp >= 6):
        return _fmt_e(neg, ds, dp)
    return _fmt_f(neg, ds, dp)


def _go_v(v, top=True):
    """fmt's %v."""
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t in _INTS:
        return str(int(v))
    if t is float:
        return _float_g(v)
    if isinstance(v, list):
        return "[" + " ".join(_go_v(e, False) for e in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_v(v[k], False)}" for k in sorted(v, key=_skey)) + "]"
    return "<nil>"


def _sprint(args):  # fmt.Sprint: spaces between operands when neither is a string
    out, prev_str = [], False
    for i, a in enumerate(args):
        is_str = type(a) is str
        if i and not is_str and not prev_str:
            out.append(" ")
        out.append(_go_v(a))
        prev_str = is_str
    return "".join(out)


def _unsupported_fmt():
    # One message for all: the format may be a secret value, so which of these it holds,
    # and where, is not told.
    raise _CallError("unsupported printf format: one of the '#' and ' ' flags, a '*' width, an "
                     f"argument index, a width or precision over {MAX_OUTPUT}, %x, %X or %b "
                     "of a float64, or a verb such as %U")


def _pad(s, width, minus, zero=False):
    if width is None or len(s) >= width:
        return s
    fill = width - len(s)
    return s + " " * fill if minus else ("0" if zero else " ") * fill + s


def _fmt_int(n, verb, plus, minus, zero, width, prec):
    base = {"d": 10, "v": 10, "x": 16, "X": 16, "o": 8, "b": 2}[verb]
    digits = {10: "%d", 16: "%x", 8: "%o", 2: "{:b}"}[base]
    digits = digits.format(abs(n)) if base == 2 else digits % abs(n)
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


def _fmt_arg(a, verb, flags, width, prec, top=True):
    """One printf operand, following fmt's printArg/printValue."""
    minus, plus = "-" in flags, "+" in flags
    zero = "0" in flags and not minus
    t = type(a)
    if a is None:
        return _pad("<nil>", width, minus, zero) if verb == "v" or not top else f"%!{verb}(<nil>)"
    if t is bool and verb in "vt":
        return _pad("true" if a else "false", width, minus, zero)
    if t in _INTS and verb in "vdxXob":
        return _fmt_int(int(a), verb, plus, minus, zero, width, prec)
    if t in _INTS and verb in "cq":
        r = chr(a) if 0 <= a <= 0x10FFFF and not 0xD800 <= a <= 0xDFFF else "\ufffd"
        return _pad(r if verb == "c" else _quote(r, "'", plus), width, minus, zero)
    if t is float and verb in "xXb":  # Go prints hexadecimal/binary floats; we do not
        _unsupported_fmt()
    if t is float and verb in "vgfFeE":
        if verb in "vg" and prec is None or math.isinf(a) or math.isnan(a):
            s = _float_g(a)
        else:
            s = ("%." + str(6 if prec is None else prec) + ("g" if verb == "v" else verb)) % a
        if plus and not s.startswith("-") and s != "NaN":
            s = "+" + s
        if zero and width and len(s) < width and s[-1].isdigit():
            sign = s[0] if s[0] in "+-" else ""
            s = sign + s[len(sign):].zfill(width - len(sign))
        return _pad(s, width, minus)
    if t is str and verb in "vsqxX":
        if verb in "xX":
            raw = _b(a)[:prec] if prec is not None else _b(a)
            s = raw.hex().upper() if verb == "X" else raw.hex()
        else:
            s = a[:prec] if prec is not None else a
            if verb == "q":
                s = _quote(s, ascii_only=plus)
        return _pad(s, width, minus, zero)
    if isinstance(a, list):
        return "[" + " ".join(_fmt_arg(e, verb, flags, width, prec, False) for e in a) + "]"
    if isinstance(a, dict):
        return "map[" + " ".join(
            _fmt_arg(k, verb, flags, width, prec, False) + ":" +
            _fmt_arg(a[k], verb, flags, width, prec, False) for k in sorted(a, key=_skey)) + "]"
    if verb not in "vdsqxXtfFeEgcob":
        _unsupported_fmt()
    return f"%!{verb}({_type(a)}={_fmt_arg(a, 'v', flags, width, prec, False)})"


def _sprintf(fmt, args):
    out, i, argi, n = [], 0, 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-0":
            flags += fmt[i]
            i += 1
        if i < n and fmt[i] in "# ":
            _unsupported_fmt()
        width = prec = None
        for which in ("width", "prec"):
            if which == "prec":
                if i >= n or fmt[i] != ".":
                    break
                i += 1
            start = i
            while i < n and fmt[i].isdigit() and fmt[i].isascii():
                i += 1
            if i < n and fmt[i] in "*[":
                _unsupported_fmt()
            if i > start or which == "prec":
                num = int(fmt[start:i] or "0")
                if num > MAX_OUTPUT:
                    _unsupported_fmt()
                width, prec = (num, prec) if which == "width" else (width, num)
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "v":  # for %v, fmt reads "+" as "show field names", not as a sign
            flags = flags.replace("+", "")
        if verb == "%":
            out.append("%")
        elif argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt_arg(args[argi], verb, flags, width, prec))
            argi += 1
    if argi < len(args):
        extra = ", ".join("<nil>" if a is None else f"{_type(a)}={_go_v(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# ------------------------------------------------------------------------------- JSON


def _json_str(s, html):
    out = ['"']
    for c in s:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\b\f\n\r\t":
            out.append("\\" + "bfnrt"["\b\f\n\r\t".index(c)])
        elif o < 0x20 or html and c in "<>&" or c in "\u2028\u2029":
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _json(v, html=True, indent="", level=0):
    """encoding/json.Marshal (or MarshalIndent with a non-empty indent)."""
    t = type(v)
    if v is None or v is MISSING or isinstance(v, (NilList, NilMap)):
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t in _INTS:
        return str(int(v))
    if t is float:
        if math.isinf(v) or math.isnan(v):
            raise _CallError("json: unsupported value: an infinite or NaN float64")
        neg = math.copysign(1, v) < 0
        ds, dp = _shortest(v)
        if v and (abs(v) < 1e-6 or abs(v) >= 1e21):
            return _fmt_e(neg, ds, dp).replace("e-0", "e-")
        return _fmt_f(neg, ds, dp)
    if t is str:
        return _json_str(v, html)
    if isinstance(v, dict):
        items = [(_json_str(k, html), v[k]) for k in sorted(v, key=_skey)]
    elif isinstance(v, list):
        items = [(None, e) for e in v]
    else:
        raise _CallError(f"json: unsupported type: {_type(v)}")
    opener, closer = ("{", "}") if isinstance(v, dict) else ("[", "]")
    if not items:
        return opener + closer
    sep, inner, outer = ",", "", ""
    if indent:
        inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
    colon = ": " if indent else ":"
    parts = [(k + colon if k is not None else "") + _json(e, html, indent, level + 1)
             for k, e in items]
    return opener + inner + (sep + inner).join(parts) + outer + closer


_JSON_ERROR = "invalid JSON, or a number out of the range of float64"


def _from_json(s):
    """json.Unmarshal into interface{}: (value, error message or None).

    The message names no part of the input (no character, number or offset): the input
    may be a secret value, and the message may end up in a SealedSecret's status.
    """
    bad_number = []

    def number(text):
        f = float(text)
        if math.isinf(f):
            bad_number.append(True)
            return None
        return f

    def reject(name):
        raise ValueError(name)

    def fix(v):  # Go decodes lone surrogates and invalid UTF-8 as U+FFFD
        if isinstance(v, str):
            return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in v)
        if isinstance(v, list):
            return [fix(e) for e in v]
        if isinstance(v, dict):
            return {fix(k): fix(e) for k, e in v.items()}
        return v
    try:
        v = json.loads(s, parse_float=number, parse_int=number, parse_constant=reject)
    except (ValueError, RecursionError):
        return None, _JSON_ERROR
    v = fix(v)
    return v, _JSON_ERROR if bad_number else None


# ---------------------------------------------------------------------------- base64/32


def _b64decode(s):
    """base64.StdEncoding.DecodeString, with Go's error offsets."""
    src, out, si = _b(s), bytearray(), 0
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    while si < len(src):
        dbuf, dlen, j, err = [0, 0, 0, 0], 4, 0, None
        while j < 4:
            if si == len(src):
                if j == 0:
                    return bytes(out), None
                return None, si - j
            c = src[si]
            si += 1
            d = alphabet.find(bytes([c]))
            if d >= 0:
                dbuf[j] = d
                j += 1
                continue
            if c in b"\r\n":
                continue
            if c != ord("=") or j < 2:
                return None, si - 1
            if j == 2:
                while si < len(src) and src[si] in b"\r\n":
                    si += 1
                if si == len(src):
                    return None, len(src)
                if src[si] != ord("="):
                    return None, si - 1
                si += 1
            while si < len(src) and src[si] in b"\r\n":
                si += 1
            if si < len(src):
                err = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        out += val.to_bytes(3, "big")[:dlen - 1]
        if err is not None:
            return None, err
    return bytes(out), None


def _b32decode(s):
    """base32.StdEncoding.DecodeString, with Go's error offsets."""
    src = _b(s).replace(b"\r", b"").replace(b"\n", b"")
    olen, out, i = len(src), bytearray(), 0
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    while i < olen:
        dbuf, dlen, j, end = [0] * 8, 8, 0, False
        while j < 8:
            if i == olen:
                return None, olen - (olen - i) - j
            c = src[i]
            i += 1
            rest = olen - i
            if c == ord("=") and j >= 2 and rest < 8:
                if rest + j < 7:
                    return None, olen
                for k in range(7 - j):
                    if rest > k and src[i + k] != ord("="):
                        return None, olen - rest + k - 1
                dlen, end = j, True
                if dlen in (1, 3, 6):
                    return None, olen - rest - 1
                break
            d = alphabet.find(bytes([c]))
            if d < 0:
                return None, olen - rest - 1
            dbuf[j] = d
            j += 1
        val = 0
        for d in dbuf:
            val = val << 5 | d
        out += val.to_bytes(5, "big")[:{8: 5, 7: 4, 5: 3, 4: 2, 2: 1}[dlen]]
        if end:
            break
    return bytes(out), None


# --------------------------------------------------------------------------- functions


class _Func:
    __slots__ = ("name", "params", "variadic", "impl")

    def __init__(self, name, params, variadic, impl):
        self.name, self.params, self.variadic, self.impl = name, params, variadic, impl


_FUNCS: dict[str, _Func] = {}


def _fn(names, params="", variadic=False):
    """Register a function. params: one letter per parameter -- s string, i int,
    b bool, a interface{}, m map[string]interface{}, v reflect.Value; with
    variadic, the last letter is the element type of the ...parameter."""
    def register(f):
        for name in names.split():
            _FUNCS[name] = _Func(name, params, variadic, f)
        return f
    return register


# Sprig functions that exist in Bitnami's function map but are not supported here.
_NONDETERMINISTIC = set(
    "randAlphaNum randAlpha randAscii randNumeric randInt randBytes shuffle uuidv4 now ago "
    "bcrypt htpasswd genPrivateKey genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey "
    "genSignedCert genSignedCertWithKey encryptAES".split())
_NOT_IMPLEMENTED = set(
    "abbrev abbrevboth untitle initials swapcase snakecase camelcase kebabcase wrap wrapWith "
    "float64 toDecimal seq until untilStep add1f addf subf divf mulf maxf minf ceil floor round "
    "dig chunk mustChunk concat pluck merge mergeOverwrite mustMerge mustMergeOverwrite values "
    "deepCopy mustDeepCopy typeIsLike base dir clean ext isAbs osBase osClean osDir osExt osIsAbs "
    "date dateInZone date_in_zone dateModify date_modify mustDateModify must_date_modify htmlDate "
    "htmlDateInZone unixEpoch toDate mustToDate duration durationRound buildCustomCert "
    "derivePassword decryptAES semver semverCompare regexMatch mustRegexMatch regexFindAll "
    "mustRegexFindAll regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll "
    "regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta "
    "urlParse urlJoin call".split())


def _check_function(name, text, pos):
    where = f"template: {_where(text, pos)}"
    if name in _NONDETERMINISTIC:
        raise TemplateError(f"{where}: function {name!r} is not supported: its output is not "
                            "deterministic, so the Secret would change on every sync")
    if name in _NOT_IMPLEMENTED:
        raise TemplateError(f"{where}: function {name!r} is not supported by this renderer")
    if name not in _FUNCS:
        raise TemplateError(f"{where}: function {name!r} not defined")


def _check_len(n):
    if n > MAX_OUTPUT:
        raise _CallError(f"result exceeds the {MAX_OUTPUT}-byte limit")


def _strval(v):
    return v if type(v) is str else _go_v(v)


def _to_int(v):  # spf13/cast ToInt64, errors ignored
    t = type(v)
    if t is bool or t in _INTS:
        return int(v)
    if t is float:  # out of range, amd64 yields the most negative int64
        return int(v) if math.isfinite(v) and abs(v) < 2 ** 63 else -(1 << 63)
    if t is str:
        n = _parse_int(_trim_zero_decimal(v))
        return 0 if n is None else n
    return 0


def _trim_zero_decimal(s):  # spf13/cast: "12.00" -> "12"
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


def _empty(v):
    if v is None or v is MISSING:
        return True
    return not v  # empty string, list or map; false; zero


def _truth(v):
    return not _empty(v)


def _deep_equal(a, b):
    if type(a) is not type(b) and not (isinstance(a, list) and isinstance(b, list)
                                       and _type(a) == _type(b)):
        return False
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _deep_equal(a[k], b[k]) for k in a) and isinstance(a, NilMap) == isinstance(b, NilMap)
    if isinstance(a, list):
        return (isinstance(a, NilList) == isinstance(b, NilList) and len(a) == len(b)
                and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True)))
    return a == b


def _strslice(v):
    if isinstance(v, StrList):
        return list(v)
    if isinstance(v, list):
        return [_strval(e) for e in v if e is not None]
    return [] if v is None else [_strval(v)]


def _need_list(v, what):
    if not isinstance(v, list):
        raise _CallError(f"Cannot {what} on type {_kind(v)}")
    return v


def _eval_args(args):  # text/template's evalArgs, for html/js/urlquery
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return _sprint(["<no value>" if a is None else a for a in args])


# Go builtins.
_fn("print", "a", True)(lambda *a: _sprint(a))
_fn("println", "a", True)(lambda *a: " ".join(_go_v(x) for x in a) + "\n")
_fn("printf", "sa", True)(lambda f, *a: _sprintf(f, a))
_fn("not", "v")(lambda v: not _truth(v))
_fn("and or", "vv", True)(None)  # short-circuit: evaluated by the executor
_fn("html", "a", True)(lambda *a: _b(_eval_args(a)).replace(b"&", b"&amp;").replace(
    b"<", b"&lt;").replace(b">", b"&gt;").replace(b'"', b"&#34;").replace(b"'", b"&#39;").replace(
    b"\0", "\ufffd".encode()).decode("utf-8", "surrogateescape"))
_fn("urlquery", "a", True)(lambda *a: urllib.parse.quote_plus(_b(_eval_args(a)), safe=""))


@_fn("js", "a", True)
def _js(*a):
    out = []
    for c in _eval_args(a):
        o = ord(c)
        if c in "\\'\"<>&=" or o < 0x20:
            out.append({"\\": "\\\\", "'": "\\'", '"': '\\"'}.get(c, f"\\u{o:04X}"))
        elif o >= 0x80 and not 0xDC80 <= o <= 0xDCFF and not _is_print(c):
            out.append(f"\\u{o:04X}")
        else:
            out.append(c)
    return "".join(out)


@_fn("len", "v")
def _len(v):
    if v is None:
        raise _CallError("len of nil pointer")
    if type(v) is str:
        return len(_b(v))
    if isinstance(v, (list, dict)):
        return len(v)
    raise _CallError(f"len of type {_type(v)}")


def _index_arg(i, cap):
    if i is MISSING or i is None:
        raise _CallError("cannot index slice/array with nil")
    if not _is_int(i):
        raise _CallError(f"cannot index slice/array with type {_type(i)}")
    if i < 0 or i > cap:
        raise _CallError("index out of range")
    return int(i)


@_fn("index", "vv", True)
def _index(item, *indexes):
    if item is MISSING or item is None:
        raise _CallError("index of untyped nil")
    for ix in indexes:
        ix = MISSING if ix is None else ix
        if item is None:
            raise _CallError("index of nil pointer")
        if type(item) is str:
            raw = _b(item)
            x = _index_arg(ix, len(raw))
            if x >= len(raw):
                raise _CallError("index out of range")
            item = Uint8(raw[x])
        elif isinstance(item, list):
            x = _index_arg(ix, len(item))
            if x >= len(item):
                raise _CallError("index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if ix is MISSING:
                raise _CallError("value is nil; should be of type string")
            if type(ix) is not str:
                raise _CallError(f"value has type {_type(ix)}; should be string")
            item = item.get(ix, "" if isinstance(item, StrMap) else None)
        else:
            raise _CallError(f"can't index item of type {_type(item)}")
    return item


def _basic(v):
    t = type(v)
    if t is bool:
        return "bool"
    if t in (int, Int64):
        return "int"
    return {Uint8: "uint", float: "float", str: "string"}.get(t)


@_fn("eq", "vv", True)
def _eq(a, *rest):
    a = MISSING if a is None else a
    if not rest:
        raise _CallError("missing argument for comparison")
    k1 = _basic(a)
    for b in rest:
        b = MISSING if b is None else b
        k2 = _basic(b)
        if k1 != k2:
            if {k1, k2} == {"int", "uint"}:
                truth = a == b
            elif a is not MISSING and b is not MISSING:
                raise _CallError(f"incompatible types for comparison: {_type(a)} and {_type(b)}")
            else:
                truth = False
        elif k1:
            truth = a == b
        else:
            if _kind(a) != _kind(b) and MISSING not in (a, b):
                raise _CallError("non-comparable types")
            nil_a = a is MISSING or isinstance(a, (NilList, NilMap))
            nil_b = b is MISSING or isinstance(b, (NilList, NilMap))
            if not (nil_a or nil_b):
                raise _CallError(f"non-comparable type {_type(b)}")
            truth = nil_a == nil_b
        if truth:
            return True
    return False


def _lt(a, b):
    a, b = (MISSING if x is None else x for x in (a, b))
    k1, k2 = _basic(a), _basic(b)
    if not k1 or not k2:
        raise _CallError("invalid type for comparison")
    if k1 != k2:
        if {k1, k2} != {"int", "uint"}:
            raise _CallError(f"incompatible types for comparison: {_type(a)} and {_type(b)}")
    elif k1 == "bool":
        raise _CallError("invalid type for comparison")
    return _b(a) < _b(b) if k1 == "string" else a < b


_fn("ne", "vv")(lambda a, b: not _eq(a, b))
_fn("lt", "vv")(_lt)
_fn("le", "vv")(lambda a, b: _lt(a, b) or _eq(a, b))
_fn("gt", "vv")(lambda a, b: not (_lt(a, b) or _eq(a, b)))
_fn("ge", "vv")(lambda a, b: not _lt(a, b))

# Sprig: strings.
_fn("hello")(lambda: "Hello!")
_fn("upper", "s")(_upper)
_fn("lower", "s")(_lower)
_fn("title", "s")(_title)
_fn("trim", "s")(lambda s: s.strip(_GO_SPACES))
_fn("trimAll trimall", "ss")(lambda cut, s: s.strip(cut))
_fn("trimPrefix", "ss")(lambda p, s: s[len(p):] if s.startswith(p) else s)
_fn("trimSuffix", "ss")(lambda x, s: s[:-len(x)] if x and s.endswith(x) else s)
_fn("contains", "ss")(lambda sub, s: sub in s)
_fn("hasPrefix", "ss")(lambda p, s: s.startswith(p))
_fn("hasSuffix", "ss")(lambda x, s: s.endswith(x))
_fn("replace", "sss")(lambda old, new, s: s.replace(old, new))
_fn("plural", "ssi")(lambda one, many, n: one if n == 1 else many)
_fn("quote", "a", True)(lambda *a: " ".join(_quote(_strval(x)) for x in a if x is not None))
_fn("squote", "a", True)(lambda *a: " ".join(f"'{_go_v(x)}'" for x in a if x is not None))
_fn("cat", "a", True)(lambda *a: " ".join(_go_v(x) for x in a if x is not None))
_fn("toString", "a")(_strval)
_fn("sha1sum", "s")(lambda s: hashlib.sha1(_b(s)).hexdigest())
_fn("sha256sum", "s")(lambda s: hashlib.sha256(_b(s)).hexdigest())
_fn("sha512sum", "s")(lambda s: hashlib.sha512(_b(s)).hexdigest())
_fn("adler32sum", "s")(lambda s: str(zlib.adler32(_b(s))))
_fn("b64enc", "s")(lambda s: base64.b64encode(_b(s)).decode())
_fn("b32enc", "s")(lambda s: base64.b32encode(_b(s)).decode())


@_fn("fail", "s")
def _fail(msg):
    raise _CallError(msg)  # _Exec.call shows the message only if the template spells it out


def _decoder(fn, what):
    def decode(s):
        data, bad = fn(s)
        return _s(data) if bad is None else f"illegal {what} data at input byte {bad}"
    return decode


_fn("b64dec", "s")(_decoder(_b64decode, "base64"))
_fn("b32dec", "s")(_decoder(_b32decode, "base32"))


@_fn("nospace", "s")
def _nospace(s):  # goutils.DeleteWhiteSpace works byte by byte, re-encoding each byte
    raw = _b(s)
    kept = [b for b in raw if chr(b) not in _GO_SPACES[:8]]
    return s if len(kept) == len(raw) else "".join(map(chr, kept))


@_fn("repeat", "is")
def _repeat(n, s):
    if n < 0:
        raise _CallError("strings: negative Repeat count")
    _check_len(n * len(_b(s)))
    return s * n


def _indent(n, s):
    if n < 0:
        raise _CallError("strings: negative Repeat count")
    _check_len(n * (s.count("\n") + 1) + len(s))
    return " " * n + s.replace("\n", "\n" + " " * n)


_fn("indent", "is")(_indent)
_fn("nindent", "is")(lambda n, s: "\n" + _indent(n, s))


@_fn("trunc", "is")
def _trunc(c, s):
    raw = _b(s)
    if c < 0 and len(raw) + c > 0:
        return _s(raw[len(raw) + c:])
    return _s(raw[:c]) if 0 <= c < len(raw) else s


@_fn("substr", "iis")
def _substr(start, end, s):
    raw = _b(s)
    if start < 0:
        lo, hi = 0, end
    elif end < 0 or end > len(raw):
        lo, hi = start, len(raw)
    else:
        lo, hi = start, end
    if not 0 <= lo <= hi <= len(raw):
        raise _CallError("runtime error: slice bounds out of range")
    return _s(raw[lo:hi])


def _split(s, sep, n=-1):
    if n == 0:
        return []
    if not sep:
        parts = list(s)
        return parts if n < 0 or len(parts) <= n else parts[:n - 1] + ["".join(parts[n - 1:])]
    return s.split(sep, n - 1 if n > 0 else -1)


_fn("splitList", "ss")(lambda sep, s: StrList(_split(s, sep)))
_fn("split", "ss")(lambda sep, s: StrMap({f"_{i}": p for i, p in enumerate(_split(s, sep))}))
_fn("splitn", "sis")(lambda sep, n, s: StrMap(
    {f"_{i}": p for i, p in enumerate(_split(s, sep, n))}))
_fn("join", "sa")(lambda sep, v: sep.join(_strslice(v)))
_fn("toStrings", "a")(lambda v: StrList(_strslice(v)))


@_fn("sortAlpha", "a")
def _sort_alpha(v):
    return StrList(sorted(_strslice(v), key=_skey) if isinstance(v, list) else [_strval(v)])


# Sprig: numbers.


@_fn("atoi", "s")
def _atoi(s):  # strconv.Atoi, errors ignored: out-of-range values clamp
    n = _parse_int(s, 10)
    digits = s[1:] if s[:1] in ("+", "-") else s
    if n is None and digits.isascii() and digits.isdigit():
        n = -(1 << 63) if s[0] == "-" else (1 << 63) - 1
    return n or 0


_fn("int", "a")(_to_int)
_fn("int64", "a")(lambda v: Int64(_to_int(v)))
_fn("add1", "a")(lambda v: _wrap64(_to_int(v) + 1))
_fn("add", "a", True)(lambda *a: _wrap64(sum(_to_int(x) for x in a)))
_fn("sub", "aa")(lambda a, b: _wrap64(_to_int(a) - _to_int(b)))
_fn("max biggest", "aa", True)(lambda a, *r: _wrap64(max([_to_int(a)] + [_to_int(x) for x in r])))
_fn("min", "aa", True)(lambda a, *r: _wrap64(min([_to_int(a)] + [_to_int(x) for x in r])))


@_fn("mul", "aa", True)
def _mul(a, *rest):
    n = _wrap64(_to_int(a))
    for x in rest:
        n = _wrap64(n * _to_int(x))
    return n


def _divmod(a, b, want_mod):
    a, b = _to_int(a), _to_int(b)
    if b == 0:
        raise _CallError("runtime error: integer divide by zero")
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # Go truncates toward zero
    return _wrap64(a - q * b if want_mod else q)


_fn("div", "aa")(lambda a, b: _divmod(a, b, False))
_fn("mod", "aa")(lambda a, b: _divmod(a, b, True))

# Sprig: defaults, JSON, reflection.
_fn("default", "aa", True)(lambda d, *given: d if not given or _empty(given[0]) else given[0])
_fn("empty", "a")(_empty)
_fn("all", "a", True)(lambda *a: all(not _empty(x) for x in a))
_fn("any", "a", True)(lambda *a: any(not _empty(x) for x in a))
_fn("coalesce", "a", True)(lambda *a: next((x for x in a if not _empty(x)), None))
_fn("ternary", "aab")(lambda t, f, cond: t if cond else f)
_fn("typeOf", "a")(_type)
_fn("kindOf", "a")(_kind)
_fn("typeIs", "sa")(lambda t, v: t == _type(v))
_fn("kindIs", "sa")(lambda k, v: k == _kind(v))
_fn("deepEqual", "aa")(_deep_equal)


def _json_fn(must, **kw):
    def encode(v):
        try:
            return _json(v, **kw)
        except _CallError:
            if must:
                raise
            return ""
    return encode


_fn("toJson", "a")(_json_fn(False))
_fn("mustToJson", "a")(_json_fn(True))
_fn("toPrettyJson", "a")(_json_fn(False, indent="  "))
_fn("mustToPrettyJson", "a")(_json_fn(True, indent="  "))
_fn("toRawJson mustToRawJson", "a")(_json_fn(True, html=False))
_fn("fromJson", "s")(lambda s: _from_json(s)[0])


@_fn("mustFromJson", "s")
def _must_from_json(s):
    v, err = _from_json(s)
    if err:
        raise _CallError(err)
    return v


# Sprig: dicts and lists.
@_fn("dict", "a", True)
def _dict(*a):
    d = {}
    for i in range(0, len(a), 2):
        d[_strval(a[i])] = a[i + 1] if i + 1 < len(a) else ""
    return d


@_fn("set", "msa")
def _set(d, k, v):
    if isinstance(d, NilMap):
        raise _CallError("assignment to entry in nil map")
    d[k] = v
    return d


@_fn("unset", "ms")
def _unset(d, k):
    d.pop(k, None)
    return d


_fn("get", "ms")(lambda d, k: d.get(k, ""))
_fn("hasKey", "ms")(lambda d, k: k in d)
# Go iterates maps in random order; sorted keys are the deterministic choice.
_fn("keys", "m", True)(lambda *ds: StrList(k for d in ds for k in sorted(d, key=_skey)))
_fn("pick", "ms", True)(lambda d, *ks: {k: d[k] for k in ks if k in d})
_fn("omit", "ms", True)(lambda d, *ks: {k: v for k, v in d.items() if k not in ks})
_fn("list tuple", "a", True)(lambda *a: list(a))
_fn("first mustFirst", "a")(lambda v: (_need_list(v, "find first") or [None])[0])
_fn("last mustLast", "a")(lambda v: (_need_list(v, "find last") or [None])[-1])
_fn("rest mustRest", "a")(lambda v: list(v[1:]) if _need_list(v, "find rest") else NilList())
_fn("initial mustInitial", "a")(lambda v: list(v[:-1]) if _need_list(v, "find initial") else NilList())
_fn("append push mustAppend mustPush", "aa")(lambda v, x: list(_need_list(v, "push")) + [x])
_fn("prepend mustPrepend", "aa")(lambda v, x: [x] + list(_need_list(v, "prepend")))
_fn("reverse mustReverse", "a")(lambda v: list(reversed(_need_list(v, "reverse"))))
_fn("compact mustCompact", "a")(lambda v: [x for x in _need_list(v, "compact") if not _empty(x)])
_fn("has mustHas", "aa")(lambda n, h: h is not None and any(
    _deep_equal(n, x) for x in _need_list(h, "find has")))
_fn("without mustWithout", "aa", True)(lambda v, *o: [
    x for x in _need_list(v, "find without") if not any(_deep_equal(x, y) for y in o)])


@_fn("uniq mustUniq", "a")
def _uniq(v):
    out = []
    for x in _need_list(v, "find uniq"):
        if not any(_deep_equal(x, y) for y in out):
            out.append(x)
    return out


@_fn("slice mustSlice", "aa", True)
def _slice(v, *ix):  # Sprig's slice replaces the builtin in Bitnami's function map
    if v is None:
        raise _CallError("invalid memory address or nil pointer dereference")
    if not isinstance(v, list):
        raise _CallError(f"list should be type of slice or array but {_kind(v)}")
    if not v:
        return None
    lo = _to_int(ix[0]) if ix else 0
    hi = _to_int(ix[1]) if len(ix) > 1 else len(v)
    if not 0 <= lo <= hi <= len(v):
        raise _CallError("index out of range")
    return type(v)(v[lo:hi]) if isinstance(v, StrList) else list(v[lo:hi])


# --------------------------------------------------------------------------- executor


class _ExecError(Exception):
    def __init__(self, pos, msg):
        super().__init__(msg)
        self.pos = pos


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NAMES = {"s": "string", "i": "int", "b": "bool", "m": "map[string]interface {}"}


class _Exec:
    def __init__(self, text, trees):
        self.text, self.trees = text, trees
        self.out, self.size, self.steps, self.depth = [], 0, 0, 0
        self.vars = []

    def step(self, pos, cost=1):
        self.steps += cost
        if self.steps > MAX_STEPS:
            raise _ExecError(pos, f"template exceeds {MAX_STEPS} evaluation steps")

    def write(self, s, pos):
        self.size += len(s)
        if self.size > MAX_OUTPUT:
            raise _ExecError(pos, f"output exceeds {MAX_OUTPUT} bytes")
        self.out.append(s)

    # variables
    def lookup(self, name, pos):
        for k, v in reversed(self.vars):
            if k == name:
                return v
        raise _ExecError(pos, f"undefined variable: {name}")

    def assign(self, name, value, pos):
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise _ExecError(pos, f"undefined variable: {name}")

    # statements
    def walk(self, dot, nodes):
        for node in nodes:
            self.step(node.pos)
            t = type(node)
            if t is _Text:
                self.write(node.text, node.pos)
            elif t is _Action:
                v = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.write("<no value>" if v is MISSING else _go_v(v), node.pos)
            elif t is _Control:
                mark = len(self.vars)
                try:
                    if node.kind == "range":
                        self.range(dot, node)
                        continue
                    v = self.pipeline(dot, node.pipe)
                    if _truth(v):
                        self.walk(v if node.kind == "with" else dot, node.body)
                    elif node.orelse is not None:
                        self.walk(dot, node.orelse)
                finally:
                    del self.vars[mark:]
            elif t is _TemplateCall:
                self.call_template(dot, node)
            else:
                raise _Break() if node.kind == "break" else _Continue()

    def range(self, dot, node):
        val = self.pipeline(dot, node.pipe)
        decl, mark = node.pipe.decl, len(self.vars)

        def one(index, elem):
            if decl:
                if node.pipe.is_assign:
                    self.assign(decl[0], index if len(decl) > 1 else elem, node.pos)
                else:
                    self.vars[-1][1] = elem
            if len(decl) > 1:
                if node.pipe.is_assign:
                    self.assign(decl[1], elem, node.pos)
                else:
                    self.vars[-2][1] = index
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            finally:
                del self.vars[mark:]

        if _is_int(val):
            if len(decl) > 1:
                raise _ExecError(node.pos, f"can't use a value of type {_type(val)} to iterate over "
                                           "more than one variable")
            items = ((None, type(val)(i)) for i in range(max(int(val), 0)))
            empty = val <= 0
        elif isinstance(val, list):
            items, empty = enumerate(val), not val
        elif isinstance(val, dict):
            items, empty = ((k, val[k]) for k in sorted(val, key=_skey)), not val
        elif val is MISSING:
            items, empty = (), True
        else:
            raise _ExecError(node.pos, f"range can't iterate over a value of type {_type(val)}")
        try:
            for index, elem in items:
                self.step(node.pos)
                one(index, elem)
        except _Break:
            pass
        if empty and node.orelse is not None:
            self.walk(dot, node.orelse)

    def call_template(self, dot, node):
        body = self.trees.get(node.name)
        if body is None:
            raise _ExecError(node.pos, f"template {node.name!r} not defined")
        if self.depth >= MAX_NESTING:
            raise _ExecError(node.pos, f"template calls nested deeper than {MAX_NESTING}")
        dot = self.pipeline(dot, node.pipe) if node.pipe else MISSING
        saved = self.vars
        self.vars, self.depth = [["$", dot]], self.depth + 1
        try:
            self.walk(dot, body)
        finally:
            self.vars, self.depth = saved, self.depth - 1

    # expressions
    def pipeline(self, dot, pipe):
        value = _NOFINAL
        for cmd in pipe.cmds:
            self.step(cmd.pos)
            value = self.command(dot, cmd, value)
            if value is None:  # a nil interface{} result is an invalid value, as in Go
                value = MISSING
        for name in pipe.decl:
            if pipe.is_assign:
                self.assign(name, value, pipe.pos)
            else:
                self.vars.append([name, value])
        return value

    def not_a_function(self, node, args, final):
        if len(args) > 1 or final is not _NOFINAL:
            raise _ExecError(node.pos, "can't give argument to non-function")

    def command(self, dot, cmd, final):
        first, args = cmd.args[0], cmd.args
        t = type(first)
        if t is _Field:
            return self.field_chain(dot, first, first.names, args, final)
        if t is _Chain:
            return self.chain(dot, first, args, final)
        if t is _Ident:
            return self.call(dot, first, args[1:], final)
        if t is _Var:
            return self.variable(dot, first, args, final)
        self.not_a_function(first, args, final)
        if t is _Pipe:
            return self.pipeline(dot, first)
        if t is _Number:
            return first.constant()
        if first.kind == "nil":
            raise _ExecError(first.pos, "nil is not a command")
        return dot if first.kind == "dot" else first.value

    def chain(self, dot, node, args, final):
        recv = self.arg(dot, None, node.node)
        return self.field_chain(dot, node, node.names, args, final, recv)

    def variable(self, dot, node, args, final):
        parts = node.name.split(".")
        value = self.lookup(parts[0], node.pos)
        names = parts[1:] + node.names
        if not names:
            self.not_a_function(node, args or [], final)
            return value
        return self.field_chain(dot, node, names, args, final, value)

    def field_chain(self, dot, node, names, args, final, recv=_NOFINAL):
        recv = dot if recv is _NOFINAL else recv
        for i, name in enumerate(names):
            last = i == len(names) - 1
            has_args = last and (len(args or []) > 1 or final is not _NOFINAL)
            if recv is MISSING:
                return MISSING
            if recv is None:
                raise _ExecError(node.pos, f"nil pointer evaluating interface {{}}.{name}")
            if not isinstance(recv, dict):
                raise _ExecError(node.pos, f"can't evaluate field {name} in type {_type(recv)}")
            if has_args:
                raise _ExecError(node.pos, f"{name} is not a method but has arguments")
            recv = recv.get(name, MISSING)
        return recv

    def call(self, dot, ident, args, final):
        fn = _FUNCS[ident.name]
        n_in = len(args) + (final is not _NOFINAL)
        n_fixed = len(fn.params) - 1 if fn.variadic else len(fn.params)
        if fn.variadic and n_in < n_fixed or not fn.variadic and n_in != n_fixed:
            want = f"at least {n_fixed}" if fn.variadic else str(n_fixed)
            raise _ExecError(ident.pos, f"wrong number of args for {fn.name}: want {want} "
                                        f"got {n_in}")
        if fn.impl is None:  # and / or: return the first (un)true argument, lazily
            v = MISSING
            for a in args:
                v = self.arg(dot, "v", a)
                if _truth(v) == (fn.name == "or"):
                    return v
            return final if final is not _NOFINAL else v
        types = [fn.params[min(i, len(fn.params) - 1)] for i in range(n_in)]
        argv = [self.arg(dot, types[i], a, fn.name) for i, a in enumerate(args)]
        if final is not _NOFINAL:
            argv.append(self.validate(final, types[-1], ident, fn.name))
        try:
            result = fn.impl(*argv)
        except _CallError as e:
            reason = str(e)
            if fn.impl is _fail and not _is_string_constant(args, final):
                reason = "message withheld: it is not a string constant of the template"
            raise _ExecError(ident.pos, f"error calling {fn.name}: {reason}") from None
        except UnicodeError:  # a lone surrogate that is no escaped byte; its offset would tell
            raise _ExecError(ident.pos, f"error calling {fn.name}: a value is not valid "
                                        "Unicode") from None
        if isinstance(result, (str, list)):
            if type(result) is str and len(result) > MAX_OUTPUT:
                raise _ExecError(ident.pos, f"{fn.name} result exceeds {MAX_OUTPUT} bytes")
            self.step(ident.pos, len(result) // 64)  # big values cost their size
        return result

    def validate(self, v, typ, node, fname=None):
        """Go's validateType: can value v be passed as a parameter of type typ?"""
        where = f"argument of {fname}: " if fname else ""
        if typ is None or typ == "v":
            return v
        if v is MISSING:
            if typ == "a":
                return None
            if typ == "m":
                return NilMap()
            raise _ExecError(node.pos, f"{where}invalid value; expected {_NAMES[typ]}")
        if typ == "a":
            return v
        ok = {"s": type(v) is str, "i": type(v) is int, "b": type(v) is bool,
              "m": type(v) in (dict, NilMap)}[typ]
        if not ok:
            got = "interface {}" if v is None else _type(v)
            raise _ExecError(node.pos, f"{where}wrong type for value; expected {_NAMES[typ]}; "
                                       f"got {got}")
        return v

    def arg(self, dot, typ, node, fname=None):
        t = type(node)
        if t is _Field:
            v = self.field_chain(dot, node, node.names, [node], _NOFINAL)
        elif t is _Var:
            v = self.variable(dot, node, None, _NOFINAL)
        elif t is _Pipe:
            v = self.pipeline(dot, node)
        elif t is _Ident:
            v = self.call(dot, node, [], _NOFINAL)
        elif t is _Chain:
            v = self.chain(dot, node, None, _NOFINAL)
        elif t is _Literal and node.kind == "dot":
            v = dot
        else:
            return self.literal(typ, node, fname)
        return self.validate(v, typ, node, fname)

    def literal(self, typ, node, fname):
        """A constant argument: Go checks it against the parameter type without converting."""
        t = type(node)
        if t is _Literal and node.kind == "nil":
            if typ in ("a", "m", "v", None):
                return {"a": None, "m": NilMap(), "v": MISSING, None: MISSING}[typ]
            raise _ExecError(node.pos, f"argument of {fname}: cannot assign nil to {_NAMES[typ]}")
        if typ in ("a", "v", None):
            return node.constant() if t is _Number else node.value
        if typ == "s" and t is _Literal and node.kind == "string":
            return node.value
        if typ == "b" and t is _Literal and node.kind == "bool":
            return node.value
        if typ == "i" and t is _Number and node.int is not None:
            return node.int
        found = node.text if t is _Number else _go_literal(node)
        raise _ExecError(node.pos, f"argument of {fname}: expected {_NAMES[typ]}; found {found}")


def _is_string_constant(args, final):
    """Is the only argument a string literal of the template (so not derived from a value)?"""
    return final is _NOFINAL and len(args) == 1 and type(args[0]) is _Literal and \
        args[0].kind == "string"


def _go_literal(node):
    if node.kind == "string":
        return _quote(node.value)
    return str(node.value).lower() if node.kind == "bool" else node.kind


def render(template_text: str, values: Mapping[str, str]) -> str:
    """Render a Go template against a map[string]string, as Bitnami's controller does.

    Raises TemplateError for parse and execution errors and unsupported constructs.
    Bytes that are not UTF-8 come back as surrogate escapes (see the module docstring).
    """
    if not isinstance(template_text, str) or not isinstance(values, Mapping):
        raise TemplateError("render() takes a template string and a mapping of values")
    data = StrMap()
    for k, v in values.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TemplateError("template values must map strings to strings")
        data[k] = v
    try:
        root, trees = _Parser(template_text).parse()
        ex = _Exec(template_text, trees)
        ex.vars = [["$", data]]
        try:
            ex.walk(data, root)
        except _ExecError as e:
            raise TemplateError(f"template: {_where(template_text, e.pos)}: {e}") from None
        return "".join(ex.out)
    except RecursionError:
        raise TemplateError("template or value is nested too deeply") from None
    except UnicodeError:
        raise TemplateError("template text or values are not valid Unicode") from None

"""The lexer: a port of the state machine of Go's text/template/parse."""

from __future__ import annotations

import unicodedata
from typing import NoReturn

from sealer.template.errors import LimitError, TemplateError
from sealer.template.limits import TOKEN_COST, Budget, str_cost

_SPACE = " \t\r\n"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"}
# Token types: ints for the lexer's items, the keyword itself for keywords.
(
    TEXT,
    LDELIM,
    RDELIM,
    SPACE,
    FIELD,
    IDENT,
    VAR,
    DOT,
    STRING,
    RAWSTRING,
    NUMBER,
    CHARCONST,
    COMPLEX,
    BOOL,
    PIPE,
    LPAREN,
    RPAREN,
    ASSIGN,
    DECLARE,
    CHAR,
    EOF,
) = range(21)
TokType = int | str


def is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


class Tok:
    __slots__ = ("idx", "pos", "typ", "val")

    def __init__(self, typ: TokType, val: str, pos: int) -> None:
        self.typ, self.val, self.pos, self.idx = typ, val, pos, 0

    def __str__(self) -> str:
        if self.typ == EOF:
            return "EOF"
        return f"<{self.val}>" if self.val in KEYWORDS else repr(self.val)


def where(text: str, pos: int) -> str:
    """line:column of a position of the template."""
    line = text.count("\n", 0, pos) + 1
    return f"{line}:{pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def lex(text: str, budget: Budget) -> list[Tok]:
    """Tokenize like Go's text/template/parse lexer (a port of its state machine).

    Each token is charged to the budget as it is made (it and its share of the parse tree)."""
    toks: list[Tok] = []
    n = len(text)
    pos = start = paren = 0
    if n > budget.limits.template:
        raise TemplateError(f"template: template text exceeds {budget.limits.template} bytes")
    budget.alloc(str_cost(text))

    def err(msg: str, at: int | None = None) -> NoReturn:
        raise TemplateError(f"template: {where(text, start if at is None else at)}: {msg}")

    def charge(tok: Tok) -> None:  # tokens are charged as they come, 256 at a time
        try:
            budget.alloc(TOKEN_COST * ((len(toks) - 1) % 256 + 1))
        except LimitError as e:
            raise TemplateError(f"template: {where(text, tok.pos)}: {e}") from None

    def add(tok: Tok) -> None:
        toks.append(tok)
        if not len(toks) & 255 or tok.typ == EOF:
            charge(tok)

    def emit(typ: TokType) -> None:
        nonlocal start
        tok = Tok(typ, text[start:pos], start)
        toks.append(tok)
        if not len(toks) & 255:
            charge(tok)
        start = pos

    def left_trim(i: int) -> bool:
        return i + 1 < n and text[i] == "-" and text[i + 1] in _SPACE

    def right_trim(i: int) -> bool:
        return i + 1 < n and text[i] in _SPACE and text[i + 1] == "-"

    def at_right_delim() -> tuple[bool, bool]:
        if right_trim(pos) and text.startswith("}}", pos + 2):
            return True, True
        return text.startswith("}}", pos), False

    def at_terminator() -> bool:
        return pos >= n or text[pos] in " \t\r\n.,|:)(" or text.startswith("}}", pos)

    def accept(valid: str) -> bool:
        nonlocal pos
        if pos < n and text[pos] in valid:
            pos += 1
            return True
        return False

    def accept_run(valid: str) -> None:
        while accept(valid):
            pass

    def scan_number() -> bool:
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
        if pos < n and is_alnum(text[pos]):
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
                add(Tok(EOF, "", n))
                for i, tok in enumerate(toks):
                    tok.idx = i
                return toks
            end = x
            if left_trim(x + 2):
                end = len(text[start:x].rstrip(_SPACE)) + start
            if end > start:
                add(Tok(TEXT, text[start:end], start))
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
                    err("unterminated quoted string" if c == '"' else "unterminated character constant")
                ch = text[pos]
                pos += 1
                if ch == "\\":
                    if pos >= n or text[pos] == "\n":
                        err("unterminated quoted string" if c == '"' else "unterminated character constant")
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
        elif c == "$" or (c == "." and pos < n and not "0" <= text[pos] <= "9"):
            if at_terminator():
                emit(VAR if c == "$" else DOT)
                continue
            while pos < n and is_alnum(text[pos]):
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
        elif is_alnum(c):
            while pos < n and is_alnum(text[pos]):
                pos += 1
            word = text[start:pos]
            if not at_terminator():
                err(f"bad character {text[pos]!r}", pos)
            emit(IDENT if word not in KEYWORDS else word)  # keywords are their own type
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

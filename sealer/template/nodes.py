"""The parse tree (Go's text/template/parse nodes, reduced to what execution needs)."""

from __future__ import annotations

from sealer.template.errors import ExecError, TemplateError
from sealer.template.lexer import CHARCONST, COMPLEX, Tok, where
from sealer.template.literals import parse_float, parse_int, parse_uint, unquote_char
from sealer.template.values import Value


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class Text(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos = pos
        self.text = text


class Action(Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: Pipe) -> None:
        self.pos = pos
        self.pipe = pipe


class Control(Node):  # if / with / range
    __slots__ = ("body", "kind", "orelse", "pipe")

    def __init__(self, pos: int, kind: str, pipe: Pipe, body: list[Node], orelse: list[Node] | None) -> None:
        self.pos = pos
        self.kind, self.pipe, self.body, self.orelse = kind, pipe, body, orelse


class TemplateCall(Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: Pipe | None) -> None:
        self.pos = pos
        self.name, self.pipe = name, pipe


class Jump(Node):  # break / continue / end / else markers
    __slots__ = ("kind",)

    def __init__(self, pos: int, kind: str) -> None:
        self.pos = pos
        self.kind = kind

    def __str__(self) -> str:  # as Go prints the node in "unexpected ... in define clause"
        return f"{{{{{self.kind}}}}}"


class Pipe(Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.decl: list[str] = []
        self.is_assign = False
        self.cmds: list[Command] = []


class Command(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.args: list[Node] = []


class Field(Node):
    __slots__ = ("names",)

    def __init__(self, pos: int, names: list[str]) -> None:
        self.pos = pos
        self.names = names


class Var(Node):
    __slots__ = ("name", "names")

    def __init__(self, pos: int, name: str, names: list[str]) -> None:
        self.pos = pos
        self.name, self.names = name, names


class Chain(Node):
    __slots__ = ("names", "node")

    def __init__(self, pos: int, node: Node, names: list[str]) -> None:
        self.pos = pos
        self.node, self.names = node, names


class Ident(Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name


class Literal(Node):  # string, bool, nil, dot
    __slots__ = ("kind", "value")

    def __init__(self, pos: int, kind: str, value: str | bool) -> None:
        self.pos = pos
        self.kind, self.value = kind, value


class Number(Node):
    """A number literal, with Go's parse.NumberNode interpretations."""

    __slots__ = ("float", "int", "text")

    def __init__(self, tok: Tok, text: str) -> None:
        self.pos = tok.pos
        self.text = tok.val
        self.int: int | None = None
        self.float: float | None = None
        at = f"template: {where(text, tok.pos)}"
        if tok.typ == COMPLEX or tok.val.endswith("i"):
            raise TemplateError(f"{at}: complex number {tok.val} is not supported")
        if tok.typ == CHARCONST:
            tail: str | None
            try:
                self.int, _, tail = unquote_char(tok.val[1:], "'")
            except ValueError:
                tail = None
            if tail != "'" or self.int is None:
                raise TemplateError(f"{at}: malformed character constant: {tok.val}")
            self.float = float(self.int)
            return
        u, i = parse_uint(tok.val), parse_int(tok.val)
        if i is not None:
            self.int, self.float = i, float(i)
        elif u is not None:
            self.float = float(u)
        else:
            f = parse_float(tok.val)
            if f is None:
                raise TemplateError(f"{at}: illegal number syntax: {tok.val!r}")
            if not any(c in tok.val for c in ".eEpP"):
                raise TemplateError(f"{at}: integer overflow: {tok.val}")
            self.float = f
            if f == int(f) and -(1 << 63) <= int(f) < 1 << 63:
                self.int = int(f)

    def constant(self) -> Value:
        """The value of the literal where its type is free (Go's idealConstant)."""
        t = self.text
        hex_int = len(t) > 2 and t[0] == "0" and t[1] in "xX" and not any(c in t for c in "pP")
        if self.float is not None and t[0] != "'" and not hex_int and any(c in t for c in ".eEpP"):
            return self.float
        if self.int is not None:
            return self.int
        raise ExecError(self.pos, f"{t} overflows int")

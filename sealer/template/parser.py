"""The parser: a port of Go's text/template/parse recursive-descent parser.

Its recursion is bounded by ``Limits.nesting`` (parentheses and control blocks count alike).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from sealer.template.errors import TemplateError
from sealer.template.functions import check_function
from sealer.template.lexer import (
    ASSIGN,
    BOOL,
    CHAR,
    CHARCONST,
    COMPLEX,
    DECLARE,
    DOT,
    EOF,
    FIELD,
    IDENT,
    LDELIM,
    LPAREN,
    NUMBER,
    PIPE,
    RAWSTRING,
    RDELIM,
    RPAREN,
    SPACE,
    STRING,
    TEXT,
    VAR,
    Tok,
    TokType,
    lex,
    where,
)
from sealer.template.limits import Budget
from sealer.template.literals import unquote
from sealer.template.nodes import (
    Action,
    Chain,
    Command,
    Control,
    Field,
    Ident,
    Jump,
    Literal,
    Node,
    Number,
    Pipe,
    TemplateCall,
    Text,
    Var,
)
from sealer.template.values import GO_SPACES


class Parser:
    """A port of Go's text/template/parse recursive-descent parser."""

    def __init__(self, text: str, budget: Budget) -> None:
        self.text = text
        self.max_nesting = budget.limits.nesting
        self.toks = lex(text, budget)
        self.i = 0
        self.vars: list[str] = ["$"]
        self.range_depth = self.depth = 0
        self.trees: dict[str, list[Node]] = {}

    # token stream
    def next(self) -> Tok:
        t = self.toks[self.i]
        if t.typ != EOF:
            self.i += 1
        return t

    def peek(self) -> Tok:
        return self.toks[self.i]

    def next_non_space(self) -> Tok:
        t = self.next()
        while t.typ == SPACE:
            t = self.next()
        return t

    def peek_non_space(self) -> Tok:
        t = self.next_non_space()
        self.backup(t)
        return t

    def backup(self, tok: Tok) -> None:
        self.i = tok.idx

    def error(self, msg: str, pos: int | None = None) -> NoReturn:
        if pos is None:
            pos = self.toks[max(self.i - 1, 0)].pos
        raise TemplateError(f"template: {where(self.text, pos)}: {msg}")

    def unexpected(self, tok: Tok | Jump, context: str) -> NoReturn:
        self.error(f"unexpected {tok} in {context}", tok.pos)

    def expect(self, typ: TokType, context: str) -> Tok:
        t = self.next_non_space()
        if t.typ != typ:
            self.unexpected(t, context)
        return t

    def nest(self, delta: int) -> None:
        self.depth += delta
        if self.depth > self.max_nesting:
            self.error(f"nesting deeper than {self.max_nesting} levels is not supported")

    # structure
    def parse(self) -> tuple[list[Node], dict[str, list[Node]]]:
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
            if isinstance(n, Jump) and n.kind in ("end", "else"):
                self.error(f"unexpected {{{{{n.kind}}}}}", n.pos)
            root.append(n)
        return root, self.trees

    def in_new_tree(self, fn: Callable[[], list[Node]]) -> list[Node]:
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        try:
            return fn()
        finally:
            self.vars, self.range_depth = saved

    def add_tree(self, name: str, body: list[Node], pos: int) -> None:
        old = self.trees.get(name)
        if old is None or is_empty(old):
            self.trees[name] = body
        elif not is_empty(body):
            self.error(f"template: multiple definition of template {name!r}", pos)

    def parse_definition(self) -> None:
        tok = self.next_non_space()
        if tok.typ not in (STRING, RAWSTRING):
            self.unexpected(tok, "define clause")
        name = unquote(tok, self.text)
        self.expect(RDELIM, "define clause")

        def body() -> list[Node]:
            lst, end = self.item_list()
            if end.kind != "end":
                self.unexpected(end, "define clause")
            return lst

        self.add_tree(name, self.in_new_tree(body), tok.pos)

    def item_list(self) -> tuple[list[Node], Jump]:
        nodes: list[Node] = []
        while self.peek_non_space().typ != EOF:
            n = self.text_or_action()
            if isinstance(n, Jump) and n.kind in ("end", "else"):
                return nodes, n
            nodes.append(n)
        self.error("unexpected EOF", len(self.text))

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == TEXT:
            return Text(tok.pos, tok.val)
        if tok.typ == LDELIM:
            return self.action()
        self.unexpected(tok, "input")

    def action(self) -> Node:
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
            return Jump(tok.pos, kw)
        if kw == "else":
            if self.peek_non_space().typ not in ("if", "with"):
                self.expect(RDELIM, "else")
            return Jump(tok.pos, "else")
        if kw == "end":
            self.expect(RDELIM, "end")
            return Jump(tok.pos, "end")
        if kw in ("template", "block"):
            return self.template_call(kw, tok)
        self.backup(tok)
        return Action(tok.pos, self.pipeline("command", RDELIM))

    def control(self, kind: str, pos: int) -> Control:
        nvars = len(self.vars)
        self.nest(1)
        try:
            pipe = self.pipeline(kind, RDELIM)
            self.range_depth += kind == "range"
            body, nxt = self.item_list()
            self.range_depth -= kind == "range"
            orelse: list[Node] | None = None
            if nxt.kind == "else":
                if kind in ("if", "with") and self.peek().typ == kind:
                    tok = self.next()
                    orelse = [self.control(kind, tok.pos)]
                else:
                    orelse, nxt = self.item_list()
                    if nxt.kind != "end":
                        self.error("expected end; found {{else}}", nxt.pos)
            return Control(pos, kind, pipe, body, orelse)
        finally:
            del self.vars[nvars:]
            self.nest(-1)

    def template_call(self, kw: str, kwtok: Tok) -> TemplateCall:
        context = f"{kw} clause"
        tok = self.next_non_space()
        if tok.typ not in (STRING, RAWSTRING):
            self.unexpected(tok, context)
        name = unquote(tok, self.text)
        pipe = None
        if kw == "block":
            pipe = self.pipeline(context, RDELIM)

            def body() -> list[Node]:
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
        return TemplateCall(kwtok.pos, name, pipe)

    # pipelines
    def pipeline(self, context: str, end: TokType) -> Pipe:
        pipe = Pipe(self.peek_non_space().pos)
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
                    if isinstance(a, (Literal, Number)):
                        self.error(f"non executable command in pipeline stage {i + 2}", a.pos)
                return pipe
            if tok.typ in (BOOL, CHARCONST, COMPLEX, DOT, FIELD, IDENT, NUMBER, "nil", RAWSTRING, STRING, VAR, LPAREN):
                self.backup(tok)
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def command(self) -> Command:
        cmd = Command(self.peek_non_space().pos)
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

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().typ != FIELD:
            return node
        names = []
        while self.peek().typ == FIELD:
            names.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(node.pos, node.names + names)
        if isinstance(node, Var):
            return Var(node.pos, node.name, node.names + names)
        if isinstance(node, (Literal, Number)):
            self.error("unexpected . after term")
        return Chain(node.pos, node, names)

    def term(self) -> Node | None:
        tok = self.next_non_space()
        t = tok.typ
        if t == IDENT:
            check_function(tok.val, self.text, tok.pos)
            return Ident(tok.pos, tok.val)
        if t in (DOT, "nil", BOOL):
            kind = {DOT: "dot", "nil": "nil", BOOL: "bool"}[t]
            return Literal(tok.pos, kind, tok.val == "true")
        if t == VAR:
            name = tok.val.split(".")[0]
            if name not in self.vars:
                self.error(f"undefined variable {name!r}", tok.pos)
            return Var(tok.pos, tok.val, [])
        if t == FIELD:
            return Field(tok.pos, [tok.val[1:]])
        if t in (NUMBER, CHARCONST, COMPLEX):
            return Number(tok, self.text)
        if t == LPAREN:
            self.nest(1)
            pipe = self.pipeline("parenthesized pipeline", RPAREN)
            self.nest(-1)
            return pipe
        if t in (STRING, RAWSTRING):
            return Literal(tok.pos, "string", unquote(tok, self.text))
        self.backup(tok)
        return None


def is_empty(nodes: list[Node]) -> bool:
    return all(isinstance(n, Text) and not n.text.strip(GO_SPACES) for n in nodes)

"""The executor: walks the parse tree over the data, as Go's text/template exec does.

Every node walked, command run and loop round is a step of the budget; what functions make is
charged as it is made (see ``call``); output is counted as it is written. Recursion is bounded:
template calls by ``Limits.nesting``, and the Python frames that blocks, pipelines and template
calls nest at run time by six times that (see ``Exec.enter``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sealer.template.errors import Break, CallError, Continue, ExecError, LimitError
from sealer.template.fmt import go_v
from sealer.template.functions import FUNCS, fail
from sealer.template.limits import DICT_BASE, DICT_ITEM, LIST_BASE, LIST_ITEM, Budget, str_cost
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
from sealer.template.text import quote
from sealer.template.values import MISSING, NOFINAL, NilMap, Value, is_int, skey, truth, type_name

_NAMES = {"s": "string", "i": "int", "b": "bool", "m": "map[string]interface {}"}
Frame = list[Value]  # [name, value]: a variable in scope


class Exec:
    def __init__(self, text: str, trees: dict[str, list[Node]], budget: Budget, dot: Value) -> None:
        self.text, self.trees, self.budget = text, trees, budget
        self.out: list[str] = []
        self.pos = 0  # of the node being evaluated: where a limit error is reported
        self.calls = self.frames = 0
        self.max_frames = 6 * budget.limits.nesting
        self.max_string = budget.limits.string
        # The executor's own steps and output are counted here and handed to the budget every
        # 256 steps (and at the end): the hottest path of all stays two additions.
        self.pending = self.size = 0
        self.max_size = budget.limits.output - budget.output
        self.vars: list[Frame] = [["$", dot]]

    def step(self, pos: int, cost: int = 1) -> None:
        self.pos = pos
        self.pending += cost
        if self.pending >= 256:
            self.flush()

    def flush(self) -> None:
        """Hand the steps counted here to the budget (which checks its limits and the clock)."""
        pending, self.pending = self.pending, 0
        self.budget.step(pending)

    def write(self, s: str, pos: int) -> None:
        self.size += len(s)
        if self.size > self.max_size:
            self.pos = pos
            self.budget.emit(self.size)  # raises: the output limit, shared by the budget's renders
        self.out.append(s)

    def finish(self) -> str:
        self.flush()
        self.budget.emit(self.size)
        return "".join(self.out)

    def enter(self, pos: int, frames: int) -> None:
        """Python frames about to be used by a nested body or pipeline: bounded, so that no
        template can reach Python's recursion limit (parsing bounds one tree's nesting; this
        bounds template calls with what their bodies nest)."""
        self.frames += frames
        if self.frames > self.max_frames:
            raise ExecError(pos, "template nests blocks, pipelines and template calls too deeply at run time")

    # variables
    def lookup(self, name: str, pos: int) -> Value:
        for k, v in reversed(self.vars):
            if k == name:
                return v
        raise ExecError(pos, f"undefined variable: {name}")

    def assign(self, name: str, value: Value, pos: int) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise ExecError(pos, f"undefined variable: {name}")

    # statements
    def walk(self, dot: Value, nodes: list[Node], frames: int = 1) -> None:
        self.frames += frames
        if self.frames > self.max_frames:
            self.enter(nodes[0].pos if nodes else self.pos, 0)
        try:
            for node in nodes:
                self.step(node.pos)
                t = type(node)  # dispatch on the exact type: the hottest loop of all
                if t is Text:
                    self.write(node.text, node.pos)  # type: ignore[attr-defined]
                elif t is Action:
                    pipe = node.pipe  # type: ignore[attr-defined]
                    v = self.pipeline(dot, pipe)
                    if not pipe.decl:
                        self.write("<no value>" if v is MISSING else go_v(v, self.budget), node.pos)
                elif t is Control:
                    self.control(dot, node)  # type: ignore[arg-type]
                elif t is TemplateCall:
                    self.call_template(dot, node)  # type: ignore[arg-type]
                else:
                    assert isinstance(node, Jump)
                    raise Break() if node.kind == "break" else Continue()
        finally:
            self.frames -= frames

    def control(self, dot: Value, node: Control) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(dot, node)
                return
            v = self.pipeline(dot, node.pipe)
            if truth(v):
                self.walk(v if node.kind == "with" else dot, node.body, 2)  # control, walk
            elif node.orelse is not None:
                self.walk(dot, node.orelse, 2)
        finally:
            del self.vars[mark:]

    def range(self, dot: Value, node: Control) -> None:
        val = self.pipeline(dot, node.pipe)
        decl, mark = node.pipe.decl, len(self.vars)

        def one(index: Value, elem: Value) -> None:
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
                self.walk(elem, node.body, 4)  # control, range, one, walk
            except Continue:
                pass
            finally:
                del self.vars[mark:]

        items: Iterator[tuple[Value, Value]]
        if is_int(val):
            if len(decl) > 1:
                raise ExecError(
                    node.pos, f"can't use a value of type {type_name(val)} to iterate over more than one variable"
                )
            items = ((None, type(val)(i)) for i in range(max(int(val), 0)))
            empty = val <= 0
        elif isinstance(val, list):
            items, empty = enumerate(val), not val
        elif isinstance(val, dict):
            self.step(node.pos, len(val))  # the sort
            items, empty = ((k, val[k]) for k in sorted(val, key=skey)), not val
        elif val is MISSING:
            items, empty = iter(()), True
        else:
            raise ExecError(node.pos, f"range can't iterate over a value of type {type_name(val)}")
        try:
            for index, elem in items:
                self.step(node.pos)
                one(index, elem)
        except Break:
            pass
        if empty and node.orelse is not None:
            self.walk(dot, node.orelse)

    def call_template(self, dot: Value, node: TemplateCall) -> None:
        body = self.trees.get(node.name)
        if body is None:
            raise ExecError(node.pos, f"template {node.name!r} not defined")
        limit = self.budget.limits.nesting
        if self.calls >= limit:
            raise ExecError(node.pos, f"template calls nested deeper than {limit}")
        dot = self.pipeline(dot, node.pipe) if node.pipe else MISSING
        saved = self.vars
        self.vars, self.calls = [["$", dot]], self.calls + 1
        try:
            self.walk(dot, body, 2)  # call_template, walk
        finally:
            self.vars, self.calls = saved, self.calls - 1

    # expressions
    def pipeline(self, dot: Value, pipe: Pipe) -> Value:
        self.frames += 4  # pipeline, command, call, arg
        if self.frames > self.max_frames:
            self.enter(pipe.pos, 0)
        # No try/finally: what may be raised in a pipeline ends the render (break and
        # continue are statements, raised and caught outside pipelines).
        value = NOFINAL
        for cmd in pipe.cmds:
            self.step(cmd.pos)
            value = self.command(dot, cmd, value)
            if value is None:  # a nil interface{} result is an invalid value, as in Go
                value = MISSING
        self.frames -= 4
        for name in pipe.decl:
            if pipe.is_assign:
                self.assign(name, value, pipe.pos)
            else:
                self.vars.append([name, value])
        return value

    def not_a_function(self, node: Node, args: list[Node], final: Value) -> None:
        if len(args) > 1 or final is not NOFINAL:
            raise ExecError(node.pos, "can't give argument to non-function")

    def command(self, dot: Value, cmd: Command, final: Value) -> Value:
        first, args = cmd.args[0], cmd.args
        t = type(first)
        if t is Field:
            return self.field_chain(dot, first, first.names, args, final)  # type: ignore[attr-defined]
        if t is Ident:
            return self.call(dot, first, args[1:], final)  # type: ignore[arg-type]
        if t is Var:
            return self.variable(dot, first, args, final)  # type: ignore[arg-type]
        if t is Chain:
            return self.chain(dot, first, args, final)  # type: ignore[arg-type]
        self.not_a_function(first, args, final)
        if isinstance(first, Pipe):
            return self.pipeline(dot, first)
        if isinstance(first, Number):
            return first.constant()
        assert isinstance(first, Literal)
        if first.kind == "nil":
            raise ExecError(first.pos, "nil is not a command")
        return dot if first.kind == "dot" else first.value

    def chain(self, dot: Value, node: Chain, args: list[Node] | None, final: Value) -> Value:
        recv = self.arg(dot, None, node.node)
        return self.field_chain(dot, node, node.names, args, final, recv)

    def variable(self, dot: Value, node: Var, args: list[Node] | None, final: Value) -> Value:
        parts = node.name.split(".")
        value = self.lookup(parts[0], node.pos)
        names = parts[1:] + node.names
        if not names:
            self.not_a_function(node, args or [], final)
            return value
        return self.field_chain(dot, node, names, args, final, value)

    def field_chain(
        self, dot: Value, node: Node, names: list[str], args: list[Node] | None, final: Value, recv: Value = NOFINAL
    ) -> Value:
        recv = dot if recv is NOFINAL else recv
        for i, name in enumerate(names):
            last = i == len(names) - 1
            has_args = last and (len(args or []) > 1 or final is not NOFINAL)
            if recv is MISSING:
                return MISSING
            if recv is None:
                raise ExecError(node.pos, f"nil pointer evaluating interface {{}}.{name}")
            if not isinstance(recv, dict):
                raise ExecError(node.pos, f"can't evaluate field {name} in type {type_name(recv)}")
            if has_args:
                raise ExecError(node.pos, f"{name} is not a method but has arguments")
            recv = recv.get(name, MISSING)
        return recv

    def call(self, dot: Value, ident: Ident, args: list[Node], final: Value) -> Value:
        fn = FUNCS[ident.name]
        n_in = len(args) + (final is not NOFINAL)
        n_fixed = len(fn.params) - 1 if fn.variadic else len(fn.params)
        if (fn.variadic and n_in < n_fixed) or (not fn.variadic and n_in != n_fixed):
            want = f"at least {n_fixed}" if fn.variadic else str(n_fixed)
            raise ExecError(ident.pos, f"wrong number of args for {fn.name}: want {want} got {n_in}")
        if fn.impl is None:  # and / or: return the first (un)true argument, lazily
            v = MISSING
            for a in args:
                v = self.arg(dot, "v", a)
                if truth(v) == (fn.name == "or"):
                    return v
            return final if final is not NOFINAL else v
        types = [fn.params[min(i, len(fn.params) - 1)] for i in range(n_in)]
        argv = [self.arg(dot, types[i], a, fn.name) for i, a in enumerate(args)]
        if final is not NOFINAL:
            argv.append(self.validate(final, types[-1], ident, fn.name))
        budget = self.budget
        self.pos = ident.pos
        try:
            size = 0
            for a in argv:
                if type(a) is str:
                    size += len(a)
            if size >= 256:  # big strings cost their size to read, whatever the function does
                budget.step(size >> 8)
            result = fn.impl(budget, *argv) if fn.budget else fn.impl(*argv)
            if isinstance(result, str | list | dict):
                for a in argv:
                    if result is a:  # an argument passed through: nothing new was made
                        break
                else:
                    self.charge(fn.name, ident, result)
        except CallError as e:
            reason = str(e)
            if fn.impl is fail and not _is_string_constant(args, final):
                reason = "message withheld: it is not a string constant of the template"
            raise ExecError(ident.pos, f"error calling {fn.name}: {reason}") from None
        except LimitError as e:
            raise ExecError(ident.pos, f"error calling {fn.name}: {e}") from None
        except UnicodeError:  # a lone surrogate that is no escaped byte; its offset would tell
            raise ExecError(ident.pos, f"error calling {fn.name}: a value is not valid Unicode") from None
        return result

    def charge(self, name: str, ident: Ident, result: str | list[Value] | dict[str, Value]) -> None:
        """A function's new result: its size is allocated, and big values cost steps."""
        budget = self.budget
        if type(result) is str:
            n = len(result)
            if n > self.max_string:
                raise ExecError(ident.pos, f"{name} result exceeds {self.max_string} bytes")
            budget.alloc(str_cost(result))
            if n >= 64:
                budget.step(n >> 6)
            return
        if isinstance(result, list):
            budget.alloc(LIST_BASE + LIST_ITEM * len(result))
        else:
            budget.alloc(DICT_BASE + DICT_ITEM * len(result))
        budget.step(len(result) >> 2)  # made element by element, in Python mostly

    def validate(self, v: Value, typ: str | None, node: Node, fname: str | None = None) -> Value:
        """Go's validateType: can value v be passed as a parameter of type typ?"""
        where = f"argument of {fname}: " if fname else ""
        if typ is None or typ == "v":
            return v
        if v is MISSING:
            if typ == "a":
                return None
            if typ == "m":
                return NilMap()
            raise ExecError(node.pos, f"{where}invalid value; expected {_NAMES[typ]}")
        if typ == "a":
            return v
        ok = {"s": type(v) is str, "i": type(v) is int, "b": type(v) is bool, "m": type(v) in (dict, NilMap)}[typ]
        if not ok:
            got = "interface {}" if v is None else type_name(v)
            raise ExecError(node.pos, f"{where}wrong type for value; expected {_NAMES[typ]}; got {got}")
        return v

    def arg(self, dot: Value, typ: str | None, node: Node, fname: str | None = None) -> Value:
        t = type(node)
        if t is Field:
            v = self.field_chain(dot, node, node.names, [node], NOFINAL)  # type: ignore[attr-defined]
        elif t is Var:
            v = self.variable(dot, node, None, NOFINAL)  # type: ignore[arg-type]
        elif t is Pipe:
            v = self.pipeline(dot, node)  # type: ignore[arg-type]
        elif t is Ident:
            v = self.call(dot, node, [], NOFINAL)  # type: ignore[arg-type]
        elif t is Chain:
            v = self.chain(dot, node, None, NOFINAL)  # type: ignore[arg-type]
        elif t is Literal and node.kind == "dot":  # type: ignore[attr-defined]
            v = dot
        else:
            return self.literal(typ, node, fname)
        return self.validate(v, typ, node, fname)

    def literal(self, typ: str | None, node: Node, fname: str | None) -> Value:
        """A constant argument: Go checks it against the parameter type without converting."""
        if isinstance(node, Literal) and node.kind == "nil":
            if typ in ("a", "m", "v", None):
                return {"a": None, "m": NilMap(), "v": MISSING, None: MISSING}[typ]
            assert typ is not None
            raise ExecError(node.pos, f"argument of {fname}: cannot assign nil to {_NAMES[typ]}")
        if typ in ("a", "v", None):
            return node.constant() if isinstance(node, Number) else node.value  # type: ignore[attr-defined]
        if typ == "s" and isinstance(node, Literal) and node.kind == "string":
            return node.value
        if typ == "b" and isinstance(node, Literal) and node.kind == "bool":
            return node.value
        if typ == "i" and isinstance(node, Number) and node.int is not None:
            return node.int
        assert typ is not None
        found = node.text if isinstance(node, Number) else _go_literal(node)
        raise ExecError(node.pos, f"argument of {fname}: expected {_NAMES[typ]}; found {found}")


def _is_string_constant(args: list[Node], final: Value) -> bool:
    """Is the only argument a string literal of the template (so not derived from a value)?"""
    return final is NOFINAL and len(args) == 1 and isinstance(args[0], Literal) and args[0].kind == "string"


def _go_literal(node: Node) -> str:
    assert isinstance(node, Literal)
    if node.kind == "string":
        assert isinstance(node.value, str)
        return quote(node.value)
    return str(node.value).lower() if node.kind == "bool" else node.kind

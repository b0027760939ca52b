"""Limits of one evaluation, and the budget that enforces them as evaluation goes.

Every template a tenant writes runs inside the controller, over values the tenant may choose. So
cost is counted before (or while) it is incurred, never measured afterwards:

- **steps**: nodes walked, commands run, loop rounds, nodes of values compared, and bytes
  processed (a big string costs its size), so CPU is bounded;
- **allocated**: every string, list and dict the evaluation creates is charged its approximate
  CPython size when it is made, garbage included (the sum, not what is live), so memory is bounded
  whatever is shared or thrown away;
- **string**: no single string (an intermediate or a rendered value) exceeds this; a renderer
  (``toJson``, ``printf``, ``print`` ...) writes into a ``Sink`` that stops at the limit, so a
  value that shares itself exponentially is never expanded past it;
- **output**: the rendered text of all of one object's templates together (Kubernetes refuses a
  Secret whose data exceeds 1 MiB, so more could never be used);
- **seconds**: a wall-clock deadline, checked between steps (a backstop: steps bound CPU already);
- **nesting**, **depth**: parse nesting and template calls; nesting of values inside each other,
  which also bounds the engine's recursion (a value containing itself is too deep).

One ``Budget`` may be shared by several ``render`` calls: the controller renders all of a
SealedSecret's ``spec.template.data`` keys against one, so the limits hold per object.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sealer.template.errors import LimitError


@dataclass(frozen=True)
class Limits:
    output: int = 1 << 20  # characters of output, all templates of a budget together
    string: int = 1 << 20  # characters of any one string made during evaluation
    allocated: int = 64 << 20  # bytes allocated during evaluation, all together
    steps: int = 200_000  # evaluation steps
    seconds: float = 3.0  # wall-clock time of all renders sharing a budget
    nesting: int = 100  # parse nesting (parentheses, control blocks), and template calls
    depth: int = 100  # nesting of lists and dicts inside each other
    template: int = 1 << 20  # characters of template text


LIMITS = Limits()

# Approximate CPython (64-bit) sizes, for charging what evaluation allocates.
LIST_BASE, LIST_ITEM = 56, 8
DICT_BASE, DICT_ITEM = 64, 100  # an entry, its share of the table, and a small key
SCALAR = 32
TOKEN_COST = 400  # a token of the lexer and its share of the parse tree (measured: bench/template_bench.py)
_CHECK_EVERY = 256  # steps between two looks at the clock


def str_cost(s: str) -> int:
    return 49 + len(s) if s.isascii() else 76 + 4 * len(s)


class Budget:
    """What one evaluation (or several, sharing it) may still spend."""

    __slots__ = ("allocated", "deadline", "limits", "next_check", "output", "steps")

    def __init__(self, limits: Limits = LIMITS) -> None:
        self.limits = limits
        self.steps = self.allocated = self.output = 0
        self.deadline = time.monotonic() + limits.seconds
        self.next_check = min(_CHECK_EVERY, limits.steps + 1)

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps >= self.next_check:  # one comparison on the hot path
            self.checkpoint()

    def checkpoint(self) -> None:
        """The step limit and the clock, looked at every few hundred steps (``next_check``)."""
        if self.steps > self.limits.steps:
            raise LimitError(f"template exceeds {self.limits.steps} evaluation steps")
        self.next_check = min(self.steps + _CHECK_EVERY, self.limits.steps + 1)
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitError(f"template evaluation exceeds {self.limits.seconds:g} seconds")

    def alloc(self, nbytes: int) -> None:
        self.allocated += nbytes
        if self.allocated > self.limits.allocated:
            raise LimitError(f"template evaluation exceeds its {self.limits.allocated}-byte memory budget")

    def room(self) -> int:
        """Bytes that may still be allocated."""
        return self.limits.allocated - self.allocated

    def need(self, nbytes: int) -> None:
        """Refuse, before allocating, what would exceed the budget."""
        if nbytes > self.room():
            raise LimitError(f"template evaluation exceeds its {self.limits.allocated}-byte memory budget")

    def need_string(self, nchars: int) -> None:
        """Refuse, before building it, a string of ``nchars`` characters that could not be kept."""
        if nchars > self.limits.string:
            raise LimitError(f"result exceeds the {self.limits.string}-byte limit")
        self.need(nchars)

    def emit(self, nchars: int) -> None:
        self.output += nchars
        if self.output > self.limits.output:
            raise LimitError(f"output exceeds {self.limits.output} bytes")

    def sink(self) -> Sink:
        """A bounded buffer for one string: at most the string limit, and what the budget has left."""
        string = self.limits.string
        room = self.room()
        if room < string:
            return Sink(max(room, 0), f"template evaluation exceeds its {self.limits.allocated}-byte memory budget")
        return Sink(string, f"result exceeds the {string}-byte limit")


class Sink:
    """Text written piece by piece that refuses to grow past ``cap`` characters, before it does."""

    __slots__ = ("cap", "chunks", "message", "parts", "size")

    def __init__(self, cap: int, message: str) -> None:
        self.chunks: list[str] = []
        self.parts: list[str] = []
        self.size, self.cap, self.message = 0, cap, message

    def need(self, nchars: int) -> None:
        if self.size + nchars > self.cap:
            raise LimitError(self.message)

    def write(self, s: str) -> None:
        size = self.size + len(s)
        if size > self.cap:
            raise LimitError(self.message)
        self.size = size
        parts = self.parts
        parts.append(s)
        if len(parts) >= 512:  # many small pieces cost more than their text: merge them
            self.chunks.append("".join(parts))
            parts.clear()

    def text(self) -> str:
        return "".join(self.chunks) + "".join(self.parts)

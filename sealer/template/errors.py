"""The engine's exceptions: one public (TemplateError), the rest internal control flow."""

from __future__ import annotations


class TemplateError(ValueError):
    """The template cannot be parsed or executed, uses an unsupported construct, or exceeds a limit.

    The message names a position of the template, the construct, function and type names, and
    the engine's own limits: never a value, a fragment of one, nor a number computed from one.
    """


class CallError(Exception):
    """A Go function returned an error or panicked (the message is value-free)."""


class LimitError(Exception):
    """An evaluation limit was reached (the message names the limit, never the amount asked for)."""


class ExecError(Exception):
    """An execution error at a position of the template."""

    def __init__(self, pos: int, msg: str) -> None:
        super().__init__(msg)
        self.pos = pos


class Break(Exception):
    pass


class Continue(Exception):
    pass

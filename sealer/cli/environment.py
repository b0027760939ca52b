"""What a command may touch of the world: its streams, environment variables, clock, prompts and
cluster connections. The CLI's entry point builds it from the process; tests build it from
in-memory streams and run commands in-process (``sealer.cli.main.main(argv, env)``)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:  # the start path never loads the cluster client's modules
    from sealer.kube.client import Kube
    from sealer.kube.connection import Connection


def _connect(conn: Connection, environ: Mapping[str, str]) -> Kube:
    from sealer.kube.config import connect_with

    return connect_with(conn, environ=environ)


def _prompt(text: str, confirm: bool) -> str:
    import click

    return str(
        click.prompt(text, hide_input=True, confirmation_prompt=confirm, err=True, default="", show_default=False)
    )


@dataclass
class Environment:
    stdin: BinaryIO
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str] = field(default_factory=dict)
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    connect: Callable[[Connection, Mapping[str, str]], Kube] = _connect
    """Connection flags -> the API-server client (sealer.kube)."""
    prompt: Callable[[str, bool], str] = _prompt
    """(text, confirm) -> what the user typed, hidden: passphrases."""

    @classmethod
    def from_process(cls) -> Environment:
        stdin = sys.stdin.buffer if sys.stdin is not None and not sys.stdin.closed else io.BytesIO()
        return cls(
            stdin=stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            environ=os.environ,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )

    @classmethod
    def in_memory(cls, stdin: bytes = b"", environ: Mapping[str, str] | None = None, **kwargs: Any) -> Environment:
        """For tests: stdin from bytes, stdout and stderr into StringIO (read them with .getvalue())."""
        return cls(
            stdin=io.BytesIO(stdin), stdout=io.StringIO(), stderr=io.StringIO(), environ=dict(environ or {}), **kwargs
        )

    def kube(self, conn: Connection) -> Kube:
        return self.connect(conn, self.environ)

    def write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def note(self, message: str) -> None:
        """Progress and warnings: stderr, never stdout (scripts read stdout)."""
        self.stderr.write(message + "\n")
        self.stderr.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and not stream.closed and stream.isatty())
    except (AttributeError, ValueError):
        return False

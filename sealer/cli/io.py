"""The commands' input and output: bounded reads of files and stdin, atomic writes or stdout."""

from __future__ import annotations

import sys

from sealer.core import manifests
from sealer.core.errors import InputError
from sealer.core.files import read_limited, write_atomically


def read_file(path: str) -> bytes:
    """A file's bytes (within the input size limit), or a one-line error naming it."""
    return read_limited(path, manifests.MAX_INPUT_BYTES, error=InputError, what="manifest")


def read_stdin(tty_hint: str) -> bytes:
    if sys.stdin is None or sys.stdin.closed:  # started with stdin closed (`<&-`): nothing to read
        return b""
    if sys.stdin.isatty():
        print(tty_hint, file=sys.stderr)
    return manifests.read_bytes(sys.stdin.buffer, "stdin")


def read_input(path: str | None, *, tty_hint: str) -> tuple[bytes, str]:
    if path:
        return read_file(path), path
    return read_stdin(tty_hint), "stdin"


def emit(text: str, path: str | None) -> None:
    if path:
        write_atomically(path, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()

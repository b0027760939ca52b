"""The commands' input and output: bounded reads of files and stdin, atomic writes or stdout, all
through the command's Environment."""

from __future__ import annotations

from sealer.cli.environment import Environment
from sealer.core import manifests
from sealer.core.errors import InputError
from sealer.core.files import read_limited, write_atomically

TTY_HINT = "(tty detected: expecting json/yaml k8s resource in stdin)"
TTY_HINT_SEALED = "(tty detected: expecting json/yaml SealedSecret in stdin)"
TTY_HINT_RAW = "(tty detected: expecting a secret to encrypt in stdin)"


def read_file(path: str) -> bytes:
    """A file's bytes (within the input size limit), or a one-line error naming it."""
    return read_limited(path, manifests.MAX_INPUT_BYTES, error=InputError, what="manifest")


def read_stdin(env: Environment, tty_hint: str) -> bytes:
    if env.stdin_isatty:
        env.note(tty_hint)
    return manifests.read_bytes(env.stdin, "stdin")


def read_input(env: Environment, path: str | None, *, tty_hint: str) -> tuple[bytes, str]:
    if path:
        return read_file(path), path
    return read_stdin(env, tty_hint), "stdin"


def emit(env: Environment, text: str, path: str | None, *, private: bool = True) -> None:
    """To ``path`` (atomically, new files 0600 as kubeseal makes them) or stdout."""
    if path:
        write_atomically(path, text, private=private)
    else:
        env.write(text)

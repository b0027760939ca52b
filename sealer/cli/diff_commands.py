"""The body of `sealer diff`, for Git:

- ``sealer diff --textconv FILE`` (``diff.sealed.textconv``): FILE's SealedSecrets as lines of
  facts, which ``git diff``, ``git log -p`` and ``git show`` then diff;
- ``sealer diff PATH OLD OLD-HEX OLD-MODE NEW NEW-HEX NEW-MODE`` (``diff.sealed.command``, Git's
  seven arguments), or ``sealer diff OLD NEW``: a summary of what changed.

Never a value: ciphertexts are digested, plaintexts (with --recovery-private-key) keyed-digested.
A file that cannot be read as SealedSecrets is said to be so in the output (exit 0), so that one
bad file does not stop ``git log -p``; outside Git's modes it is a one-line error.
"""

from __future__ import annotations

import os

from click import UsageError

from sealer.cli.arguments import DiffOptions
from sealer.cli.environment import Environment
from sealer.cli.io import read_file
from sealer.core import manifests, sealed_diff
from sealer.core.errors import SealerError
from sealer.core.keyset import KeySet
from sealer.core.privkeys import load_key_pairs

NULL = "/dev/null"  # what Git passes for the missing side of an added or deleted file
KEY_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".pem", ".key")


def diff(options: DiffOptions, env: Environment) -> None:
    keys, mac_key = _keys(options.keys)
    paths = options.paths
    if options.textconv:
        if len(paths) != 1:
            raise UsageError("--textconv takes one FILE (Git passes it)")
        env.write(_textconv(paths[0], keys, mac_key, env))
        return
    if len(paths) == 7:  # Git's external diff: path old-file old-hex old-mode new-file new-hex new-mode
        path, old, new = paths[0], paths[1], paths[4]
        lines = _compare(old, new, keys, mac_key, tolerant=True)
        env.write(f"sealer diff a/{path} b/{path}\n" + "".join(line + "\n" for line in lines or ["(no change)"]))
        return
    if len(paths) == 1:  # Git's external diff for an unmerged path
        env.write(f"* Unmerged path {paths[0]}\n")
        return
    if len(paths) != 2:
        raise UsageError("give FILE with --textconv, OLD NEW, or Git's seven external-diff arguments")
    lines = _compare(paths[0], paths[1], keys, mac_key, tolerant=False)
    env.write("".join(line + "\n" for line in lines or ["(no change)"]))


def _keys(paths: tuple[str, ...]) -> tuple[KeySet | None, bytes | None]:
    if not paths:
        return None, None
    keys = KeySet()
    for path in paths:
        for file in _key_files(path):
            for key, mlkem_key in load_key_pairs(file):
                keys.add(key, mlkem_key)
    if not len(keys):
        raise SealerError(f"no private keys found in {', '.join(paths)}")
    return keys, sealed_diff.digest_key([key for _, key in keys.in_order()])


def _key_files(path: str) -> list[str]:
    """A key file, or the key files of a directory (a key directory holds one key Secret per file)."""
    expanded = os.path.expanduser(path)
    if not os.path.isdir(expanded):
        return [expanded]
    return [
        os.path.join(expanded, name)
        for name in sorted(os.listdir(expanded))
        if name.endswith(KEY_FILE_SUFFIXES) and os.path.isfile(os.path.join(expanded, name))
    ]


def _read(path: str, keys: KeySet | None, mac_key: bytes | None) -> list[sealed_diff.Described]:
    if path == NULL:
        return []
    return sealed_diff.describe(manifests.parse_stream(read_file(path), path), keys, mac_key)


def _textconv(path: str, keys: KeySet | None, mac_key: bytes | None, env: Environment) -> str:
    try:
        return sealed_diff.textconv(_read(path, keys, mac_key))
    except SealerError as e:
        env.note(f"warning: {e}")
        return f"(not readable as SealedSecrets: {' '.join(str(e).split())})\n"


def _compare(old: str, new: str, keys: KeySet | None, mac_key: bytes | None, *, tolerant: bool) -> list[str]:
    sides = []
    for path in (old, new):
        try:
            sides.append(_read(path, keys, mac_key))
        except SealerError as e:
            if not tolerant:
                raise
            return [f"(not readable as SealedSecrets: {' '.join(str(e).split())})"]
    return sealed_diff.compare(sides[0], sides[1])

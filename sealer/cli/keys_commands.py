"""Bodies of ``sealer keys ...`` and ``sealer cert``: read input, call the ``keys`` package, write
output. No argument parsing (sealer.cli.keys_group), no key logic (keys).

What goes where: results a script wants (fingerprints, tables, certificates, backups) go to
stdout; progress and warnings to stderr. Key material goes only into a backup, and a backup only
into a file or a pipe, never a terminal. Passphrases are never echoed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from keys.backup import backup_document, encrypt, read_backup, render
from keys.clock import rfc3339
from keys.durations import DurationError, parse_duration
from keys.errors import BackupError, KeyStoreError
from keys.generate import check_bits, clock_after, generate_key_pair
from keys.stores.base import find_conflicts, newest
from keys.stores.directory import DirectoryKeyStore
from keys.stores.kubernetes import KubernetesKeyStore
from sealer.cli.io import emit
from sealer.cli.options import DEFAULT_KEY_PREFIX, PASSPHRASE_ENV
from sealer.core import manifests
from sealer.core.errors import SealerError
from sealer.core.files import read_limited, write_atomically
from sealer.kube import controller_api

MAX_PASSPHRASE_FILE_BYTES = 64 * 1024


def _note(message: str) -> None:
    click.echo(message, err=True)


# --- stores --------------------------------------------------------------------------------------

def open_store(opts: dict[str, Any]) -> Any:
    """The store the flags name: --dir, --keyring, or else the cluster."""
    directory, keyring_name = opts.get("directory"), opts.get("keyring_name")
    prefix = opts.get("key_prefix") or DEFAULT_KEY_PREFIX
    if directory and keyring_name:
        raise SealerError("give only one of --dir and --keyring")
    if directory:
        return DirectoryKeyStore(directory, prefix=prefix)
    if keyring_name:
        from keys.stores.keyring import KeyringKeyStore  # the keyring package, only for --keyring

        return KeyringKeyStore(keyring_name, allow_insecure=opts.get("allow_insecure_keyring", False), prefix=prefix)
    return KubernetesKeyStore.from_kubeconfig(
        opts.get("kubeconfig"), opts.get("context"), namespace=opts["controller_namespace"], prefix=prefix
    )


def _existing(store: Any, *, tolerant: bool = False) -> list:
    """The keys already in ``store``. A directory not made yet holds none. ``tolerant``: skip
    key Secrets in a cluster that cannot be read (one broken Secret must not block making a new
    key, e.g. after a leak); restores and backups stay strict."""
    if isinstance(store, DirectoryKeyStore):
        return store.list(missing_ok=True)
    if tolerant and isinstance(store, KubernetesKeyStore):
        return store.list(skip_invalid=True)
    return store.list()


def _generate(opts: dict[str, Any], store: Any) -> Any:
    """A new key for ``store``, sorting after its newest key so that it is the one that seals."""
    try:
        ttl = parse_duration(opts["ttl"])
    except DurationError as e:
        raise SealerError(f"--ttl: {e}") from None
    check_bits(opts["bits"])
    current = newest(_existing(store, tolerant=True), store.prefix)
    return generate_key_pair(opts["bits"], ttl, opts["cn"], clock=clock_after(current.pair.not_before if current else None))


# --- generate / rotate ---------------------------------------------------------------------------

def generate(**opts: Any) -> None:
    if not opts.get("directory") and not opts.get("keyring_name"):
        raise SealerError("give --out DIR or --keyring NAME: where to keep the new key")
    store = open_store(opts)  # before the slow part: a refused keyring fails fast
    pair = _generate(opts, store)
    name = store.add(pair)
    click.echo(pair.fingerprint)
    _note(f"stored key {name} in {store.description} (certificate valid until {rfc3339(pair.not_after)})")


def rotate(**opts: Any) -> None:
    store = open_store(opts)
    pair = _generate(opts, store)
    name = store.add(pair)
    click.echo(pair.fingerprint)
    if isinstance(store, KubernetesKeyStore):
        _note(f"created key Secret {name} in {store.description}; the controller seals with it once it reloads "
              "its keys (Bitnami's controller: on restart). Older keys stay active.")
    else:
        _note(f"stored key {name} in {store.description}; it is now the sealing key")


# --- list --------------------------------------------------------------------------------------

def key_rows(keys: list, prefix: str) -> list[dict[str, Any]]:
    """One row per key, oldest first. Pure: used by `list` and its tests."""
    sealing = newest(keys, prefix)
    rows = []
    for key in sorted(keys, key=lambda k: (k.pair.not_before, k.name)):
        rows.append({
            "name": key.name,
            "fingerprint": key.fingerprint,
            "created": rfc3339(key.pair.not_before),
            "expires": rfc3339(key.pair.not_after),
            "bits": key.pair.key_size,
            "label": key.status,
            "legacy": key.name == prefix,
            "usable": key.usable(prefix),
            "sealing": sealing is not None and key.name == sealing.name,
        })
    return rows


def _status(row: dict[str, Any]) -> str:
    parts = [row["label"] or "(no label)"]
    if row["legacy"]:
        parts.append("legacy")
    if row["sealing"]:
        parts.append("sealing")
    elif not row["usable"]:
        parts.append("unused")
    return ", ".join(parts)


def render_table(rows: list[dict[str, Any]]) -> str:
    header = ("FINGERPRINT", "NAME", "CREATED", "EXPIRES", "STATUS")
    lines = [header] + [(r["fingerprint"], r["name"], r["created"], r["expires"], _status(r)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "".join(
        "   ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "   " + line[-1] + "\n" for line in lines
    )


def list_keys(**opts: Any) -> None:
    store = open_store(opts)
    if isinstance(store, KubernetesKeyStore):
        keys = store.list(skip_invalid=True)  # show what can be read, and say what cannot
        for problem in store.skipped:
            _note(f"warning: skipped an unreadable key Secret: {problem}")
    else:
        keys = store.list()
    rows = key_rows(keys, store.prefix)
    if opts["fmt"] == "json":
        click.echo(json.dumps(rows, indent=2))
    elif opts["fmt"] == "yaml":
        click.echo(manifests.dump_yaml(rows), nl=False)
    else:
        if not rows:
            _note(f"no keys in {store.description}")
            return
        click.echo(render_table(rows), nl=False)


# --- backup / restore ----------------------------------------------------------------------------

def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_passphrase(opts: dict[str, Any], *, confirm: bool) -> str:
    """From --passphrase-file, else $SEALER_BACKUP_PASSPHRASE, else a prompt on the terminal."""
    path = opts.get("passphrase_file")
    if path:
        raw = read_limited(path, MAX_PASSPHRASE_FILE_BYTES, error=BackupError, what="passphrase file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BackupError(f"--passphrase-file {path}: not UTF-8 text") from None
        passphrase = text[:-1] if text.endswith("\n") else text  # the newline an editor adds
        passphrase = passphrase[:-1] if passphrase.endswith("\r") else passphrase
        if not passphrase:
            raise BackupError(f"--passphrase-file {path}: the file is empty")
        return passphrase
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:
        if not env:
            raise BackupError(f"${PASSPHRASE_ENV} is set but empty")
        return env
    if not _stdin_is_terminal():
        raise BackupError(f"no passphrase: give --passphrase-file, set ${PASSPHRASE_ENV}, or run on a terminal to be asked")
    passphrase = click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    if not passphrase:
        raise BackupError("the backup passphrase is empty")
    return passphrase


def write_private_file(path: str, text: str) -> None:
    """Key material: atomic, and 0600 from its creation (never chmod-ed after the key is in it)."""
    write_atomically(path, text, private=True)


def backup(**opts: Any) -> None:
    target = opts.get("output_file")
    if not target and _stdout_is_terminal():
        raise SealerError("refusing to write private keys to a terminal: redirect stdout to a file or use -w FILE")
    encrypting = bool(opts.get("encrypt") or opts.get("passphrase_file") or os.environ.get(PASSPHRASE_ENV) is not None)
    store = open_store(opts)
    keys = store.list()
    if not keys:
        raise KeyStoreError(f"no keys in {store.description}: nothing to back up")
    text = render(backup_document(keys), opts["fmt"])
    if encrypting:
        text = encrypt(text, opts["fmt"], read_passphrase(opts, confirm=True))
    if target:
        write_private_file(target, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    where = target or "the output"
    if encrypting:
        _note(f"WARNING: {where} holds {len(keys)} private key(s), encrypted with your passphrase. "
              "Without the passphrase the backup is useless: keep both safe, apart, and out of Git.")
    else:
        _note(f"WARNING: {where} holds {len(keys)} PRIVATE KEY(S) IN PLAINTEXT. Anyone who reads it can decrypt "
              "every SealedSecret sealed with them. Keep it offline, encrypted, and NEVER in Git.")


def restore(**opts: Any) -> None:
    path = opts["backup_file"]
    if path == "-":
        data, source = manifests.read_bytes(sys.stdin.buffer, "stdin"), "stdin"
    else:
        data, source = read_limited(path, manifests.MAX_INPUT_BYTES, error=BackupError, what="backup"), path
    # Everything is read and checked before the store is touched: a bad backup writes nothing.
    keys = read_backup(data, source, lambda: read_passphrase(opts, confirm=False))
    store = open_store(opts)
    to_write, notes = find_conflicts(_existing(store), keys)
    for note in notes:
        _note(f"skipped {note}")
    if opts.get("dry_run"):
        for key in to_write:
            click.echo(f"would restore {key.name} {key.fingerprint}")
        return
    written: list[str] = []
    for key in to_write:
        try:
            store.add(key.pair, key.name, key.status)
        except SealerError as e:
            done = f"; restored before the failure: {', '.join(written)}" if written else "; nothing was restored"
            raise SealerError(f"{e}{done}") from None
        written.append(key.name)
        click.echo(f"restored {key.name} {key.fingerprint}")
    _note(f"restored {len(written)} key(s) into {store.description}" + (f", {len(notes)} already present" if notes else ""))


# --- cert --------------------------------------------------------------------------------------

def cert(**opts: Any) -> None:
    if opts.get("directory") or opts.get("keyring_name"):
        store = open_store(opts)
        key = newest(store.list(), store.prefix)
        if key is None:
            raise KeyStoreError(f"no active keys in {store.description}")
        pem = key.pair.cert_pem
    else:
        pem = controller_api.fetch_certificate(
            opts["controller_namespace"], opts["controller_name"], opts.get("kubeconfig"), opts.get("context")
        )
    emit(pem.decode("ascii", "replace"), opts.get("output_file"))

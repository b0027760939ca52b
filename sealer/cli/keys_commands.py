"""Bodies of ``sealer keys ...`` and ``sealer cert``: read input, call the ``keys`` package, write
output. No argument parsing (sealer.cli.keys_group), no key logic (keys).

What goes where: results a script wants (fingerprints, tables, certificates, backups) go to
stdout; progress and warnings to stderr. Key material goes only into a backup, and a backup only
into a file or a pipe, never a terminal. Passphrases are never echoed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keys.clock import rfc3339
from keys.errors import BackupError, KeyStoreError
from sealer.cli.arguments import KeyOptions
from sealer.cli.environment import Environment
from sealer.cli.options import PASSPHRASE_ENV
from sealer.core.errors import SealerError

if TYPE_CHECKING:  # names for mypy; the bodies below import what they use when they run
    from keys.keypair import KeyPair
    from keys.secret_format import StoredKey
    from keys.stores.base import KeyStore

MAX_PASSPHRASE_FILE_BYTES = 64 * 1024


# --- the fleet -----------------------------------------------------------------------------------


def fleet_target(opts: KeyOptions, names: str | tuple[str, ...], env: Environment) -> KeyOptions:
    """``opts`` aimed at the fleet cluster ``--cluster`` names (its context, kubeconfig and
    controller), when the repository's .sealer.yaml names such a cluster; else unchanged (kubectl's
    kubeconfig cluster, as with kubeseal)."""
    import dataclasses

    from sealer.core.fleet import FleetError, find_config, load_fleet

    name = names if isinstance(names, str) else names[-1]
    config = find_config()
    if config is None:
        return opts
    fleet = load_fleet(config)
    if name not in fleet.names:
        return opts
    (cluster,) = fleet.select([name])
    if cluster.context is None:
        raise FleetError(f"cluster {name!r} of {fleet.source} has no context: to reach it through")
    from sealer.cli.fleet_targets import target_for

    return dataclasses.replace(opts, target=target_for(cluster, opts.target))


# --- stores --------------------------------------------------------------------------------------


def open_store(opts: KeyOptions, env: Environment) -> KeyStore:
    """The store the flags name: --dir, --keyring, or else the cluster."""
    directory, keyring_name = opts.directory, opts.keyring_name
    prefix = opts.key_prefix or "sealed-secrets-key"
    if directory and keyring_name:
        raise SealerError("give only one of --dir and --keyring")
    if directory:
        from keys.stores.directory import DirectoryKeyStore

        return DirectoryKeyStore(directory, prefix=prefix)
    if keyring_name:
        from keys.stores.keyring import KeyringKeyStore

        return KeyringKeyStore(keyring_name, allow_insecure=opts.allow_insecure_keyring, prefix=prefix)
    from keys.stores.kubernetes import KubernetesKeyStore

    return KubernetesKeyStore(env.kube(opts.target.connection), namespace=opts.target.namespace, prefix=prefix)


def _existing(store: KeyStore, *, tolerant: bool = False) -> list[StoredKey]:
    """The keys already in ``store``. A directory not made yet holds none. ``tolerant``: skip
    key Secrets in a cluster that cannot be read (one broken Secret must not block making a new
    key, e.g. after a leak); restores and backups stay strict."""
    from keys.stores.directory import DirectoryKeyStore
    from keys.stores.kubernetes import KubernetesKeyStore

    if isinstance(store, DirectoryKeyStore):
        return store.list(missing_ok=True)
    if tolerant and isinstance(store, KubernetesKeyStore):
        return store.list(skip_invalid=True)
    return store.list()


def _generate(opts: KeyOptions, store: KeyStore) -> KeyPair:
    """A new key for ``store``, sorting after its newest key so that it is the one that seals."""
    from keys.durations import DurationError, parse_duration
    from keys.generate import check_bits, clock_after, generate_key_pair
    from keys.stores.base import newest

    try:
        ttl = parse_duration(opts.ttl)
    except DurationError as e:
        raise SealerError(f"--ttl: {e}") from None
    check_bits(opts.bits)
    current = newest(_existing(store, tolerant=True), store.prefix)
    return generate_key_pair(
        opts.bits, ttl, opts.cn, clock=clock_after(current.pair.not_before if current else None), pq=opts.pq
    )


# --- generate / rotate ---------------------------------------------------------------------------


def generate(opts: KeyOptions, env: Environment) -> None:
    if not opts.directory and not opts.keyring_name:
        raise SealerError("give --out DIR or --keyring NAME: where to keep the new key")
    store = open_store(opts, env)  # before the slow part: a refused keyring fails fast
    pair = _generate(opts, store)
    name = store.add(pair)
    env.write(pair.fingerprint + "\n")
    env.note(f"stored key {name} in {store.description} (certificate valid until {rfc3339(pair.not_after)})")


def rotate(opts: KeyOptions, env: Environment) -> None:
    store = open_store(opts, env)
    pair = _generate(opts, store)
    name = store.add(pair)
    env.write(pair.fingerprint + "\n")
    from keys.stores.kubernetes import KubernetesKeyStore

    if isinstance(store, KubernetesKeyStore):
        env.note(
            f"created key Secret {name} in {store.description}; the controller seals with it once it reloads "
            "its keys (Bitnami's controller: on restart). Older keys stay active."
        )
    else:
        env.note(f"stored key {name} in {store.description}; it is now the sealing key")


# --- list --------------------------------------------------------------------------------------


def key_rows(keys: list[StoredKey], prefix: str) -> list[dict[str, Any]]:
    """One row per key, oldest first. Pure: used by `list` and its tests."""
    from keys.stores.base import newest

    sealing = newest(keys, prefix)
    rows = []
    for key in sorted(keys, key=lambda k: (k.pair.not_before, k.name)):
        rows.append(
            {
                "name": key.name,
                "fingerprint": key.fingerprint,
                "created": rfc3339(key.pair.not_before),
                "expires": rfc3339(key.pair.not_after),
                "bits": key.pair.key_size,
                "label": key.status,
                "legacy": key.name == prefix,
                "usable": key.usable(prefix),
                "sealing": sealing is not None and key.name == sealing.name,
            }
        )
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
        "   ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "   " + line[-1] + "\n"
        for line in lines
    )


def list_keys(opts: KeyOptions, env: Environment) -> None:
    from keys.stores.kubernetes import KubernetesKeyStore

    store = open_store(opts, env)
    if isinstance(store, KubernetesKeyStore):
        keys = store.list(skip_invalid=True)  # show what can be read, and say what cannot
        for problem in store.skipped:
            env.note(f"warning: skipped an unreadable key Secret: {problem}")
    else:
        keys = store.list()
    rows = key_rows(keys, store.prefix)
    if opts.fmt == "json":
        env.write(json.dumps(rows, indent=2) + "\n")
    elif opts.fmt == "yaml":
        from sealer.core import manifests

        env.write(manifests.dump_yaml(rows))
    else:
        if not rows:
            env.note(f"no keys in {store.description}")
            return
        env.write(render_table(rows))


# --- backup / restore ----------------------------------------------------------------------------


def read_passphrase(opts: KeyOptions, env: Environment, *, confirm: bool) -> str:
    """From --passphrase-file, else $SEALER_BACKUP_PASSPHRASE, else a prompt on the terminal."""
    path = opts.passphrase_file
    if path:
        from sealer.core.files import read_limited

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
    from_env = env.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        if not from_env:
            raise BackupError(f"${PASSPHRASE_ENV} is set but empty")
        return from_env
    if not env.stdin_isatty:
        raise BackupError(
            f"no passphrase: give --passphrase-file, set ${PASSPHRASE_ENV}, or run on a terminal to be asked"
        )
    passphrase = env.prompt("Backup passphrase", confirm)
    if not passphrase:
        raise BackupError("the backup passphrase is empty")
    return passphrase


def write_private_file(path: str, text: str) -> None:
    """Key material: atomic, and 0600 from its creation (never chmod-ed after the key is in it)."""
    from sealer.core.files import write_atomically

    write_atomically(path, text, private=True)


def backup(opts: KeyOptions, env: Environment) -> None:
    from keys.backup import backup_document, encrypt, render

    target = opts.output_file
    if not target and env.stdout_isatty:
        raise SealerError("refusing to write private keys to a terminal: redirect stdout to a file or use -w FILE")
    encrypting = bool(opts.encrypt or opts.passphrase_file or env.environ.get(PASSPHRASE_ENV) is not None)
    store = open_store(opts, env)
    keys = store.list()
    if not keys:
        raise KeyStoreError(f"no keys in {store.description}: nothing to back up")
    text = render(backup_document(keys), opts.fmt)
    if encrypting:
        text = encrypt(text, opts.fmt, read_passphrase(opts, env, confirm=True))
    if target:
        write_private_file(target, text)
    else:
        env.write(text)
    where = target or "the output"
    if encrypting:
        env.note(
            f"WARNING: {where} holds {len(keys)} private key(s), encrypted with your passphrase. "
            "Without the passphrase the backup is useless: keep both safe, apart, and out of Git."
        )
    else:
        env.note(
            f"WARNING: {where} holds {len(keys)} PRIVATE KEY(S) IN PLAINTEXT. Anyone who reads it can decrypt "
            "every SealedSecret sealed with them. Keep it offline, encrypted, and NEVER in Git."
        )


def restore(opts: KeyOptions, env: Environment) -> None:
    from keys.backup import read_backup
    from sealer.core import manifests

    path = opts.backup_file or "-"
    if opts.escrow_files:
        if opts.backup_file:
            raise SealerError("give a backup FILE or --escrow FILE, not both")
        from sealer.cli import escrow_commands

        # As for a backup: every escrowed key is opened and checked before the store is touched.
        _write_restored(escrow_commands.escrowed_keys(opts, env), opts, env)
        return
    if path == "-":
        data, source = manifests.read_bytes(env.stdin, "stdin"), "stdin"
    else:
        from sealer.core.files import read_limited

        data, source = read_limited(path, manifests.MAX_INPUT_BYTES, error=BackupError, what="backup"), path
    # Everything is read and checked before the store is touched: a bad backup writes nothing.
    _write_restored(read_backup(data, source, lambda: read_passphrase(opts, env, confirm=False)), opts, env)


def _write_restored(keys: list[StoredKey], opts: KeyOptions, env: Environment) -> None:
    from keys.stores.base import find_conflicts

    store = open_store(opts, env)
    to_write, notes = find_conflicts(_existing(store), keys)
    for note in notes:
        env.note(f"skipped {note}")
    if opts.dry_run:
        for key in to_write:
            env.write(f"would restore {key.name} {key.fingerprint}\n")
        return
    written: list[str] = []
    for key in to_write:
        try:
            store.add(key.pair, key.name, key.status)
        except SealerError as e:
            done = f"; restored before the failure: {', '.join(written)}" if written else "; nothing was restored"
            raise SealerError(f"{e}{done}") from None
        written.append(key.name)
        env.write(f"restored {key.name} {key.fingerprint}\n")
    env.note(
        f"restored {len(written)} key(s) into {store.description}"
        + (f", {len(notes)} already present" if notes else "")
    )


def escrow_verify(opts: KeyOptions, env: Environment) -> None:
    from sealer.cli import escrow_commands

    escrow_commands.verify(opts, env)


def escrow_recipients(opts: KeyOptions, env: Environment) -> None:
    from sealer.cli import escrow_commands

    escrow_commands.check_recipients(opts, env)


# --- cert --------------------------------------------------------------------------------------


def cert(opts: KeyOptions, env: Environment) -> None:
    from sealer.cli.io import emit

    if opts.directory or opts.keyring_name:
        from keys.stores.base import newest

        store = open_store(opts, env)
        key = newest(store.list(), store.prefix)
        if key is None:
            raise KeyStoreError(f"no active keys in {store.description}")
        pem = key.pair.published_pem()  # with its ML-KEM public key, as the controller serves it
    else:
        from sealer.kube import controller_api

        target = opts.target
        pem, source = controller_api.fetch_certificate_from(env.kube(target.connection), target.namespace, target.name)
        if opts.verbosity:
            env.note(f"fetched the certificate from {source}")
    emit(env, pem.decode("ascii", "replace"), opts.output_file, private=False)


# --- usage / retire (sealer.cli.usage_commands) ------------------------------------------------


def usage(opts: KeyOptions, env: Environment) -> None:
    from sealer.cli import usage_commands

    usage_commands.usage(opts, env)


def retire(opts: KeyOptions, env: Environment) -> None:
    from sealer.cli import usage_commands

    usage_commands.retire(opts, env)

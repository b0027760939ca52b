"""``sealer keys ...`` and ``sealer cert``: argument parsing only. The bodies live in
sealer.cli.keys_commands and the work in the ``keys`` package, both imported when a command runs, so
``sealer --help`` does not pay for cryptography, keyring or the kubernetes client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from sealer.cli.environment import Environment
from sealer.cli.options import DEFAULT_KEY_PREFIX, FC, PASSPHRASE_ENV, apply, connection_options, option, table_or_json


def cluster_key_options(f: FC) -> FC:
    """The cluster (kubectl's connection flags; the key Secrets live in --controller-namespace)."""
    return apply(
        f,
        [
            connection_options,
            option(
                "--key-prefix",
                default=DEFAULT_KEY_PREFIX,
                show_default=True,
                help="Prefix of key names (the key named exactly this is the pre-0.9 legacy key).",
            ),
        ],
    )


def keyring_options(f: FC) -> FC:
    return apply(
        f,
        [
            click.option(
                "--keyring", "keyring_name", metavar="NAME", help="Use the keys kept in the system keyring under NAME."
            ),
            click.option(
                "--allow-insecure-keyring",
                is_flag=True,
                help="Accept a keyring backend that stores in plaintext or drops data (not recommended).",
            ),
        ],
    )


def store_options(dir_flags: tuple[str, ...] = ("--dir",)) -> Callable[[FC], FC]:
    """Where the keys are: a local directory, the keyring, or else the cluster."""

    def decorate(f: FC) -> FC:
        return apply(
            f,
            [
                click.option(
                    *dir_flags,
                    "directory",
                    metavar="DIR",
                    help="Use the key directory DIR (one key Secret YAML per key).",
                ),
                keyring_options,
                cluster_key_options,
            ],
        )

    return decorate


def generation_options(f: FC) -> FC:
    return apply(
        f,
        [
            click.option("--bits", type=int, default=4096, show_default=True, help="RSA key size."),
            click.option(
                "--cn", default="", help="Common name of the certificate's subject and issuer (default: empty)."
            ),
            click.option(
                "--ttl",
                default="87600h",
                show_default=True,
                metavar="DURATION",
                help="Certificate validity, a Go duration (87600h = 10 years).",
            ),
            click.option(
                "--pq",
                is_flag=True,
                help="Also an ML-KEM-768 key beside the RSA key, for `sealer seal --pq` (docs/format.md).",
            ),
        ],
    )


def passphrase_options(f: FC) -> FC:
    return click.option(
        "--passphrase-file",
        metavar="PATH",
        help=f"Read the backup passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt).",
    )(f)


def _run(name: str, flags: dict[str, Any]) -> None:
    from sealer.cli import keys_commands  # the bodies: kept out of the import path of --help
    from sealer.cli.arguments import KeyOptions

    ctx = click.get_current_context()
    env = ctx.find_object(Environment)
    assert env is not None
    opts = KeyOptions.from_flags(flags, env.environ)
    if ctx.get_parameter_source("cluster") is ParameterSource.COMMANDLINE and flags.get("cluster"):
        # In a repository whose .sealer.yaml names it, --cluster NAME is that cluster of the fleet
        # ($SEALED_SECRETS_CLUSTER stays kubectl's kubeconfig cluster, as for `sealer seal`).
        opts = keys_commands.fleet_target(opts, flags["cluster"], env)
    getattr(keys_commands, name)(opts, env)


@click.group("keys")
def keys_group() -> None:
    """Manage the sealing key pairs: generate, list, back up, restore, rotate, see what uses them, retire.

    The private keys are the crown jewels: lose them and every SealedSecret in Git is lost;
    leak them and every secret is exposed. Keep a backup offline, never in Git.
    """


@keys_group.command("generate")
@generation_options
@click.option("--out", "--dir", "directory", metavar="DIR", help="Store the new key in this directory (created 0700).")
@keyring_options
@option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True, help="Prefix of the new key's name.")
def generate_command(**opts: Any) -> None:
    """Generate a key pair with a self-signed certificate into a local store; prints its fingerprint.

    \b
    sealer keys generate --out ~/.sealer/keys
    sealer keys generate --keyring dev --bits 4096 --cn my-cluster
    """
    _run("generate", opts)


@keys_group.command("list")
@store_options()
@click.option(
    "-o",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def list_command(**opts: Any) -> None:
    """List keys: fingerprint, name, created (NotBefore), expires, label.

    Reads --dir DIR, --keyring NAME, or else the key Secrets in the cluster
    (--controller-namespace). Prints no key material.
    """
    _run("list_keys", opts)


@keys_group.command("backup")
@store_options()
@click.option(
    "-w", "--output-file", "output_file", metavar="FILE", help="Write the backup here (created 0600) instead of stdout."
)
@click.option(
    "-o",
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Backup format.",
)
@click.option(
    "--encrypt",
    is_flag=True,
    help=f"Encrypt the backup with a passphrase (implied by --passphrase-file or ${PASSPHRASE_ENV}).",
)
@passphrase_options
def backup_command(**opts: Any) -> None:
    """Write every key (private keys included) as a v1 List of key Secrets.

    Refuses to write to a terminal: redirect stdout or use -w FILE. Store the backup offline,
    and never in Git; with --encrypt it is sealed with scrypt + AES-256-GCM.

    \b
    sealer keys backup -w sealed-secrets-keys.yaml
    sealer keys backup --dir ~/.sealer/keys --encrypt -w keys.backup
    """
    _run("backup", opts)


def escrow_options(f: FC) -> FC:
    """The escrow objects and the recipients' private keys that open them (docs/keys.md)."""
    return apply(
        f,
        [
            click.option(
                "--escrow",
                "escrow_files",
                metavar="FILE",
                multiple=True,
                help="Escrow objects (ConfigMaps labelled sealer.dev/escrow, or a List of them; - for stdin). Repeatable.",
            ),
            option(
                "--recovery-private-key",
                "recovery_keys",
                metavar="KEY[,KEY...]",
                multiple=True,
                env=False,
                help="An escrow recipient's private key file (PEM, or a key Secret). Repeat for M of N "
                "(also $SEALED_SECRETS_RECOVERY_PRIVATE_KEY).",
            ),
        ],
    )


@keys_group.command("restore")
@click.argument("backup_file", metavar="[FILE]", required=False)
@store_options(("--to-dir", "--dir"))
@passphrase_options
@escrow_options
@click.option("--dry-run", is_flag=True, help="Check the backup and show what would be restored; change nothing.")
def restore_command(**opts: Any) -> None:
    """Restore keys from a backup (FILE, or - for stdin) or from escrow objects (--escrow FILE
    with --recovery-private-key KEY) into --to-dir DIR, --keyring NAME, or else the cluster's
    controller namespace.

    Every key is checked before any is written; a key whose name is taken by a different key is
    an error and nothing is restored; keys already present are skipped.

    \b
    sealer keys restore --escrow escrow.yaml --recovery-private-key vault.key
    """
    _run("restore", opts)


@keys_group.group("escrow")
def escrow_group() -> None:
    """Key escrow: the controller seals every key for backup recipients (docs/keys.md)."""


@escrow_group.command("recipients")
@click.argument("files", metavar="[FILE]...", nargs=-1)
@option(
    "--escrow-recipients",
    "recipients_name",
    default="sealed-secrets-escrow-recipients",
    show_default=True,
    help="Without FILEs: the ConfigMap and/or Secret in --controller-namespace to check.",
)
@cluster_key_options
def escrow_recipients_command(**opts: Any) -> None:
    """Check escrow recipient certificates as the controller does: parseable, RSA of at least 2048
    bits, inside their validity. FILEs are the ConfigMap/Secret manifests or PEM certificates;
    without FILEs, the cluster's. One line per recipient; exit 1 if any is left out.
    """
    _run("escrow_recipients", opts)


@escrow_group.command("verify")
@escrow_options
@click.option(
    "--cert",
    "certs",
    metavar="FILE",
    multiple=True,
    help="A certificate of a key to check (repeatable; default: the active keys' of the cluster).",
)
@cluster_key_options
def escrow_verify_command(**opts: Any) -> None:
    """Prove, offline, that every active key can be restored from the escrow objects: each key's
    escrow object opens with the recovery key(s) given, and the key it holds matches the key's
    certificate. Exit 1, with one line per key that cannot, otherwise.

    \b
    kubectl get configmap -n kube-system -l sealer.dev/escrow -o yaml > escrow.yaml
    sealer keys escrow verify --escrow escrow.yaml --recovery-private-key vault.key
    """
    _run("escrow_verify", opts)


@keys_group.command("rotate")
@store_options()
@generation_options
def rotate_command(**opts: Any) -> None:
    """Make a new sealing key now (in the cluster unless --dir/--keyring); prints its fingerprint.

    In a cluster this creates a new active key Secret in the controller namespace; the controller
    seals with it once it reloads its keys (Bitnami's controller: on restart). Older keys stay
    active, so everything sealed before still opens.
    """
    _run("rotate", opts)


def recovery_key_options(f: FC) -> FC:
    return click.option(
        "--recovery-private-key",
        "recovery_keys",
        multiple=True,
        metavar="FILE",
        help="Private keys to try on the items (PEM, key Secrets, backups, as `sealer unseal`; "
        "repeatable, comma-separated).",
    )(f)


def sealed_filter_options(f: FC) -> FC:
    return apply(
        f,
        [
            click.option(
                "--namespace", "sealed_namespace", metavar="NS", help="Only the cluster's SealedSecrets in NS."
            ),
            click.option(
                "-l",
                "--selector",
                metavar="SELECTOR",
                help="Only the cluster's SealedSecrets matching this label selector (the controller's "
                "--label-selector, where several controllers share a cluster).",
            ),
        ],
    )


@keys_group.command("usage")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@recovery_key_options
@store_options()
@sealed_filter_options
@table_or_json()
def usage_command(**opts: Any) -> None:
    """For each key, the SealedSecrets and items sealed for it, and whether it can be retired.

    With PATHs (files, directories), offline: by trial with local private keys
    (--recovery-private-key, --dir, --keyring), else by the key hint sealer records. Without, the
    cluster's: what the controller recorded in each SealedSecret's status, with the keys of its
    certificate ConfigMap; it reads no Secret (listing SealedSecrets and reading that ConfigMap is
    all it needs).

    \b
    sealer keys usage clusters/prod/ --recovery-private-key keys-backup.yaml
    sealer keys usage --context prod -o json
    """
    _run("usage", opts)


def retire_options(f: FC) -> FC:
    return apply(
        f,
        [
            click.argument("fingerprint"),
            click.argument("paths", nargs=-1, metavar="[PATH]..."),
            click.option(
                "--re-encrypt",
                is_flag=True,
                help="Re-encrypt the SealedSecrets in PATHs that need the key, through the controller "
                "(/v1/rotate, as `sealer seal --re-encrypt`); the files are rewritten.",
            ),
            click.option("--force", is_flag=True, help="Retire even while SealedSecrets still need the key."),
            recovery_key_options,
            sealed_filter_options,
            cluster_key_options,
        ],
    )


@keys_group.command("retire")
@retire_options
@click.option("--undo", is_flag=True, help="Bring a retired key back (before the controller deletes it).")
def retire_command(**opts: Any) -> None:
    """Retire a key: label its key Secret `retired`, so that it neither seals nor opens.

    Refuses while anything still needs it (the cluster's SealedSecrets by the controller's
    records, and those in PATHs), unless --force; --re-encrypt re-seals those in PATHs for the
    current key first. The controller deletes the key Secret after its grace period
    (--retired-key-grace-period, default 720h); until then `sealer keys retire --undo` (or
    `sealer keys unretire`) brings it back. FINGERPRINT may be a unique prefix.

    \b
    sealer keys retire SHA256:3f9a1c2b4d5e --re-encrypt clusters/prod/
    """
    _run("retire", opts)


@keys_group.command("unretire")
@click.argument("fingerprint")
@cluster_key_options
def unretire_command(**opts: Any) -> None:
    """Bring a retired key back (what `sealer keys retire --undo` does)."""
    _run("retire", {**opts, "undo": True})


@click.command("cert")
@store_options()
@click.option(
    "-w", "--output-file", "output_file", metavar="FILE", help="Write the certificate here instead of stdout."
)
@click.option(
    "-v",
    "--v",
    "verbosity",
    type=int,
    default=0,
    metavar="N",
    help="Verbosity: 1 says where the certificate came from.",
)
def cert_command(**opts: Any) -> None:
    """Print the certificate new secrets are sealed with (the newest active key's).

    From --dir DIR or --keyring NAME, or else fetched from the cluster: the controller's
    certificate ConfigMap, else its /v1/cert.pem through the API server's service proxy.
    """
    _run("cert", opts)


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
    cli.add_command(cert_command)

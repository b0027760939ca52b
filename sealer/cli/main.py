"""The ``sealer`` command line: argument parsing only; the bodies live in seal_commands and
keys_commands, the work in the library.

kubeseal's invocations work unchanged: `sealer [flags]` and `kubectl seal [flags]` mean `sealer
seal [flags]`, `--recovery-unseal` means `sealer unseal`, every kubectl connection flag and klog's
`-v` are accepted, and every flag can also be set by an environment variable
``SEALED_SECRETS_<FLAG>`` (the flag wins).

``main(argv, env)`` returns an ExitStatus and never raises: tests run it in-process with an
``Environment.in_memory()``; the console scripts run it with the process's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from click.core import ParameterSource

from sealer._version import __version__
from sealer.cli import keys_group
from sealer.cli.environment import Environment
from sealer.cli.options import (
    TRUE_WORDS,
    connection_options,
    env_name,
    klog_options,
    kube_connection_options,
    option,
    table_or_json,
)
from sealer.core.errors import SealerError
from sealer.core.exit_status import ExitStatus

# kubeseal's -o/--format, shared by seal and unseal (with kubeseal's environment variable).
kubeseal_format = option(
    "-o",
    "--format",
    "fmt",
    metavar="json|yaml",
    default="json",
    show_default=True,
    help="Output format (either case; anything else is an error, exit 1, as with kubeseal).",
)

# What `pip install` names the package that brings a module a command imports on demand.
OPTIONAL_MODULES = {"keyring": "sealer[keyring]", "secretstorage": "sealer[keyring]"}


class DefaultToSeal(click.Group):
    """`sealer [flags]` means `sealer seal [flags]` and `--recovery-unseal` means `sealer unseal`,
    as with kubeseal; `sealer --help` is the seal command's help plus the list of commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        env = ctx.find_object(Environment)
        variable = (env.environ if env is not None else os.environ).get(env_name("--recovery-unseal"), "")
        if variable.lower() in TRUE_WORDS and not (args and args[0] in self.commands):
            args = ["--recovery-unseal", *args]  # SEALED_SECRETS_RECOVERY_UNSEAL=true, as kubeseal reads it
        if "--recovery-unseal" in args:
            args = ["unseal"] + [a for a in args if a != "--recovery-unseal"]
        elif not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["seal", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        name = ctx.info_name or "sealer"
        formatter.write_usage(name, "[seal] [OPTIONS]   or   " + name + " COMMAND [ARGS]...")
        formatter.write_paragraph()
        formatter.write_text(
            "Seal Kubernetes Secrets into SealedSecrets that are safe to commit to Git. Wire-compatible with "
            "Bitnami Sealed Secrets: kubeseal's flags work unchanged, with or without the `seal` command "
            "(`sealer --cert cert.pem < secret.yaml`), and `--recovery-unseal` means `sealer unseal`."
        )
        with ctx.scope(cleanup=False):
            seal_ctx = seal_command.make_context("seal", [], parent=ctx, resilient_parsing=True)
            seal_command.format_options(seal_ctx, formatter)
        self.format_commands(ctx, formatter)


@click.group(cls=DefaultToSeal, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sealer", message="%(prog)s version: v%(version)s")
def cli() -> None:
    """Seal Kubernetes Secrets into SealedSecrets that are safe to commit to Git."""


@cli.command("seal", context_settings={"ignore_unknown_options": False})
@option(
    "--cert",
    metavar="PATH|URL",
    help="Certificate (or public key) file or http(s) URL to seal with. "
    "Without it, the certificate is fetched from the controller in the cluster.",
)
@option("-f", "--secret-file", metavar="PATH", help="Read the Secret(s) from this file instead of stdin.")
@option(
    "-w",
    "--sealed-secret-file",
    metavar="PATH",
    help="Write here instead of stdout: atomically, only on "
    "success, created 0600 (as kubeseal). A .yaml/.yml name implies --format yaml.",
)
@kubeseal_format
@option(
    "--scope",
    type=click.Choice(["strict", "namespace-wide", "cluster-wide"]),
    help="Where the values may be opened: strict = this name and namespace (default, unless the input's "
    "annotations say otherwise), namespace-wide = any name in this namespace, cluster-wide = anywhere.",
)
@option(
    "-n", "--namespace", help="Namespace for Secrets that do not name one (default: the kubeconfig's, else default)."
)
@option("--allow-empty-data", is_flag=True, help="Allow a Secret with no data.")
@option("--raw", is_flag=True, help="Seal one value (from stdin or --from-file) and print only its sealed form.")
@option("--name", help="The SealedSecret's name (with --raw: needed for strict scope; else it renames the Secret).")
@option(
    "--from-file",
    metavar="[KEY=]PATH",
    multiple=True,
    env=False,
    help="With --raw: read the value from this file (exactly one).",
)
@option(
    "--merge-into",
    metavar="PATH",
    help="Add or replace the input's items in this existing SealedSecret file, in place.",
)
@option("--fetch-cert", is_flag=True, help="Print the certificate that would be used, and stop.")
@option(
    "--validate",
    is_flag=True,
    help="Check with the controller that the input SealedSecrets open there (server-side; no certificate needed).",
)
@option(
    "--re-encrypt",
    is_flag=True,
    help="Have the controller re-seal the input SealedSecrets for its newest "
    "key (server-side: plaintext never leaves the cluster). With -f and no -w, rewrites the file in place.",
)
@option("--rotate", "rotate_alias", is_flag=True, hidden=True, help="Deprecated: --re-encrypt.")
@option(
    "--pq",
    is_flag=True,
    help="Seal in the post-quantum hybrid format (RSA + ML-KEM-768), which only "
    "sealer's controller opens: a one-way choice for the cluster (docs/format.md).",
)
@option(
    "--key-hint/--no-key-hint",
    envvar=env_name("--key-hint"),
    default=True,
    show_default=True,
    help="Record the sealing key's fingerprint as an annotation (not part of the ciphertext). "
    "Also $SEALED_SECRETS_NO_KEY_HINT=true.",
)
@option(
    "--all-clusters",
    is_flag=True,
    help="Seal for every cluster of the fleet (.sealer.yaml's clusters:): one SealedSecret per cluster, "
    "each written to that cluster's path: (docs/fleets.md). --cluster NAME (repeatable) chooses some.",
)
@option("--config", metavar="PATH", env=False, help="The .sealer.yaml naming the fleet (default: the repository's).")
@option("--recovery-private-key", "keys", multiple=True, hidden=True, env=False)
@connection_options
@klog_options
@click.argument("extra_args", nargs=-1, metavar="")
@click.pass_context
def seal_command(ctx: click.Context, /, **flags: Any) -> None:
    """Seal Secret manifests (YAML or JSON, one or many documents) into SealedSecrets.

    \b
    sealer --cert cert.pem -o yaml < secret.yaml > sealed-secret.yaml
    sealer --controller-namespace kube-system --controller-name sealed-secrets -o yaml < secret.yaml
    """
    from sealer.cli import seal_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import SealOptions

    env = ctx.find_object(Environment)
    assert env is not None  # main() always passes one (obj=env)
    given = ctx.get_parameter_source("key_hint") in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    options = SealOptions.from_flags(flags, env.environ, key_hint_given=given)
    if ctx.get_parameter_source("cluster") is not ParameterSource.COMMANDLINE:
        # $SEALED_SECRETS_CLUSTER is kubeseal's kubeconfig cluster, never a fleet's cluster name.
        options = dataclasses.replace(options, cluster_names=())
    seal_commands.seal(options, env)


@cli.command("unseal")
@option(
    "--recovery-private-key",
    "keys",
    metavar="KEY[,KEY...]",
    multiple=True,
    env=False,
    help="Private key files: PEM keys, or key Secrets / Lists of them (as `sealer keys backup` writes). "
    "Repeat or separate with commas (also $SEALED_SECRETS_RECOVERY_PRIVATE_KEY).",
)
@option("-f", "--secret-file", metavar="PATH", help="Read the SealedSecret(s) from this file instead of stdin.")
@option(
    "-w",
    "--sealed-secret-file",
    metavar="PATH",
    help="Write the plaintext Secrets to this file (created 0600) instead of stdout.",
)
@kubeseal_format
@click.pass_obj
def unseal_command(env: Environment, /, **flags: Any) -> None:
    """Open SealedSecrets offline with the cluster's private keys (disaster recovery).

    Prints plaintext Secrets: send them to the cluster or to `sealer seal`, never to Git.
    """
    from sealer.cli import unseal_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import UnsealOptions

    unseal_commands.unseal(UnsealOptions.from_flags(flags, env.environ), env)


@cli.command("status")
@option("-n", "--namespace", help="Only this namespace (default: the kubeconfig context's, else default).")
@option("-A", "--all-namespaces", is_flag=True, help="Every namespace.")
@option(
    "--cluster",
    "clusters",
    metavar="NAME",
    multiple=True,
    env=False,
    help="A cluster of the fleet (.sealer.yaml clusters:, reached through its context:); repeatable.",
)
@option("--all-clusters", is_flag=True, env=False, help="Every cluster of the fleet that has a context:.")
@option(
    "--config",
    metavar="PATH",
    env=False,
    help="The .sealer.yaml naming the fleet (default: at the Git repository's root).",
)
@table_or_json("output")
@option("-w", "--watch", is_flag=True, env=False, help="Print again whenever a SealedSecret changes (Ctrl-C stops).")
@option("--timeout", metavar="DURATION", env=False, help="With --watch: stop after this long (e.g. 10m).")
@kube_connection_options
@click.pass_obj
def status_command(env: Environment, /, **flags: Any) -> int:
    """Every SealedSecret's state as the controller reports it: Synced/Ready, generation lag, the key
    it was sealed for, its Secret (present, drifted) and why it is not synced. Never reads a value.

    Exit status 1 when anything is not synced (a CI gate), 0 otherwise.
    """
    from sealer.cli import status_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import StatusOptions

    return status_commands.status(StatusOptions.from_flags(flags, env.environ), env)


@cli.command("reconcile")
@click.argument("name")
@option("-n", "--namespace", help="The SealedSecret's namespace (default: the kubeconfig context's, else default).")
@option("--wait", is_flag=True, env=False, help="Wait until the controller has reconciled it, and print what it did.")
@option(
    "--timeout", metavar="DURATION", default="60s", show_default=True, env=False, help="With --wait: how long to wait."
)
@kube_connection_options
@click.pass_obj
def reconcile_command(env: Environment, /, **flags: Any) -> int:
    """Ask sealer's controller to reconcile one SealedSecret now: unseal it again and repair its
    Secret, even if its record says it is in sync (annotation sealer.dev/reconcile-requested-at)."""
    from sealer.cli import status_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import ReconcileOptions

    return status_commands.reconcile(ReconcileOptions.from_flags(flags, env.environ), env)


@cli.command("diff")
@click.argument("paths", nargs=-1, metavar="FILE | OLD NEW | PATH OLD OLD-HEX OLD-MODE NEW NEW-HEX NEW-MODE")
@option(
    "--textconv",
    is_flag=True,
    env=False,
    help="Print FILE's SealedSecrets as text for Git to diff (diff.<driver>.textconv).",
)
@option(
    "--recovery-private-key",
    "keys",
    metavar="KEY[,KEY...]",
    multiple=True,
    env=False,
    help="Private key files (or directories of them): also show whether each value changed, as a keyed "
    "digest (never the value). Also $SEALED_SECRETS_RECOVERY_PRIVATE_KEY.",
)
@click.pass_obj
def diff_command(env: Environment, /, **flags: Any) -> None:
    """Reviewable diffs of SealedSecrets for Git: items added, removed or re-sealed, scope, key and
    template changes, never a value (docs/gitops.md: the textconv and external diff driver set-up)."""
    from sealer.cli import diff_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import DiffOptions

    diff_commands.diff(DiffOptions.from_flags(flags, env.environ), env)


@cli.command("clusters")
@click.option("--config", metavar="PATH", help="The .sealer.yaml naming the fleet (default: the repository's).")
@click.option("--cluster", "cluster_names", metavar="NAME", multiple=True, help="List only this cluster (repeatable).")
@click.option(
    "--refresh",
    is_flag=True,
    help="Fetch the certificates of the clusters named by a kubeconfig context:, rewriting their cert: cache.",
)
@table_or_json()
@click.pass_obj
def clusters_command(env: Environment, /, **flags: Any) -> None:
    """List the fleet of .sealer.yaml: each cluster's certificate source, fingerprint, expiry, pq and path.

    Exit 1 if a certificate is missing, expired or cannot be fetched (each named on stderr);
    2 if .sealer.yaml is wrong.
    """
    from sealer.cli import fleet_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import ClustersOptions

    fleet_commands.clusters(ClustersOptions.from_flags(flags, env.environ), env)


@cli.command("reencrypt")
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--cluster", metavar="NAME", help="Re-seal for this cluster of .sealer.yaml (its certificate and pq).")
@option("--cert", metavar="PATH|URL", env=False, help="Re-seal for this certificate instead of a cluster's.")
@click.option("--pq", is_flag=True, help="Re-seal in the post-quantum hybrid format (implied by a pq: true cluster).")
@click.option("--config", metavar="PATH", help="The .sealer.yaml naming the fleet (default: the repository's).")
@click.option(
    "--from-key",
    metavar="FINGERPRINT",
    help="Move only the items sealed for this key (default: every item not yet sealed for the target).",
)
@click.option("--dry-run", is_flag=True, help="List what would be re-sealed; change nothing.")
@option(
    "--recovery-private-key",
    "keys",
    metavar="FILE",
    multiple=True,
    env=False,
    help="Private keys: PEM keys, key Secrets, backups (`sealer keys backup`, encrypted too) or a key directory. "
    "Repeat or separate with commas (also $SEALED_SECRETS_RECOVERY_PRIVATE_KEY).",
)
@click.option(
    "--key-dir", "key_dirs", metavar="DIR", multiple=True, help="A key directory (`sealer keys generate --out`)."
)
@click.option("--keyring", "keyring_name", metavar="NAME", help="The keys kept in the system keyring under NAME.")
@click.option("--allow-insecure-keyring", is_flag=True, help="Accept a keyring backend that stores in plaintext.")
@click.option("--passphrase-file", metavar="PATH", help="The passphrase of an encrypted backup.")
@click.pass_obj
def reencrypt_command(env: Environment, /, **flags: Any) -> None:
    """Re-seal the SealedSecrets in files and directories for a cluster or a certificate, offline.

    Opens each item with the local private keys and re-seals those not yet sealed for the target
    (or, with --from-key, those sealed for that key). Only the moved values and the key hint change
    in each file; all or nothing over the whole run.

    \b
    sealer reencrypt --cluster production-east --recovery-private-key backup.yaml clusters/production-east
    """
    from sealer.cli import reencrypt_commands  # the body, loaded when the command runs: see [tool.importlinter]
    from sealer.cli.arguments import ReencryptOptions

    reencrypt_commands.reencrypt(ReencryptOptions.from_flags(flags, env.environ), env)


keys_group.register(cli)


def _fail(env: Environment, message: str, status: ExitStatus = ExitStatus.FAILURE) -> ExitStatus:
    env.stderr.write(f"error: {' '.join(message.split())}\n")
    env.stderr.flush()
    return status


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit status. Errors are one line on stderr, never a traceback
    (a traceback could show a value)."""
    env = env or Environment.from_process()
    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if argv is None else "sealer"
    prog = "kubectl seal" if prog == "kubectl-seal" else (prog if prog and prog != "__main__.py" else "sealer")
    try:
        with contextlib.redirect_stdout(env.stdout), contextlib.redirect_stderr(env.stderr):
            # A command that reports rather than fails (status: not everything synced) returns its status.
            returned = cli.main(args=args, prog_name=prog, standalone_mode=False, obj=env)
    except click.exceptions.Abort:
        return _fail(env, "aborted", ExitStatus.INTERRUPTED)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show(file=env.stderr)
        return ExitStatus.USAGE if isinstance(e, click.UsageError) else ExitStatus.FAILURE
    except SealerError as e:
        return _fail(env, str(e), e.exit_status)
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    except ModuleNotFoundError as e:
        package = OPTIONAL_MODULES.get((e.name or "").split(".")[0], e.name)
        return _fail(
            env, f"this command needs the Python package {e.name!r}, which is not installed: pip install '{package}'"
        )
    except BrokenPipeError:
        return ExitStatus.FAILURE
    except Exception as e:  # noqa: BLE001 - never a traceback; a hint instead
        if env.environ.get("SEALER_DEBUG"):
            raise
        return _fail(
            env, f"internal error ({type(e).__name__}); rerun with SEALER_DEBUG=1 for details and please report it"
        )
    return returned if isinstance(returned, int) else ExitStatus.OK


def run() -> None:
    """The console scripts' entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

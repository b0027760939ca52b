"""The ``sealer`` command line: argument parsing and I/O only; the work is done by the library.

Every flag can also be set by an environment variable ``SEALED_SECRETS_<FLAG>`` (kubeseal's
convention, which users' scripts rely on); the flag wins.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from sealer._version import __version__
from sealer.cli import keys_group
from sealer.cli.options import cluster_options, option
from sealer.core.errors import InputError, SealerError


class DefaultToSeal(click.Group):
    """``sealer [flags]`` and ``kubectl seal [flags]`` mean ``sealer seal [flags]``, as with kubeseal."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--recovery-unseal" in args:  # kubeseal's spelling of `sealer unseal`
            args = ["unseal"] + [a for a in args if a != "--recovery-unseal"]
        elif not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["seal", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToSeal, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sealer", message="%(prog)s version: v%(version)s")
def cli() -> None:
    """Seal Kubernetes Secrets into SealedSecrets that are safe to commit to Git.

    Wire-compatible with Bitnami Sealed Secrets: kubeseal and its controller read what sealer
    writes, and the other way round. Run `sealer seal --help` for the main command.
    """


@cli.command("seal")
@option("--cert", metavar="PATH|URL", help="Certificate (or public key) file or http(s) URL to seal with. "
        "Without it, the certificate is fetched from the controller in the cluster.")
@option("-f", "--secret-file", metavar="PATH", help="Read the Secret(s) from this file instead of stdin.")
@option("-w", "--sealed-secret-file", metavar="PATH", help="Write here instead of stdout: atomically, and only on "
        "success. A .yaml/.yml name implies --format yaml.")
@option("-o", "--format", "fmt", type=click.Choice(["json", "yaml"], case_sensitive=False), default="json",
        show_default=True, help="Output format.")
@option("--scope", type=click.Choice(["strict", "namespace-wide", "cluster-wide"]),
        help="Where the values may be opened: strict = this name and namespace (default, unless the input's "
        "annotations say otherwise), namespace-wide = any name in this namespace, cluster-wide = anywhere.")
@option("-n", "--namespace", help="Namespace for Secrets that do not name one (default: the kubeconfig's, else default).")
@option("--allow-empty-data", is_flag=True, help="Allow a Secret with no data.")
@option("--raw", is_flag=True, help="Seal one value (from stdin or --from-file) and print only its sealed form.")
@option("--name", help="With --raw: the SealedSecret's name (needed for strict scope).")
@option("--from-file", metavar="[KEY=]PATH", help="With --raw: read the value from this file.")
@option("--merge-into", metavar="PATH", help="Add or replace the input's items in this existing SealedSecret file, in place.")
@option("--fetch-cert", is_flag=True, help="Print the certificate that would be used, and stop.")
@option("--validate", is_flag=True, help="Check with the controller that the input SealedSecrets open there "
        "(server-side; no certificate needed).")
@option("--re-encrypt", is_flag=True, help="Have the controller re-seal the input SealedSecrets for its newest "
        "key (server-side: plaintext never leaves the cluster). With -f and no -w, rewrites the file in place.")
@option("--rotate", "rotate_alias", is_flag=True, hidden=True, help="Deprecated: --re-encrypt.")
@option("--key-hint/--no-key-hint", default=True, show_default=True,
        help="Record the sealing key's fingerprint as an annotation (not part of the ciphertext).")
@cluster_options
def seal_command(**opts: Any) -> None:
    """Seal Secret manifests (YAML or JSON, one or many documents) into SealedSecrets.

    \b
    sealer seal --cert cert.pem -o yaml < secret.yaml > sealed-secret.yaml
    sealer seal --controller-namespace kube-system --controller-name sealed-secrets -o yaml < secret.yaml
    """
    from sealer.cli import seal_commands  # the body, loaded when the command runs: see [tool.importlinter]

    seal_commands.seal(**opts)


@cli.command("unseal")
@option("--recovery-private-key", "keys", metavar="KEY[,KEY...]", multiple=True,
        help="Private key files: PEM keys, or key Secrets / Lists of them (as `sealer keys backup` writes). "
        "Repeat or separate with commas.")
@option("-f", "--secret-file", metavar="PATH", help="Read the SealedSecret(s) from this file instead of stdin.")
@option("-o", "--format", "fmt", type=click.Choice(["json", "yaml"], case_sensitive=False), default="json",
        show_default=True, help="Output format.")
def unseal_command(**opts: Any) -> None:
    """Open SealedSecrets offline with the cluster's private keys (disaster recovery).

    Prints plaintext Secrets: send them to the cluster or to `sealer seal`, never to Git.
    """
    from sealer.cli import unseal_commands  # the body, loaded when the command runs: see [tool.importlinter]

    unseal_commands.unseal(**opts)


cli.add_command(keys_group.keys_group)
cli.add_command(keys_group.cert_command)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name=os.path.basename(sys.argv[0]) or "sealer", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except (SealerError, InputError) as e:
        fail(" ".join(str(e).split()))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # never a traceback (it could show a value): a hint instead (re-raised under SEALER_DEBUG)
        if os.environ.get("SEALER_DEBUG"):
            raise
        fail(f"internal error ({type(e).__name__}); rerun with SEALER_DEBUG=1 for details and please report it")


if __name__ == "__main__":
    main()

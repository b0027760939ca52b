"""Options shared by the command definitions: kubeseal's environment variables and the
controller's defaults. click only: this is on the start path of every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

ENV_PREFIX = "SEALED_SECRETS_"
DEFAULT_CONTROLLER_NAME = "sealed-secrets-controller"
DEFAULT_CONTROLLER_NAMESPACE = "kube-system"
DEFAULT_KEY_PREFIX = "sealed-secrets-key"  # keys.secret_format.DEFAULT_PREFIX (tests check they agree)
PASSPHRASE_ENV = "SEALER_BACKUP_PASSPHRASE"


def option(*decls: str, **attrs: Any) -> Callable:
    """click.option with the kubeseal environment variable derived from the long flag name."""
    long = next(d for d in decls if d.startswith("--"))
    attrs.setdefault("envvar", ENV_PREFIX + long[2:].upper().replace("-", "_"))
    attrs.setdefault("show_envvar", True)
    return click.option(*decls, **attrs)


def apply(f: Callable, decorators: list[Callable]) -> Callable:
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def cluster_options(f: Callable) -> Callable:
    return apply(
        f,
        [
            option(
                "--controller-name",
                default=DEFAULT_CONTROLLER_NAME,
                show_default=True,
                help="Name of the controller's Service.",
            ),
            option(
                "--controller-namespace",
                default=DEFAULT_CONTROLLER_NAMESPACE,
                show_default=True,
                help="Namespace of the controller.",
            ),
            option(
                "--kubeconfig", metavar="PATH", help="Path to a kubeconfig (default: KUBECONFIG or ~/.kube/config)."
            ),
            option("--context", help="The kubeconfig context to use."),
        ],
    )

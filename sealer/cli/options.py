"""The flags that several commands share, defined once: kubeseal's environment variables, kubectl's
connection flags, klog's flags, and the defaults. click only: this is on the start path of every
command (`sealer --help` loads it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sealer.cli.environment import Environment

ENV_PREFIX = "SEALED_SECRETS_"
DEFAULT_CONTROLLER_NAME = "sealed-secrets-controller"
DEFAULT_CONTROLLER_NAMESPACE = "kube-system"
DEFAULT_KEY_PREFIX = "sealed-secrets-key"  # keys.secret_format.DEFAULT_PREFIX (tests check they agree)
PASSPHRASE_ENV = "SEALER_BACKUP_PASSPHRASE"

# A command's function (or a click.Command) as it passes through the decorators that add its flags.
FC = TypeVar("FC", bound=Callable[..., Any])


TRUE_WORDS = ("1", "t", "true", "y", "yes", "on")  # strconv.ParseBool's and click's, lower-cased


def env_name(flag: str) -> str:
    """kubeseal's variable for a flag: --controller-name -> SEALED_SECRETS_CONTROLLER_NAME."""
    return ENV_PREFIX + flag.lstrip("-").upper().replace("-", "_")


class EnvOption(click.Option):
    """An option whose environment variable is read from the command's Environment, not os.environ."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        env = ctx.find_object(Environment)
        environ = env.environ if env is not None else os.environ
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        for name in names:
            value = environ.get(name)
            if value:
                return value
        return None


def option(*decls: str, env: bool = True, **attrs: Any) -> Callable[[FC], FC]:
    """click.option with kubeseal's environment variable (SEALED_SECRETS_<LONG_FLAG>)."""
    long = next(d for d in decls if d.startswith("--"))
    if env:
        attrs.setdefault("envvar", env_name(long))
        attrs.setdefault("show_envvar", True)
    return click.option(*decls, cls=EnvOption, **attrs)


def table_or_json(dest: str = "fmt") -> Callable[[FC], FC]:
    """``-o/--output table|json`` of the listing commands (clusters, status, keys usage); never
    from a SEALED_SECRETS_* variable (kubeseal has no such flag)."""
    return click.option(
        "-o", "--output", dest, type=click.Choice(["table", "json"]), default="table", show_default=True,
        help="Output format.",
    )  # fmt: skip


def apply(f: FC, decorators: list[Callable[[FC], FC]]) -> FC:
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def connection_options(f: FC) -> FC:
    """kubectl's connection flags (client-go's RecommendedConfigOverrideFlags), as kubeseal has them."""
    return apply(
        f,
        [
            option(
                "--kubeconfig", metavar="PATH", help="Path to a kubeconfig (default: $KUBECONFIG, else ~/.kube/config)."
            ),
            option("--context", help="The kubeconfig context to use."),
            option(
                "--cluster",
                "cluster",
                multiple=True,
                help="The kubeconfig cluster to use (the last one given). In a repository whose .sealer.yaml "
                "names the cluster, --cluster NAME is that cluster of the fleet instead (reached through its "
                "context:; `seal --cluster` is repeatable). $SEALED_SECRETS_CLUSTER is always kubectl's.",
            ),
            option("--user", help="The kubeconfig user to use."),
            option("-s", "--server", metavar="URL", help="The API server's address."),
            option("--token", help="Bearer token for the API server."),
            option("--certificate-authority", metavar="PATH", help="CA certificate file for the API server."),
            option("--client-certificate", metavar="PATH", help="Client certificate file for TLS."),
            option("--client-key", metavar="PATH", help="Client key file for TLS."),
            option(
                "--insecure-skip-tls-verify", is_flag=True, help="Do not check the API server's certificate (insecure)."
            ),
            option("--tls-server-name", metavar="NAME", help="Server name to check the API server's certificate for."),
            option("--as", "as_user", metavar="USER", help="Username to impersonate."),
            option(
                "--as-group",
                "as_groups",
                metavar="GROUP",
                multiple=True,
                env=False,
                help="Group to impersonate (repeatable; also $SEALED_SECRETS_AS_GROUP, comma-separated).",
            ),
            option("--as-uid", metavar="UID", help="UID to impersonate."),
            option("--username", help="Username for basic authentication."),
            option("--password", help="Password for basic authentication."),
            option("--proxy-url", metavar="URL", help="HTTP proxy to reach the API server through."),
            option(
                "--disable-compression",
                is_flag=True,
                help="Accepted for kubeseal's sake: sealer does not ask for compressed responses anyway.",
            ),
            option(
                "--request-timeout",
                metavar="DURATION",
                default="0",
                show_default=True,
                help="Time to wait for one request (e.g. 30s, 1m); 0: sealer's own limit of 30 s.",
            ),
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
        ],
    )


# kubectl's --cluster picks a kubeconfig cluster; the fleet commands' --cluster names a cluster of
# .sealer.yaml, and they reach no controller Service.
_NOT_FOR_FLEET_COMMANDS = ("cluster", "controller_name", "controller_namespace")


def kube_connection_options(f: FC) -> FC:
    """kubectl's connection flags but --cluster and the controller's Service (for commands whose
    --cluster is a cluster of the fleet)."""
    f = connection_options(f)
    # click.option keeps the parameters it adds in the function's __click_params__ until the command is made.
    params = getattr(f, "__click_params__", [])
    params[:] = [p for p in params if p.name not in _NOT_FOR_FLEET_COMMANDS]
    return f


# klog's flags, which kubeseal inherits: accepted so that scripts keep working, and ignored.
_KLOG_VALUE_FLAGS = (
    "--vmodule",
    "--log_dir",
    "--log_file",
    "--log_file_max_size",
    "--stderrthreshold",
    "--log_backtrace_at",
    "--alsologtostderrthreshold",
)
_KLOG_BOOL_FLAGS = (
    "--logtostderr",
    "--alsologtostderr",
    "--add_dir_header",
    "--one_output",
    "--skip_headers",
    "--skip_log_headers",
    "--legacy_stderr_threshold_behavior",
)


def klog_options(f: FC) -> FC:
    return apply(
        f,
        [
            click.option(
                "-v",
                "--v",
                "verbosity",
                type=int,
                default=0,
                metavar="N",
                help="Verbosity: 1 says where the certificate came from (klog's -v).",
            ),
            *(click.option(flag, hidden=True) for flag in _KLOG_VALUE_FLAGS),
            *(
                click.option(flag, hidden=True, is_flag=False, flag_value="true", default=None)
                for flag in _KLOG_BOOL_FLAGS
            ),
        ],
    )

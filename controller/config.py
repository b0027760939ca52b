"""Controller flags: Bitnami's names and defaults, each also settable as SEALED_SECRETS_<FLAG>."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keys.durations import parse_duration
from keys.rotation import RotationPolicy, parse_cutoff, parse_period

if TYPE_CHECKING:  # _networks imports it when --trusted-proxies is given
    from controller.forwarded import Network

ENV_PREFIX = "SEALED_SECRETS_"


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "t", "true", "yes", "y", "on"):
        return True
    if value in ("0", "f", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def _duration(text: str) -> dt.timedelta:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _timeout(text: str) -> float:
    """Seconds, from a Go duration; a timeout that never fires is no timeout, so 0 is refused."""
    seconds = _duration(text).total_seconds()
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive duration")
    return seconds


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _networks(text: str) -> tuple[Network, ...]:
    from controller.forwarded import parse_networks

    try:
        return parse_networks(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


@dataclass
class Flag:
    name: str
    default: object
    help: str
    type: object = str


FLAGS = [
    Flag("key-prefix", "sealed-secrets-key", "Prefix of the key Secrets' names."),
    Flag("key-size", 4096, "RSA key size of new keys.", int),
    Flag("key-ttl", "87600h", "Validity of new keys' certificates.", _duration),
    Flag("my-cn", "", "Common name of new keys' certificates."),
    Flag(
        "pq-keys",
        False,
        "Give new keys an ML-KEM-768 key too, published with the certificate, for "
        "post-quantum sealing (sealer seal --pq; docs/format.md).",
        _bool,
    ),
    Flag(
        "escrow-recipients",
        "sealed-secrets-escrow-recipients",
        "ConfigMap and/or Secret in the controller's namespace with the escrow recipients' certificates "
        "(and an optional threshold); every key gets an escrow object sealed for them (docs/keys.md). "
        "Empty: no escrow.",
    ),
    Flag("key-renew-period", "720h", "Make a new sealing key this often (0 disables).", parse_period),
    Flag("key-cutoff-time", "", "Make a new key at start if the newest predates this (RFC 1123Z or RFC 3339)."),
    Flag(
        "retired-key-grace-period",
        "720h",
        "Delete a key Secret labelled retired (sealer keys retire) this long after it was retired; "
        "until then `sealer keys retire --undo` brings it back.",
        _duration,
    ),
    Flag(
        "certificate-configmap",
        "sealed-secrets-controller-certs",
        "Publish the certificates (current and previous, with fingerprints and validity) in this "
        "ConfigMap of the controller's namespace, readable by every authenticated user; empty: do not.",
    ),
    Flag("update-status", True, "Report status on SealedSecrets.", _bool),
    Flag("all-namespaces", True, "Watch all namespaces (false: only the controller's).", _bool),
    Flag("additional-namespaces", "", "Comma-separated namespaces to watch besides the controller's."),
    Flag("label-selector", "", "Only handle SealedSecrets matching this label selector."),
    Flag("skip-recreate", False, "Do not watch Secrets, so deleted Secrets are not recreated.", _bool),
    Flag(
        "repair-drift", True, "Restore a Secret changed behind its SealedSecret's back (false: only report it).", _bool
    ),
    Flag("max-unseal-retries", 5, "Retries per SealedSecret before giving up until it or the keys change.", int),
    Flag("listen-addr", ":8080", "HTTP API address."),
    Flag("listen-metrics-addr", ":8081", "Prometheus metrics address."),
    Flag("rate-limit", 2.0, "Requests per second per client on /v1/verify and /v1/rotate.", float),
    Flag("rate-limit-burst", 2, "Burst on /v1/verify and /v1/rotate.", int),
    # Limits of the HTTP API (docs/security.md says what each protects and why its value).
    Flag(
        "trusted-proxies",
        "",
        "Comma-separated CIDRs of proxies whose X-Forwarded-For (last hop only) keys the "
        "rate limit, e.g. the API servers' addresses; others are keyed by their own address.",
        _networks,
    ),
    Flag("read-header-timeout", "10s", "Time to send a request's headers.", _timeout),
    Flag("read-timeout", "2m", "Time to send a whole request.", _timeout),
    Flag("write-timeout", "2m", "Time to take a response.", _timeout),
    Flag("idle-timeout", "2m", "Time a kept-alive connection may wait for its next request.", _timeout),
    Flag("max-connections", 512, "Open HTTP connections; one more closes the longest-waiting unserved one.", _count),
    Flag("max-concurrent-requests", 2, "/v1/verify and /v1/rotate requests in progress at once (503 beyond).", _count),
    Flag("max-request-items", 256, "Sealed items in one /v1/verify or /v1/rotate request (413 beyond).", _count),
    Flag("log-format", "text", "text or json."),
    Flag("log-level", "INFO", "DEBUG, INFO, WARN or ERROR."),
    Flag("kubeconfig", "", "Kubeconfig path (default: in-cluster, else KUBECONFIG)."),
    Flag(
        "workers",
        0,
        "Reconcile workers (0: 4 per core, so that private-key operations fill the cores while "
        "other workers wait for the API server).",
        int,
    ),
    Flag(
        "leader-elect",
        True,
        "Elect a leader among replicas on a Lease; only the leader writes (false: act alone).",
        _bool,
    ),
    Flag(
        "leader-election-id",
        "sealed-secrets-controller",
        "Name of the leader-election Lease in the controller's namespace (give each installation its own).",
    ),
    Flag(
        "leader-election-lease-duration",
        "15s",
        "How long followers wait, after the Lease last changed, before taking it over.",
        _duration,
    ),
    Flag(
        "leader-election-renew-deadline",
        "10s",
        "How long the leader keeps trying to renew before it steps down.",
        _duration,
    ),
    Flag(
        "leader-election-retry-period",
        "2s",
        "How often candidates try to acquire, and the leader renews, the Lease.",
        _duration,
    ),
    Flag(
        "kubeclient-qps",
        -1.0,
        "Client-side limit on API requests per second (0 or negative: no client-side "
        "limit; the API server's priority and fairness applies).",
        float,
    ),
    Flag("kubeclient-burst", 10, "Burst of API requests above --kubeclient-qps.", int),
]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sealer-controller",
        description="Unseal SealedSecrets into Secrets (a drop-in for Bitnami's sealed-secrets controller).",
    )
    p.add_argument("--version", action="store_true", help="Print the version and exit.")
    for flag in FLAGS:
        env = ENV_PREFIX + flag.name.upper().replace("-", "_")
        default = os.environ.get(env, flag.default)
        kwargs: dict[str, Any] = {
            "default": default,
            "help": f"{flag.help} [env {env}] (default {flag.default!s})",
            "dest": flag.name.replace("-", "_"),
        }
        if flag.type is _bool:
            # Go flag style: `--update-status`, `--update-status=false`.
            kwargs.update(nargs="?", const=True, type=_bool)
            if isinstance(default, str):
                kwargs["default"] = _bool(default)
        else:
            kwargs["type"] = flag.type
        p.add_argument(f"--{flag.name}", **kwargs)
    return p


@dataclass(frozen=True)
class Config:
    args: argparse.Namespace

    @property
    def rotation(self) -> RotationPolicy:
        cutoff = parse_cutoff(self.args.key_cutoff_time) if self.args.key_cutoff_time else None
        period = self.args.key_renew_period
        return RotationPolicy(period if isinstance(period, dt.timedelta) else parse_period(str(period)), cutoff)

    @property
    def retired_grace(self) -> dt.timedelta:
        grace = self.args.retired_key_grace_period
        return grace if isinstance(grace, dt.timedelta) else parse_duration(str(grace))

    @property
    def key_ttl(self) -> dt.timedelta:
        ttl = self.args.key_ttl
        return ttl if isinstance(ttl, dt.timedelta) else parse_duration(str(ttl))


def namespaces(args: argparse.Namespace, own: str) -> tuple[str, ...] | None:
    """None for all namespaces; else the controller's own plus the additional ones (Bitnami's rule)."""
    extra = tuple(n.strip() for n in (args.additional_namespaces or "").split(",") if n.strip())
    if extra:
        return tuple(dict.fromkeys((own, *extra)))
    return None if args.all_namespaces else (own,)


def workers(args: argparse.Namespace) -> int:
    return args.workers if args.workers > 0 else 4 * max(1, len(os.sched_getaffinity(0)))


def own_namespace() -> str:
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"

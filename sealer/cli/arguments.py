"""The typed arguments of the CLI's commands: what the command bodies receive instead of flag dicts.

Built from click's parsed values by ``from_flags``, which also applies kubeseal's environment
conventions that click has no notion of (slice flags that concatenate $SEALED_SECRETS_X with the
command line; SEALED_SECRETS_NO_KEY_HINT).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.cli.options import (
    DEFAULT_CONTROLLER_NAME,
    DEFAULT_CONTROLLER_NAMESPACE,
    DEFAULT_KEY_PREFIX,
    TRUE_WORDS,
    env_name,
)
from sealer.kube.connection import Connection, parse_request_timeout


def slice_values(environ: Mapping[str, str], flag: str, given: Iterable[str]) -> tuple[str, ...]:
    """A kubeseal slice flag: comma-separated values, from $SEALED_SECRETS_<FLAG> then the command
    line (pflag appends the command line's values to the environment's)."""
    values = [environ.get(env_name(flag), ""), *given]
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def last(value: str | tuple[str, ...] | list[str] | None) -> str | None:
    """A repeatable flag read as pflag reads a string flag given twice: the last one wins."""
    if isinstance(value, (tuple, list)):
        return value[-1] if value else None
    return value


@dataclass(frozen=True)
class ControllerTarget:
    """Where the controller is: its Service, and how to reach the API server that proxies to it."""

    connection: Connection = field(default_factory=Connection)
    name: str = DEFAULT_CONTROLLER_NAME
    namespace: str = DEFAULT_CONTROLLER_NAMESPACE

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> ControllerTarget:
        timeout = flags.get("request_timeout")
        connection = Connection(
            kubeconfig=flags.get("kubeconfig"),
            context=flags.get("context"),
            cluster=last(flags.get("cluster")),
            user=flags.get("user"),
            server=flags.get("server"),
            token=flags.get("token"),
            certificate_authority=flags.get("certificate_authority"),
            client_certificate=flags.get("client_certificate"),
            client_key=flags.get("client_key"),
            insecure_skip_tls_verify=bool(flags.get("insecure_skip_tls_verify")),
            tls_server_name=flags.get("tls_server_name"),
            as_user=flags.get("as_user"),
            as_groups=slice_values(environ, "--as-group", flags.get("as_groups") or ()),
            as_uid=flags.get("as_uid"),
            username=flags.get("username"),
            password=flags.get("password"),
            request_timeout=parse_request_timeout(timeout) if timeout else None,
            proxy_url=flags.get("proxy_url"),
        )
        return cls(
            connection,
            flags.get("controller_name") or DEFAULT_CONTROLLER_NAME,
            flags.get("controller_namespace") or DEFAULT_CONTROLLER_NAMESPACE,
        )


@dataclass(frozen=True)
class SealOptions:
    target: ControllerTarget = field(default_factory=ControllerTarget)
    cert: str | None = None
    secret_file: str | None = None
    sealed_secret_file: str | None = None
    fmt: str = "json"
    scope: str | None = None
    namespace: str | None = None
    allow_empty_data: bool = False
    raw: bool = False
    name: str | None = None
    from_file: tuple[str, ...] = ()
    merge_into: str | None = None
    fetch_cert: bool = False
    validate: bool = False
    re_encrypt: bool = False
    key_hint: bool = True
    pq: bool = False  # the hybrid post-quantum value format (docs/format.md)
    verbosity: int = 0
    # The fleet (.sealer.yaml): --all-clusters, and --cluster's values (fleet clusters when the
    # configuration names clusters, else kubectl's kubeconfig cluster: see seal_commands).
    all_clusters: bool = False
    cluster_names: tuple[str, ...] = ()
    config: str | None = None
    ignored_arguments: int = 0
    ignored_recovery_keys: bool = False

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str], *, key_hint_given: bool) -> SealOptions:
        key_hint = flags["key_hint"]
        if not key_hint_given and environ.get(env_name("--no-key-hint"), "").lower() in TRUE_WORDS:
            key_hint = False
        return cls(
            target=ControllerTarget.from_flags(flags, environ),
            cert=flags.get("cert"),
            secret_file=flags.get("secret_file"),
            sealed_secret_file=flags.get("sealed_secret_file"),
            fmt=flags.get("fmt") or "json",
            scope=flags.get("scope"),
            namespace=flags.get("namespace"),
            allow_empty_data=bool(flags.get("allow_empty_data")),
            raw=bool(flags.get("raw")),
            name=flags.get("name"),
            from_file=slice_values(environ, "--from-file", flags.get("from_file") or ()),
            merge_into=flags.get("merge_into"),
            fetch_cert=bool(flags.get("fetch_cert")),
            validate=bool(flags.get("validate")),
            re_encrypt=bool(flags.get("re_encrypt") or flags.get("rotate_alias")),
            key_hint=key_hint,
            pq=bool(flags.get("pq")),
            verbosity=int(flags.get("verbosity") or 0),
            all_clusters=bool(flags.get("all_clusters")),
            cluster_names=tuple(flags.get("cluster") or ()),
            config=flags.get("config"),
            ignored_arguments=len(flags.get("extra_args") or ()),
            ignored_recovery_keys=bool(slice_values(environ, "--recovery-private-key", flags.get("keys") or ())),
        )


@dataclass(frozen=True)
class UnsealOptions:
    keys: tuple[str, ...] = ()
    secret_file: str | None = None
    output_file: str | None = None
    fmt: str = "json"

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> UnsealOptions:
        return cls(
            keys=slice_values(environ, "--recovery-private-key", flags.get("keys") or ()),
            secret_file=flags.get("secret_file"),
            output_file=flags.get("sealed_secret_file"),
            fmt=flags.get("fmt") or "json",
        )


@dataclass(frozen=True)
class KeyOptions:
    """`sealer keys ...` and `sealer cert`: where the keys are, and what to do with them."""

    directory: str | None = None
    keyring_name: str | None = None
    allow_insecure_keyring: bool = False
    target: ControllerTarget = field(default_factory=ControllerTarget)
    key_prefix: str = DEFAULT_KEY_PREFIX
    bits: int = 4096
    cn: str = ""
    ttl: str = "87600h"
    pq: bool = False  # an ML-KEM-768 key beside the RSA key (docs/format.md)
    fmt: str = "table"
    output_file: str | None = None
    encrypt: bool = False
    passphrase_file: str | None = None
    backup_file: str | None = None
    dry_run: bool = False
    escrow_files: tuple[str, ...] = ()  # restore --escrow, escrow verify
    recovery_keys: tuple[str, ...] = ()  # restore --escrow, escrow verify, usage, retire
    certs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # escrow recipients
    recipients_name: str = "sealed-secrets-escrow-recipients"
    # `keys usage` and `keys retire`
    paths: tuple[str, ...] = ()
    fingerprint: str | None = None
    sealed_namespace: str | None = None
    selector: str | None = None
    re_encrypt: bool = False
    force: bool = False
    undo: bool = False
    verbosity: int = 0  # `cert -v 1`: where the certificate came from

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> KeyOptions:
        known = {k: v for k, v in flags.items() if k in cls.__dataclass_fields__ and k != "target" and v is not None}
        if "recovery_keys" in flags:
            known["recovery_keys"] = slice_values(environ, "--recovery-private-key", flags["recovery_keys"] or ())
        return cls(target=ControllerTarget.from_flags(flags, environ), **known)


@dataclass(frozen=True)
class ClustersOptions:
    """`sealer clusters`: the fleet of a .sealer.yaml, and whether to fetch context certificates."""

    config: str | None = None
    cluster_names: tuple[str, ...] = ()
    refresh: bool = False
    fmt: str = "table"

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> ClustersOptions:
        return cls(
            config=flags.get("config"),
            cluster_names=tuple(flags.get("cluster_names") or ()),
            refresh=bool(flags.get("refresh")),
            fmt=flags.get("fmt") or "table",
        )


@dataclass(frozen=True)
class ReencryptOptions:
    """`sealer reencrypt PATH...`: the files, the target certificate, the local private keys."""

    paths: tuple[str, ...] = ()
    cluster: str | None = None
    cert: str | None = None
    config: str | None = None
    pq: bool = False
    from_key: str | None = None
    dry_run: bool = False
    keys: tuple[str, ...] = ()
    key_dirs: tuple[str, ...] = ()
    keyring_name: str | None = None
    allow_insecure_keyring: bool = False
    passphrase_file: str | None = None

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> ReencryptOptions:
        return cls(
            paths=tuple(flags.get("paths") or ()),
            cluster=flags.get("cluster"),
            cert=flags.get("cert"),
            config=flags.get("config"),
            pq=bool(flags.get("pq")),
            from_key=flags.get("from_key"),
            dry_run=bool(flags.get("dry_run")),
            keys=slice_values(environ, "--recovery-private-key", flags.get("keys") or ()),
            key_dirs=tuple(flags.get("key_dirs") or ()),
            keyring_name=flags.get("keyring_name"),
            allow_insecure_keyring=bool(flags.get("allow_insecure_keyring")),
            passphrase_file=flags.get("passphrase_file"),
        )

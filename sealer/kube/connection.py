"""How to reach the API server: a kubeconfig, and kubectl's connection flags on top of it.

kubeseal accepts every kubectl connection override (client-go's RecommendedConfigOverrideFlags);
so does sealer, with the same meaning: `--server`/`--token` work with no kubeconfig at all, and
`--context`, `--cluster` and `--user` pick entries of the merged kubeconfig files (KUBECONFIG may
name several; the first file that names an entry wins, as with kubectl).

The kubeconfig handling here is pure (``effective_kubeconfig``), tested without a cluster; the
client is made from it by sealer.kube.config, the one module that imports the kubernetes package.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.core.errors import SealerError
from sealer.core.files import read_limited

DEFAULT_KUBECONFIG = "~/.kube/config"
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024
OVERRIDE = "sealer-overrides"  # the name of the context, cluster and user made from the flags
_FILE_FIELDS = {"clusters": ("certificate-authority",), "users": ("client-certificate", "client-key", "tokenFile")}


@dataclass(frozen=True)
class Connection:
    """kubectl's connection flags (all optional; unset means: as the kubeconfig says)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    server: str | None = None
    token: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    as_user: str | None = None
    as_groups: tuple[str, ...] = ()
    as_uid: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    request_timeout: float | None = None  # seconds; None: no client-side limit (kubectl's "0")
    proxy_url: str | None = None

    def impersonation_headers(self) -> dict[str, str]:
        """The Impersonate-* headers of --as/--as-uid (the groups: ``as_groups``, one header each)."""
        headers = {}
        if self.as_user:
            headers["Impersonate-User"] = self.as_user
        if self.as_uid:
            headers["Impersonate-Uid"] = self.as_uid
        return headers


def parse_request_timeout(text: str) -> float | None:
    """kubectl's --request-timeout: a bare number of seconds or a Go duration; 0 means none."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        import durationpy  # Go durations; a dependency of the kubernetes client

        try:
            seconds = durationpy.from_str(text).total_seconds()
        except ValueError:  # durationpy.DurationError is one
            raise SealerError(f"--request-timeout: invalid duration {text!r} (e.g. 30s, 1m, or 0 for none)") from None
    if seconds < 0:
        raise SealerError("--request-timeout: must not be negative")
    return seconds or None


def kubeconfig_paths(conn: Connection, environ: Mapping[str, str]) -> list[str]:
    """The kubeconfig files to merge: --kubeconfig (which must exist), else $KUBECONFIG's existing
    entries, else ~/.kube/config if it exists."""
    if conn.kubeconfig:
        path = os.path.expanduser(conn.kubeconfig)
        if not os.path.exists(path):
            raise SealerError(f"cannot load kubeconfig: {conn.kubeconfig}: no such file")
        return [path]
    listed = environ.get("KUBECONFIG")
    candidates = listed.split(os.pathsep) if listed else [DEFAULT_KUBECONFIG]
    return [p for p in (os.path.expanduser(c) for c in candidates if c) if os.path.isfile(p)]


def merged_kubeconfig(paths: list[str]) -> dict[str, Any]:
    """The kubeconfig files merged as kubectl merges them, with relative file names made absolute
    (each against its own file's directory)."""
    import yaml

    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    seen: dict[str, set[str]] = {kind: set() for kind in merged}
    for path in paths:
        raw = read_limited(path, MAX_KUBECONFIG_BYTES, what="kubeconfig")
        try:
            doc = yaml.safe_load(raw) or {}
        except yaml.YAMLError:
            raise SealerError(f"cannot load kubeconfig: {path}: not valid YAML") from None
        if not isinstance(doc, dict):
            raise SealerError(f"cannot load kubeconfig: {path}: not a kubeconfig")
        base = os.path.dirname(os.path.abspath(path))
        if doc.get("current-context") and not merged.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for kind in ("clusters", "users", "contexts"):
            for entry in doc.get(kind) or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or entry["name"] in seen[kind]:
                    continue
                entry = copy.deepcopy(entry)
                body = entry.get(kind[:-1]) or {}
                for key in _FILE_FIELDS.get(kind, ()):
                    value = body.get(key)
                    if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
                        body[key] = os.path.join(base, value)
                seen[kind].add(entry["name"])
                merged[kind].append(entry)
    return merged


def _named(doc: dict[str, Any], kind: str, name: str | None) -> dict[str, Any] | None:
    for entry in doc.get(kind) or []:
        if entry.get("name") == name:
            return copy.deepcopy(entry.get(kind[:-1]) or {})
    return None


def effective_kubeconfig(doc: dict[str, Any], conn: Connection) -> dict[str, Any]:
    """``doc`` with one more context, cluster and user (named OVERRIDE, and current) that apply the
    flags to the entries the kubeconfig (or --context/--cluster/--user) selects."""
    context_name = conn.context or doc.get("current-context")
    context = _named(doc, "contexts", context_name)
    if context is None:
        if conn.context:
            raise SealerError(f'context "{conn.context}" does not exist in the kubeconfig')
        context = {}
    cluster_name, user_name = conn.cluster or context.get("cluster"), conn.user or context.get("user")
    cluster, user = _named(doc, "clusters", cluster_name), _named(doc, "users", user_name)
    if conn.cluster and cluster is None:
        raise SealerError(f'cluster "{conn.cluster}" does not exist in the kubeconfig')
    if conn.user and user is None:
        raise SealerError(f'user "{conn.user}" does not exist in the kubeconfig')
    cluster, user = cluster or {}, user or {}
    if conn.server:
        cluster["server"] = conn.server
    if conn.certificate_authority:
        cluster.pop("certificate-authority-data", None)
        cluster["certificate-authority"] = os.path.abspath(os.path.expanduser(conn.certificate_authority))
    if conn.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
        cluster.pop("certificate-authority-data", None)
        cluster.pop("certificate-authority", None)
    if conn.tls_server_name:
        cluster["tls-server-name"] = conn.tls_server_name
    if conn.token:
        # An explicit token is the credential: no exec plugin or auth provider may replace it.
        for key in ("exec", "auth-provider", "tokenFile", "username", "password"):
            user.pop(key, None)
        user["token"] = conn.token
    for flag, key in ((conn.client_certificate, "client-certificate"), (conn.client_key, "client-key")):
        if flag:
            user.pop(f"{key}-data", None)
            user[key] = os.path.abspath(os.path.expanduser(flag))
    if conn.username:
        user["username"] = conn.username
    if conn.password:
        user["password"] = conn.password
    if not cluster.get("server"):
        raise SealerError(
            "no cluster to talk to: no kubeconfig names a server; give --kubeconfig, --context or --server"
        )
    out = copy.deepcopy(doc)
    out["clusters"] = [*out.get("clusters", []), {"name": OVERRIDE, "cluster": cluster}]
    out["users"] = [*out.get("users", []), {"name": OVERRIDE, "user": user}]
    new_context = {"cluster": OVERRIDE, "user": OVERRIDE}
    if context.get("namespace"):
        new_context["namespace"] = context["namespace"]
    out["contexts"] = [*out.get("contexts", []), {"name": OVERRIDE, "context": new_context}]
    out["current-context"] = OVERRIDE
    return out


def current_namespace(conn: Connection, environ: Mapping[str, str]) -> str | None:
    """The namespace of the context in use, or None (kubectl's default namespace rule, without a cluster)."""
    try:
        doc = merged_kubeconfig(kubeconfig_paths(conn, environ))
    except SealerError:
        return None
    context = _named(doc, "contexts", conn.context or doc.get("current-context")) or {}
    namespace = context.get("namespace")
    return namespace if isinstance(namespace, str) and namespace else None

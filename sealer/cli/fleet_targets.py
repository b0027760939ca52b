"""A cluster of the fleet (.sealer.yaml, sealer.core.fleet) as the commands reach it: its
connection, its controller, and the certificate to seal for it.

Where a cluster's certificate comes from (docs/fleets.md):

- ``cert:`` alone: that file (in the repository) or http(s) URL, read each time;
- ``context:`` alone: fetched from the cluster's controller through the API server, each time
  (as ``sealer seal`` without ``--cert``);
- ``context:`` and ``cert:``: ``cert:`` is the cache of the fetched certificate. It is read when it
  exists (so sealing stays offline) and fetched, then written atomically, when it does not or
  when asked (``sealer clusters --refresh``). An expired cache is an error that says to refresh:
  it is never refreshed behind the user's back, since the file is committed and reviewed.

Every failure is one line naming the cluster (and the file). Shared by the fleet commands
(`sealer clusters`, `seal --all-clusters`, `reencrypt --cluster`) and `sealer status --all-clusters`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from sealer.cli.arguments import ControllerTarget
from sealer.cli.environment import Environment
from sealer.core.certs import Certificate, load_certificate, parse_certificate
from sealer.core.errors import CertificateError, SealerError
from sealer.core.files import write_atomically
from sealer.core.fleet import Cluster, Fleet, FleetError, load_fleet
from sealer.kube.connection import Connection, current_namespace


def connection_for(cluster: Cluster) -> Connection:
    """The API server of ``cluster``: its kubeconfig (else $KUBECONFIG's) and its context."""
    return Connection(kubeconfig=cluster.kubeconfig, context=cluster.context)


def target_for(cluster: Cluster, default: ControllerTarget | None = None) -> ControllerTarget:
    """The controller of ``cluster``: its controller-name/-namespace, else ``default``'s."""
    default = default or ControllerTarget()
    return ControllerTarget(
        connection_for(cluster),
        cluster.controller_name or default.name,
        cluster.controller_namespace or default.namespace,
    )


def namespace_for(cluster: Cluster, environ: Mapping[str, str]) -> str:
    """The namespace a Secret without one goes to in ``cluster``: its context's, else default."""
    return current_namespace(connection_for(cluster), environ) or "default"


class ClusterCertificate(NamedTuple):
    cluster: Cluster
    certificate: Certificate
    source: str  # where it came from, for listings: "file certs/x.pem", "context prod (cached in ...)"
    fetched: bool  # fetched from the cluster by this call


def describe_source(cluster: Cluster) -> str:
    """Where the certificate of ``cluster`` comes from, without reading it."""
    if cluster.context and cluster.cert:
        return f"context {cluster.context} (cached in {cluster.cert})"
    if cluster.context:
        return f"context {cluster.context}"
    return f"{'url' if cluster.cert_is_url else 'file'} {cluster.cert}"


def certificate_for(
    cluster: Cluster, env: Environment, *, refresh: bool = False, default: ControllerTarget | None = None
) -> ClusterCertificate:
    """The certificate to seal for ``cluster``; ``refresh`` fetches a context's certificate even
    when its cache exists (and rewrites the cache)."""
    source = describe_source(cluster)
    try:
        if cluster.context is None:
            assert cluster.cert is not None  # the fleet's parser requires cert: or context:
            return ClusterCertificate(cluster, load_certificate(cluster.cert, now=env.clock()), source, False)
        if cluster.cert and not refresh and os.path.exists(cluster.cert):
            try:
                cert = load_certificate(cluster.cert, now=env.clock())
            except CertificateError as e:
                raise CertificateError(
                    f"{e} (the cache of context {cluster.context}: run sealer clusters --refresh)"
                ) from None
            return ClusterCertificate(cluster, cert, source, False)
        pem = fetch_pem(cluster, env, default)
        cert = parse_certificate(pem, f"certificate of context {cluster.context}", now=env.clock())
        if cluster.cert:
            os.makedirs(os.path.dirname(cluster.cert) or ".", exist_ok=True)
            write_atomically(cluster.cert, pem.decode("ascii", "replace"))
        return ClusterCertificate(cluster, cert, source, True)
    except FleetError:
        raise
    except SealerError as e:
        raise CertificateError(f"cluster {cluster.name}: {e}") from None


def fetch_pem(cluster: Cluster, env: Environment, default: ControllerTarget | None = None) -> bytes:
    """The certificate PEM of the controller of ``cluster``, through its API server."""
    from sealer.kube import controller_api  # only a context's certificate talks to a cluster

    target = target_for(cluster, default)
    return controller_api.fetch_certificate_with(env.kube(target.connection), target.namespace, target.name)


def certificates_for(
    clusters: list[Cluster], env: Environment, *, refresh: bool = False, default: ControllerTarget | None = None
) -> list[ClusterCertificate]:
    """Every cluster's certificate, or the first failure (before anything is sealed or written)."""
    return [certificate_for(c, env, refresh=refresh, default=default) for c in clusters]


def fleet_from(config: str | None) -> Fleet:
    """The fleet of ``config`` (a .sealer.yaml), else of the repository's .sealer.yaml."""
    return load_fleet(config)


def chosen(fleet: Fleet, names: tuple[str, ...], all_clusters: bool) -> list[Cluster]:
    """The clusters ``--cluster NAME``/``--all-clusters`` choose (every name must be the fleet's)."""
    if all_clusters:
        if not fleet.clusters:
            raise FleetError(f"{fleet.source}: names no clusters (add a clusters: list)")
        return list(fleet.clusters)
    return fleet.select(names)


def repository_root(fleet: Fleet) -> str:
    """The directory the clusters' path patterns are relative to: the configuration's."""
    return os.path.dirname(os.path.abspath(fleet.source))

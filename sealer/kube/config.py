"""Connecting to a cluster: a kubeconfig and kubectl's connection flags (sealer.kube.connection), or
the in-cluster service account, to an authenticated client. The one module that imports the
kubernetes package (~240 ms): only the commands that talk to a cluster, and the controller, load it."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

from kubernetes import client as k8s
from kubernetes import config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader

from sealer._version import __version__
from sealer.core.errors import SealerError
from sealer.kube.client import Kube
from sealer.kube.connection import OVERRIDE, Connection, effective_kubeconfig, kubeconfig_paths, merged_kubeconfig

DEFAULT_TIMEOUT = 30.0  # seconds per request when --request-timeout does not say (kubectl's 0)


def user_agent(program: str = "sealer") -> str:
    """Our own User-Agent, shaped like client-go's, so that audit logs tell sealer from kubeseal
    (and from anything else riding on the Python client's default `OpenAPI-Generator/...`)."""
    return f"{program}/v{__version__} ({platform.system().lower()}/{platform.machine()}) python/{platform.python_version()}"


def api_client(conn: Connection, *, program: str = "sealer", environ: Mapping[str, str] | None = None) -> k8s.ApiClient:
    """An authenticated kubernetes ApiClient for ``conn`` (in-cluster when there is no kubeconfig
    and no --server), sending our User-Agent and the impersonation headers."""
    environ = os.environ if environ is None else environ
    paths = kubeconfig_paths(conn, environ)
    configuration = k8s.Configuration()
    try:
        if paths or conn.server:
            doc = effective_kubeconfig(merged_kubeconfig(paths), conn)
            KubeConfigLoader(config_dict=doc, active_context=OVERRIDE).load_and_set(configuration)
        else:
            config.load_incluster_config(client_configuration=configuration)
    except ConfigException as e:
        detail = " ".join(str(e).split())
        if not paths and not conn.server:
            detail = "no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster"
        raise SealerError(f"cannot load kubeconfig: {detail}") from None
    except (OSError, TypeError, ValueError) as e:
        raise SealerError(f"cannot load kubeconfig: {' '.join(str(e).split()) or type(e).__name__}") from None
    if conn.proxy_url:
        configuration.proxy = conn.proxy_url
    api = k8s.ApiClient(configuration)
    api.user_agent = user_agent(program)
    for name, value in conn.impersonation_headers().items():
        api.set_default_header(name, value)
    return api


def connect_with(conn: Connection, *, program: str = "sealer", environ: Mapping[str, str] | None = None) -> Kube:
    """The client for ``conn``: its --request-timeout and one Impersonate-Group header per --as-group."""
    return Kube(
        api_client(conn, program=program, environ=environ),
        timeout=conn.request_timeout or DEFAULT_TIMEOUT,
        impersonate_groups=conn.as_groups,
    )


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    program: str = "sealer",
    timeout: float = DEFAULT_TIMEOUT,
) -> Kube:
    """A Kube client for the kubeconfig's (or the in-cluster) API server."""
    return Kube(api_client(Connection(kubeconfig=kubeconfig, context=context), program=program), timeout=timeout)

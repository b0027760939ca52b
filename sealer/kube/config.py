"""Connecting to a cluster: a kubeconfig (or the in-cluster service account) to an authenticated
client. The one module that imports the kubernetes package (~240 ms): only the commands that talk
to a cluster, and the controller, load it."""

from __future__ import annotations

import platform
from typing import Any

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from sealer._version import __version__
from sealer.core.errors import SealerError
from sealer.kube.client import Kube


def user_agent(program: str = "sealer") -> str:
    """Our own User-Agent, shaped like client-go's, so that audit logs tell sealer from kubeseal
    (and from anything else riding on the Python client's default `OpenAPI-Generator/...`)."""
    return f"{program}/v{__version__} ({platform.system().lower()}/{platform.machine()}) python/{platform.python_version()}"


def api_client(kubeconfig: str | None = None, context: str | None = None, *, program: str = "sealer") -> Any:
    """An authenticated kubernetes ApiClient (kubeconfig file, or in-cluster when there is none)."""
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, FileNotFoundError, TypeError) as e:
        api = None
        if kubeconfig is None and context is None:
            try:
                config.load_incluster_config()
                api = client.ApiClient()
            except ConfigException:
                pass
        if api is None:
            raise SealerError(f"cannot load kubeconfig: {' '.join(str(e).split()) or type(e).__name__}") from None
    api.user_agent = user_agent(program)
    return api


def connect(
    kubeconfig: str | None = None, context: str | None = None, *, program: str = "sealer", timeout: float = 30.0
) -> Kube:
    """A Kube client for the kubeconfig's (or the in-cluster) API server."""
    return Kube(api_client(kubeconfig, context, program=program), timeout=timeout)

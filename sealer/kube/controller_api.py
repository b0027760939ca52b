"""The sealed-secrets controller's HTTP API (/v1/cert.pem, /v1/verify, /v1/rotate), reached as
kubeseal reaches it: through the API server's service proxy, with the kubeconfig's credentials.
The certificate comes first from the controller's certificate ConfigMap (sealer/core/certmap.py),
which needs no proxy: a private cluster whose API server cannot reach Pods still works."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sealer.core import certmap
from sealer.core.errors import CertificateError, SealerError
from sealer.kube.client import Kube, configmap_path, service_path
from sealer.kube.errors import ApiError

# The controller's answers are the status to judge (409: cannot decrypt), not errors to raise.
ACCEPT = "application/x-pem-file, application/json, */*"


def proxy_path(kube: Kube, controller_namespace: str, controller_name: str, path: str) -> str:
    """The API-server proxy path to the controller's HTTP API (its Service's first port)."""
    try:
        service = reached(lambda: kube.request("GET", service_path(controller_namespace, controller_name)))
    except ApiError as e:
        raise CertificateError(
            f"cannot get sealed secret service: {e.server_message or e.summary} "
            "(use --controller-name and --controller-namespace to name the controller's Service)"
        ) from None
    ports = (service.get("spec") or {}).get("ports") or []
    port_name = (ports[0].get("name") or "") if ports else ""
    return f"{service_path(controller_namespace)}/http:{quote(controller_name)}:{quote(port_name)}/proxy{path}"


def request(
    kube: Kube,
    controller_namespace: str,
    controller_name: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> tuple[int, bytes]:
    """Call the controller's HTTP API: (status, body), whatever the status."""
    url = proxy_path(kube, controller_namespace, controller_name, path)
    headers = {"Accept": ACCEPT}
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = reached(lambda: kube.raw(method, url, headers=headers, body=body))
    return response.status, response.data


def fetch_certificate(
    controller_namespace: str, controller_name: str, kubeconfig: str | None, context: str | None
) -> bytes:
    """The controller's current certificate (PEM)."""
    return fetch_certificate_with(Kube.from_kubeconfig(kubeconfig, context), controller_namespace, controller_name)


def fetch_certificate_with(kube: Kube, controller_namespace: str, controller_name: str) -> bytes:
    """The controller's current certificate (PEM), through ``kube``."""
    return fetch_certificate_from(kube, controller_namespace, controller_name)[0]


def fetch_certificate_from(kube: Kube, controller_namespace: str, controller_name: str) -> tuple[bytes, str]:
    """The controller's current certificate (PEM) and where it came from (for ``-v``): its
    certificate ConfigMap if there is one this user may read, else the service proxy."""
    pem, why_not = configmap_certificate(kube, controller_namespace, controller_name)
    if pem is not None:
        return pem, f"the ConfigMap {controller_namespace}/{certmap.name_for(controller_name)}"
    status, body = request(kube, controller_namespace, controller_name, "GET", "/v1/cert.pem")
    if status != 200:
        raise CertificateError(f"cannot fetch certificate: {who_answered(status, body)} (and {why_not})")
    return body, (
        f"the controller {controller_namespace}/{controller_name} through the API server's service proxy ({why_not})"
    )


def configmap_certificate(kube: Kube, controller_namespace: str, controller_name: str) -> tuple[bytes | None, str]:
    """(the sealing certificate of the ConfigMap, or None and why not)."""
    name = certmap.name_for(controller_name)
    where = f"ConfigMap {controller_namespace}/{name}"
    try:
        doc = reached(lambda: kube.get(configmap_path(controller_namespace, name)))
    except ApiError as e:
        return None, f"cannot read the {where}: {e.summary}"
    except SealerError as e:
        return None, str(e)
    if doc is None:
        return None, f"no {where}"
    try:
        return certmap.sealing_certificate(doc, where), ""
    except CertificateError as e:
        return None, str(e)


def who_answered(status: int, body: bytes | None) -> str:
    """Who failed a proxied call, and why. When the API server's proxy itself fails (no endpoints,
    the Pod unreachable, RBAC), the controller never saw the request and the API server answers
    with its own Status object: give its reason, as kubeseal does. The controller's own answers
    are plain text or PEM, never a Status."""
    try:
        doc = json.loads(body or b"")
    except (ValueError, TypeError):
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("message"):
        # The proxy's messages name services, addresses and users, never what was sent.
        return f"the API server answered {status}: {' '.join(str(doc['message']).split())[:300]}"
    return f"the controller answered {status}"


def reached(call: Any) -> Any:
    """``call()``; a connection failure (urllib3 raises many types) becomes one line."""
    try:
        return call()
    except (SealerError, ApiError):
        raise
    except Exception as e:  # noqa: BLE001 - connection failures surface as many types
        raise SealerError(f"cannot reach the cluster: {_connection_failure(e)}") from None


def _connection_failure(e: BaseException) -> str:
    """urllib3's MaxRetryError as "HOST:PORT: why" (its own text is three nested reprs long)."""
    pool, reason = getattr(e, "pool", None), getattr(e, "reason", None)
    if pool is not None and reason is not None:
        why = str(reason)
        why = why.rsplit("] ", 1)[-1] if "] " in why else why.rsplit(": ", 1)[-1]
        return f"{pool.host}:{pool.port}: {why.strip().lower()}"
    return " ".join(str(e).split()) or type(e).__name__

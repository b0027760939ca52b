"""Talking to a cluster: only the commands that need it import the kubernetes client."""

from __future__ import annotations

import json
from typing import Any

from sealer.core.errors import CertificateError, SealerError


def user_agent(program: str = "sealer") -> str:
    """Our own User-Agent, shaped like client-go's, so that audit logs tell sealer from kubeseal
    (and from anything else riding on the Python client's default `OpenAPI-Generator/...`)."""
    import platform

    from sealer._version import __version__

    return f"{program}/v{__version__} ({platform.system().lower()}/{platform.machine()}) python/{platform.python_version()}"


def api_client(kubeconfig: str | None = None, context: str | None = None, *, program: str = "sealer") -> Any:
    """An authenticated kubernetes ApiClient (kubeconfig file, or in-cluster when there is none)."""
    from kubernetes import config  # heavy: ~240 ms
    from kubernetes.config.config_exception import ConfigException

    try:
        client = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, FileNotFoundError, TypeError) as e:
        client = None
        if kubeconfig is None and context is None:
            try:
                config.load_incluster_config()
                from kubernetes import client as k8s

                client = k8s.ApiClient()
            except ConfigException:
                pass
        if client is None:
            raise SealerError(f"cannot load kubeconfig: {_one_line(e)}") from None
    client.user_agent = user_agent(program)
    return client


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def status_summary(status: int, reason: str, body: bytes | str | None, *, quote_message: bool = True) -> str:
    """The API server's answer to a failed call, on one line. With ``quote_message=False`` (for
    writes of Secrets) only the status, reason and the names of the offending fields are given:
    the server's message, or an admission webhook's, may quote the values that were sent."""
    doc: dict = {}
    if body:
        try:
            doc = json.loads(body) or {}
        except (ValueError, TypeError):
            doc = {}
    reason = doc.get("reason") or reason or ""
    if quote_message and doc.get("message"):
        return " ".join(str(doc["message"]).split())
    causes = ((doc.get("details") or {}).get("causes")) or []
    fields = sorted({str(c.get("field")) for c in causes if isinstance(c, dict) and c.get("field")})
    return f"{status} {reason}".strip() + (f" (fields: {', '.join(fields)})" if fields else "")


def api_error_reason(e: Any, *, quote_message: bool = True) -> str:
    """status_summary for an ApiException of the generated client."""
    return status_summary(getattr(e, "status", 0) or 0, getattr(e, "reason", "") or "", getattr(e, "body", None),
                          quote_message=quote_message) or _one_line(e)


def call(client: Any, method: str, path: str, *, query: dict | None = None, headers: dict | None = None,
         body: Any = None, timeout: float | tuple = 30.0) -> Any:
    """One authenticated request with a JSON-able body; returns the raw, unread urllib3 response
    (check ``.status``). The generated API classes are bypassed: they cost time and hide bytes."""
    method, url, headers, body, _ = client.param_serialize(
        method, path, query_params=list((query or {}).items()), header_params=dict(headers or {}), body=body,
        auth_settings=["BearerToken"])
    groups = getattr(client, "sealer_as_groups", ())
    if groups:  # one Impersonate-Group header per group: the API server does not split a joined one
        import urllib3

        headers = urllib3.HTTPHeaderDict(headers)
        for group in groups:
            headers.add("Impersonate-Group", group)
    timeout = getattr(client, "sealer_request_timeout", None) or timeout  # --request-timeout
    return client.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout).response


def controller_proxy_path(client: Any, controller_namespace: str, controller_name: str, path: str) -> str:
    """The API-server proxy path to the controller's HTTP API (its Service's first port)."""
    response = _guarded(lambda: call(client, "GET", f"/api/v1/namespaces/{controller_namespace}/services/{controller_name}"))
    if response.status != 200:
        raise CertificateError(
            f"cannot get sealed secret service: {_status_message(response)} "
            "(use --controller-name and --controller-namespace to name the controller's Service)"
        )
    ports = (json.loads(response.data).get("spec") or {}).get("ports") or []
    port_name = (ports[0].get("name") or "") if ports else ""
    return f"/api/v1/namespaces/{controller_namespace}/services/http:{controller_name}:{port_name}/proxy{path}"


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


def _status_message(response: Any) -> str:
    try:
        return json.loads(response.data).get("message") or f"{response.status} {response.reason}"
    except (ValueError, AttributeError):
        return f"{response.status} {response.reason}"


def _guarded(fn: Any) -> Any:
    try:
        return fn()
    except SealerError:
        raise
    except Exception as e:  # noqa: BLE001 - connection failures surface as many types
        raise SealerError(f"cannot reach the cluster: {_one_line(e)}") from None


def controller_request(
    client: Any, controller_namespace: str, controller_name: str, method: str, path: str, body: dict | None = None
) -> tuple[int, bytes]:
    """Call the controller's HTTP API through the API server's service proxy: (status, body)."""
    url = controller_proxy_path(client, controller_namespace, controller_name, path)
    headers = {"Accept": "application/x-pem-file, application/json, */*"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = _guarded(lambda: call(client, method, url, headers=headers, body=body))
    return response.status, response.data


def fetch_certificate_with(client: Any, controller_namespace: str, controller_name: str) -> bytes:
    status, body = controller_request(client, controller_namespace, controller_name, "GET", "/v1/cert.pem")
    if status != 200:
        raise CertificateError(f"cannot fetch certificate: {who_answered(status, body)}")
    return body


def fetch_certificate(controller_namespace: str, controller_name: str, kubeconfig: str | None, context: str | None) -> bytes:
    return fetch_certificate_with(api_client(kubeconfig, context), controller_namespace, controller_name)

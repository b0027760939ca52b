"""Talking to a cluster: only the commands that need it import the kubernetes client."""

from __future__ import annotations

import json
from typing import Any

from sealer.errors import CertificateError, SealerError


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An authenticated kubernetes ApiClient (kubeconfig file, or in-cluster when there is none)."""
    from kubernetes import config  # heavy: ~240 ms
    from kubernetes.config.config_exception import ConfigException

    try:
        return config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, FileNotFoundError, TypeError) as e:
        if kubeconfig is None and context is None:
            try:
                config.load_incluster_config()
                from kubernetes import client

                return client.ApiClient()
            except ConfigException:
                pass
        raise SealerError(f"cannot load kubeconfig: {_one_line(e)}") from None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def api_error_reason(e: Any) -> str:
    """The API server's message for a failed call (its Status.message), on one line."""
    body = getattr(e, "body", None)
    if body:
        try:
            return json.loads(body).get("message") or _one_line(e)
        except (ValueError, AttributeError):
            pass
    status = getattr(e, "status", None)
    return f"{status} {getattr(e, 'reason', '')}".strip() if status else _one_line(e)


def controller_proxy_path(client: Any, controller_namespace: str, controller_name: str, path: str) -> str:
    """The API-server proxy path to the controller's HTTP API (its Service's first port)."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    try:
        service = k8s.CoreV1Api(client).read_namespaced_service(controller_name, controller_namespace)
    except ApiException as e:
        raise CertificateError(
            f"cannot get sealed secret service: {api_error_reason(e)} "
            "(use --controller-name and --controller-namespace to name the controller's Service)"
        ) from None
    except Exception as e:  # noqa: BLE001 - connection failures surface as many types
        raise CertificateError(f"cannot reach the cluster: {_one_line(e)}") from None
    ports = service.spec.ports or []
    port_name = ports[0].name or "" if ports else ""
    return f"/api/v1/namespaces/{controller_namespace}/services/http:{controller_name}:{port_name}/proxy{path}"


def controller_request(
    client: Any, controller_namespace: str, controller_name: str, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    """Call the controller's HTTP API through the API server's service proxy: (status, body)."""
    from kubernetes.client.exceptions import ApiException

    url = controller_proxy_path(client, controller_namespace, controller_name, path)
    try:
        response = client.call_api(
            url, method, header_params={"Accept": "application/x-pem-file, application/json, */*",
                                        "Content-Type": "application/json"},
            body=json.loads(body) if body else None, auth_settings=["BearerToken"],
            _preload_content=False, _return_http_data_only=True,
        )
        return response.status, response.data
    except ApiException as e:
        return e.status or 0, (e.body or b"") if isinstance(e.body, bytes) else (e.body or "").encode()
    except Exception as e:  # noqa: BLE001
        raise SealerError(f"cannot reach the controller: {_one_line(e)}") from None


def fetch_certificate(controller_namespace: str, controller_name: str, kubeconfig: str | None, context: str | None) -> bytes:
    client = api_client(kubeconfig, context)
    status, body = controller_request(client, controller_namespace, controller_name, "GET", "/v1/cert.pem")
    if status != 200:
        raise CertificateError(f"cannot fetch certificate: the controller answered {status}")
    return body

"""A thin JSON client for the Kubernetes API: paths in, dicts out, typed errors.

It rides on the official client's ApiClient for configuration, authentication and TLS, but skips
its generated model classes: the controller handles every SealedSecret and Secret on the hot path,
and plain dicts from ``json.loads`` cost a fraction of the models' deserialisation. This module
itself imports nothing heavy: the ApiClient is made by sealer.kube.config (``Kube.from_kubeconfig``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from sealer.kube.errors import ApiError, api_error, from_response

SEALED_SECRETS = "/apis/bitnami.com/v1alpha1"
# Metadata only: the controller watches Secrets to notice deletions, and has no business holding
# every Secret of the cluster (values included) in memory.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
METADATA_ONLY_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


def secret_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/secrets" + (f"/{quote(name)}" if name else "")


def sealed_secret_path(namespace: str | None = None, name: str = "") -> str:
    if namespace is None:
        return f"{SEALED_SECRETS}/sealedsecrets"
    return f"{SEALED_SECRETS}/namespaces/{quote(namespace)}/sealedsecrets" + (f"/{quote(name)}" if name else "")


def configmap_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/configmaps" + (f"/{quote(name)}" if name else "")


def service_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/services" + (f"/{quote(name)}" if name else "")


class Kube:
    def __init__(
        self,
        api_client: Any,
        *,
        timeout: float = 30.0,
        impersonate_groups: tuple[str, ...] = (),
        throttle: Callable[[], None] | None = None,
    ):
        """``throttle`` is called before every request and may block: a client-side rate limit
        (the controller's ``--kubeclient-qps``)."""
        self.api_client = api_client
        self.timeout = timeout
        self.impersonate_groups = impersonate_groups
        self.throttle = throttle

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | None = None, context: str | None = None, *, program: str = "sealer"
    ) -> Kube:
        """A client for the kubeconfig's (or the in-cluster) API server; ``program`` names the
        caller in the User-Agent (sealer, sealer-controller)."""
        # The one way in to the kubernetes package, loaded only when a client is made.
        from sealer.kube.config import connect

        return connect(kubeconfig, context, program=program)

    def raw(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        """One authenticated call, whatever its status: the raw, unread urllib3 response."""
        method, url, sent_headers, body, _ = self.api_client.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=dict(headers or {}),
            body=body,
            auth_settings=["BearerToken"],
        )
        if self.impersonate_groups:  # one header per group: the API server does not split a joined one
            import urllib3

            sent_headers = urllib3.HTTPHeaderDict(sent_headers)
            for group in self.impersonate_groups:
                sent_headers.add("Impersonate-Group", group)
        return self.api_client.call_api(
            method,
            url,
            header_params=sent_headers,
            body=body,
            _request_timeout=timeout if timeout is not None else self.timeout,
        ).response

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        accept: str = "application/json",
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        """The raw urllib3 response of one call (not yet read: watches stream it). Non-2xx raises ApiError."""
        if self.throttle is not None:
            self.throttle()
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        response = self.raw(method, path, query=query, headers=headers, body=body, timeout=timeout)
        if not 200 <= response.status < 300:
            raise from_response(response.status, response.reason, response.data)
        return response

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        data = self._call(method, path, **kw).data
        return json.loads(data) if data else {}

    def get(self, path: str, **kw: Any) -> dict[str, Any] | None:
        try:
            return self.request("GET", path, **kw)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def list(
        self, path: str, *, label_selector: str | None = None, accept: str = "application/json"
    ) -> tuple[list[dict[str, Any]], str]:
        """All items (following ``continue`` pages) and the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 500}
        if label_selector:
            query["labelSelector"] = label_selector
        while True:
            page = self.request("GET", path, query=query, accept=accept)
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items, (page.get("metadata") or {}).get("resourceVersion", "")
            query["continue"] = cont

    def watch(
        self,
        path: str,
        resource_version: str,
        *,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
        accept: str = "application/json",
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events (type, object) from ``resource_version`` on; ends when the server closes the watch.
        An expired resourceVersion raises Gone (410), whether as HTTP status or as an ERROR event."""
        query: dict[str, Any] = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        if label_selector:
            query["labelSelector"] = label_selector
        response = self._call("GET", path, query=query, accept=accept, timeout=(self.timeout, timeout_seconds + 30))
        # urllib3 has not read the body yet: the events stream in as the server sends them.
        try:
            buffer = b""
            for chunk in response.stream(amt=None, decode_content=True):  # each chunk as it arrives
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(line)
            if buffer.strip():
                yield self._event(buffer)
        finally:
            response.release_conn()

    @staticmethod
    def _event(line: bytes) -> tuple[str, dict[str, Any]]:
        event = json.loads(line)
        kind, obj = event.get("type", ""), event.get("object") or {}
        if kind == "ERROR":
            raise api_error(int(obj.get("code") or 500), str(obj.get("reason", "")), str(obj.get("message", "")))
        return kind, obj

    def create(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self.request("POST", path, body=body, **kw)

    def replace(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self.request("PUT", path, body=body, **kw)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body=body, content_type="application/merge-patch+json")

"""A thin JSON client for the Kubernetes API: paths in, dicts out, typed errors.

It rides on the official client's ApiClient for configuration, authentication and TLS, but skips
its generated model classes: the controller handles every SealedSecret and Secret on the hot path,
and plain dicts from ``json.loads`` cost a fraction of the models' deserialisation. This module
itself imports nothing heavy: the ApiClient is made by sealer.kube.config (``Kube.from_kubeconfig``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from sealer.kube.errors import ApiError, api_error, from_response

SEALED_SECRETS = "/apis/bitnami.com/v1alpha1"
# Metadata only: the controller watches Secrets to notice deletions, and has no business holding
# every Secret of the cluster (values included) in memory.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
# One object's metadata: a watch's events, or the answer to a write whose body the caller does not
# need (the API server then encodes, and we decode, a few hundred bytes instead of the object).
METADATA_ONLY_OBJECT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
METADATA_ONLY_WATCH = METADATA_ONLY_OBJECT


# How long a credential read through the configuration's hook is used before the hook runs again.
AUTHORIZATION_REFRESH_SECONDS = 1.0


def _query_string(query: dict[str, Any]) -> str:
    """As the generated client encodes query parameters (booleans lower-case, values quoted)."""
    return "&".join(f"{k}={quote(str(v).lower() if isinstance(v, bool) else str(v))}" for k, v in query.items())


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
        self._authorization_value: str | None = None
        self._authorization_until = float("-inf")

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
        """One authenticated call, whatever its status: the raw, unread urllib3 response.

        The request goes straight to the ApiClient's urllib3 pool (keep-alive connections, its TLS,
        proxy and retry settings), as the generated client would send it, without the generated
        client's per-call work: on the controller's hot path that work cost more CPU than the
        request itself (above all the credential hook, which re-applies the kubeconfig and scans
        the environment for proxies on every call). The hook still runs, once a second."""
        import urllib3  # loaded with the ApiClient already

        api = self.api_client
        sent: Any = {**(headers or {}), **api.default_headers}  # the defaults win, as in param_serialize
        if api.cookie:
            sent["Cookie"] = api.cookie
        token = self._authorization()
        if token:
            sent["authorization"] = token
        if self.impersonate_groups:  # one header per group: the API server does not split a joined one
            sent = urllib3.HTTPHeaderDict(sent)
            for group in self.impersonate_groups:
                sent.add("Impersonate-Group", group)
        url = api.configuration.host + path + ("?" + _query_string(query) if query else "")
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body, separators=(",", ":"))
        limit = timeout if timeout is not None else self.timeout
        return api.rest_client.pool_manager.urlopen(
            method,
            url,
            body=body,
            headers=sent,
            timeout=urllib3.Timeout(connect=limit[0], read=limit[1])
            if isinstance(limit, tuple)
            else urllib3.Timeout(total=limit)
            if limit
            else None,
            preload_content=False,
        )

    def _authorization(self) -> str | None:
        """The Authorization header's value (None: none, e.g. client certificates), refreshed through
        the configuration's credential hook (a rotated token file, an exec plugin) once a second."""
        now = time.monotonic()
        if now >= self._authorization_until:
            setting = self.api_client.configuration.auth_settings().get("BearerToken")
            # A race between two threads refreshes twice: harmless.
            self._authorization_value = setting["value"] if setting else None
            self._authorization_until = now + AUTHORIZATION_REFRESH_SECONDS
        return self._authorization_value

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

    def merge_patch(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self.request("PATCH", path, body=body, content_type="application/merge-patch+json", **kw)

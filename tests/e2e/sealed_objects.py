"""Reading and writing SealedSecrets and the Secrets they make, for the end-to-end tests."""

from __future__ import annotations

import base64

import kubernetes

GROUP, VERSION, PLURAL = "bitnami.com", "v1alpha1", "sealedsecrets"


def create(custom, sealed: dict) -> dict:
    return custom.create_namespaced_custom_object(GROUP, VERSION, sealed["metadata"].get("namespace"), PLURAL, sealed)


def get_sealed(custom, ns: str, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)


def secret_data(core, ns: str, name: str, mark: str = "") -> dict[str, str] | None:
    """The Secret's data as text, each value's test marker prefix removed; None if there is no Secret."""
    try:
        s = core.read_namespaced_secret(name, ns)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode().removeprefix(mark) for k, v in (s.data or {}).items()}

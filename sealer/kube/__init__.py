"""The one client of the Kubernetes API server: paths in, dicts out, typed errors.

Used by the CLI (certificates, --validate, --re-encrypt, key Secrets) and by the controller.
The names below are loaded on first use, so that reading a kubeconfig (sealer.kube.connection,
on the path of an offline seal) costs nothing more; the kubernetes package itself is loaded only
when a client is made from a kubeconfig (``Kube.from_kubeconfig``, sealer.kube.config)::

    from sealer.kube import Kube, NotFound, secret_path
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers and import-linter
    from sealer.kube.client import (
        METADATA_ONLY,
        METADATA_ONLY_OBJECT,
        METADATA_ONLY_WATCH,
        SEALED_SECRETS,
        Kube,
        sealed_secret_path,
        secret_path,
        service_path,
    )
    from sealer.kube.errors import ApiError, Conflict, Forbidden, Gone, Invalid, NotFound, status_summary

_API = {
    **dict.fromkeys(
        (
            "METADATA_ONLY",
            "METADATA_ONLY_OBJECT",
            "METADATA_ONLY_WATCH",
            "SEALED_SECRETS",
            "Kube",
            "sealed_secret_path",
            "secret_path",
            "service_path",
        ),
        "sealer.kube.client",
    ),
    **dict.fromkeys(
        ("ApiError", "Conflict", "Forbidden", "Gone", "Invalid", "NotFound", "status_summary"), "sealer.kube.errors"
    ),
}

__all__ = [
    "METADATA_ONLY",
    "METADATA_ONLY_OBJECT",
    "METADATA_ONLY_WATCH",
    "SEALED_SECRETS",
    "ApiError",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "Kube",
    "NotFound",
    "sealed_secret_path",
    "secret_path",
    "service_path",
    "status_summary",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'sealer.kube' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

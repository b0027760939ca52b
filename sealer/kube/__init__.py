"""The one client of the Kubernetes API server: paths in, dicts out, typed errors.

Used by the CLI (certificates, --validate, --re-encrypt, key Secrets) and by the controller.
Importing it is cheap: the kubernetes package (configuration, authentication, TLS) is loaded
only when a client is made from a kubeconfig (``Kube.from_kubeconfig``, sealer.kube.config).
"""

from sealer.kube.client import (
    METADATA_ONLY,
    METADATA_ONLY_WATCH,
    SEALED_SECRETS,
    Kube,
    sealed_secret_path,
    secret_path,
    service_path,
)
from sealer.kube.errors import ApiError, Conflict, Forbidden, Gone, Invalid, NotFound, status_summary

__all__ = [
    "METADATA_ONLY",
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

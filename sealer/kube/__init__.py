"""The one client of the Kubernetes API server: paths in, dicts out, typed errors.

Used by the CLI (certificates, --validate, --re-encrypt, key Secrets) and by the controller.
Importing it is cheap: the kubernetes package (configuration, authentication, TLS) is loaded
only when a client is made (``Kube.from_kubeconfig``).
"""

from sealer.kube.client import (
    METADATA_ONLY,
    METADATA_ONLY_WATCH,
    SEALED_SECRETS,
    ApiError,
    Kube,
    sealed_secret_path,
    secret_path,
)

__all__ = ["METADATA_ONLY", "METADATA_ONLY_WATCH", "SEALED_SECRETS", "ApiError", "Kube", "sealed_secret_path", "secret_path"]

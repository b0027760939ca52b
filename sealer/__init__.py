"""sealer: keep Kubernetes Secrets in Git as SealedSecrets (wire-compatible with Bitnami Sealed Secrets).

The public API is small and imported lazily, so ``import sealer`` costs nothing until used::

    from sealer import Sealer, load_certificate
    sealed = Sealer(load_certificate("cert.pem")).seal_secret(secret_dict)
"""

from __future__ import annotations

from typing import Any

from sealer._version import __version__

_API = {
    "Sealer": "sealer.core.sealing",
    "NamespaceChoice": "sealer.core.sealing",
    "Certificate": "sealer.core.certs",
    "load_certificate": "sealer.core.certs",
    "parse_certificate": "sealer.core.certs",
    "KeySet": "sealer.core.keyset",
    "load_private_keys": "sealer.core.privkeys",
    "unseal": "sealer.core.unsealing",
    "open_items": "sealer.core.unsealing",
    "parse_stream": "sealer.core.manifests",
    "dump": "sealer.core.manifests",
    "Scope": "sealer.core.scope",
    "SealerError": "sealer.core.errors",
    "InputError": "sealer.core.errors",
    "CertificateError": "sealer.core.errors",
    "UnsealError": "sealer.core.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'sealer' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

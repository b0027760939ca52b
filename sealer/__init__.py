"""sealer: keep Kubernetes Secrets in Git as SealedSecrets (wire-compatible with Bitnami Sealed Secrets).

The public API is small and imported lazily, so ``import sealer`` costs nothing until used::

    from sealer import Sealer, load_certificate
    sealed = Sealer(load_certificate("cert.pem")).seal_secret(secret_dict)
"""

from __future__ import annotations

from typing import Any

from sealer._version import __version__

_API = {
    "Sealer": "sealer.sealing",
    "NamespaceChoice": "sealer.sealing",
    "Certificate": "sealer.certs",
    "load_certificate": "sealer.certs",
    "parse_certificate": "sealer.certs",
    "KeySet": "sealer.keyset",
    "load_private_keys": "sealer.privkeys",
    "unseal": "sealer.unsealing",
    "open_items": "sealer.unsealing",
    "parse_stream": "sealer.manifests",
    "dump": "sealer.manifests",
    "Scope": "sealer.scope",
    "SealerError": "sealer.errors",
    "InputError": "sealer.errors",
    "CertificateError": "sealer.errors",
    "UnsealError": "sealer.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'sealer' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

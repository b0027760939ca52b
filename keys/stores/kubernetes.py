"""Key Secrets in a namespace of a cluster: the controller's key store (Bitnami-compatible).

Listing asks for the Secrets carrying the key label (any value, so ``sealer keys list`` and
backups see retired keys too; StoredKey.usable tells the controller which to use), plus the legacy
Secret named exactly ``<prefix>``, read whatever its labels, as Bitnami's controller does.
New keys are created with ``generateName: <prefix>``, so the API server picks the 5-character
suffix and guarantees the name is free; restores create exact names, and a taken name is an error
(409), never a replacement.

Calls go through sealer.kube (plain JSON, typed errors); the kubernetes package is loaded only
when a store is made from a kubeconfig.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keys.errors import KeyFormatError, KeyStoreError
from keys.keypair import KeyPair
from keys.secret_format import (
    ACTIVE,
    DEFAULT_NAMESPACE,
    DEFAULT_PREFIX,
    KEY_LABEL,
    StoredKey,
    from_secret,
    to_secret,
    validate_name,
    validate_prefix,
)
from sealer.kube.client import Kube, secret_path
from sealer.kube.errors import ApiError, Conflict


class KubernetesKeyStore:
    def __init__(self, kube: Kube, namespace: str = DEFAULT_NAMESPACE, prefix: str = DEFAULT_PREFIX):
        self.kube = kube
        self.namespace = namespace
        self.prefix = validate_prefix(prefix)
        self.description = f"namespace {namespace}"
        #: With ``list(skip_invalid=True)``: one line per key Secret that could not be read.
        self.skipped: list[str] = []

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | None = None, context: str | None = None, **kwargs: Any
    ) -> KubernetesKeyStore:
        return cls(Kube.from_kubeconfig(kubeconfig, context), **kwargs)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()``'s answer. API errors pass through (callers judge 404 and 409); every other
        failure becomes one KeyStoreError line."""
        try:
            return fn()
        except ApiError:
            raise
        except ValueError:
            raise KeyStoreError(f"{self.description}: cannot {what}: the API server's answer is not JSON") from None
        except Exception as e:  # noqa: BLE001 - urllib3 surfaces connection failures as many types
            reason = " ".join(str(e).split())[:200] or type(e).__name__
            raise KeyStoreError(f"{self.description}: cannot {what}: cannot reach the cluster ({reason})") from None

    def _api_error(self, what: str, e: ApiError) -> KeyStoreError:
        # A failed create carried a private key: the server's message could quote it.
        reason = e.server_message if e.server_message and not what.startswith("create") else e.summary
        return KeyStoreError(f"{self.description}: cannot {what}: {reason}")

    # --- reading -----------------------------------------------------------------------------

    def secrets(self) -> list[dict[str, Any]]:
        """The raw key Secrets (labelled, then the legacy one if it exists)."""
        path = secret_path(self.namespace)
        try:
            listed = self._call(
                "list key Secrets", lambda: self.kube.request("GET", path, query={"labelSelector": KEY_LABEL})
            )
        except ApiError as e:
            raise self._api_error("list key Secrets", e) from None
        items = [i for i in listed.get("items") or [] if isinstance(i, dict)]
        if not any((i.get("metadata") or {}).get("name") == self.prefix for i in items):
            try:
                legacy = self._call(
                    "read the legacy key Secret", lambda: self.kube.get(secret_path(self.namespace, self.prefix))
                )
            except ApiError as e:
                raise self._api_error(f"read the legacy key Secret {self.prefix}", e) from None
            if legacy is not None:
                items.append(legacy)
        return items

    def list(self, *, skip_invalid: bool = False) -> list[StoredKey]:
        """Every key. A key Secret that cannot be read is an error, or with ``skip_invalid`` (for
        a controller, which must keep serving with the keys it can read) noted in ``skipped``."""
        keys = []
        self.skipped = []
        for item in self.secrets():
            name = (item.get("metadata") or {}).get("name", "?")
            try:
                keys.append(from_secret(item, f"{self.description}, Secret {name}"))
            except KeyFormatError as e:
                if not skip_invalid:
                    raise
                self.skipped.append(str(e))
        return keys

    # --- writing -----------------------------------------------------------------------------

    def add(self, pair: KeyPair, name: str | None = None, status: str | None = ACTIVE) -> str:
        if name is None:
            body = to_secret(StoredKey("", pair, status), self.namespace, generate_name_prefix=self.prefix)
        else:
            body = to_secret(StoredKey(validate_name(name), pair, status), self.namespace)
        try:
            created = self._call("create a key Secret", lambda: self.kube.create(secret_path(self.namespace), body))
        except Conflict:
            raise KeyStoreError(
                f"{self.description}: a Secret named {name} exists already; refusing to overwrite it"
            ) from None
        except ApiError as e:
            raise self._api_error("create a key Secret", e) from None
        created_name: str = created["metadata"]["name"]  # the server's name for it (generateName)
        return created_name

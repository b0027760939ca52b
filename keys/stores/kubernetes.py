"""Key Secrets in a namespace of a cluster: the controller's key store (Bitnami-compatible).

Listing asks for the Secrets carrying the key label (any value, so ``sealer keys list`` and
backups see retired keys too; StoredKey.usable tells the controller which to use), plus the legacy
Secret named exactly ``<prefix>``, read whatever its labels, as Bitnami's controller does.
New keys are created with ``generateName: <prefix>``, so the API server picks the 5-character
suffix and guarantees the name is free; restores create exact names, and a taken name is an error
(409), never a replacement.

Calls go through the generated client with ``_preload_content=False`` and plain JSON: turning
Secrets into client model objects and back would cost more than the call and buys nothing here.
The kubernetes package is imported only when a store is used.
"""

from __future__ import annotations

import json
from typing import Any

from keys.errors import KeyFormatError, KeyStoreError
from keys.keypair import KeyPair
from keys.secret_format import ACTIVE, DEFAULT_NAMESPACE, DEFAULT_PREFIX, KEY_LABEL, StoredKey, from_secret, to_secret, validate_name, validate_prefix


class KubernetesKeyStore:
    def __init__(self, api_client: Any, namespace: str = DEFAULT_NAMESPACE, prefix: str = DEFAULT_PREFIX):
        self.api_client = api_client
        self.namespace = namespace
        self.prefix = validate_prefix(prefix)
        self.description = f"namespace {namespace}"
        #: With ``list(skip_invalid=True)``: one line per key Secret that could not be read.
        self.skipped: list[str] = []

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None, context: str | None = None, **kwargs: Any) -> KubernetesKeyStore:
        from sealer.kube.controller_api import api_client

        return cls(api_client(kubeconfig, context), **kwargs)

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn``'s JSON answer. API errors pass through (callers judge 404 and 409); every other
        failure becomes one KeyStoreError line."""
        from kubernetes.client.exceptions import ApiException

        try:
            response = fn(*args, _preload_content=False, **kwargs)
            return json.loads(response.data)
        except ApiException:
            raise
        except ValueError:
            raise KeyStoreError(f"{self.description}: cannot {what}: the API server's answer is not JSON") from None
        except Exception as e:  # noqa: BLE001 - urllib3 surfaces connection failures as many types
            reason = " ".join(str(e).split())[:200] or type(e).__name__
            raise KeyStoreError(f"{self.description}: cannot {what}: cannot reach the cluster ({reason})") from None

    def _api_error(self, what: str, e: Any) -> KeyStoreError:
        from sealer.kube.controller_api import api_error_reason

        # A failed create carried a private key: the server's message could quote it.
        quote = not what.startswith("create")
        return KeyStoreError(f"{self.description}: cannot {what}: {api_error_reason(e, quote_message=quote)}")

    # --- reading -----------------------------------------------------------------------------

    def secrets(self) -> list[dict]:
        """The raw key Secrets (labelled, then the legacy one if it exists)."""
        from kubernetes.client.exceptions import ApiException

        core = self._core()
        try:
            listed = self._call("list key Secrets", core.list_namespaced_secret, self.namespace, label_selector=KEY_LABEL)
        except ApiException as e:
            raise self._api_error("list key Secrets", e) from None
        items = [i for i in listed.get("items") or [] if isinstance(i, dict)]
        if not any((i.get("metadata") or {}).get("name") == self.prefix for i in items):
            try:
                items.append(self._call("read the legacy key Secret", core.read_namespaced_secret, self.prefix, self.namespace))
            except ApiException as e:
                if e.status != 404:
                    raise self._api_error(f"read the legacy key Secret {self.prefix}", e) from None
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
        from kubernetes.client.exceptions import ApiException

        if name is None:
            body = to_secret(StoredKey("", pair, status), self.namespace, generate_name_prefix=self.prefix)
        else:
            body = to_secret(StoredKey(validate_name(name), pair, status), self.namespace)
        try:
            created = self._call("create a key Secret", self._core().create_namespaced_secret, self.namespace, body)
        except ApiException as e:
            if e.status == 409:
                raise KeyStoreError(f"{self.description}: a Secret named {name} exists already; refusing to overwrite it") from None
            raise self._api_error("create a key Secret", e) from None
        return created["metadata"]["name"]

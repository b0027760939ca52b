"""Where key pairs live. Three stores, one small interface (``KeyStore`` in keys.stores.base):

- ``KubernetesKeyStore``: key Secrets in the controller's namespace (the controller's store);
- ``DirectoryKeyStore``: one key Secret YAML per key in a 0700 directory, files 0600;
- ``KeyringKeyStore``: the system keyring (a developer's local key, recovery keys).

Each is imported on demand: the kubernetes client and keyring are slow to import.
"""

from keys.stores.base import KeyStore, find_conflicts

__all__ = ["KeyStore", "find_conflicts"]

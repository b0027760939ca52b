"""Where key pairs live. Three stores, one small interface (``KeyStore`` in keys.stores.base):

- ``KubernetesKeyStore``: key Secrets in the controller's namespace (the controller's store);
- ``DirectoryKeyStore``: one key Secret YAML per key in a 0700 directory, files 0600;
- ``KeyringKeyStore``: the system keyring (a developer's local key, recovery keys).

Import the one you use: the keyring store loads the keyring package (~50 ms); the Kubernetes store
loads the kubernetes package only when it is made from a kubeconfig (sealer.kube).
"""

from keys.stores.base import KeyStore, find_conflicts

__all__ = ["KeyStore", "find_conflicts"]

"""The bottom layer: the wire format and the sealing recipes, no I/O beyond reading local files.

crypto (the only place of the sealed-value format), scope, errors, files, manifests, certs,
privkeys, keyset, sealing, unsealing. Nothing here imports the CLI, the hooks, keys, the
controller or the Kubernetes client (see docs/architecture.md and the import-linter contracts).
"""

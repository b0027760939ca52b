"""The sealer controller: turns SealedSecrets into Secrets inside a cluster."""

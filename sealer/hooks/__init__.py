"""pre-commit hooks that know Kubernetes: no plaintext Secret (or key) reaches Git, and every
SealedSecret that does is well formed.

Two entry points, ``no_plaintext`` and ``validate_sealed``; the rest are their parts. Start-up time
matters (pre-commit starts a process per batch of files), so these modules import nothing heavy
at module level: cryptography's certificate code only when ``.sealer.yaml`` lists certificates.
"""

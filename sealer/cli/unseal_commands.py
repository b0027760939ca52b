"""The body of ``sealer unseal``: open SealedSecrets offline with the cluster's private keys
(disaster recovery). No argument parsing (sealer.cli.main); never a cluster."""

from __future__ import annotations

from typing import Any

from sealer.cli.io import emit, read_input
from sealer.core import manifests
from sealer.core.errors import InputError, SealerError, UnsealError
from sealer.core.keyset import KeySet
from sealer.core.privkeys import load_private_keys
from sealer.core.unsealing import unseal as unseal_one


def unseal(**opts: Any) -> None:
    if not opts["keys"]:
        raise SealerError("no key could decrypt secret: give the private keys with --recovery-private-key")
    keys = KeySet()
    for entry in opts["keys"]:
        for path in filter(None, (p.strip() for p in entry.split(","))):
            for key in load_private_keys(path):
                keys.add(key)
    data, source = read_input(opts["secret_file"], tty_hint="(tty detected: expecting json/yaml SealedSecret in stdin)")
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no SealedSecrets found in the input", source=source)
    secrets = []
    for d in docs:
        try:
            secrets.append(unseal_one(d.body, keys, d.index))
        except InputError as e:
            e.source = e.source or source
            raise
        except UnsealError as e:
            meta = d.body.get("metadata") or {}
            raise UnsealError(f"document {d.index} ({meta.get('namespace', '')}/{meta.get('name', '')}): {e}") from None
    emit(manifests.dump(secrets, manifests.output_format(opts["fmt"], None)), None)

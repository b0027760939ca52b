"""The body of `sealer unseal` (kubeseal's --recovery-unseal): open SealedSecrets offline with
private keys. It prints plaintext: to stdout, or a 0600 file."""

from __future__ import annotations

from sealer.cli.arguments import UnsealOptions
from sealer.cli.environment import Environment
from sealer.cli.io import TTY_HINT_SEALED, emit, read_input
from sealer.core import manifests
from sealer.core.errors import InputError, SealerError, UnsealError


def unseal(options: UnsealOptions, env: Environment) -> None:
    from sealer.core.keyset import KeySet
    from sealer.core.privkeys import load_key_pairs
    from sealer.core.unsealing import unseal as unseal_one

    if not options.keys:
        raise SealerError("no key could decrypt secret: give the private keys with --recovery-private-key")
    keys = KeySet()
    for path in options.keys:
        for key, mlkem_key in load_key_pairs(path):
            keys.add(key, mlkem_key)
    data, source = read_input(env, options.secret_file, tty_hint=TTY_HINT_SEALED)
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
    text = manifests.dump(secrets, manifests.output_format(options.fmt, options.output_file))
    emit(env, text, options.output_file, private=True)  # plaintext: 0600 from its creation, whatever was there

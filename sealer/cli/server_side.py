"""`sealer seal --validate` and `--re-encrypt`: the controller does the work, through the API
server's service proxy (sealer.kube.controller_api); plaintext never leaves the cluster."""

from __future__ import annotations

import json

from sealer.cli.arguments import SealOptions
from sealer.cli.environment import Environment
from sealer.cli.io import TTY_HINT_SEALED, emit, read_input
from sealer.core import manifests
from sealer.core.errors import InputError, SealerError
from sealer.core.sealing import check_sealed_secret
from sealer.kube import controller_api as cluster


def run(options: SealOptions, env: Environment) -> None:
    data, source = read_input(env, options.secret_file, tty_hint=TTY_HINT_SEALED)
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no SealedSecrets found in the input", source=source)
    sealed = [check_sealed_secret(d.body, d.index) for d in docs]
    kube = env.kube(options.target.connection)
    ns, name = options.target.namespace, options.target.name
    out = []
    for doc, item in zip(docs, sealed, strict=True):
        where = f"document {doc.index} ({item['metadata'].get('namespace', '')}/{item['metadata']['name']})"
        path = "/v1/verify" if options.validate else "/v1/rotate"
        status, body = cluster.request(kube, ns, name, "POST", path, item)
        if options.validate:
            if status == 409:
                raise SealerError(f"{where}: unable to decrypt sealed secret")
            if status != 200:
                raise SealerError(f"{where}: cannot validate sealed secret: {cluster.who_answered(status, body)}")
            continue
        if status != 200:
            raise SealerError(f"{where}: cannot re-encrypt secret: {cluster.who_answered(status, body)}")
        resealed = json.loads(body)
        resealed.setdefault("apiVersion", item.get("apiVersion", "bitnami.com/v1alpha1"))
        resealed.setdefault("kind", "SealedSecret")
        out.append(resealed)
    if out:
        target = options.sealed_secret_file or options.secret_file  # kubeseal: -f without -w is in place
        emit(env, manifests.dump(out, manifests.output_format(options.fmt, target)), target)

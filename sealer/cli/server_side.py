"""``sealer seal --validate`` and ``--re-encrypt``: the controller does the work, through the API
server's service proxy (sealer.kube.controller_api); plaintext never leaves the cluster."""

from __future__ import annotations

import json
from typing import Any

from sealer.cli.io import emit, read_input
from sealer.core import manifests
from sealer.core.errors import InputError, SealerError
from sealer.core.sealing import check_sealed_secret
from sealer.kube import controller_api
from sealer.kube.client import Kube


def run(opts: dict[str, Any]) -> None:
    data, source = read_input(opts["secret_file"], tty_hint="(tty detected: expecting json/yaml SealedSecret in stdin)")
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no SealedSecrets found in the input", source=source)
    sealed = [check_sealed_secret(d.body, d.index) for d in docs]
    kube = Kube.from_kubeconfig(opts["kubeconfig"], opts["context"])
    ns, name = opts["controller_namespace"], opts["controller_name"]
    out = []
    for doc, item in zip(docs, sealed, strict=True):
        where = f"document {doc.index} ({item['metadata'].get('namespace', '')}/{item['metadata']['name']})"
        path = "/v1/verify" if opts.get("validate") else "/v1/rotate"
        status, body = controller_api.request(kube, ns, name, "POST", path, item)
        if opts.get("validate"):
            if status == 409:
                raise SealerError(f"{where}: unable to decrypt sealed secret")
            if status != 200:
                raise SealerError(
                    f"{where}: cannot validate sealed secret: {controller_api.who_answered(status, body)}"
                )
            continue
        if status != 200:
            raise SealerError(f"{where}: cannot re-encrypt secret: {controller_api.who_answered(status, body)}")
        resealed = json.loads(body)
        resealed.setdefault("apiVersion", item.get("apiVersion", "bitnami.com/v1alpha1"))
        resealed.setdefault("kind", "SealedSecret")
        out.append(resealed)
    if out:
        target = opts["sealed_secret_file"] or opts["secret_file"]  # kubeseal: -f without -w is in place
        emit(manifests.dump(out, manifests.output_format(opts["fmt"], target)), target)

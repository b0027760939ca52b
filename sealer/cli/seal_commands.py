"""The body of ``sealer seal``: read input, call the library, write output. No argument parsing
(sealer.cli.main).

Offline unless asked: the cluster is reached only for the certificate without --cert
(sealer.kube.controller_api) and for --validate / --re-encrypt (sealer.cli.server_side), the two
modules this one loads only then. An import-linter contract and a start-up test keep it so.
"""

from __future__ import annotations

from typing import Any

from sealer.cli.io import emit, read_file, read_input, read_stdin
from sealer.core import manifests
from sealer.core.certs import Certificate, load_certificate, parse_certificate
from sealer.core.errors import InputError
from sealer.core.files import write_atomically
from sealer.core.scope import Scope
from sealer.core.sealing import NamespaceChoice, Sealer, check_sealed_secret, merge_into
from sealer.kube.kubeconfig import current_namespace


def certificate_for(opts: dict[str, Any]) -> Certificate:
    if opts.get("cert"):
        return load_certificate(opts["cert"])
    from sealer.kube import controller_api  # only without --cert: see [tool.importlinter]

    pem = controller_api.fetch_certificate(opts["controller_namespace"], opts["controller_name"], opts["kubeconfig"], opts["context"])
    return parse_certificate(pem, f"certificate of {opts['controller_namespace']}/{opts['controller_name']}")


def default_namespace(opts: dict[str, Any]) -> str:
    return current_namespace(opts.get("kubeconfig"), opts.get("context")) or "default"


def seal(**opts: Any) -> None:
    if opts["from_file"] and not opts["raw"]:
        raise InputError("--from-file requires --raw")
    scope = Scope.parse(opts["scope"]) if opts["scope"] else None

    if opts.get("validate") or opts.get("re_encrypt") or opts.get("rotate_alias"):
        from sealer.cli import server_side  # only --validate / --re-encrypt: see [tool.importlinter]

        server_side.run(opts)
        return
    if opts["fetch_cert"]:
        cert = certificate_for(opts)
        emit(cert.pem.decode("ascii", "replace"), opts["sealed_secret_file"])
        return
    if opts["raw"]:
        _seal_raw(opts, scope)
        return

    data, source = read_input(opts["secret_file"], tty_hint="(tty detected: expecting json/yaml k8s resource in stdin)")
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no secrets found. Ensure the input is valid and UTF-8 encoded", source=source)
    needs_default_ns = not opts["namespace"] and any(
        not (isinstance(d.body, dict) and isinstance(d.body.get("metadata"), dict) and d.body["metadata"].get("namespace"))
        for d in docs
    )
    choice = NamespaceChoice(opts["namespace"], default_namespace(opts) if needs_default_ns else "default")
    sealer = Sealer(certificate_for(opts), record_key_hint=opts["key_hint"])

    if opts["merge_into"]:
        _merge_into(opts, docs, sealer, scope, choice)
        return
    try:
        sealed = [
            sealer.seal_secret(d.body, d.index, scope=scope, namespace=choice, allow_empty_data=opts["allow_empty_data"])
            for d in docs
        ]
    except InputError as e:
        e.source = e.source or source
        raise
    fmt = manifests.output_format(opts["fmt"], opts["sealed_secret_file"])
    emit(manifests.dump(sealed, fmt), opts["sealed_secret_file"])


def _seal_raw(opts: dict[str, Any], scope: Scope | None) -> None:
    scope = scope or Scope.STRICT
    if opts["from_file"]:
        value = read_file(opts["from_file"].split("=", 1)[-1])  # kubectl's [key=]path; the key means nothing here
    else:
        value = read_stdin("(tty detected: expecting a secret to encrypt in stdin)")
    namespace = ""
    if scope is not Scope.CLUSTER_WIDE:
        namespace = opts["namespace"] or default_namespace(opts)
    if scope is Scope.STRICT and not opts["name"]:
        raise InputError("must provide the --name flag with --raw and --scope strict")
    sealer = Sealer(certificate_for(opts))
    emit(sealer.seal_value(value, scope, namespace, opts["name"] or ""), opts["sealed_secret_file"])


def _merge_into(opts: dict[str, Any], docs: list, sealer: Any, scope: Scope | None, choice: Any) -> None:
    path = opts["merge_into"]
    if len(docs) != 1:
        raise InputError(f"--merge-into takes exactly one input Secret, found {len(docs)}")
    original_bytes = read_file(path)
    original_text = manifests.decode_text(original_bytes, path)
    originals = manifests.parse_stream(original_text, path)
    if len(originals) != 1:
        raise InputError(f"expected exactly one SealedSecret, found {len(originals)} documents", source=path)
    try:
        original = check_sealed_secret(originals[0].body)
    except InputError as e:
        e.source = path
        raise
    meta = original["metadata"]
    # The items must open where the existing SealedSecret lives, under its scope, whatever the input says.
    original_scope = Scope.from_annotations(meta.get("annotations"))
    if scope is not None and scope is not original_scope:
        raise InputError(f"--scope {scope.value} differs from the scope of {path} ({original_scope.value})")
    addition = sealer.seal_secret(
        docs[0].body, docs[0].index, scope=original_scope, namespace=choice, allow_empty_data=opts["allow_empty_data"],
        name_override=meta["name"], namespace_override=meta.get("namespace") or "",
    )
    merged = merge_into(original, addition)
    if manifests.looks_like_json(original_text):
        text = manifests.dump([merged], "json")
    else:
        text = manifests.dump_yaml(merged)
        if original_text.lstrip().startswith("---"):
            text = "---\n" + text
    write_atomically(path, text)

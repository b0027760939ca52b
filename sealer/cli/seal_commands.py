"""Bodies of `sealer seal` and `sealer unseal`: read input, call the library, write output.
No argument parsing (sealer.cli.main); every outside effect goes through the Environment."""

from __future__ import annotations

from typing import Any

from sealer.cli.environment import Environment
from sealer.cli.options import SealOptions, UnsealOptions
from sealer.core import manifests
from sealer.core.certs import Certificate, load_certificate, parse_certificate
from sealer.core.errors import InputError, SealerError, UnsealError
from sealer.core.files import read_limited, write_atomically
from sealer.core.scope import Scope

TTY_HINT = "(tty detected: expecting json/yaml k8s resource in stdin)"
TTY_HINT_SEALED = "(tty detected: expecting json/yaml SealedSecret in stdin)"
TTY_HINT_RAW = "(tty detected: expecting a secret to encrypt in stdin)"


def read_file(path: str) -> bytes:
    """A file's bytes (within the input size limit), or a one-line error naming it."""
    return read_limited(path, manifests.MAX_INPUT_BYTES, error=InputError, what="manifest")


def read_stdin(env: Environment, tty_hint: str) -> bytes:
    if env.stdin_isatty:
        env.note(tty_hint)
    return manifests.read_bytes(env.stdin, "stdin")


def read_input(env: Environment, path: str | None, *, tty_hint: str) -> tuple[bytes, str]:
    if path:
        return read_file(path), path
    return read_stdin(env, tty_hint), "stdin"


def emit(env: Environment, text: str, path: str | None, *, private: bool = True) -> None:
    """To ``path`` (atomically, new files 0600 as kubeseal makes them) or stdout."""
    if path:
        write_atomically(path, text, private=private)
    else:
        env.write(text)


def certificate_for(options: SealOptions, env: Environment) -> Certificate:
    if options.cert:
        if options.verbosity:
            env.note(f"using the certificate {options.cert} (--cert)")
        return load_certificate(options.cert)
    from sealer.kube import controller_api

    target = options.target
    client = env.api_client(target.connection)
    pem = controller_api.fetch_certificate_with(client, target.namespace, target.name)
    if options.verbosity:
        env.note(f"fetched the certificate from the controller {target.namespace}/{target.name} "
                 "through the API server's service proxy")
    return parse_certificate(pem, f"certificate of {target.namespace}/{target.name}")


def default_namespace(options: SealOptions, env: Environment) -> str:
    from sealer.kube.connection import current_namespace

    return current_namespace(options.target.connection, env.environ) or "default"


def _warnings(options: SealOptions, env: Environment) -> None:
    if options.ignored_arguments:
        # Not echoed: a mistyped command line may carry a value.
        env.note(f"warning: ignoring {options.ignored_arguments} positional argument(s), as kubeseal does")
    if options.ignored_recovery_keys and env.stderr_isatty:
        env.note("warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal")


def seal(options: SealOptions, env: Environment) -> None:
    from sealer.core.sealing import NamespaceChoice, Sealer

    _warnings(options, env)
    if options.from_file and not options.raw:
        raise InputError("--from-file requires --raw")
    scope = Scope.parse(options.scope) if options.scope else None

    if options.validate or options.re_encrypt:
        _server_side(options, env)
        return
    if options.fetch_cert:
        cert = certificate_for(options, env)
        emit(env, cert.pem.decode("ascii", "replace"), options.sealed_secret_file)
        return
    if options.raw:
        _seal_raw(options, env, scope)
        return

    data, source = read_input(env, options.secret_file, tty_hint=TTY_HINT)
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no secrets found. Ensure the input is valid and UTF-8 encoded", source=source)
    needs_default_ns = not options.namespace and any(
        not (isinstance(d.body, dict) and isinstance(d.body.get("metadata"), dict) and d.body["metadata"].get("namespace"))
        for d in docs
    )
    choice = NamespaceChoice(options.namespace, default_namespace(options, env) if needs_default_ns else "default")
    sealer = Sealer(certificate_for(options, env), record_key_hint=options.key_hint)

    if options.merge_into:
        _merge_into(options, docs, sealer, scope, choice)
        return
    try:
        sealed = [
            sealer.seal_secret(d.body, d.index, scope=scope, namespace=choice, allow_empty_data=options.allow_empty_data,
                               name_override=options.name)
            for d in docs
        ]
    except InputError as e:
        e.source = e.source or source
        raise
    fmt = manifests.output_format(options.fmt, options.sealed_secret_file)
    emit(env, manifests.dump(sealed, fmt), options.sealed_secret_file)


def _server_side(options: SealOptions, env: Environment) -> None:
    """--validate and --re-encrypt: the controller does the work through the API-server proxy."""
    import json

    from sealer.core.sealing import check_sealed_secret
    from sealer.kube import controller_api as cluster

    data, source = read_input(env, options.secret_file, tty_hint=TTY_HINT_SEALED)
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no SealedSecrets found in the input", source=source)
    sealed = [check_sealed_secret(d.body, d.index) for d in docs]
    client = env.api_client(options.target.connection)
    ns, name = options.target.namespace, options.target.name
    out = []
    for doc, item in zip(docs, sealed, strict=True):
        where = f"document {doc.index} ({item['metadata'].get('namespace', '')}/{item['metadata']['name']})"
        path = "/v1/verify" if options.validate else "/v1/rotate"
        status, body = cluster.controller_request(client, ns, name, "POST", path, item)
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


def _seal_raw(options: SealOptions, env: Environment, scope: Scope | None) -> None:
    from sealer.core.sealing import Sealer

    scope = scope or Scope.STRICT
    if len(options.from_file) > 1:
        raise InputError("must provide only one --from-file when encrypting a single item with --raw")
    if options.from_file:
        value = read_file(options.from_file[0].split("=", 1)[-1])  # kubectl's [key=]path; the key means nothing here
    else:
        value = read_stdin(env, TTY_HINT_RAW)
    namespace = ""
    if scope is not Scope.CLUSTER_WIDE:
        namespace = options.namespace or default_namespace(options, env)
    if scope is Scope.STRICT and not options.name:
        raise InputError("must provide the --name flag with --raw and --scope strict")
    sealer = Sealer(certificate_for(options, env))
    emit(env, sealer.seal_value(value, scope, namespace, options.name or ""), options.sealed_secret_file)


def _merge_into(options: SealOptions, docs: list, sealer: Any, scope: Scope | None, choice: Any) -> None:
    from sealer.core.sealing import check_sealed_secret, merge_into

    path = options.merge_into
    assert path is not None
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
        docs[0].body, docs[0].index, scope=original_scope, namespace=choice, allow_empty_data=options.allow_empty_data,
        name_override=meta["name"], namespace_override=meta.get("namespace") or "",
    )
    merged = merge_into(original, addition)
    if manifests.looks_like_json(original_text):
        text = manifests.dump([merged], "json")
    else:
        text = manifests.dump_yaml(merged)
        if original_text.lstrip().startswith("---"):
            text = "---\n" + text
    write_atomically(path, text)  # in place: the file keeps its mode, as with kubeseal


def unseal(options: UnsealOptions, env: Environment) -> None:
    from sealer.core.keyset import KeySet
    from sealer.core.privkeys import load_private_keys
    from sealer.core.unsealing import unseal as unseal_one

    if not options.keys:
        raise SealerError("no key could decrypt secret: give the private keys with --recovery-private-key")
    keys = KeySet()
    for path in options.keys:
        for key in load_private_keys(path):
            keys.add(key)
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

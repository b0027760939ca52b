"""The body of `sealer seal`: read input, call the library, write output. No argument parsing
(sealer.cli.main); every outside effect goes through the Environment. --validate and --re-encrypt
are in sealer.cli.server_side, loaded only for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealer.cli.arguments import SealOptions
from sealer.cli.environment import Environment
from sealer.cli.io import TTY_HINT, TTY_HINT_RAW, emit, read_file, read_input, read_stdin
from sealer.core import manifests
from sealer.core.certs import Certificate, load_certificate, parse_certificate
from sealer.core.errors import InputError
from sealer.core.files import write_atomically
from sealer.core.scope import Scope

if TYPE_CHECKING:  # names for mypy; seal() imports the sealing code when it runs
    from sealer.core.fleet import Fleet
    from sealer.core.sealing import NamespaceChoice, Sealer


def certificate_for(options: SealOptions, env: Environment) -> Certificate:
    if options.cert:
        if options.verbosity:
            env.note(f"using the certificate {options.cert} (--cert)")
        return load_certificate(options.cert)
    from sealer.kube import controller_api

    target = options.target
    pem, source = controller_api.fetch_certificate_from(env.kube(target.connection), target.namespace, target.name)
    if options.verbosity:
        env.note(f"fetched the certificate from {source}")
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


def _fleet(options: SealOptions) -> Fleet | None:
    """The fleet to seal for: with --all-clusters, or --cluster in a repository whose .sealer.yaml
    names clusters (elsewhere --cluster is kubectl's kubeconfig cluster, as with kubeseal)."""
    from sealer.core.fleet import find_config, load_fleet

    if not options.all_clusters and not options.cluster_names:
        return None
    config = options.config or find_config()
    if config is None and not options.all_clusters:
        return None
    fleet = load_fleet(config)
    if not fleet.clusters and not options.all_clusters and not options.config:
        return None
    return fleet


def seal(options: SealOptions, env: Environment) -> None:
    from sealer.core.sealing import NamespaceChoice, Sealer

    _warnings(options, env)
    if options.from_file and not options.raw:
        raise InputError("--from-file requires --raw")
    scope = Scope.parse(options.scope) if options.scope else None

    fleet = _fleet(options)
    if fleet is not None:
        from sealer.cli import fleet_seal

        fleet_seal.seal_for_fleet(options, env, fleet, scope)
        return
    if options.validate or options.re_encrypt:
        from sealer.cli import server_side

        server_side.run(options, env)
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
        not (
            isinstance(d.body, dict)
            and isinstance(d.body.get("metadata"), dict)
            and d.body["metadata"].get("namespace")
        )
        for d in docs
    )
    choice = NamespaceChoice(options.namespace, default_namespace(options, env) if needs_default_ns else "default")
    sealer = Sealer(certificate_for(options, env), record_key_hint=options.key_hint, pq=options.pq)

    if options.merge_into:
        _merge_into(options, docs, sealer, scope, choice)
        return
    try:
        sealed = [
            sealer.seal_secret(
                d.body,
                d.index,
                scope=scope,
                namespace=choice,
                allow_empty_data=options.allow_empty_data,
                name_override=options.name,
            )
            for d in docs
        ]
    except InputError as e:
        e.source = e.source or source
        raise
    fmt = manifests.output_format(options.fmt, options.sealed_secret_file)
    emit(env, manifests.dump(sealed, fmt), options.sealed_secret_file)


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
    sealer = Sealer(certificate_for(options, env), pq=options.pq)
    emit(env, sealer.seal_value(value, scope, namespace, options.name or ""), options.sealed_secret_file)


def _merge_into(
    options: SealOptions, docs: list[manifests.Document], sealer: Sealer, scope: Scope | None, choice: NamespaceChoice
) -> None:
    path = options.merge_into
    assert path is not None
    if len(docs) != 1:
        raise InputError(f"--merge-into takes exactly one input Secret, found {len(docs)}")
    text = merged_text(path, docs[0], sealer, scope, choice, allow_empty_data=options.allow_empty_data)
    write_atomically(path, text)  # in place: the file keeps its mode, as with kubeseal


def merged_text(
    path: str,
    doc: manifests.Document,
    sealer: Sealer,
    scope: Scope | None,
    choice: NamespaceChoice,
    *,
    allow_empty_data: bool = False,
) -> str:
    """The text of the SealedSecret file ``path`` with the items of the Secret ``doc`` added or
    replaced (--merge-into): its other items keep their sealed bytes, the file its format."""
    from sealer.core.sealing import check_sealed_secret, merge_into

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
        doc.body,
        doc.index,
        scope=original_scope,
        namespace=choice,
        allow_empty_data=allow_empty_data,
        name_override=meta["name"],
        namespace_override=meta.get("namespace") or "",
    )
    merged = merge_into(original, addition)
    if manifests.looks_like_json(original_text):
        return manifests.dump([merged], "json")
    text = manifests.dump_yaml(merged)
    return "---\n" + text if original_text.lstrip().startswith("---") else text

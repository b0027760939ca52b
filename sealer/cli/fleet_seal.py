"""`sealer seal --all-clusters` and `--cluster NAME`: one plaintext Secret in, one standard
SealedSecret per cluster of the fleet out, each in that cluster's ``path:`` (docs/fleets.md).

All or nothing: every certificate is loaded and every file sealed in memory before the first is
written, and the files are written together (sealer.core.files.write_all_atomically), so a cluster
whose certificate is missing or expired leaves every file as it was. An existing file takes the
new items as ``--merge-into`` does: the items it already has keep their sealed bytes."""

from __future__ import annotations

import os

from sealer.cli.arguments import SealOptions
from sealer.cli.environment import Environment
from sealer.cli.fleet_targets import certificates_for, chosen, namespace_for, repository_root
from sealer.cli.io import TTY_HINT, read_input
from sealer.cli.seal_commands import merged_text
from sealer.core import manifests
from sealer.core.errors import CertificateError, InputError, UsageError
from sealer.core.files import write_all_atomically
from sealer.core.fleet import Fleet
from sealer.core.scope import Scope
from sealer.core.sealing import NamespaceChoice, Sealer


def check_flags(options: SealOptions, clusters: int) -> None:
    """Flags that mean nothing, or something else, when sealing for the fleet: a usage error."""
    conflicts = [
        ("--cert", bool(options.cert)),
        ("--raw", options.raw),
        ("--merge-into", bool(options.merge_into)),
        ("--fetch-cert", options.fetch_cert),
        ("--validate", options.validate),
        ("--re-encrypt", options.re_encrypt),
        ("--from-file", bool(options.from_file)),
    ]
    for flag, given in conflicts:
        if given:
            raise UsageError(f"{flag} cannot be used with --all-clusters/--cluster (each cluster has its certificate)")
    if options.sealed_secret_file and clusters != 1:
        raise UsageError(f"-w names one file, but {clusters} clusters are chosen: their files go to their path:")


def seal_for_fleet(options: SealOptions, env: Environment, fleet: Fleet, scope: Scope | None) -> None:
    clusters = chosen(fleet, options.cluster_names, options.all_clusters)
    check_flags(options, len(clusters))
    data, source = read_input(env, options.secret_file, tty_hint=TTY_HINT)
    docs = manifests.parse_stream(data, source)
    if not docs:
        raise InputError("no secrets found. Ensure the input is valid and UTF-8 encoded", source=source)
    certificates = certificates_for(clusters, env, default=options.target)
    root = repository_root(fleet)
    planned: dict[str, str] = {}  # path -> text, in the order written
    owners: dict[str, str] = {}  # path -> the cluster whose file it is
    notes: list[str] = []
    for cc in certificates:
        cluster = cc.cluster
        try:
            sealer = Sealer(cc.certificate, record_key_hint=options.key_hint, pq=options.pq or cluster.pq)
        except CertificateError as e:
            raise CertificateError(f"cluster {cluster.name} (pq: true): {e}") from None
        choice = NamespaceChoice(options.namespace, options.namespace or namespace_for(cluster, env.environ))
        for doc in docs:
            try:
                sealed = sealer.seal_secret(
                    doc.body,
                    doc.index,
                    scope=scope,
                    namespace=choice,
                    allow_empty_data=options.allow_empty_data,
                    name_override=options.name,
                )
            except InputError as e:
                e.source = e.source or source
                raise
            meta = sealed["metadata"]
            # A cluster-wide Secret has no namespace of its own: its file goes where a Secret
            # without one would (the -n or the context's namespace).
            namespace = meta.get("namespace") or choice.default
            path = options.sealed_secret_file or os.path.join(root, cluster.sealed_path(namespace, meta["name"]))
            if path in planned:
                if owners[path] != cluster.name:
                    raise UsageError(
                        f"clusters {owners[path]} and {cluster.name} would both write {os.path.relpath(path)}: "
                        "give their path: patterns {cluster}, or directories of their own"
                    )
                raise InputError(
                    f"two Secrets go to the same file {os.path.relpath(path)} (cluster {cluster.name})", doc=doc.index
                )
            owners[path] = cluster.name
            items = len(sealed["spec"]["encryptedData"])
            if os.path.exists(path):
                planned[path] = merged_text(path, doc, sealer, scope, choice, allow_empty_data=options.allow_empty_data)
                notes.append(f"updated {os.path.relpath(path)} (cluster {cluster.name}, {items} item(s) merged)")
            else:
                fmt = manifests.output_format(options.fmt, path)
                planned[path] = manifests.dump([sealed], fmt)
                notes.append(f"wrote {os.path.relpath(path)} (cluster {cluster.name}, {items} item(s))")
    write_all_atomically(list(planned.items()))
    for note in notes:
        env.note(note)

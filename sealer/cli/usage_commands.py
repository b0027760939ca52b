"""Bodies of ``sealer keys usage`` and ``sealer keys retire`` (docs/keys.md, "Retiring a key").
The evidence and the report are keys/usage.py's; the sources keys/usage_sources.py's."""

from __future__ import annotations

import json
from typing import Any

from keys.clock import rfc3339, utc_now
from keys.errors import KeyStoreError
from keys.secret_format import ACTIVE, KEY_LABEL, RETIRED, RETIRED_AT_ANNOTATION, StoredKey
from keys.stores.base import newest
from keys.usage import Use, borrow_records, find_key, report, uses_of
from keys.usage_sources import (
    SealedDocument,
    cluster_usage,
    files_findings,
    known_from_store,
    local_known_keys,
    read_documents,
    sealed_documents,
)
from sealer.cli.arguments import KeyOptions
from sealer.cli.environment import Environment
from sealer.core import manifests
from sealer.core.errors import SealerError
from sealer.core.files import write_atomically
from sealer.core.keyset import KeySet
from sealer.kube.client import Kube, secret_path
from sealer.kube.errors import ApiError

SHOWN = 5  # SealedSecrets named in a refusal; the rest are counted


# --- keys usage ----------------------------------------------------------------------------------


def local_keys(opts: KeyOptions, env: Environment) -> tuple[KeySet, list[StoredKey]]:
    """The private keys to try: --recovery-private-key files, and --dir/--keyring stores."""
    from sealer.core.privkeys import load_key_pairs

    keyset = KeySet()
    for path in opts.recovery_keys:
        for key, mlkem_key in load_key_pairs(path):
            keyset.add(key, mlkem_key)
    stored: list[StoredKey] = []
    if opts.directory or opts.keyring_name:
        from sealer.cli.keys_commands import open_store

        stored = open_store(opts, env).list()
        for stored_key in stored:
            keyset.add(stored_key.pair.private_key, stored_key.pair.mlkem_key)
    return keyset, stored


def usage(opts: KeyOptions, env: Environment) -> None:
    notes: list[str] = []
    if opts.paths:
        keyset, stored = local_keys(opts, env)
        found = files_findings(sealed_documents(opts.paths), keyset if len(keyset) else None)
        known = local_known_keys(keyset, stored, opts.key_prefix)
    else:
        if opts.recovery_keys or opts.directory or opts.keyring_name:
            raise SealerError("local keys (--recovery-private-key, --dir, --keyring) are for PATHs: give the files")
        target = opts.target
        cluster = cluster_usage(
            env.kube(target.connection),
            target.namespace,
            target.name,
            namespace=opts.sealed_namespace,
            selector=opts.selector,
        )
        known, found, notes = cluster.known, cluster.found, cluster.notes
    for note in notes:
        env.note(f"warning: {note}")
    result = report(known, found)
    if opts.fmt == "json":
        env.write(json.dumps(result, indent=2) + "\n")
    else:
        env.write(render(result))


def render(result: dict[str, Any]) -> str:
    header = ("FINGERPRINT", "NAME", "CREATED", "EXPIRES", "STATUS", "SEALEDSECRETS", "ITEMS", "RETIRABLE")
    lines = [header]
    for k in result["keys"]:
        status = ", ".join(filter(None, [k["status"] or "local", "sealing" if k["sealing"] else ""]))
        lines.append(
            (
                k["fingerprint"],
                k["name"] or "-",
                k["notBefore"] or "-",
                k["notAfter"] or "-",
                status,
                str(len(k["sealedSecrets"])),
                str(k["items"]),
                "yes" if k["retirable"] else f"no ({k['why']})",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    text = "".join(
        "   ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "   " + line[-1] + "\n"
        for line in lines
    )
    for k in result["keys"]:
        for s in k["sealedSecrets"]:
            what = f"{s['namespace']}/{s['name']}" if s["source"] == "cluster" else f"{s['source']} ({s['name']})"
            text += f"{k['keyId']}  {what}: {', '.join(s['items'])} [{s['how']}]\n"
    for u in result["unattributed"]:
        what = f"{u['namespace']}/{u['name']}" if u["source"] == "cluster" else f"{u['source']} ({u['name']})"
        text += f"unattributed  {what}: {', '.join(u['items'])} ({u['why']})\n"
    return text


# --- keys retire ---------------------------------------------------------------------------------


def _named(uses: list[Use]) -> str:
    names = [u.source + f" ({u.name})" if u.source != "cluster" else f"{u.namespace}/{u.name}" for u in uses]
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _key_secrets(opts: KeyOptions, kube: Kube) -> list[StoredKey]:
    from keys.stores.kubernetes import KubernetesKeyStore

    return KubernetesKeyStore(kube, namespace=opts.target.namespace, prefix=opts.key_prefix).list(skip_invalid=True)


def _label(kube: Kube, namespace: str, key: StoredKey, status: str, retired_at: str | None) -> None:
    patch = {"metadata": {"labels": {KEY_LABEL: status}, "annotations": {RETIRED_AT_ANNOTATION: retired_at}}}
    try:
        kube.merge_patch(secret_path(namespace, key.name), patch)
    except ApiError as e:
        raise KeyStoreError(f"cannot label key Secret {namespace}/{key.name}: {e.summary}") from None


def retire(opts: KeyOptions, env: Environment) -> None:
    target = opts.target
    if opts.re_encrypt and not opts.paths:
        raise SealerError("--re-encrypt rewrites the SealedSecrets of the PATHs given: give the files or directories")
    kube = env.kube(target.connection)
    where = f"namespace {target.namespace}"
    keys = _key_secrets(opts, kube)
    fingerprint = find_key(opts.fingerprint or "", [k.fingerprint for k in keys], where)
    key = next(k for k in keys if k.fingerprint == fingerprint)
    if opts.undo:
        if key.status != RETIRED:
            raise KeyStoreError(f"key {key.name} ({fingerprint}) is not retired (label {key.status or 'none'})")
        _label(kube, target.namespace, key, ACTIVE, None)
        env.write(f"unretired {key.name} {fingerprint}\n")
        env.note(f"key Secret {target.namespace}/{key.name} is active again: it opens what is sealed for it")
        return
    if key.name == opts.key_prefix:
        raise KeyStoreError(
            f"key {key.name} is the pre-0.9 legacy key, which Bitnami's controller loads whatever its label: "
            "delete it by hand once `sealer keys usage` says nothing needs it"
        )
    if key.status == RETIRED:
        env.note(f"key {key.name} ({fingerprint}) is retired already")
        return
    if key.status != ACTIVE:
        raise KeyStoreError(f"key {key.name} ({fingerprint}) is labelled {key.status or 'nothing'}, not active")
    sealing = newest(keys, opts.key_prefix)
    if sealing is not None and sealing.fingerprint == fingerprint and not opts.force:
        raise KeyStoreError(
            f"key {key.name} ({fingerprint}) is the sealing key: rotate first (sealer keys rotate), or give --force"
        )

    cluster = cluster_usage(
        kube,
        target.namespace,
        target.name,
        namespace=opts.sealed_namespace,
        selector=opts.selector,
        known=known_from_store(keys, opts.key_prefix),
    )
    for note in cluster.notes:
        env.note(f"warning: {note}")
    documents = list(sealed_documents(opts.paths)) if opts.paths else []
    keyset = local_keys(opts, env)[0] if opts.recovery_keys else None
    in_files = files_findings(documents, keyset)
    borrow_records(in_files, {d.source: d.body for d in documents}, cluster.sealed, cluster.found)
    file_uses = uses_of(fingerprint, in_files)
    if opts.re_encrypt and file_uses:
        count = re_encrypt(kube, opts, env, documents, file_uses)
        env.note(f"re-encrypted {len(file_uses)} SealedSecret(s) in {count} file(s) for the current key: apply them")
        file_uses = []
    cluster_uses = uses_of(fingerprint, cluster.found)
    blockers = [*cluster_uses, *file_uses]
    unknown = cluster.found.unattributed + in_files.unattributed
    if (blockers or unknown) and not opts.force:
        parts = []
        if cluster_uses:
            parts.append(f"the cluster's {_named(cluster_uses)} (re-encrypt, then apply)")
        if file_uses:
            parts.append(f"{_named(file_uses)} (--re-encrypt rewrites them)")
        if unknown:
            parts.append(f"{len(unknown)} SealedSecret(s) not attributed to any key (sealer keys usage lists them)")
        raise KeyStoreError(
            f"key {key.name} ({fingerprint}) is still needed by {'; '.join(parts)}; nothing retired (--force retires anyway)"
        )
    _label(kube, target.namespace, key, RETIRED, rfc3339(utc_now()))
    env.write(f"retired {key.name} {fingerprint}\n")
    env.note(
        f"key Secret {target.namespace}/{key.name} is labelled {RETIRED}: it neither seals nor opens. The controller "
        "deletes it after its --retired-key-grace-period (default 720h); until then "
        f"`sealer keys retire --undo {fingerprint}` brings it back"
    )


def re_encrypt(kube: Kube, opts: KeyOptions, env: Environment, documents: list[SealedDocument], uses: list[Use]) -> int:
    """Re-seal the documents ``uses`` name through the controller (/v1/rotate) and rewrite their files,
    each whole or not at all: every answer is in hand before a file is written. Returns the files written."""
    from sealer.kube import controller_api as cluster

    wanted = {u.source for u in uses}
    by_file: dict[str, dict[int, dict[str, Any]]] = {}
    for doc in documents:
        if doc.source not in wanted:
            continue
        status, body = cluster.request(kube, opts.target.namespace, opts.target.name, "POST", "/v1/rotate", doc.body)
        if status != 200:
            raise SealerError(f"{doc.source}: cannot re-encrypt: {cluster.who_answered(status, body)}; no file changed")
        resealed = json.loads(body)
        resealed.setdefault("apiVersion", doc.body.get("apiVersion", "bitnami.com/v1alpha1"))
        resealed.setdefault("kind", "SealedSecret")
        by_file.setdefault(doc.path, {})[doc.index] = resealed
    for path, replaced in by_file.items():
        text, docs = read_documents(path)
        bodies = [replaced.get(d.index, d.body) for d in docs]
        if manifests.looks_like_json(text):
            out = manifests.dump(bodies, "json")
        elif len(bodies) == 1:
            out = ("---\n" if text.lstrip().startswith("---") else "") + manifests.dump_yaml(bodies[0])
        else:
            out = manifests.dump(bodies, "yaml")
        write_atomically(path, out)  # in place: the file keeps its mode
        env.note(f"re-encrypted {path}")
    return len(by_file)

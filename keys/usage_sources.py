"""Where ``sealer keys usage`` finds SealedSecrets and keys: files and directories (offline), or a
cluster, read as a user who may list SealedSecrets and read the certificate ConfigMap, and nothing
more: no Secret is read, not even a key Secret's metadata (the ConfigMap names the keys).

``cluster_usage`` is the one entry point for a cluster: it takes a connection (``Kube``), so a
caller that resolves a cluster some other way (the fleet configuration's ``--cluster NAME``) only
has to make the ``Kube``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from keys.clock import rfc3339
from keys.errors import KeyStoreError
from keys.secret_format import StoredKey
from keys.stores.base import newest
from keys.usage import Findings, KnownKey, attribute
from sealer.core import certmap, manifests
from sealer.core.errors import CertificateError, InputError
from sealer.core.files import read_limited
from sealer.core.keyset import KeySet
from sealer.core.sealing import KIND, check_sealed_secret
from sealer.kube.client import Kube, configmap_path, sealed_secret_path
from sealer.kube.errors import ApiError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


# --- files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedDocument:
    path: str
    index: int  # 1-based, in its file
    body: dict[str, Any]

    @property
    def source(self) -> str:
        return f"{self.path}#{self.index}"


def manifest_files(paths: Iterable[str]) -> list[str]:
    """The files given, and the manifests (.yaml, .yml, .json) under the directories given, sorted."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(MANIFEST_SUFFIXES))
        elif os.path.exists(path):
            out.append(path)
        else:
            raise InputError("no such file or directory", source=path)
    return out


def read_documents(path: str) -> tuple[str, list[manifests.Document]]:
    data = read_limited(path, manifests.MAX_INPUT_BYTES, error=InputError, what="manifest")
    text = manifests.decode_text(data, path)
    return text, manifests.parse_stream(text, path)


def sealed_documents(paths: Iterable[str]) -> Iterator[SealedDocument]:
    """Every SealedSecret in the files (other documents are skipped); a file that cannot be read
    or parsed, or a malformed SealedSecret, is a one-line error naming it."""
    for path in manifest_files(paths):
        _, docs = read_documents(path)
        for doc in docs:
            if isinstance(doc.body, dict) and doc.body.get("kind") == KIND:
                try:
                    yield SealedDocument(path, doc.index, check_sealed_secret(doc.body, doc.index))
                except InputError as e:
                    e.source = path
                    raise


def files_findings(documents: Iterable[SealedDocument], keyset: KeySet | None = None) -> Findings:
    found = Findings()
    for doc in documents:
        found.extend(attribute(doc.body, doc.source, keyset=keyset))
    return found


def local_known_keys(keyset: KeySet, stored: list[StoredKey], prefix: str) -> list[KnownKey]:
    """The local keys: with dates and labels where a key store holds them, fingerprints otherwise."""
    known = known_from_store(stored, prefix)
    seen = {k.fingerprint for k in known}
    return known + [KnownKey(fp) for fp in keyset.fingerprints if fp not in seen]


# --- a cluster -----------------------------------------------------------------------------------


@dataclass
class ClusterUsage:
    known: list[KnownKey]
    found: Findings
    notes: list[str] = field(default_factory=list)
    sealed: list[dict[str, Any]] = field(default_factory=list)  # the SealedSecrets as listed


def published_known_keys(kube: Kube, controller_namespace: str, controller_name: str) -> list[KnownKey]:
    """The keys of the controller's certificate ConfigMap; KeyStoreError (one line) if it cannot be read."""
    name = certmap.name_for(controller_name)
    where = f"ConfigMap {controller_namespace}/{name}"
    try:
        doc = kube.get(configmap_path(controller_namespace, name))
    except ApiError as e:
        raise KeyStoreError(f"cannot read the {where}: {e.summary}") from None
    if doc is None:
        raise KeyStoreError(f"no {where} (a controller of sealer publishes it; Bitnami's does not)")
    try:
        keys = certmap.published_keys(doc, where)
    except CertificateError as e:
        raise KeyStoreError(str(e)) from None
    return [KnownKey(k.fingerprint, k.name, k.notBefore, k.notAfter, k.status, k.sealing, k.retiredAt) for k in keys]


def list_sealed_secrets(kube: Kube, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
    try:
        items, _ = kube.list(sealed_secret_path(namespace), label_selector=selector)
    except ApiError as e:
        where = f"namespace {namespace}" if namespace else "all namespaces (or give --namespace)"
        raise KeyStoreError(f"cannot list SealedSecrets in {where}: {e.summary}") from None
    return items


def cluster_usage(
    kube: Kube,
    controller_namespace: str,
    controller_name: str,
    *,
    namespace: str | None = None,
    selector: str | None = None,
    known: list[KnownKey] | None = None,
) -> ClusterUsage:
    """What the controller recorded for every SealedSecret (of ``namespace``, else all; matching
    ``selector``, the controller's --label-selector where several controllers share a cluster), and the
    keys: ``known``, else the certificate ConfigMap's (if it cannot be read the report names keys
    by their ids only, and says why)."""
    notes = []
    if known is None:
        try:
            known = published_known_keys(kube, controller_namespace, controller_name)
        except KeyStoreError as e:
            notes.append(f"{e}: keys are named by their ids only")
            known = []
    sealed = list_sealed_secrets(kube, namespace, selector)
    found = Findings()
    for item in sealed:
        meta = item.get("metadata") or {}
        source = f"cluster {meta.get('namespace', '')}/{meta.get('name', '')}"
        try:
            checked = check_sealed_secret(item)
        except InputError as e:
            notes.append(f"skipped {source}: {e}")
            continue
        found.extend(attribute(checked, "cluster", use_record=True))
    return ClusterUsage(known, found, notes, sealed)


def known_from_store(keys: list[StoredKey], prefix: str) -> list[KnownKey]:
    """Key Secrets (as an admin lists them, or a key store holds them) as the report's keys."""
    sealing = newest(keys, prefix)
    return [
        KnownKey(
            k.fingerprint,
            k.name,
            rfc3339(k.pair.not_before),
            rfc3339(k.pair.not_after),
            k.status or "",
            sealing is not None and k.name == sealing.name,
        )
        for k in sorted(keys, key=lambda k: (k.pair.not_before, k.name))
    ]

"""Turning Secret manifests into SealedSecret manifests. Pure: no files, no network, no clock."""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from sealer.core import crypto, goyaml
from sealer.core.errors import CertificateError, InputError
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope, with_scope_annotations

if TYPE_CHECKING:  # X.509 costs tens of milliseconds: the hooks use this module without it
    from sealer.core.certs import Certificate

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"
# The API server refuses Secrets above 1 MiB; sealing one would only fail later, in the cluster.
MAX_SECRET_BYTES = 1024 * 1024

# Written by the API server or by kubectl: meaningless (or harmful) in a manifest kept in Git.
_SERVER_FIELDS = (
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "managedFields",
)
# Go's ObjectMeta field order: JSON output in this order matches kubeseal's byte for byte.
_OBJECT_META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
_LAST_APPLIED = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
)


class NamespaceChoice(NamedTuple):
    """Where a Secret without a namespace goes: ``explicit`` is ``-n``, ``default`` the kubeconfig's."""

    explicit: str | None = None
    default: str = "default"


class SecretItems(NamedTuple):
    """A validated input Secret: its metadata and its plaintext items (data, then stringData)."""

    metadata: dict[str, Any]
    items: dict[str, bytes]
    type: str | None
    immutable: bool | None


def read_secret(doc: Any, index: int, *, allow_empty_data: bool = False) -> SecretItems:
    """Validate one input document as a Secret. Errors name the document and field, never a value."""
    if not isinstance(doc, dict):
        raise InputError(f"expected a Secret object, found a {_yaml_type(doc)}", doc=index)
    kind = doc.get("kind")
    if kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
        raise InputError(f"is a {kind}; give the Secrets as separate documents (---)", doc=index, field="kind")
    if kind is not None and kind != "Secret":
        raise InputError(f"is a {shown(kind)}, not a Secret", doc=index, field="kind")
    api_version = doc.get("apiVersion")
    if api_version is not None and api_version != "v1":
        raise InputError(f"apiVersion {shown(api_version, quote=True)} is not v1", doc=index, field="apiVersion")
    metadata = doc.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InputError("must be an object", doc=index, field="metadata")
    # Scalars in ObjectMeta's string fields are text, as kubectl and kubeseal read them (goyaml).
    metadata = _go_strings(metadata)
    name = metadata.get("name")
    if not name or not isinstance(name, str):
        raise InputError("missing metadata.name in input Secret", doc=index, field="metadata.name")
    for field in ("namespace",):
        if metadata.get(field) is not None and not isinstance(metadata[field], str):
            raise InputError("must be a string", doc=index, field=f"metadata.{field}")
    for field in ("labels", "annotations"):
        value = metadata.get(field)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            raise InputError("must be a map of strings", doc=index, field=f"metadata.{field}")

    items: dict[str, bytes] = {}
    for key, raw in _string_map(doc, "data", index).items():
        try:
            items[key] = base64.b64decode(raw.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                "is not valid base64 (use stringData for plain text)", doc=index, field=f"data.{key}"
            ) from None
    for key, value in _string_map(doc, "stringData", index).items():
        items[key] = value.encode("utf-8")  # stringData wins over data, as in the API server
    if not items and not allow_empty_data:
        raise InputError(
            "secret.data is empty in input Secret, assuming this is an error and aborting. "
            "To work with empty data, --allow-empty-data can be used",
            doc=index,
            field="data",
        )
    if sum(len(v) for v in items.values()) > MAX_SECRET_BYTES:
        raise InputError("Secret is larger than Kubernetes' 1 MiB limit", doc=index, field="data")

    secret_type = goyaml.go_string(doc.get("type"))
    if secret_type is not None and not isinstance(secret_type, str):
        raise InputError("must be a string", doc=index, field="type")
    immutable = doc.get("immutable")
    if immutable is not None and not isinstance(immutable, bool):
        raise InputError("must be true or false", doc=index, field="immutable")
    return SecretItems(metadata, items, secret_type, immutable)


def _string_map(doc: dict[str, Any], field: str, index: int) -> dict[str, str]:
    value = doc.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("must be a map of keys to strings", doc=index, field=field)
    out = {}
    for key, item in value.items():
        key = str(goyaml.go_string(key))
        item = "" if item is None else goyaml.go_string(item)
        if not isinstance(item, str):
            raise InputError(
                f"must be a string, found a {_yaml_type(item)} (quote it)", doc=index, field=f"{field}.{key}"
            )
        out[key] = item
    return out


_SHOWABLE = re.compile(r"[A-Za-z0-9./-]{1,63}")


def showable(value: Any) -> bool:
    """Whether an input value may appear in a message: only short, identifier-like strings, since
    a mistyped document may carry a secret in any field."""
    return isinstance(value, str) and _SHOWABLE.fullmatch(value) is not None


def shown(value: Any, *, quote: bool = False) -> str:
    """An input value fit for an error message: itself if ``showable``, else its type."""
    if showable(value):
        return f'"{value}"' if quote else value
    return f"a {_yaml_type(value)}" if quote else _yaml_type(value)


def _go_strings(metadata: dict[str, Any]) -> dict[str, Any]:
    """name, namespace and the labels' and annotations' keys and values as Go's string fields hold them."""
    meta = dict(metadata)
    for field in ("name", "namespace"):
        if meta.get(field) is not None:
            meta[field] = goyaml.go_string(meta[field])
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if isinstance(value, dict):
            meta[field] = {str(goyaml.go_string(k)): "" if v is None else goyaml.go_string(v) for k, v in value.items()}
    return meta


def _yaml_type(value: Any) -> str:
    return {dict: "map", list: "list", bool: "boolean", int: "number", float: "number", str: "string"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def resolve_scope(secret: SecretItems, explicit: Scope | None) -> Scope:
    """An explicit --scope wins; otherwise the input's annotations decide (cluster-wide over namespace-wide)."""
    return explicit if explicit is not None else Scope.from_annotations(secret.metadata.get("annotations"))


def resolve_namespace(secret: SecretItems, scope: Scope, choice: NamespaceChoice, index: int) -> str:
    given = secret.metadata.get("namespace") or ""
    if scope is not Scope.CLUSTER_WIDE and choice.explicit and given and given != choice.explicit:
        raise InputError(
            f'namespace mismatch: input secret is in namespace "{given}" but "{choice.explicit}" was specified',
            doc=index,
            field="metadata.namespace",
        )
    if given or scope is Scope.CLUSTER_WIDE:
        return given
    return choice.explicit or choice.default or "default"


def template_metadata(
    metadata: Mapping[str, Any], namespace: str, scope: Scope, *, scope_given: bool = True
) -> dict[str, Any]:
    """The Secret's metadata in the template. The input's scope annotations stay as written when
    they chose the scope (kubeseal keeps both, or a "false", there); a --scope replaces them."""
    meta = copy.deepcopy(dict(metadata))
    for field in _SERVER_FIELDS:
        meta.pop(field, None)
    if scope_given:
        annotations = with_scope_annotations(meta.get("annotations"), scope)
    else:
        annotations = dict(meta.get("annotations") or {})
    for key in _LAST_APPLIED:
        annotations.pop(key, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if namespace:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    return go_field_order(_sorted_maps(meta))


def _sorted_maps(meta: dict[str, Any]) -> dict[str, Any]:
    """Go marshals maps with their keys sorted: labels and annotations in JSON output too."""
    for field in ("labels", "annotations"):
        if isinstance(meta.get(field), dict):
            meta[field] = dict(sorted(meta[field].items()))
    return meta


def go_field_order(meta: dict[str, Any]) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(_OBJECT_META_ORDER)}
    return dict(sorted(meta.items(), key=lambda kv: rank.get(kv[0], len(rank))))


NO_MLKEM_KEY = (
    "the certificate has no ML-KEM-768 public key, which --pq needs: fetch it from a sealer "
    "controller run with --pq-keys (Bitnami's controller has none)"
)


class Sealer:
    """Seals Secrets and single values against one certificate: in the classic format, or with
    ``pq`` in the hybrid post-quantum one (docs/format.md), which only sealer's controller opens."""

    def __init__(self, certificate: Certificate, *, record_key_hint: bool = True, pq: bool = False):
        if pq and certificate.mlkem_public is None:
            raise CertificateError(NO_MLKEM_KEY)
        self.certificate = certificate
        self.record_key_hint = record_key_hint
        self.pq = pq

    def _seal(self, plaintext: bytes, label: bytes) -> str:
        if self.pq:
            return crypto.encode(
                crypto.seal_hybrid(self.certificate.public_key, self.certificate.mlkem_public, plaintext, label)
            )
        return crypto.encode(crypto.seal(self.certificate.public_key, plaintext, label))

    def seal_value(self, plaintext: bytes, scope: Scope, namespace: str, name: str) -> str:
        return self._seal(plaintext, crypto.encryption_label(scope, namespace, name))

    def seal_secret(
        self,
        doc: Any,
        index: int = 1,
        *,
        scope: Scope | None = None,
        namespace: NamespaceChoice = NamespaceChoice(),
        allow_empty_data: bool = False,
        name_override: str | None = None,
        namespace_override: str | None = None,
    ) -> dict[str, Any]:
        """One input Secret document -> one SealedSecret object (a dict ready to dump)."""
        secret = read_secret(doc, index, allow_empty_data=allow_empty_data)
        the_scope = resolve_scope(secret, scope)
        ns = (
            namespace_override
            if namespace_override is not None
            else resolve_namespace(secret, the_scope, namespace, index)
        )
        name = name_override or secret.metadata["name"]
        label = crypto.encryption_label(the_scope, ns, name)
        encrypted = {key: self._seal(value, label) for key, value in sorted(secret.items.items())}
        template: dict[str, Any] = {
            "metadata": template_metadata(
                {**secret.metadata, "name": name}, ns, the_scope, scope_given=scope is not None
            )
        }
        if secret.type is not None:
            template["type"] = secret.type
        if secret.immutable is not None:
            template["immutable"] = secret.immutable
        annotations = the_scope.annotations()
        if self.record_key_hint:
            annotations[KEY_HINT_ANNOTATION] = self.certificate.fingerprint
        metadata: dict[str, Any] = {"name": name}
        if ns:
            metadata["namespace"] = ns
        if annotations:
            metadata["annotations"] = dict(sorted(annotations.items()))
        # Field order follows kubeseal's JSON output, so switching tools does not churn diffs.
        return {
            "kind": KIND,
            "apiVersion": API_VERSION,
            "metadata": metadata,
            "spec": {"template": template, "encryptedData": encrypted},
        }


def check_sealed_secret(doc: Any, index: int = 1) -> dict[str, Any]:
    """Validate the shape of a SealedSecret document (not its ciphertext) and return it."""
    if not isinstance(doc, dict):
        raise InputError(f"expected a SealedSecret object, found a {_yaml_type(doc)}", doc=index)
    if doc.get("kind") != KIND:
        raise InputError(f"is a {shown(doc.get('kind'))}, not a SealedSecret", doc=index, field="kind")
    if doc.get("apiVersion", API_VERSION) != API_VERSION:
        raise InputError(
            f"apiVersion {shown(doc.get('apiVersion'), quote=True)} is not {API_VERSION}", doc=index, field="apiVersion"
        )
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise InputError("missing metadata.name", doc=index, field="metadata.name")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise InputError("missing spec", doc=index, field="spec")
    encrypted = spec.get("encryptedData")
    if encrypted is None:
        encrypted = spec["encryptedData"] = {}
    if not isinstance(encrypted, dict) or not all(isinstance(v, str) for v in encrypted.values()):
        raise InputError("must be a map of keys to sealed values", doc=index, field="spec.encryptedData")
    template = spec.get("template")
    if template is not None and not isinstance(template, dict):
        raise InputError("must be an object", doc=index, field="spec.template")
    for where, meta in (("metadata", metadata), ("spec.template.metadata", (template or {}).get("metadata"))):
        if meta is None:
            continue
        if not isinstance(meta, dict):
            raise InputError("must be an object", doc=index, field=where)
        for field in ("labels", "annotations"):
            if meta.get(field) is not None and not isinstance(meta[field], dict):
                raise InputError("must be a map of strings", doc=index, field=f"{where}.{field}")
    return doc


def merge_into(original: dict[str, Any], addition: dict[str, Any]) -> dict[str, Any]:
    """Merge a freshly sealed SealedSecret into an existing one: its items and template labels and
    annotations are added or replaced; everything else of ``original`` is kept as it was."""
    merged = copy.deepcopy(original)
    spec = merged.setdefault("spec", {})
    # Sorted, as kubeseal writes them: a mixed team's merges do not churn the Git diff.
    spec["encryptedData"] = dict(sorted({**spec.get("encryptedData", {}), **addition["spec"]["encryptedData"]}.items()))
    new_meta = addition["spec"]["template"].get("metadata", {})
    template = spec.setdefault("template", {})
    meta = template.setdefault("metadata", {})
    for field in ("labels", "annotations"):
        if new_meta.get(field):
            meta.setdefault(field, {}).update(new_meta[field])
    _sorted_maps(meta)
    new_hint = addition["metadata"].get("annotations", {}).get(KEY_HINT_ANNOTATION)
    if new_hint:
        # Old items may be sealed for another key than the new ones: keep both, newest first.
        annotations = merged.setdefault("metadata", {}).setdefault("annotations", {})
        hints = [new_hint, *split_hint(annotations.get(KEY_HINT_ANNOTATION))]
        annotations[KEY_HINT_ANNOTATION] = ",".join(dict.fromkeys(hints))
    return merged


def split_hint(value: object) -> list[str]:
    """The fingerprints a key-hint annotation names (it may be missing, wrong, or list several)."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]

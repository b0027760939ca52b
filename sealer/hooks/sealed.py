"""The SealedSecret rules: shape, scope consistency, each value's framing (through sealer.core.crypto,
where the wire format lives), and, when .sealer.yaml lists the clusters' certificates, that the
values are sealed for one of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sealer.core import crypto
from sealer.core.scope import CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from sealer.core.sealing import API_VERSION, KIND, split_hint
from sealer.hooks.documents import FieldPath, annotations_of, display_name, metadata, shown

_SCOPE_ANNOTATIONS = (CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION)

# Cheap pre-parse check: no file without these bytes holds anything these rules check (misspelt
# kinds included).
WORTH_PARSING = re.compile(rb"""(?i)kind['"]?\s*:\s*['"]?sealed-?secret|bitnami\.com/""")

Hit = tuple[str, FieldPath, str]


def is_sealed_secret(obj: dict[str, Any]) -> bool:
    """Also the near misses (a misspelt kind, another bitnami.com version): those are what the
    kind rule is for, and silently skipping them would let them through unchecked."""
    kind, api = obj.get("kind"), obj.get("apiVersion")
    if isinstance(kind, str) and kind.replace("-", "").lower() == "sealedsecret":
        return True
    return isinstance(api, str) and api.split("/")[0] == "bitnami.com"


class KnownKeys:
    """The certificates of .sealer.yaml: key size in bytes by fingerprint."""

    def __init__(self, sizes: dict[str, int]):
        self.sizes = sizes

    @classmethod
    def load(cls, sources: list[str]) -> KnownKeys:
        import datetime as dt

        from sealer.core.certs import parse_certificate, read_certificate_source

        # Expiry says nothing about which key a value was sealed for: the controller keeps opening
        # values sealed for an old certificate, so an expired one still counts here.
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        sizes = {}
        for source in sources:
            inline = source.lstrip().startswith("-----BEGIN")
            pem = source.encode() if inline else read_certificate_source(source)
            cert = parse_certificate(pem, "inline certificate in .sealer.yaml" if inline else source, now=never)
            sizes[cert.fingerprint] = cert.key_bytes
        return cls(sizes)


def check_object(obj: dict[str, Any], keys: KnownKeys | None) -> Iterator[Hit]:
    name = display_name(obj)
    who = f'SealedSecret "{name}"'
    kind, api = obj.get("kind"), obj.get("apiVersion")
    # The values are shown only if they are short and plain (see documents.shown): messages
    # never echo arbitrary input.
    if kind != KIND:
        yield "sealed-kind", ("kind",), f"{who}: kind {shown(kind)} should be {KIND}"
    if api != API_VERSION:
        has = f"apiVersion {shown(api)}" if api is not None else "no apiVersion"
        yield "sealed-kind", ("apiVersion",), f"{who} has {has}, should be {API_VERSION}"
    meta = metadata(obj)
    if name == "(unnamed)":
        yield "sealed-shape", ("metadata",), f"{who} has no metadata.name"
    top = annotations_of(obj)
    scope = Scope.from_annotations(top)
    yield from _scope_values(top, ("metadata", "annotations"), who, "metadata.annotations")
    namespace = meta.get("namespace")
    if scope is not Scope.CLUSTER_WIDE and not namespace:
        yield (
            "sealed-namespace",
            ("metadata",),
            (
                f"{who} is {scope.value}-scoped but has no metadata.namespace: it opens only in the namespace "
                "it was sealed for, so whatever sets the namespace later (kustomize, kubectl -n) must set that one"
            ),
        )
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        yield "sealed-shape", ("spec",), f"{who} has no spec"
        return
    template = spec.get("template")
    if template is not None:
        if isinstance(template, dict):
            yield from _template(template, meta, scope, who)
        else:
            yield "sealed-shape", ("spec", "template"), f"{who}: spec.template must be an object"
    yield from _values(obj, spec, who, keys)


def _scope_values(ann: dict[str, Any], path: FieldPath, who: str, shown: str) -> Iterator[Hit]:
    for key in _SCOPE_ANNOTATIONS:
        if key in ann and ann[key] not in ("true", "false"):
            yield (
                "sealed-scope",
                (*path, key),
                (
                    f'{who}: {shown} {key} is neither "true" nor "false"; only the string "true" counts, '
                    "so it is ignored (quote true in YAML)"
                ),
            )


def _template(template: dict[str, Any], meta: dict[str, Any], scope: Scope, who: str) -> Iterator[Hit]:
    tmeta = template.get("metadata")
    if tmeta is None:
        return
    if not isinstance(tmeta, dict):
        yield "sealed-shape", ("spec", "template", "metadata"), f"{who}: spec.template.metadata must be an object"
        return
    path = ("spec", "template", "metadata")
    tann = tmeta.get("annotations")
    if not isinstance(tann, dict):
        tann = {}
    yield from _scope_values(tann, (*path, "annotations"), who, "spec.template.metadata.annotations")
    # The controller decides the scope from the top-level annotations; the template's are copied
    # onto the Secret. A template without scope annotations is fine, one that says otherwise is not.
    if any(key in tann for key in _SCOPE_ANNOTATIONS):
        tscope = Scope.from_annotations(tann)
        if tscope is not scope:
            yield (
                "sealed-scope",
                (*path, "annotations"),
                (
                    f"{who}: metadata.annotations make it {scope.value} but spec.template.metadata.annotations "
                    f"say {tscope.value}"
                ),
            )
    # Strict values are sealed for namespace/name, namespace-wide ones for the namespace.
    fields = ("name", "namespace") if scope is Scope.STRICT else ("namespace",) if scope is Scope.NAMESPACE_WIDE else ()
    for field in fields:
        mine, theirs = meta.get(field), tmeta.get(field)
        if isinstance(mine, str) and isinstance(theirs, str) and mine and theirs and mine != theirs:
            yield (
                "sealed-scope",
                (*path, field),
                (
                    f"{who}: spec.template.metadata.{field} {shown(theirs)} differs from metadata.{field} {shown(mine)}, "
                    f"and {scope.value} values open only under the latter"
                ),
            )


def _values(obj: dict[str, Any], spec: dict[str, Any], who: str, keys: KnownKeys | None) -> Iterator[Hit]:
    encrypted, legacy = spec.get("encryptedData"), spec.get("data")
    values: list[tuple[FieldPath, str, object]] = []
    if encrypted is None and legacy is None:
        yield "sealed-shape", ("spec",), f"{who} has no spec.encryptedData"
    elif encrypted is not None and not isinstance(encrypted, dict):
        yield (
            "sealed-shape",
            ("spec", "encryptedData"),
            f"{who}: spec.encryptedData must be a map of keys to sealed values",
        )
    elif isinstance(encrypted, dict):
        values = [(("spec", "encryptedData", key), f"encryptedData.{key}", value) for key, value in encrypted.items()]
    if legacy is not None:  # the pre-0.7 format: the whole Secret sealed as one value
        values.append((("spec", "data"), "spec.data", legacy))

    sizes, why = None, ""
    if keys is not None:
        hints = split_hint(annotations_of(obj).get(KEY_HINT_ANNOTATION))
        for hint in hints:
            if hint not in keys.sizes:
                yield (
                    "sealed-unknown-key",
                    ("metadata", "annotations", KEY_HINT_ANNOTATION),
                    (f"{who} is sealed for key {hint}, which is not among the certificates in .sealer.yaml"),
                )
        hinted = {keys.sizes[h] for h in hints if h in keys.sizes}
        if hinted:
            sizes, why = hinted, f"the hinted certificate is {_bits(hinted)}"
        elif not hints:  # no hint at all: the key size is all there is to go by
            sizes, why = (
                set(keys.sizes.values()),
                f"the certificates in .sealer.yaml are {_bits(set(keys.sizes.values()))}",
            )

    for path, label, value in values:
        if not isinstance(value, str):
            yield "sealed-value", path, f"{who}: {label} is not a string"
            continue
        try:
            # Like the controller (Go's base64.StdEncoding), ignore line breaks.
            blob = crypto.decode(value.replace("\n", "").replace("\r", ""))
        except crypto.SealedValueError:
            yield "sealed-value", path, f"{who}: {label} is not valid base64"
            continue
        try:
            wrapped, _ = crypto.split(blob)
            crypto.check_framing(blob)
        except crypto.SealedValueError as e:  # its messages describe the framing, never the bytes
            yield "sealed-value", path, f"{who}: {label} is not a well-formed sealed value ({e})"
            continue
        if sizes is not None and len(wrapped) not in sizes:
            yield "sealed-key-size", path, (f"{who}: {label} is sealed for a {len(wrapped) * 8}-bit key, but {why}")


def _bits(sizes: set[int]) -> str:
    return " or ".join(f"{n * 8}-bit" for n in sorted(sizes))

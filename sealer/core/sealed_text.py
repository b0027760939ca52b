"""Where a SealedSecret's sealed values and key hint sit in the text of its file, so that a tool can
replace exactly those characters and keep every other byte: the format (YAML or JSON), document
order, key order, quoting, comments (``sealer reencrypt``; docs/fleets.md).

The documents are read by ``manifests.parse_stream``'s own loader (Go's YAML resolution, bounded
expansion, libyaml's scanner when PyYAML has it), composed into nodes whose marks are character
offsets into the text (both scanners count characters, CR LF and non-ASCII included), then
constructed. SealedSecrets are found at the top of a document or in the ``items`` of a List.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import yaml

from sealer.core import manifests
from sealer.core.errors import InputError
from sealer.core.scope import KEY_HINT_ANNOTATION

# Base64 and fingerprints as plain scalars: none of these characters is a YAML indicator that
# cannot start one (hybrid values start with "/", classic ones with "Ag").
_SAFE_PLAIN = re.compile(r"[A-Za-z0-9+/=][A-Za-z0-9+/=:,._-]*")


class Span(NamedTuple):
    """A scalar in the text: [start, end) as character offsets, its style (None plain, '"', "'",
    '|', '>') and whether it sits in a flow collection (JSON, ``{...}``)."""

    start: int
    end: int
    style: str | None
    flow: bool


class Located(NamedTuple):
    """One SealedSecret of a file: its body (as parse_stream reads it), where it is for messages,
    the spans of its ``spec.encryptedData`` values, and the span of its key-hint annotation."""

    body: dict[str, Any]
    where: str
    items: dict[str, Span]
    hint: Span | None


def locate(text: str, source: str) -> list[Located]:
    """Every SealedSecret of ``text`` with the spans of its values. Other documents are skipped."""
    if len(text) > manifests.MAX_INPUT_BYTES:
        raise InputError(
            f"input is larger than the {manifests.MAX_INPUT_BYTES // (1024 * 1024)} MiB limit", source=source
        )
    found: list[Located] = []
    constructor = manifests.Loader("")
    try:
        for index, node, offset in _documents(text, source):
            body = constructor.construct_document(node)
            manifests.check_expansion(manifests.Document(index, 1, body), source)
            where = f"document {index}"
            if _is_sealed(body):
                found.append(_located(node, body, where, offset, constructor))
            elif isinstance(body, dict) and isinstance(body.get("items"), list) and _is_list(body):
                items_node = _value(node, "items", constructor)
                if not isinstance(items_node, yaml.SequenceNode):
                    continue
                for i, (item_node, item) in enumerate(zip(items_node.value, body["items"], strict=True)):
                    if _is_sealed(item):
                        found.append(_located(item_node, item, f"{where}, items[{i}]", offset, constructor))
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise manifests.yaml_input_error(e, manifests.LineNumbers(text), 0, source) from None
    finally:
        constructor.dispose()
    return found


def _documents(text: str, source: str) -> list[tuple[int, yaml.Node, int]]:
    """(index, root node, offset of its text) of each non-empty document: YAML documents, or the
    objects of a JSON stream (composed one by one, since concatenated JSON is no YAML stream)."""
    chunks: list[tuple[str, int]]
    if manifests.looks_like_json(text):
        chunks = []
        decoder = json.JSONDecoder()
        pos = 0
        try:
            while True:
                while pos < len(text) and text[pos] in " \t\r\n":
                    pos += 1
                if pos >= len(text):
                    break
                _, end = decoder.raw_decode(text, pos)
                chunks.append((text[pos:end], pos))
                pos = end
        except ValueError:
            chunks = [(text, 0)]  # YAML flow style ({a: 1}) also starts with a brace
    else:
        chunks = [(text, 0)]
    out: list[tuple[int, yaml.Node, int]] = []
    for chunk, offset in chunks:
        loader = manifests.Loader(chunk)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
                    continue  # an empty document is no document, as parse_stream says
                out.append((len(out) + 1, node, offset))
        finally:
            loader.dispose()
    return out


def _is_sealed(body: object) -> bool:
    return isinstance(body, dict) and body.get("kind") == "SealedSecret"


def _is_list(body: dict[str, Any]) -> bool:
    kind = body.get("kind")
    return kind is None or (isinstance(kind, str) and kind.endswith("List"))


def _value(node: yaml.Node, key: str, constructor: Any) -> yaml.Node | None:
    """The node under ``key`` in a mapping node (the last, if the key is repeated, as construction
    keeps the last)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and constructor.construct_key(key_node) == key:
            found = value_node
    return found


def _span(node: yaml.ScalarNode, offset: int, flow: bool) -> Span:
    return Span(node.start_mark.index + offset, node.end_mark.index + offset, node.style, flow)


def _located(node: yaml.Node, body: dict[str, Any], where: str, offset: int, constructor: Any) -> Located:
    spec = _value(node, "spec", constructor)
    encrypted = _value(spec, "encryptedData", constructor) if spec is not None else None
    items: dict[str, Span] = {}
    if isinstance(encrypted, yaml.MappingNode):
        for key_node, value_node in encrypted.value:
            if not isinstance(value_node, yaml.ScalarNode):
                raise InputError(f"{where}: spec.encryptedData values must be strings")
            key = str(constructor.construct_key(key_node))
            items[key] = _span(value_node, offset, bool(encrypted.flow_style))
    meta = _value(node, "metadata", constructor)
    annotations = _value(meta, "annotations", constructor) if meta is not None else None
    hint = _value(annotations, KEY_HINT_ANNOTATION, constructor) if annotations is not None else None
    hint_span = None
    if isinstance(hint, yaml.ScalarNode) and isinstance(annotations, yaml.MappingNode):
        hint_span = _span(hint, offset, bool(annotations.flow_style))
    return Located(body, where, items, hint_span)


def scalar(span: Span, value: str, original: str) -> str:
    """The text that replaces the scalar at ``span`` (whose text was ``original``) by ``value``
    (base64 or fingerprints: no character needs escaping), in the scalar's own quoting."""
    if span.style in ('"', "'"):
        return span.style + value + span.style
    if span.style in ("|", ">"):
        # A block scalar's span runs to the line breaks after it; they stay.
        trailing = original[len(original.rstrip()) :]
        return value + trailing
    # A comma ends a plain scalar in a flow collection ({...}): a list of fingerprints is quoted there.
    if _SAFE_PLAIN.fullmatch(value) and not (span.flow and "," in value):
        return value
    return '"' + value + '"'


def replace(text: str, edits: list[tuple[Span, str]]) -> str:
    """``text`` with each span's scalar replaced by its new value; every other character kept."""
    out = text
    for span, value in sorted(edits, key=lambda e: e[0].start, reverse=True):
        out = out[: span.start] + scalar(span, value, text[span.start : span.end]) + out[span.end :]
    return out

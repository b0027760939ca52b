"""Reading YAML/JSON for the hooks: sealer.core.manifests' rules (a size limit, UTF-8 only, a budget for
alias expansion, timestamps left as strings), plus what a scanner needs and a sealing tool does not:

- Duplicate keys are recorded, not silently dropped. PyYAML and json keep the last value of a key
  given twice, so a Secret with ``stringData: {password: hunter2}`` and then ``stringData: {}``
  parses as a Secret without data, while Git keeps the plaintext. (YAML merge keys, ``<<``, are
  not duplicates: overriding a merged key is what they are for.)
- Python's own limits (integers of over 4,300 digits, nesting deeper than the recursion limit) are
  parse errors like any other, not tracebacks.

It builds on sealer.core.manifests (its limits, loader and line counting) and is imported only when a
file needs parsing.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from sealer.core import manifests
from sealer.core.errors import InputError

# The hooks' limits are the core's (re-exported for sealer.hooks.documents, which must not load PyYAML).
from sealer.core.manifests import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from sealer.core.manifests import MAX_INPUT_BYTES as MAX_INPUT_BYTES
from sealer.core.manifests import LineNumbers as Lines

if TYPE_CHECKING:
    from sealer.hooks.documents import FieldPath

_MERGE = "tag:yaml.org,2002:merge"


class Duplicate(NamedTuple):
    """A key given twice in one mapping: ``path`` is the mapping's (e.g. ``("stringData",)``),
    ``key`` the key as written, ``line`` where it is given again and ``first`` where it was first
    given (both 1-based, 0 if unknown)."""

    path: FieldPath
    key: str
    line: int
    first: int


class Document:
    """One document of a stream: ``index`` is 1-based, ``line`` the 1-based line where it starts."""

    __slots__ = ("_source", "_span", "body", "duplicates", "index", "line")

    def __init__(
        self,
        index: int,
        line: int,
        body: Any,
        duplicates: tuple[Duplicate, ...] = (),
        source: str = "",
        span: tuple[int, int] = (0, 0),
    ):
        self.index = index
        self.line = line
        self.body = body
        self.duplicates = duplicates
        self._source = source
        self._span = span

    def text(self) -> str:
        """The document's source text (from its first node to its last)."""
        return self._source[self._span[0] : self._span[1]]


class Loader(manifests.Loader):
    """sealer.core.manifests' loader (timestamps stay strings) that also records duplicate keys in
    ``duplicates`` as (mapping node, first key node, repeated key node)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, Any, Any]] = []
        # Mapping node -> how many merged pairs flattening put in front of its own ones. Kept
        # by node because a mapping merged into another is flattened then, maybe before it is
        # constructed itself (and a second flattening no longer sees its merge keys).
        self._merged: dict[Any, int] = {}

    def reset(self) -> list[tuple[Any, Any, Any]]:
        found, self.duplicates, self._merged = self.duplicates, [], {}
        return found

    def flatten_mapping(self, node: Any) -> None:
        merges = sum(1 for key, _ in node.value if key.tag == _MERGE)
        own = len(node.value) - merges
        super().flatten_mapping(node)
        if merges:
            self._merged[node] = len(node.value) - own

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)  # raises the usual error
        self.flatten_mapping(node)
        own_from = self._merged.get(node, 0)
        mapping: dict[Any, Any] = {}  # keys as goyaml.go_key makes them (any hashable scalar)
        seen: dict[Any, Any] = {}  # key -> its first key node, among the mapping's own pairs
        for i, (key_node, value_node) in enumerate(node.value):
            key = self.construct_key(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            if i >= own_from:
                first = seen.get(key)
                if first is None:
                    seen[key] = key_node
                else:
                    self.duplicates.append((node, first, key_node))
        return mapping


def parse(data: bytes | str, source: str = "input") -> list[Document]:
    """The documents of a YAML stream (``---`` separated) or of concatenated JSON objects, empty
    documents left out. Raises InputError for anything that is not YAML/JSON read safely."""
    text = data if isinstance(data, str) else manifests.decode_text(data, source)
    if len(text) > MAX_INPUT_BYTES:
        raise InputError(f"input is larger than the {MAX_INPUT_BYTES // (1024 * 1024)} MiB limit", source=source)
    if text.lstrip()[:1] in ("{", "["):
        try:
            docs = _parse_json(text, source)
        except _JSONSyntaxError as json_error:
            # YAML flow style ({a: 1}) also starts with a brace; only if it is not YAML either is it bad JSON.
            try:
                docs = _parse_yaml(text, source)
            except InputError:
                raise InputError(json_error.reason, doc=json_error.doc, source=source) from None
    else:
        docs = _parse_yaml(text, source)
    surrogates = manifests.has_surrogate_escapes(text)
    for doc in docs:
        manifests.check_expansion(doc, source, surrogates)
    return docs


def _parse_yaml(text: str, source: str) -> list[Document]:
    lines = Lines(text)
    loader = Loader(text)
    docs: list[Document] = []
    current = 1  # the document being read, for errors
    try:
        while loader.check_node():
            current = len(docs) + 1
            node = loader.get_node()
            if node is None:
                continue
            body = loader.construct_document(node)
            found = loader.reset()
            if body is None:
                continue  # an empty document ("---" with nothing after it) is not a document
            duplicates = _located(node, found, lines) if found else ()
            docs.append(
                Document(
                    len(docs) + 1,
                    lines.of(node.start_mark),
                    body,
                    duplicates,
                    text,
                    (node.start_mark.index, node.end_mark.index),
                )
            )
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise manifests.yaml_input_error(e, lines, current, source) from None
    finally:
        loader.dispose()
    return docs


def _located(root: Any, found: list[tuple[Any, Any, Any]], lines: Lines) -> tuple[Duplicate, ...]:
    """The duplicates a document's loader found, with the path of the mapping that holds each."""
    paths = node_paths(root, {id(mapping) for mapping, _, _ in found})
    return tuple(
        Duplicate(paths.get(id(mapping), ()), _key_text(again), lines.of(again.start_mark), lines.of(first.start_mark))
        for mapping, first, again in found
    )


def node_paths(root: Any, wanted: set[int]) -> dict[int, FieldPath]:
    """Paths (mapping keys as written, sequence indexes) from ``root`` to the nodes whose id is
    in ``wanted``; iterative, and each node visited once (aliases can make cycles)."""
    paths: dict[int, FieldPath] = {}
    stack: list[tuple[Any, FieldPath]] = [(root, ())]
    seen: set[int] = set()
    while stack and len(paths) < len(wanted):
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in wanted:
            paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, (*path, _key_text(key))) for key, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
    return paths


def _key_text(node: Any) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else f"({node.id} key)"


class _JSONSyntaxError(InputError):
    """Not JSON: the text may still be YAML (flow style starts with a brace too)."""


def _parse_json(text: str, source: str) -> list[Document]:
    found: list[tuple[dict[str, Any], list[tuple[str, Any]]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            found.append((obj, pairs))
        return obj

    decoder = json.JSONDecoder(object_pairs_hook=pairs_hook)
    docs: list[Document] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return docs
        index = len(docs) + 1
        line = text.count("\n", 0, pos) + 1
        start = pos
        try:
            body, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise _JSONSyntaxError(
                f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", doc=index, source=source
            ) from None
        except (ValueError, RecursionError) as e:
            # Not a syntax error: YAML would not do better, so it is not tried.
            raise InputError(manifests.limit_problem(e), doc=index, source=source) from None
        duplicates: tuple[Duplicate, ...] = ()
        if found:
            duplicates = _json_duplicates(text[start:pos], line, body, found)
            found.clear()
        docs.append(Document(index, line, body, duplicates, text, (start, pos)))


def _json_duplicates(
    text: str, line: int, body: Any, found: list[tuple[dict[str, Any], list[tuple[str, Any]]]]
) -> tuple[Duplicate, ...]:
    """JSON is YAML too, nearly always: read the document again as YAML for the lines of its
    duplicate keys; where that fails, name the paths (by object identity) at the document's line."""
    try:
        (doc,) = _parse_yaml(text, "")
    except (InputError, ValueError):
        doc = None
    if doc is not None and doc.duplicates:
        return tuple(d._replace(line=d.line + line - 1, first=d.first + line - 1) for d in doc.duplicates)
    paths: dict[int, FieldPath] = {}
    wanted = {id(obj) for obj, _ in found}
    stack: list[tuple[Any, FieldPath]] = [(body, ())]
    while stack and len(paths) < len(wanted):
        value, path = stack.pop()
        if id(value) in wanted:
            paths[id(value)] = path
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    out = []
    for obj, pairs in found:
        counted: set[str] = set()
        for key, _ in pairs:
            if key in counted:
                out.append(Duplicate(paths.get(id(obj), ()), key, line, 0))
            counted.add(key)
    return tuple(out)

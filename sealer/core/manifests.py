"""Reading and writing Kubernetes manifest streams safely: YAML or JSON, one or many documents.

Input is untrusted (it may be anything a developer pipes in), so reading enforces a size limit,
refuses non-UTF-8 bytes, and refuses documents whose aliases expand beyond a node budget
(the "billion laughs" attack): PyYAML shares aliased objects rather than copying them, so the
bomb only explodes when something walks it, which ``check_expansion`` does with a budget.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, Protocol

import yaml

from sealer.core import goyaml
from sealer.core.errors import InputError

# A Secret may hold at most 1 MiB (the API server's limit); a stream of many is bounded so that a
# mistaken `sealer seal < /dev/urandom`-style input fails fast instead of eating memory.
MAX_INPUT_BYTES = int(os.environ.get("SEALER_MAX_INPUT_BYTES", 64 * 1024 * 1024))
# Nodes a document may expand to when its aliases are followed. Real manifests are far below this.
MAX_EXPANDED_NODES = 1_000_000

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# libyaml's C loader and dumper when PyYAML was built with them: chosen at run time, so to mypy
# these bases are Any (hence the two `type: ignore[misc,valid-type]` on the classes below).
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Loader(_BaseLoader):  # type: ignore[misc,valid-type]  # a base chosen at run time (above)
    """Safe loader that resolves plain scalars as Kubernetes' Go tooling does (sealer.core.goyaml):
    `y` is true, `1e3` is a number, timestamps stay strings."""

    yaml_implicit_resolvers = goyaml.implicit_resolvers()  # noqa: RUF012 - PyYAML's own per-class table

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
        # Keys become JSON's string keys as they are constructed: True and 1 are one key in a dict.
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(None, None, "expected a mapping", node.start_mark)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_key(key_node, deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_key(self, key_node: Any, deep: bool = False) -> Any:
        return goyaml.go_key(self.construct_object(key_node, deep=deep))


Loader.add_constructor(goyaml.BOOL_TAG, lambda loader, node: goyaml.construct_bool(loader.construct_scalar(node)))
Loader.add_constructor(goyaml.NUMBER_TAG, lambda loader, node: goyaml.go_number(loader.construct_scalar(node)))


class _GoStyleDumper(_Dumper):  # type: ignore[misc,valid-type]  # a base chosen at run time (above)
    """Quotes and blocks strings as yaml.v2 does, so that YAML output matches kubeseal's bytes."""

    yaml_implicit_resolvers = goyaml.implicit_resolvers()  # noqa: RUF012 - PyYAML's own per-class table


_GoStyleDumper.add_representer(str, goyaml.represent_str)


class Document:
    """One document of a stream: ``index`` is 1-based, ``line`` the 1-based line where it starts.
    (A plain class, not a dataclass: the hooks import this module and count every millisecond.)"""

    __slots__ = ("body", "index", "line")

    def __init__(self, index: int, line: int, body: Any):
        self.index, self.line, self.body = index, line, body

    def __repr__(self) -> str:
        return f"Document(index={self.index}, line={self.line}, body={self.body!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Document) and (self.index, self.line, self.body) == (
            other.index,
            other.line,
            other.body,
        )


def read_bytes(stream: BinaryIO, source: str) -> bytes:
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"input is larger than the {MAX_INPUT_BYTES // (1024 * 1024)} MiB limit", source=source)
    return data


def decode_text(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(f"input is not valid UTF-8 (line {line}, byte {e.start})", source=source) from None
    return text.removeprefix("\ufeff")


def parse_stream(data: bytes | str, source: str = "input") -> list[Document]:
    """Parse a YAML stream (``---`` separated) or concatenated JSON objects. Empty documents are dropped."""
    text = data if isinstance(data, str) else decode_text(data, source)
    if len(text) > MAX_INPUT_BYTES:
        raise InputError(f"input is larger than the {MAX_INPUT_BYTES // (1024 * 1024)} MiB limit", source=source)
    if not text.strip():
        return []  # blank lines and tabs only: no documents, as kubeseal says (PyYAML refuses a tab)
    if looks_like_json(text):
        try:
            docs = list(_parse_json(text, source))
        except InputError as json_error:
            # YAML flow style ({a: 1}) also starts with a brace; only if it is not YAML either is it bad JSON.
            try:
                docs = list(_parse_yaml(text, source))
            except InputError:
                raise json_error from None
    else:
        docs = list(_parse_yaml(text, source))
    surrogates = has_surrogate_escapes(text)
    for doc in docs:
        check_expansion(doc, source, surrogates)
    return docs


def has_surrogate_escapes(text: str) -> bool:
    """Whether the text holds a ``\\uD800``-style escape: only then can a string in it decode to
    a lone surrogate, so only then do the strings need looking at."""
    return _SURROGATE_ESCAPE.search(text) is not None


def _parse_json(text: str, source: str) -> Iterator[Document]:
    decoder = json.JSONDecoder()
    pos, index = 0, 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return
        index += 1
        line = text.count("\n", 0, pos) + 1
        try:
            body, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise InputError(
                f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", doc=index, source=source
            ) from None
        except (ValueError, RecursionError) as e:
            raise InputError(limit_problem(e), doc=index, source=source) from None
        yield Document(index, line, body)


def limit_problem(e: BaseException) -> str:
    # Python refuses integers of over 4,300 digits and nesting deeper than its recursion limit:
    # neither belongs in a manifest.
    return "document is nested too deeply" if isinstance(e, RecursionError) else "a number in it is too large"


class LineNumbers:
    """1-based line numbers as editors count them (by ``\n``). YAML also breaks lines at CR, NEL,
    LS and PS, so a parser's marks can run ahead of what a user sees; only such text pays for
    recounting."""

    _YAML_ONLY_BREAKS = ("\r", "\x85", "\u2028", "\u2029")

    def __init__(self, text: str):
        self._text = text
        self._exotic = any(c in text for c in self._YAML_ONLY_BREAKS)
        self._newlines: list[int] | None = None

    def of(self, mark: yaml.Mark) -> int:
        if not self._exotic:
            return mark.line + 1
        if self._newlines is None:
            self._newlines = [i for i, c in enumerate(self._text) if c == "\n"]
        import bisect

        return bisect.bisect_left(self._newlines, mark.index) + 1


def _parse_yaml(text: str, source: str) -> Iterator[Document]:
    lines = LineNumbers(text)
    loader = Loader(text)
    index = 0
    current = 1  # the document being read, for errors
    try:
        while loader.check_node():
            current = index + 1
            node = loader.get_node()
            if node is None:
                continue
            body = loader.construct_document(node)
            if body is None:
                continue  # an empty document ("---" with nothing after it) is not a document
            index += 1
            yield Document(index, lines.of(node.start_mark), body)
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise yaml_input_error(e, lines, current, source) from None
    finally:
        loader.dispose()


def yaml_input_error(e: Exception, lines: LineNumbers, doc: int, source: str) -> InputError:
    """A parser's failure as the user's error: where (as an editor counts lines) and what."""
    if not isinstance(e, yaml.YAMLError):
        return InputError(limit_problem(e), doc=doc, source=source)
    mark = getattr(e, "problem_mark", None)
    where = f" at line {lines.of(mark)}, column {mark.column + 1}" if mark else ""
    problem = getattr(e, "problem", None) or "invalid YAML"
    return InputError(f"malformed YAML{where}: {problem}", doc=doc, source=source)


class ParsedDocument(Protocol):
    """What check_expansion reads of a document: this module's Document, or the hooks' (which
    also carries duplicate keys and its source text)."""

    @property
    def index(self) -> int: ...

    @property
    def body(self) -> Any: ...


def check_expansion(doc: ParsedDocument, source: str, surrogates: bool = True) -> None:
    """Walk the document with a node budget (PyYAML shares aliased objects, so an alias bomb only
    explodes when something walks it) and, if ``surrogates``, refuse lone UTF-16 surrogates,
    which no output can encode."""
    budget = MAX_EXPANDED_NODES
    stack = [doc.body]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            raise InputError("document expands to too many nodes (YAML alias bomb?)", doc=doc.index, source=source)
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif surrogates and isinstance(node, str) and _SURROGATE.search(node):
            raise InputError("contains an invalid \\u escape (a lone UTF-16 surrogate)", doc=doc.index, source=source)


# --- output -------------------------------------------------------------------------------------

FORMATS = ("json", "yaml")


def dump(objects: list[dict[str, Any]], fmt: str) -> str:
    """Render objects the way kubeseal does: YAML docs each preceded by ``---``, keys sorted;
    JSON pretty-printed (2-space indent), one object after another."""
    if fmt == "yaml":
        return "".join("---\n" + dump_yaml(o) for o in objects)
    return "".join(dump_json(o) + "\n" for o in objects)


# Go's encoding/json escapes these even inside strings (HTML safety); they cannot occur outside one.
_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dump_json(obj: Any) -> str:
    """Pretty JSON with Go's escaping, as kubeseal writes it."""
    return json.dumps(obj, indent=2, ensure_ascii=False).translate(_GO_JSON_ESCAPES)


def dump_yaml(obj: Any) -> str:
    # No line wrapping: sealed values are long base64 strings and must stay on one line.
    return yaml.dump(
        obj, Dumper=_GoStyleDumper, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1 << 30
    )


def output_format(fmt: str | None, path: str | None) -> str:
    """kubeseal's rule: a .yaml/.yml output file forces YAML; otherwise the flag (either case),
    default JSON."""
    if path and path.endswith((".yaml", ".yml")):  # as kubeseal: out.YAML is JSON
        return "yaml"
    fmt = (fmt or "json").lower()
    if fmt not in FORMATS:
        raise InputError(f"unsupported output format: {fmt}")
    return fmt


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")

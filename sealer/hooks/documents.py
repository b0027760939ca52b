"""One file as the hooks see it: its bytes for the cheap checks, and, only when those say it is
worth it, its YAML/JSON documents, the objects in them, and the line of any field."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sealer.core.errors import InputError
from sealer.core.sealing import showable

if TYPE_CHECKING:
    from sealer.hooks.parsing import Document

# sealer.hooks.parsing (and with it PyYAML) is imported only when a file needs parsing: most
# batches pre-commit hands over are source code, for which the byte checks decide alone.

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})

# A field inside a document: keys and list indices, e.g. ("items", 0, "data", "password").
FieldPath = tuple[str | int, ...]


class ManifestFile:
    def __init__(self, path: str, data: bytes):
        self.path = path
        self.data = data
        self.basename = os.path.basename(path)
        self.is_kustomization = self.basename in KUSTOMIZATION_NAMES
        self.is_manifest = self.is_kustomization or path.lower().endswith(MANIFEST_SUFFIXES)
        self._docs: list[Document] | None = None
        self._nodes: dict[int, Any] | None = None
        self._lines: Any = None

    def documents(self) -> list[Document]:
        """The documents; raises InputError if the file is not YAML/JSON we can read safely."""
        from sealer.hooks import parsing

        if self._docs is None:
            if len(self.data) > parsing.MAX_INPUT_BYTES:
                raise InputError("too large to be a manifest", source=self.path)
            self._docs = parsing.parse(self.data, self.path)
        return self._docs

    def line(self, doc: Document, path: FieldPath) -> int:
        """The 1-based line of the deepest part of ``path`` that can be found; the document's line
        if none. Composing the node tree costs a second parse, so it is done only for files that
        have findings, once."""
        node = self._node_index().get(doc.line)
        best = doc.line
        for part in path:
            node, found = _child(node, part, self._lines)
            if node is None:
                break
            best = found
        return best

    def looks_like_helm_template(self) -> bool:
        """Helm templates are not YAML until rendered, so failing to parse them says nothing."""
        if b"{{" in self.data:
            return True
        head, tail = os.path.split(os.path.dirname(os.path.abspath(self.path)))
        while tail:
            if tail == "templates" and os.path.isfile(os.path.join(head, "Chart.yaml")):
                return True
            head, tail = os.path.split(head)
        return False

    def _node_index(self) -> dict[int, Any]:
        if self._nodes is None:
            self._nodes = {}
            import yaml

            from sealer.core import manifests

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            try:
                text = manifests.decode_text(self.data, self.path)
                self._lines = manifests.LineNumbers(text)
                # JSON is YAML here too (near enough for finding lines); where it is not, e.g.
                # concatenated JSON objects, findings keep their document's line.
                for node in yaml.compose_all(text, Loader=loader):
                    if node is not None:
                        self._nodes[self._lines.of(node.start_mark)] = node
            except (yaml.YAMLError, InputError, ValueError, RecursionError):
                pass
        return self._nodes


def _child(node: Any, part: object, lines: Any) -> tuple[Any, int]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value, lines.of(key.start_mark)
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, lines.of(item.start_mark)
    return None, 0


def walk_objects(body: Any, prefix: FieldPath = ()) -> Iterator[tuple[dict[str, Any], FieldPath, list[dict[str, Any]]]]:
    """The objects of a document: the document itself, or the items of a (nested) List, or the
    objects of an OpenShift Template, each with its field path and the Lists/Templates that
    enclose it (outermost first). Iterative: nesting is the input's to choose."""
    stack: list[tuple[Any, FieldPath, list[dict[str, Any]]]] = [(body, prefix, [])]
    while stack:
        obj, path, parents = stack.pop()
        if not isinstance(obj, dict):
            continue
        kind = obj.get("kind")
        field = None
        # A List may come without kind (client-go marshals SecretLists that way).
        if isinstance(obj.get("items"), list) and (kind is None or (isinstance(kind, str) and kind.endswith("List"))):
            field = "items"
        elif kind == "Template" and isinstance(obj.get("objects"), list):
            field = "objects"
        if field is None:
            yield obj, path, parents
            continue
        inner = [*parents, obj]
        stack.extend((item, (*path, field, i), inner) for i, item in reversed(list(enumerate(obj[field]))))


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def annotations_of(obj: dict[str, Any]) -> dict[str, Any]:
    value = metadata(obj).get("annotations")
    return value if isinstance(value, dict) else {}


def display_name(obj: dict[str, Any]) -> str:
    """metadata.name as messages show it: "(unnamed)" if there is none, and, as for any value
    taken from the input, not shown unless it looks like a name."""
    name = metadata(obj).get("name")
    if not isinstance(name, str) or not name:
        return "(unnamed)"
    return name if _NAME.fullmatch(name) else "(a name not shown)"


def describe(obj: dict[str, Any]) -> str:
    """``Kind "name"`` for messages, e.g. ``ConfigMap "settings"``."""
    kind = obj.get("kind")
    return f'{kind if showable(kind) else "object"} "{display_name(obj)}"'


# Messages never echo arbitrary input values (they end up in CI logs): a value is shown only if it
# is a short, plain string (sealer.core.sealing.showable), else as its YAML type.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]{0,252}")  # names: DNS subdomains and then some
_TYPES = {
    type(None): "!!null",
    bool: "!!bool",
    int: "!!int",
    float: "!!float",
    str: "!!str",
    dict: "!!map",
    list: "!!seq",
    bytes: "!!binary",
}


def shown(value: object) -> str:
    """``"value"`` if it is a short, plain string (^[A-Za-z0-9./-]{1,63}$), else ``(a !!type)``."""
    if showable(value):
        return f'"{value}"'
    return f"(a {_TYPES.get(type(value), '!!' + type(value).__name__)})"


def shown_name(value: object, fallback: str) -> str:
    """A name (of a generator, say) in quotes if it looks like one, else ``fallback``."""
    return f'"{value}"' if isinstance(value, str) and _NAME.fullmatch(value) else fallback


def field_text(path: FieldPath) -> str:
    """A field path for messages: ``stringData.password``, ``items.0.data``."""
    return ".".join(map(str, path)) or "(the document itself)"


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def error_line(error: InputError) -> int:
    """The line a parse error names (sealer.core.manifests says "at line N"), else 1."""
    import re

    m = re.search(r"at line (\d+)", error.reason)
    return int(m.group(1)) if m else 1

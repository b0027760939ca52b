"""One file as the hooks see it: its bytes for the cheap checks, and, only when those say it is
worth it, its YAML/JSON documents, the objects in them, and the line of any field."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sealer.errors import InputError

if TYPE_CHECKING:
    from sealer.manifests import Document

# sealer.manifests (and with it PyYAML) is imported only when a file needs parsing: most batches
# pre-commit hands over are source code, for which the byte checks decide alone.

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})

FieldPath = tuple  # a field inside a document, e.g. ("items", 0, "data", "password")


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
        from sealer import manifests

        if self._docs is None:
            if len(self.data) > manifests.MAX_INPUT_BYTES:
                raise InputError("too large to be a manifest", source=self.path)
            self._docs = manifests.parse_stream(self.data, self.path)
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

            from sealer import manifests

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            try:
                text = manifests.decode_text(self.data, self.path)
                self._lines = manifests.LineNumbers(text)
                # JSON is YAML here too (near enough for finding lines); where it is not, e.g.
                # concatenated JSON objects, findings keep their document's line.
                for node in yaml.compose_all(text, Loader=loader):
                    if node is not None:
                        self._nodes[self._lines.of(node.start_mark)] = node
            except (yaml.YAMLError, InputError):
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


def walk_objects(body: Any, prefix: FieldPath = ()) -> Iterator[tuple[dict, FieldPath, list[dict]]]:
    """The objects of a document: the document itself, or the items of a (nested) List, each with
    its field path and the Lists that enclose it (outermost first)."""
    yield from _walk(body, prefix, [])


def _walk(body: Any, prefix: FieldPath, parents: list[dict]) -> Iterator[tuple[dict, FieldPath, list[dict]]]:
    if not isinstance(body, dict):
        return
    items, kind = body.get("items"), body.get("kind")
    # A List may come without kind (client-go marshals SecretLists that way).
    if isinstance(items, list) and (kind is None or (isinstance(kind, str) and kind.endswith("List"))):
        for i, item in enumerate(items):
            yield from _walk(item, (*prefix, "items", i), [*parents, body])
        return
    yield body, prefix, parents


def metadata(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def annotations(obj: dict) -> dict:
    value = metadata(obj).get("annotations")
    return value if isinstance(value, dict) else {}


def display_name(obj: dict) -> str:
    name = metadata(obj).get("name")
    return name if isinstance(name, str) and name else "(unnamed)"


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def error_line(error: InputError) -> int:
    """The line a parse error names (sealer.manifests says "at line N"), else 1."""
    import re

    m = re.search(r"at line (\d+)", error.reason)
    return int(m.group(1)) if m else 1

"""sealer-no-plaintext-secrets: fail on anything that would put a secret's plaintext in Git.

Catches Secrets with data or stringData (also in Lists, OpenShift Templates, multi-document
streams, JSON, and kustomize inline patches), key Secrets (sealing-key backups), PEM private keys
in any file (also base64-encoded, as in tls.key), kustomize secretGenerators with literals or with
files that are tracked in Git, and keys given twice where a Secret may be (parsers keep the last
one, Git keeps both). Passes SealedSecrets, Secrets without data, escrow objects (their shares
are sealed; a malformed one is caught), and Helm templates (with a warning: they are not YAML yet).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sealer.core.errors import InputError
from sealer.hooks import kustomize, pem, plaintext, runner
from sealer.hooks.documents import FieldPath, ManifestFile, describe, error_line, line_of, walk_objects
from sealer.hooks.findings import NO_PLAINTEXT_RULES

if TYPE_CHECKING:
    from sealer.hooks.parsing import Document


_KEY_RULES = ("private-key", "sealing-key-backup")


class NoPlaintext(runner.Hook):
    prog = "sealer-no-plaintext-secrets"
    description = "Fail on plaintext Secrets, key backups, private keys and kustomize secret literals."
    rules = NO_PLAINTEXT_RULES
    annotation_allows = True

    def __init__(self) -> None:
        # Files that kustomizations read: Git is asked about all of them at once, at the end.
        self.refs: list[tuple[ManifestFile, Document, FieldPath, kustomize.FileRef, list[dict[str, Any]]]] = []

    def check_file(self, file: ManifestFile, run: runner.Run) -> None:
        data = file.data
        keys = pem.worth_looking(data)
        if file.is_manifest and (
            keys
            or plaintext.SECRET_KIND.search(data)
            or plaintext.ESCROW_MARK in data
            or (file.is_kustomization and (b"secretGenerator" in data or b"patch" in data))
        ):
            try:
                docs = file.documents()
            except InputError as e:
                self._unparseable(file, e, run)
            else:
                self._check_documents(file, docs, keys, run)
                return
        if keys:
            for offset, what in pem.scan_bytes(data):
                run.hit(
                    file, None, (), "private-key", f"{what}: keep private keys out of Git", line=line_of(data, offset)
                )

    def _check_documents(self, file: ManifestFile, docs: list[Document], keys: bool, run: runner.Run) -> None:
        flagged: set[int] = set()  # documents with a key finding (suppressed ones included)
        for doc in docs:
            before = len(run.findings)
            self._check_document(file, doc, keys, run)
            if any(f.rule in _KEY_RULES for f in run.findings[before:]):
                flagged.add(doc.index)
        if keys:
            # What parsing does not see, the bytes still show: a key in a comment, or a document
            # that is a bare string. Keys inside documents that already have key findings are the
            # ones those findings are about.
            for offset, what in pem.scan_bytes(file.data):
                line = line_of(file.data, offset)
                at = _document_at(docs, line)
                if at is None or at.index not in flagged:
                    objects = [at.body] if at is not None and isinstance(at.body, dict) else []
                    run.hit(file, None, (), "private-key", f"{what}: keep private keys out of Git", objects, line=line)

    def _check_document(self, file: ManifestFile, doc: Document, keys: bool, run: runner.Run) -> None:
        for obj, prefix, parents in walk_objects(doc.body):
            objects = [*parents, obj]
            covered: list[FieldPath] = []  # inline patches with key findings of their own
            if file.is_kustomization:
                for item in kustomize.check_object(obj, file.path):
                    if isinstance(item, kustomize.FileRef):
                        self.refs.append((file, doc, prefix, item, objects))
                    else:
                        rule, field, message = item
                        run.hit(file, doc, (*prefix, *field), rule, message, objects)
                for rule, field, message, inner in kustomize.check_patches(obj, look_for_keys=keys):
                    run.hit(file, doc, (*prefix, *field), rule, message, [*objects, *inner])
                    if rule in _KEY_RULES:
                        covered.append(field)
            for rule, field, message in plaintext.check_object(obj, look_for_keys=keys):
                if rule == "private-key" and any(field[: len(c)] == c for c in covered):
                    continue  # the patch's own finding says more (which Secret, which key)
                run.hit(file, doc, (*prefix, *field), rule, message, objects)
        if doc.duplicates and (file.is_kustomization or plaintext.could_hold_secrets(doc.text())):
            self._duplicates(file, doc, run)

    def _duplicates(self, file: ManifestFile, doc: Document, run: runner.Run) -> None:
        """Keys given twice: what the first holds is not in the parsed view the rules see, so it
        cannot be checked, and fails instead. Reported on the object that holds the key."""
        objects = list(walk_objects(doc.body))
        for dup in doc.duplicates:
            holder, inside, where, depth = None, [], dup.path, -1
            for obj, prefix, parents in objects:  # the innermost object whose path leads to the key
                if len(prefix) > depth and dup.path[: len(prefix)] == prefix:
                    holder, inside, where, depth = obj, [*parents, obj], dup.path[len(prefix) :], len(prefix)
            if holder is None and isinstance(doc.body, dict):
                holder, inside = doc.body, [doc.body]
            who = describe(holder) if holder is not None else f"document {doc.index}"
            message = plaintext.duplicate_message(who, (*where, dup.key), dup.line, dup.first)
            run.hit(file, doc, (), "duplicate-key", message, inside, line=dup.line or doc.line)

    def _unparseable(self, file: ManifestFile, error: InputError, run: runner.Run) -> None:
        if file.looks_like_helm_template():
            run.warn(file.path, "looks like a Helm template, which is not YAML until rendered: not checked for Secrets")
        elif plaintext.looks_like_secret_with_data(file.data):
            run.hit(
                file,
                None,
                (),
                "unparseable-secret",
                f"looks like a Secret with data but cannot be parsed ({error.reason}), so it cannot be checked",
                line=error_line(error),
            )
        else:
            run.warn(file.path, f"cannot parse ({error.reason}): not checked for Secrets")

    def finish(self, run: runner.Run) -> None:
        if not self.refs:
            return
        given = {os.path.normpath(p) for p in run.args.filenames}  # the staged files, under pre-commit
        tracked = kustomize.tracked_in_git([ref.target for _, _, _, ref, _ in self.refs], run.config.root)
        if tracked is None:
            run.warn(self.refs[0][0].path, "cannot ask git which files it tracks: only the files given count")
            tracked = set()
        for file, doc, prefix, ref, objects in self.refs:
            if ref.target in tracked or ref.target in given:
                run.hit(file, doc, (*prefix, *ref.field), "kustomize-secret-file", ref.message, objects)


def _document_at(docs: list[Document], line: int) -> Document | None:
    """The document a line belongs to: the last one starting at or before it (comments before the
    first document belong to the first)."""
    found = docs[0] if docs else None
    for doc in docs:
        if doc.line > line:
            break
        found = doc
    return found


def main(argv: Sequence[str] | None = None) -> int:
    return runner.main(NoPlaintext(), argv)


if __name__ == "__main__":
    sys.exit(main())

"""sealer-validate-sealed: fail on a SealedSecret that the controller would reject or could not open.

Checks apiVersion/kind, name, scope annotations against the template, each encryptedData value's
base64 and framing, and, if .sealer.yaml lists the clusters' certificates, that each SealedSecret
is sealed for one of them (by its sealer.dev/sealing-key hint, else by key size). A strict or
namespace-wide SealedSecret without a namespace is a warning only: kustomize or `kubectl -n` may
set it later; --require-namespace makes it an error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sealer.core.errors import InputError
from sealer.hooks import runner, sealed
from sealer.hooks.documents import ManifestFile, error_line, walk_objects
from sealer.hooks.findings import ERROR, VALIDATE_SEALED_RULES


class ValidateSealed(runner.Hook):
    prog = "sealer-validate-sealed"
    description = "Fail on malformed SealedSecrets, or ones sealed for a key the repository does not expect."
    rules = VALIDATE_SEALED_RULES

    def __init__(self) -> None:
        self._keys: sealed.KnownKeys | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--require-namespace",
            action="store_true",
            help="a strict or namespace-wide SealedSecret without metadata.namespace is an error, not a warning",
        )

    def start(self, run: runner.Run) -> None:
        if run.args.require_namespace:
            run.levels["sealed-namespace"] = ERROR

    def keys(self, run: runner.Run) -> sealed.KnownKeys | None:
        # Loaded on first use only: it needs cryptography's X.509 code.
        if self._keys is None and run.config.certificates:
            self._keys = sealed.KnownKeys.load(run.config.certificates)
        return self._keys

    def check_file(self, file: ManifestFile, run: runner.Run) -> None:
        if not file.is_manifest or not sealed.WORTH_PARSING.search(file.data):
            return
        try:
            docs = file.documents()
        except InputError as e:
            if file.looks_like_helm_template():
                run.warn(file.path, "looks like a Helm template, which is not YAML until rendered: not checked")
            elif b"SealedSecret" in file.data:
                run.hit(
                    file,
                    None,
                    (),
                    "unparseable",
                    f"cannot be parsed ({e.reason}), so its SealedSecrets cannot be checked",
                    line=error_line(e),
                )
            else:
                run.warn(file.path, f"cannot parse ({e.reason}): not checked")
            return
        for doc in docs:
            for obj, prefix, _ in walk_objects(doc.body):
                if sealed.is_sealed_secret(obj):
                    for rule, field, message in sealed.check_object(obj, self.keys(run)):
                        run.hit(file, doc, (*prefix, *field), rule, message)


def main(argv: Sequence[str] | None = None) -> int:
    return runner.main(ValidateSealed(), argv)


if __name__ == "__main__":
    sys.exit(main())

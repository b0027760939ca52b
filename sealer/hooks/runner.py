"""What both hooks share: arguments, reading the files, the allow-list, output and exit status.

Exit status: 0 clean (warnings allowed), 1 on any error-level finding, 2 when the hook cannot run
(a broken .sealer.yaml, say). pre-commit treats every non-zero status as a failure. Never a
traceback: a bug is reported as ``<prog>: error: internal error (<exception type>)``, without the
exception's message, which may quote the input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sealer.core.errors import SealerError
from sealer.hooks import config as configuration
from sealer.hooks import report
from sealer.hooks.documents import FieldPath, ManifestFile
from sealer.hooks.findings import ERROR, Finding

if TYPE_CHECKING:
    from sealer.hooks.parsing import Document


class Run:
    """One hook process: its options, configuration and findings so far."""

    def __init__(self, args: argparse.Namespace, config: configuration.Config, *, annotation_allows: bool):
        self.args = args
        self.config = config
        self.findings: list[Finding] = []
        self.levels: dict[str, str] = {}  # rule id -> level, where an option changes the default
        self._annotation_allows = annotation_allows

    def hit(
        self,
        file: ManifestFile,
        doc: Document | None,
        field: FieldPath,
        rule: str,
        message: str,
        objects: Sequence[dict[str, Any]] = (),
        *,
        line: int | None = None,
    ) -> None:
        if line is None:
            line = file.line(doc, field) if doc is not None else 1
        finding = Finding.of(rule, file.path, line, message)
        finding.level = self.levels.get(rule, finding.level)
        if self._annotation_allows and objects:
            reason, empty = configuration.annotation_reason(list(objects))
            if reason is not None:
                finding.suppressed, finding.suppression = reason, "inSource"
            elif empty:
                finding.message += (
                    f" ({configuration.ALLOW_ANNOTATION} is there but gives no reason, so it does not count)"
                )
        self.findings.append(finding)

    def warn(self, path: str, message: str) -> None:
        print(f"{path}: warning: {message}", file=sys.stderr)


class Hook:
    """One hook: what it checks, and the state it keeps across the files of one process."""

    prog: str
    description: str
    rules: tuple[str, ...]
    # Only the plaintext rules honour sealer.dev/allow-plaintext: it says nothing about whether a
    # SealedSecret is well formed.
    annotation_allows = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def start(self, run: Run) -> None:
        pass

    def check_file(self, file: ManifestFile, run: Run) -> None:
        raise NotImplementedError

    def finish(self, run: Run) -> None:
        pass


def main(hook: Hook, argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog=hook.prog, description=hook.description, formatter_class=_Formatter)
    parser.add_argument("filenames", nargs="*", help="files to check (pre-commit passes the staged ones)")
    parser.add_argument("--format", choices=report.FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"configuration file (default: {configuration.CONFIG_NAME} at the Git repository's root, if any)",
    )
    hook.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run = Run(args, configuration.load(args.config), annotation_allows=hook.annotation_allows)
        hook.start(run)
        for path in args.filenames:
            data = _read(path, run)
            if data is not None:
                hook.check_file(ManifestFile(path, data), run)
        hook.finish(run)
        findings = _settle(run)
        _write(report.render(findings, args.format, tool=hook.prog, rules=hook.rules, relpath=run.config.relpath))
    except SealerError as e:
        message = " ".join(str(e).splitlines())  # one line, whatever the message
        print(f"{hook.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{hook.prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 -- the standard: never a traceback
        print(f"{hook.prog}: error: internal error ({type(e).__name__})", file=sys.stderr)
        return 2
    return 1 if any(f.level == ERROR and f.suppressed is None for f in findings) else 0


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        # A file name that is not UTF-8 (Python keeps its bytes as surrogates), or a terminal
        # that cannot show a character: escape, rather than fail.
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))


class _Formatter(argparse.HelpFormatter):
    # argparse makes a formatter for every add_argument, and the default one imports shutil (and
    # with it bz2, lzma and zlib) for the terminal's width: milliseconds paid at every hook start.
    def __init__(self, prog: str):
        try:
            width = os.get_terminal_size().columns
        except OSError:
            width = 80
        super().__init__(prog, width=max(width - 2, 40))


def _read(path: str, run: Run) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        return None
    except OSError as e:
        run.warn(path, f"cannot read: {e.strerror or e}")
        return None


def _settle(run: Run) -> list[Finding]:
    """Apply .sealer.yaml's allow entries, drop duplicates, and order by file (as given) and line."""
    order = {path: i for i, path in enumerate(run.args.filenames)}
    seen, out = set(), []
    for f in sorted(run.findings, key=lambda f: (order.get(f.path, len(order)), f.line, f.rule, f.message)):
        key = (f.path, f.line, f.rule, f.message)
        if key in seen:
            continue
        seen.add(key)
        if f.suppressed is None and run.config.allow:  # reads .sealer.yaml: only runs with findings get here
            reason = run.config.allowed(run.config.relpath(f.path), f.rule)
            if reason is not None:
                f.suppressed, f.suppression = reason, "external"
        out.append(f)
    return out

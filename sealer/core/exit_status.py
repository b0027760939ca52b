"""The exit statuses of every sealer program: the CLI, the pre-commit hooks and the controller.

Scripts and CI gate on these, so they mean the same everywhere (docs/architecture.md lists them).
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    """Done. Hooks: nothing to report. Controller: stopped cleanly (SIGTERM)."""
    FAILURE = 1
    """Could not do what was asked: bad input, a cluster that refuses or cannot be reached, a key
    that does not open. Hooks: findings. kubeseal exits 1 for all of these too."""
    USAGE = 2
    """The command line or configuration is wrong; nothing was attempted."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C: 128 + SIGINT)."""

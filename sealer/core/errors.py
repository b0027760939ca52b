"""Errors a user can act on. Messages name the document and field, never a secret value."""

from __future__ import annotations

from sealer.core.exit_status import ExitStatus


class SealerError(Exception):
    """Base class: the CLI prints ``error: <str(exc)>`` and exits with ``exit_status`` (1)."""

    exit_status = ExitStatus.FAILURE


class InputError(SealerError):
    """Bad input document. ``doc`` is 1-based; ``field`` a dotted path like ``data.password``."""

    def __init__(self, message: str, *, doc: int | None = None, field: str | None = None, source: str | None = None):
        self.reason = message
        self.doc = doc
        self.field = field
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.doc is not None:
            where.append(f"document {self.doc}")
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class CertificateError(SealerError):
    """The certificate to seal with cannot be used."""


class PrivateKeyError(SealerError):
    """A private key cannot be read or used."""


class UnsealError(SealerError):
    """A SealedSecret cannot be opened."""


class UsageError(SealerError):
    """Flags or configuration that contradict each other; nothing was attempted (exit 2)."""

    exit_status = ExitStatus.USAGE

"""The API server's refusals as typed errors, and their one-line, value-free summary.

``except ApiError`` and ``e.status`` keep working for every caller; the subclasses name the answers
callers act on (a missing object, a taken name, an expired watch, a rejected body, a missing right).
``message`` is the server's text and may quote what was sent (an admission webhook's, a
validation message); ``summary`` never does: status, reason and the names of the offending fields.
"""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """``message`` is the server's text and may quote what was sent; ``summary`` never does."""

    def __init__(self, status: int, reason: str, message: str, summary: str = "", *, server_message: str = ""):
        self.status, self.reason, self.message = status, reason, message
        self.summary = summary or f"{status} {reason}".strip()
        #: The Status object's own message ("" when the answer had none): for errors that may quote it.
        self.server_message = server_message
        super().__init__(f"{status} {reason}: {message}")


class Forbidden(ApiError):
    """403: the credentials lack a right (RBAC)."""


class NotFound(ApiError):
    """404: no such object (or no such resource type)."""


class Conflict(ApiError):
    """409: the name is taken, or the object changed since it was read."""


class Gone(ApiError):
    """410: the resourceVersion has expired (a watch must re-list)."""


class Invalid(ApiError):
    """422: the server rejected the object (a field, an immutable Secret...)."""


_BY_STATUS: dict[int, type[ApiError]] = {403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone, 422: Invalid}


def api_error(status: int, reason: str, message: str, summary: str = "", *, server_message: str = "") -> ApiError:
    """The ApiError subclass for ``status`` (ApiError itself for the others)."""
    return _BY_STATUS.get(status, ApiError)(status, reason, message, summary, server_message=server_message)


def status_summary(status: int, reason: str, body: bytes | str | None) -> str:
    """The API server's answer to a failed call on one line, without its message: only the status,
    reason and the names of the offending fields (the message may quote the values sent)."""
    doc = _status_object(body)
    reason = doc.get("reason") or reason or ""
    causes = ((doc.get("details") or {}).get("causes")) or []
    fields = sorted({str(c.get("field")) for c in causes if isinstance(c, dict) and c.get("field")})
    return f"{status} {reason}".strip() + (f" (fields: {', '.join(fields)})" if fields else "")


def from_response(status: int, reason: str | None, body: bytes | None) -> ApiError:
    """The typed error for a non-2xx answer, from its Status object when it has one."""
    doc = _status_object(body)
    if doc:
        server_message = " ".join(str(doc.get("message") or "").split())
        reason = doc.get("reason") or reason
        message = server_message
    else:
        server_message = ""
        message = (body or b"").decode("utf-8", "replace")[:200]
    summary = status_summary(status, str(reason or ""), body)
    return api_error(
        status,
        str(reason or ""),
        " ".join(str(message or reason or status).split()),
        summary,
        server_message=server_message,
    )


def _status_object(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return doc if isinstance(doc, dict) else {}

"""sealer.kube.errors: each status to its typed error, and summaries that never carry the message."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealer.kube.errors import ApiError, Conflict, Forbidden, Gone, Invalid, NotFound, api_error, from_response


@pytest.mark.parametrize(
    ("status", "cls"),
    [(403, Forbidden), (404, NotFound), (409, Conflict), (410, Gone), (422, Invalid), (500, ApiError), (401, ApiError)],
)
def test_status_picks_the_type(status, cls):
    error = from_response(status, "Reason", json.dumps({"kind": "Status", "message": "m"}).encode())
    assert type(error) is cls and isinstance(error, ApiError) and error.status == status
    assert type(api_error(status, "Reason", "m")) is cls


def test_status_object_fields():
    body = {
        "kind": "Status",
        "reason": "Invalid",
        "message": 'Secret "x" is invalid: data[k]: "s3cr3t"',
        "details": {"causes": [{"field": "data[k]"}, {"field": "metadata.name"}, {"field": "data[k]"}]},
    }
    error = from_response(422, "Unprocessable Entity", json.dumps(body).encode())
    assert error.reason == "Invalid" and error.server_message == body["message"] and error.message == body["message"]
    assert error.summary == "422 Invalid (fields: data[k], metadata.name)"


@pytest.mark.parametrize("body", [b"", b"<html>bad gateway</html>", b"[1, 2]", b"null"])
def test_answers_without_a_status_object(body):
    error = from_response(502, "Bad Gateway", body)
    assert error.server_message == "" and error.summary == "502 Bad Gateway"
    assert error.message == (body.decode() or "Bad Gateway")  # a proxy's page is not the server's Status


@given(st.text(min_size=1), st.sampled_from([400, 403, 404, 409, 410, 422, 500]))
def test_summary_never_quotes_the_message(message, status):
    body = json.dumps({"kind": "Status", "reason": "Denied", "message": message}).encode()
    error = from_response(status, "Reason", body)
    assert error.summary == f"{status} Denied"

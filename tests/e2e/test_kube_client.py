"""sealer.kube against the real API server: each refusal arrives as its typed error, still an
ApiError with its status, and its summary never quotes what was sent."""

from __future__ import annotations

import pytest

from sealer.kube import ApiError, Conflict, Forbidden, Gone, Invalid, Kube, NotFound, secret_path

VALUE = "dG9wLXNlY3JldC12YWx1ZQ=="  # what a refused write carried: never in a summary


@pytest.fixture
def client(kube):
    return Kube(kube)


def test_not_found_and_conflict(client, namespace):
    assert client.get(secret_path(namespace, "missing")) is None
    with pytest.raises(NotFound) as missing:
        client.request("GET", secret_path(namespace, "missing"))
    assert isinstance(missing.value, ApiError) and missing.value.status == 404
    assert missing.value.summary == "404 NotFound"

    body = {"metadata": {"name": "taken"}, "data": {"k": VALUE}}
    client.create(secret_path(namespace), body)
    with pytest.raises(Conflict) as taken:
        client.create(secret_path(namespace), body)
    assert taken.value.status == 409 and "already exists" in taken.value.server_message
    assert VALUE not in taken.value.summary


def test_invalid_names_fields_not_values(client, namespace):
    with pytest.raises(Invalid) as bad:
        client.create(secret_path(namespace), {"metadata": {"name": "Not_A_Name"}, "data": {"k": VALUE}})
    assert bad.value.status == 422 and bad.value.summary.startswith("422 Invalid (fields: metadata.name)")
    assert "Not_A_Name" in bad.value.message and "Not_A_Name" not in bad.value.summary


def test_forbidden(control_plane, namespace):
    kubeconfig = control_plane.kubeconfig_for_service_account(namespace, "nobody")
    with control_plane.api_client(kubeconfig) as api, pytest.raises(Forbidden) as denied:
        Kube(api).list(secret_path(namespace))
    assert denied.value.status == 403 and denied.value.summary == "403 Forbidden"


def test_expired_watch_is_gone(control_plane, client, namespace):
    old = client.create(secret_path(namespace), {"metadata": {"name": "s"}})["metadata"]["resourceVersion"]
    client.merge_patch(secret_path(namespace, "s"), {"metadata": {"labels": {"n": "1"}}})
    control_plane.restart_apiserver()  # the watch cache restarts at the current revision
    with pytest.raises(Gone) as expired:
        for _ in client.watch(secret_path(namespace), old, timeout_seconds=10):
            pass
    assert expired.value.status == 410

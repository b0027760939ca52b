"""The e2e control plane is a real Kubernetes: storage, CRDs, watch, GC, restarts, 410, RBAC."""

from __future__ import annotations

import base64
import secrets

import kubernetes
import pytest
from kubernetes.client import ApiException

from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL = "e2e.sealer.test", "v1", "widgets"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


def gone(read) -> bool:
    try:
        read()
    except ApiException as e:
        if e.status == 404:
            return True
        raise
    return False


def status_of(call) -> int:
    try:
        call()
    except ApiException as e:
        return e.status
    return 200


@pytest.fixture(scope="module")
def widgets(control_plane):
    control_plane.apply_crd(WIDGET_CRD)


def test_secret_round_trip(kube, namespace):
    core = kubernetes.client.CoreV1Api(kube)
    value = base64.b64encode(b"s3cr3t").decode()
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "db"}, "type": "Opaque", "data": {"password": value}}
    )

    secret = core.read_namespaced_secret("db", namespace)
    assert secret.data == {"password": value}
    assert secret.type == "Opaque"
    assert secret.metadata.uid and secret.metadata.resource_version


def test_kubectl_helper(control_plane, namespace):
    out = control_plane.kubectl("get", "namespace", namespace, "-o", "name").stdout
    assert out.strip() == f"namespace/{namespace}"


def test_custom_resource_status_subresource(kube, namespace, widgets):
    objs = kubernetes.client.CustomObjectsApi(kube)
    created = objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 3},
            "status": {"phase": "ignored"},
        },
    )
    assert "status" not in created  # with a status subresource, the main endpoint drops it

    objs.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "w", {"status": {"phase": "Ready"}})
    w = objs.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w")
    assert w["spec"] == {"size": 3} and w["status"] == {"phase": "Ready"}
    assert w["metadata"]["generation"] == 1  # status writes do not bump the generation


def test_watch_sees_added_and_modified(kube, namespace, widgets):
    objs = kubernetes.client.CustomObjectsApi(kube)
    since = objs.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["metadata"]["resourceVersion"]
    objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}},
    )
    objs.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "w", {"status": {"phase": "Ready"}})

    events = []
    watch = kubernetes.watch.Watch()
    for ev in watch.stream(
        objs.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        resource_version=since,
        timeout_seconds=15,
    ):
        events.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"].get("status")))
        if len(events) == 2:
            watch.stop()
    assert events == [("ADDED", "w", None), ("MODIFIED", "w", {"phase": "Ready"})]


def test_garbage_collector_deletes_dependents(kube, namespace):
    core = kubernetes.client.CoreV1Api(kube)
    parent = core.create_namespaced_config_map(namespace, {"metadata": {"name": "parent"}})
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "child",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": parent.metadata.uid}
                ],
            }
        },
    )

    core.delete_namespaced_config_map("parent", namespace)
    eventually(lambda: gone(lambda: core.read_namespaced_secret("child", namespace)))


def test_garbage_collector_follows_custom_resource_owners(kube, namespace, widgets):
    # What the controller relies on: deleting a SealedSecret removes the Secret it owns.
    core = kubernetes.client.CoreV1Api(kube)
    objs = kubernetes.client.CustomObjectsApi(kube)
    owner = objs.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": "owner"}},
    )
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "owned",
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "Widget",
                        "name": "owner",
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            }
        },
    )

    objs.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "owner")
    # Well under the garbage collector's 30 s rediscovery: apply_crd made it see Widgets.
    eventually(lambda: gone(lambda: core.read_namespaced_secret("owned", namespace)), timeout=15)


def test_namespace_controller_finishes_deletion(kube):
    core = kubernetes.client.CoreV1Api(kube)
    name = f"doomed-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_secret(name, {"metadata": {"name": "s"}})
    # A fresh namespace gets its default ServiceAccount from the serviceaccount controller.
    eventually(lambda: not gone(lambda: core.read_namespaced_service_account("default", name)))

    core.delete_namespace(name)
    eventually(lambda: gone(lambda: core.read_namespace(name)), timeout=60)


def test_restart_apiserver_same_client_reconnects(control_plane, kube, namespace):
    core = kubernetes.client.CoreV1Api(kube)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "before"}})

    control_plane.restart_apiserver()

    assert core.read_namespaced_secret("before", namespace).metadata.name == "before"
    core.create_namespaced_secret(namespace, {"metadata": {"name": "after"}})


def test_watch_from_compacted_revision_is_gone(control_plane, kube, namespace):
    # ConfigMaps bypass the watch cache (see cluster.py), so this watch is served by etcd.
    core = kubernetes.client.CoreV1Api(kube)
    old = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cm"}, "data": {"n": "0"}}
    ).metadata.resource_version
    for n in range(1, 4):
        core.patch_namespaced_config_map("cm", namespace, {"data": {"n": str(n)}})

    assert control_plane.compact_etcd() > int(old)

    with pytest.raises(ApiException) as err:
        for _ in kubernetes.watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=old, timeout_seconds=10
        ):
            pass
    assert err.value.status == 410


def test_cached_watch_from_before_a_restart_is_gone(control_plane, kube, namespace):
    # Secrets are in the watch cache, which serves history from memory whatever etcd compacted.
    # A restarted apiserver rebuilds that cache at the current revision, so a watch resuming
    # from an older resourceVersion gets 410 and must relist. Controller tests can use
    # restart_apiserver() to put their informers through exactly that.
    core = kubernetes.client.CoreV1Api(kube)
    old = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}}).metadata.resource_version
    core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"n": "1"}}})
    control_plane.restart_apiserver()

    with pytest.raises(ApiException) as err:
        for _ in kubernetes.watch.Watch().stream(
            core.list_namespaced_secret, namespace, resource_version=old, timeout_seconds=10
        ):
            pass
    assert err.value.status == 410


def test_service_account_needs_rbac(control_plane, namespace):
    kubeconfig = control_plane.kubeconfig_for_service_account(namespace, "reader")
    with control_plane.api_client(kubeconfig) as api:
        review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review({})
        assert review.status.user_info.username == f"system:serviceaccount:{namespace}:reader"

        core = kubernetes.client.CoreV1Api(api)
        assert status_of(lambda: core.list_namespaced_secret(namespace)) == 403

        with control_plane.api_client() as admin:
            rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
            rbac.create_namespaced_role(
                namespace,
                {
                    "metadata": {"name": "secret-reader"},
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
                },
            )
            rbac.create_namespaced_role_binding(
                namespace,
                {
                    "metadata": {"name": "secret-reader"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
                },
            )

        eventually(lambda: status_of(lambda: core.list_namespaced_secret(namespace)) == 200, 10)
        assert status_of(lambda: core.list_namespaced_secret("default")) == 403
        assert status_of(lambda: core.read_namespaced_secret("any", namespace)) == 403  # no "get"

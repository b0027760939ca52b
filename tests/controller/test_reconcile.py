"""The controller's pure decision over the full matrix, without a cluster."""

from __future__ import annotations

import base64

import pytest

from controller.reconcile import ERR_UNSEAL, ERR_UPDATE, UNSEALED, decide
from sealer.core import unsealing
from sealer.core.certs import parse_certificate
from sealer.core.keyset import KeySet
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION, SKIP_SET_OWNER_REFERENCES_ANNOTATION, Scope
from sealer.core.sealing import Sealer

B = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731


@pytest.fixture(scope="module")
def keys(test_key):
    return KeySet([test_key.private_key])


@pytest.fixture(scope="module")
def seal(test_key):
    sealer = Sealer(parse_certificate(test_key.cert_pem))

    def make(items=None, *, name="testsecret", ns="ns", scope=None, labels=None, annotations=None, **template):
        doc = {
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels or {"mylabel": "myvalue"},
                "annotations": annotations or {},
            },
            "stringData": items if items is not None else {"foo": "bar"},
        }
        doc.update(template)
        sealed = sealer.seal_secret(doc, scope=scope, allow_empty_data=True)
        sealed["metadata"]["uid"] = "uid-1"
        sealed["metadata"]["generation"] = 1
        return sealed

    return make


def existing(data=None, *, annotations=None, labels=None, owner_uid=None, immutable=None):
    meta = {"name": "testsecret", "namespace": "ns", "resourceVersion": "7"}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    if owner_uid:
        meta["ownerReferences"] = [
            {
                "apiVersion": "bitnami.com/v1alpha1",
                "kind": "SealedSecret",
                "name": "testsecret",
                "uid": owner_uid,
                "controller": True,
            }
        ]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data or {}}
    if immutable is not None:
        secret["immutable"] = immutable
    return secret


def test_create_when_absent(seal, keys):
    plan = decide(seal(), keys, None)
    assert plan.action == "create" and plan.result.ok and plan.result.reason == UNSEALED
    s = plan.secret
    assert s["data"] == {"foo": B("bar")} and s["metadata"]["labels"] == {"mylabel": "myvalue"}
    assert s["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "name": "testsecret",
            "uid": "uid-1",
            "controller": True,
        }
    ]
    assert [e.reason for e in plan.events] == [UNSEALED]


def test_nothing_to_do_when_owned_secret_matches(seal, keys):
    sealed = seal()
    first = decide(sealed, keys, None).secret
    plan = decide(sealed, keys, {**first, "metadata": {**first["metadata"], "resourceVersion": "9"}})
    assert plan.action == "none" and plan.result.ok and plan.events == []


def test_update_owned(seal, keys):
    plan = decide(
        seal({"foo": "baz"}), keys, existing({"foo": B("bar")}, owner_uid="uid-1", labels={"mylabel": "myvalue"})
    )
    assert plan.action == "update" and plan.secret["data"] == {"foo": B("baz")}
    assert plan.secret["metadata"]["resourceVersion"] == "7"  # optimistic concurrency on the write


def test_foreign_secret_is_left_alone(seal, keys):
    plan = decide(seal(), keys, existing({"foo": B("x")}))
    assert plan.action == "none" and not plan.result.ok and plan.error_reason == "unmanaged"
    assert (
        plan.result.message == 'failed update: Resource "testsecret" already exists and is not managed by SealedSecret'
    )
    assert plan.events[0].message == 'Resource "testsecret" already exists and is not managed by SealedSecret'
    assert plan.events[0].reason == ERR_UPDATE and plan.retry


def test_managed_takes_over(seal, keys):
    plan = decide(
        seal(),
        keys,
        existing(
            {"foo": B("bar1"), "foo2": B("bar2")},
            annotations={MANAGED_ANNOTATION: "true"},
            labels={"mylabel": "x", "anotherlabel": "y"},
        ),
    )
    s = plan.secret
    assert plan.action == "update" and s["data"] == {"foo": B("bar")}
    assert "annotations" not in s["metadata"] and s["metadata"]["labels"] == {"mylabel": "myvalue"}
    assert s["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_managed_and_patch_merge_and_take_ownership(seal, keys):
    ann = {MANAGED_ANNOTATION: "true", PATCH_ANNOTATION: "true"}
    s = decide(
        seal(), keys, existing({"foo": B("bar1"), "foo2": B("bar2")}, annotations=ann, labels={"anotherlabel": "y"})
    ).secret
    assert s["data"] == {"foo": B("bar"), "foo2": B("bar2")}
    assert s["metadata"]["annotations"] == ann and s["metadata"]["labels"] == {
        "anotherlabel": "y",
        "mylabel": "myvalue",
    }
    assert s["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_patch_only_merges_without_ownership(seal, keys):
    s = decide(seal(), keys, existing({"foo2": B("bar2")}, annotations={PATCH_ANNOTATION: "true"})).secret
    assert s["data"] == {"foo": B("bar"), "foo2": B("bar2")} and "ownerReferences" not in s["metadata"]
    assert s["metadata"]["annotations"] == {PATCH_ANNOTATION: "true"}


def test_patch_into_empty_secret(seal, keys):
    empty = existing(annotations={PATCH_ANNOTATION: "true"})
    del empty["data"]
    s = decide(seal(), keys, empty).secret
    assert s["data"] == {"foo": B("bar")} and s["metadata"]["labels"] == {"mylabel": "myvalue"}


def test_wrong_key(seal, other_key):
    plan = decide(seal(), KeySet([other_key.private_key]), None)
    assert not plan.result.ok and plan.result.reason == ERR_UNSEAL and plan.error_reason == "unseal"
    assert plan.result.message == "no key could decrypt secret (foo)"  # Bitnami's status wording
    assert plan.events[0].message == "Failed to unseal: no key could decrypt secret (foo)"


@pytest.mark.parametrize(
    ("scope", "rename_ok", "move_ok"),
    [(Scope.STRICT, False, False), (Scope.NAMESPACE_WIDE, True, False), (Scope.CLUSTER_WIDE, True, True)],
)
def test_scope_matrix(seal, keys, scope, rename_ok, move_ok):
    for field, value, allowed in (("name", "not-testsecret", rename_ok), ("namespace", "other", move_ok)):
        sealed = seal(scope=scope)
        sealed["metadata"][field] = value
        plan = decide(sealed, keys, None)
        assert plan.result.ok is allowed, (field, plan.result.message)
        if allowed:
            assert plan.secret["metadata"][field] == value  # name/namespace come from the SealedSecret


def test_custom_type_and_immutable(seal, keys):
    s = decide(
        seal({".dockerconfigjson": "{}"}, type="kubernetes.io/dockerconfigjson", immutable=True), keys, None
    ).secret
    assert s["type"] == "kubernetes.io/dockerconfigjson" and s["immutable"] is True


def test_immutable_secret_change_is_refused_without_retry(seal, keys):
    plan = decide(seal({"foo": "baz"}), keys, existing({"foo": B("bar")}, owner_uid="uid-1", immutable=True))
    assert not plan.result.ok and not plan.retry and "the target Secret is immutable" in plan.result.message


def test_skip_owner_references(seal, keys):
    s = decide(seal(annotations={SKIP_SET_OWNER_REFERENCES_ANNOTATION: "true"}), keys, None).secret
    assert "ownerReferences" not in s["metadata"]


def test_template_data_renders(seal, keys, monkeypatch):
    sealed = seal({"user": "admin", "password": "p"})
    sealed["spec"]["template"]["data"] = {"dsn": "x"}
    rendered = {}

    def fake(template_data, items):  # the engine is tested on its own; here: the wiring
        rendered.update(items)
        return {"dsn": b"postgres://admin:p@db"}

    monkeypatch.setattr(unsealing, "render_template_data", fake)
    s = decide(sealed, keys, None).secret
    assert rendered == {"user": b"admin", "password": b"p"}
    assert base64.b64decode(s["data"]["dsn"]) == b"postgres://admin:p@db"


def test_no_value_in_any_message(seal, other_key):
    plan = decide(seal({"foo": "very-secret-value"}), KeySet([other_key.private_key]), None)
    assert "very-secret-value" not in plan.result.message


def test_template_data_with_the_real_engine(seal, keys):
    sealed = seal({"user": "admin", "password": "p@ss"})
    sealed["spec"]["template"]["data"] = {
        "dsn": 'postgres://{{ .user }}:{{ index . "password" }}@db/app',
        "config.yaml": 'user: {{ .user | quote }}\nurl: {{ printf "https://%s.example" (lower .user) }}\n',
        "literal": "no template here",
    }
    data = {k: base64.b64decode(v).decode() for k, v in decide(sealed, keys, None).secret["data"].items()}
    assert data["dsn"] == "postgres://admin:p@ss@db/app"
    assert data["config.yaml"] == 'user: "admin"\nurl: https://admin.example\n'
    assert data["literal"] == "no template here" and data["user"] == "admin"


@pytest.mark.parametrize("template", ["{{ randAlphaNum 8 }}", "{{ .user", '{{ env "HOME" }}'])
def test_bad_template_fails_that_sealed_secret_only(seal, keys, template):
    sealed = seal({"user": "admin"})
    sealed["spec"]["template"]["data"] = {"x": template}
    plan = decide(sealed, keys, None)
    assert not plan.result.ok and plan.result.reason == ERR_UNSEAL and "template data.x" in plan.result.message

"""Secret -> SealedSecret (pure library), merge-into, and unsealing back."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.core import manifests
from sealer.core.certs import parse_certificate
from sealer.core.errors import InputError, UnsealError
from sealer.core.keyset import KeySet
from sealer.core.scope import CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from sealer.core.sealing import NamespaceChoice, Sealer, merge_into
from sealer.core.unsealing import open_items, unseal


@pytest.fixture(scope="module")
def sealer_(test_key):
    return Sealer(parse_certificate(test_key.cert_pem))


@pytest.fixture(scope="module")
def keys(test_key):
    return KeySet([test_key.private_key])


def secret(**kw):
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": {"password": "hunter2"},
    }
    doc.update(kw)
    return doc


def test_shape_matches_kubeseal(sealer_, test_key):
    out = sealer_.seal_secret(secret(type="Opaque", metadata={"name": "db", "namespace": "prod", "labels": {"a": "b"}}))
    assert list(out) == ["kind", "apiVersion", "metadata", "spec"]
    assert out["apiVersion"] == "bitnami.com/v1alpha1" and out["kind"] == "SealedSecret"
    assert out["metadata"]["name"] == "db" and out["metadata"]["namespace"] == "prod"
    assert out["metadata"]["annotations"] == {KEY_HINT_ANNOTATION: parse_certificate(test_key.cert_pem).fingerprint}
    assert list(out["spec"]) == ["template", "encryptedData"]
    assert out["spec"]["template"] == {
        "metadata": {"name": "db", "namespace": "prod", "labels": {"a": "b"}},
        "type": "Opaque",
    }
    assert list(out["spec"]["encryptedData"]) == ["password"]


def test_round_trip_through_unseal(sealer_, keys):
    sealed = sealer_.seal_secret(
        secret(data={"a": base64.b64encode(b"\x00\xff").decode()}, type="kubernetes.io/basic-auth", immutable=True)
    )
    out = unseal(sealed, keys)
    assert out["data"] == {"a": "AP8=", "password": base64.b64encode(b"hunter2").decode()}
    assert out["type"] == "kubernetes.io/basic-auth" and out["immutable"] is True
    assert out["metadata"]["name"] == "db" and out["metadata"]["namespace"] == "prod"


def test_string_data_wins_over_data(sealer_, keys):
    sealed = sealer_.seal_secret(secret(data={"password": base64.b64encode(b"old").decode()}))
    assert open_items(sealed, keys) == {"password": b"hunter2"}


def test_server_fields_and_last_applied_are_dropped(sealer_):
    meta = {
        "name": "db",
        "namespace": "prod",
        "uid": "u",
        "resourceVersion": "1",
        "creationTimestamp": "2020-01-01T00:00:00Z",
        "managedFields": [{}],
        "ownerReferences": [{"name": "x"}],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"},
    }
    template_meta = sealer_.seal_secret(secret(metadata=meta))["spec"]["template"]["metadata"]
    assert template_meta == {"name": "db", "namespace": "prod", "annotations": {"keep": "me"}}


@pytest.mark.parametrize(
    ("annotations", "flag", "expected"),
    [
        ({}, None, Scope.STRICT),
        ({NAMESPACE_WIDE_ANNOTATION: "true"}, None, Scope.NAMESPACE_WIDE),
        ({CLUSTER_WIDE_ANNOTATION: "true"}, None, Scope.CLUSTER_WIDE),
        ({CLUSTER_WIDE_ANNOTATION: "true", NAMESPACE_WIDE_ANNOTATION: "true"}, None, Scope.CLUSTER_WIDE),
        ({NAMESPACE_WIDE_ANNOTATION: "yes"}, None, Scope.STRICT),
        ({}, Scope.NAMESPACE_WIDE, Scope.NAMESPACE_WIDE),
        ({CLUSTER_WIDE_ANNOTATION: "true"}, Scope.STRICT, Scope.STRICT),
    ],
)
def test_scope_resolution_and_annotations(sealer_, keys, annotations, flag, expected):
    sealed = sealer_.seal_secret(
        secret(metadata={"name": "db", "namespace": "prod", "annotations": annotations}), scope=flag
    )
    top = sealed["metadata"].get("annotations", {})
    assert Scope.from_annotations(top) is expected
    assert Scope.from_annotations(sealed["spec"]["template"]["metadata"].get("annotations")) is expected
    # The scope is enforced by the label: rename and move as the scope allows.
    renamed = json.loads(json.dumps(sealed))
    renamed["metadata"]["name"] = "other"
    moved = json.loads(json.dumps(sealed))
    moved["metadata"]["namespace"] = "elsewhere"
    for variant, may_open in ((renamed, expected is not Scope.STRICT), (moved, expected is Scope.CLUSTER_WIDE)):
        if may_open:
            assert open_items(variant, keys) == {"password": b"hunter2"}
        else:
            with pytest.raises(UnsealError, match=r"no key could decrypt secret \(password\)"):
                open_items(variant, keys)


def test_namespace_resolution(sealer_):
    no_ns = secret(metadata={"name": "db"})
    assert sealer_.seal_secret(no_ns)["metadata"]["namespace"] == "default"
    assert sealer_.seal_secret(no_ns, namespace=NamespaceChoice(None, "fromctx"))["metadata"]["namespace"] == "fromctx"
    assert sealer_.seal_secret(no_ns, namespace=NamespaceChoice("flag", "fromctx"))["metadata"]["namespace"] == "flag"
    assert sealer_.seal_secret(secret(), namespace=NamespaceChoice("prod"))["metadata"]["namespace"] == "prod"
    with pytest.raises(
        InputError, match='namespace mismatch: input secret is in namespace "prod" but "dev" was specified'
    ):
        sealer_.seal_secret(secret(), namespace=NamespaceChoice("dev"))
    cluster_wide = sealer_.seal_secret(no_ns, scope=Scope.CLUSTER_WIDE)
    assert "namespace" not in cluster_wide["metadata"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "document 1: expected a Secret object, found a list"),
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "document 1, field kind: is a ConfigMap, not a Secret"),
        ({"kind": "List", "items": []}, "document 1, field kind: is a List"),
        ({"kind": "Secret", "metadata": {}}, "field metadata.name: missing metadata.name"),
        ({"kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "!!!"}}, "field data.k: is not valid base64"),
        ({"kind": "Secret", "metadata": {"name": "x"}}, "field data: secret.data is empty"),
        (
            {"kind": "Secret", "metadata": {"name": "x"}, "stringData": {"port": {"a": 1}}},
            "field stringData.port: must be a string",
        ),
        (
            {"kind": "Secret", "apiVersion": "v2", "metadata": {"name": "x"}, "stringData": {"a": "b"}},
            "field apiVersion",
        ),
    ],
)
def test_bad_secrets_name_document_and_field(sealer_, doc, message):
    with pytest.raises(InputError) as e:
        sealer_.seal_secret(doc, 1)
    assert message in str(e.value)


def test_allow_empty_data(sealer_):
    sealed = sealer_.seal_secret({"kind": "Secret", "metadata": {"name": "x", "namespace": "n"}}, allow_empty_data=True)
    assert sealed["spec"]["encryptedData"] == {}


def test_too_large_secret_is_refused(sealer_):
    with pytest.raises(InputError, match="1 MiB"):
        sealer_.seal_secret(secret(stringData={"big": "x" * (1024 * 1024 + 1)}))


def test_merge_into_keeps_untouched_items_and_adds_new(sealer_, keys):
    original = sealer_.seal_secret(secret(stringData={"a": "1", "b": "2"}))
    addition = sealer_.seal_secret(
        secret(stringData={"b": "22", "c": "3"}, metadata={"name": "db", "namespace": "prod", "labels": {"x": "y"}})
    )
    merged = merge_into(original, addition)
    assert merged["spec"]["encryptedData"]["a"] == original["spec"]["encryptedData"]["a"]
    assert open_items(merged, keys) == {"a": b"1", "b": b"22", "c": b"3"}
    assert merged["spec"]["template"]["metadata"]["labels"] == {"x": "y"}


def test_merge_into_records_both_key_hints(sealer_, other_key, keys, test_key):
    original = Sealer(parse_certificate(other_key.cert_pem)).seal_secret(secret(stringData={"a": "1"}))
    merged = merge_into(original, sealer_.seal_secret(secret(stringData={"b": "2"})))
    hints = merged["metadata"]["annotations"][KEY_HINT_ANNOTATION].split(",")
    assert hints == [
        parse_certificate(test_key.cert_pem).fingerprint,
        parse_certificate(other_key.cert_pem).fingerprint,
    ]
    both = KeySet([test_key.private_key, other_key.private_key])
    assert open_items(merged, both) == {"a": b"1", "b": b"2"}


def test_tampered_and_truncated_items_are_named(sealer_, keys):
    sealed = sealer_.seal_secret(secret(stringData={"ok": "1", "bad": "2", "short": "3"}))
    enc = sealed["spec"]["encryptedData"]
    raw = bytearray(base64.b64decode(enc["bad"]))
    raw[-1] ^= 1
    enc["bad"] = base64.b64encode(bytes(raw)).decode()
    enc["short"] = enc["short"][:20]
    with pytest.raises(UnsealError) as e:
        open_items(sealed, keys)
    text = str(e.value)
    assert "short: sealed value is too short" in text and "no key could decrypt secret (bad)" in text
    assert "ok" not in text.replace("no key", "")


def test_hint_makes_one_private_key_operation(sealer_, test_key, other_key):
    sealed = sealer_.seal_secret(secret(stringData={"a": "1", "b": "2", "c": "3"}))
    many = KeySet([test_key.private_key, other_key.private_key])  # the right key is not the newest
    open_items(sealed, many)
    assert many.private_key_operations == 3
    del sealed["metadata"]["annotations"]
    fresh = KeySet([test_key.private_key, other_key.private_key])
    open_items(sealed, fresh)
    assert fresh.private_key_operations == 4  # one miss, then the last-success key is tried first


# --- properties over the manifest handling --------------------------------------------------

keys_st = st.from_regex(r"[A-Za-z0-9._-]{1,30}", fullmatch=True)
secret_st = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
        "namespace": st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
        "data": st.dictionaries(keys_st, st.binary(max_size=200), max_size=4),
        "stringData": st.dictionaries(keys_st, st.text(max_size=200), max_size=4),
        "scope": st.sampled_from(Scope),
    }
).filter(lambda s: s["data"] or s["stringData"])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(secrets=st.lists(secret_st, min_size=1, max_size=3), fmt=st.sampled_from(["yaml", "json"]))
def test_any_stream_round_trips(sealer_, keys, secrets, fmt):
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": s["name"], "namespace": s["namespace"], "annotations": s["scope"].annotations()},
            "data": {k: base64.b64encode(v).decode() for k, v in s["data"].items()},
            "stringData": s["stringData"],
        }
        for s in secrets
    ]
    text = manifests.dump(docs, fmt)
    parsed = manifests.parse_stream(text.encode())
    assert [d.index for d in parsed] == list(range(1, len(docs) + 1))
    sealed = [sealer_.seal_secret(d.body, d.index) for d in parsed]
    reparsed = manifests.parse_stream(manifests.dump(sealed, fmt).encode())
    for s, d in zip(secrets, reparsed, strict=True):
        expected = {**s["data"], **{k: v.encode() for k, v in s["stringData"].items()}}
        assert open_items(d.body, keys) == expected
        assert Scope.from_annotations(d.body["metadata"].get("annotations")) is s["scope"]


def test_unseal_renders_template_data_like_the_controller(sealer_, keys):
    sealed = sealer_.seal_secret(secret(stringData={"password": "pw"}))
    sealed["spec"]["template"]["data"] = {"dsn": "postgres://app:{{ .password }}@db/app"}
    data = unseal(sealed, keys)["data"]
    assert base64.b64decode(data["dsn"]) == b"postgres://app:pw@db/app" and "password" in data

"""sealer-validate-sealed: malformed SealedSecrets caught, well-formed ones (real, sealed) pass."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import yaml

from sealer.core import sealing
from sealer.core.scope import CLUSTER_WIDE_ANNOTATION, KEY_HINT_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope
from sealer.core.sealing import Sealer
from sealer.hooks import sealed as sealed_rules

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "prod"},
    "stringData": {"password": "hunter2", "user": "admin"},
}


def seal(keys, scope: Scope | None = None, secret: dict = SECRET, **kw) -> dict:
    return keys.sealer(**kw).seal_secret(copy.deepcopy(secret), scope=scope)


def dump(*docs: dict) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def test_constants_match_sealing():
    assert (sealed_rules.API_VERSION, sealed_rules.KIND) == (sealing.API_VERSION, sealing.KIND)
    for value in (None, "", "a", " a , b ,,", "SHA256:x,SHA256:y", 3):
        assert sealed_rules.split_hint(value) == sealing.split_hint(value)


@pytest.mark.parametrize("scope", list(Scope))
def test_real_sealed_secrets_pass(check, keys, scope):
    doc = seal(keys, scope)
    r = check({"s.yaml": dump(doc), "s.json": json.dumps(doc, indent=2)}, hook="validate-sealed")
    assert (r.rc, r.findings, r.err) == (0, [], "")


def test_lists_of_sealed_secrets_are_checked(check, keys):
    bad = seal(keys)
    bad["spec"]["encryptedData"]["user"] = "not base64!"
    r = check(
        {"l.yaml": dump({"apiVersion": "v1", "kind": "List", "items": [seal(keys), bad]})}, hook="validate-sealed"
    )
    assert r.rules == ["sealed-value"]
    assert r.findings[0]["message"] == 'SealedSecret "db": encryptedData.user is not valid base64'


def test_wrong_api_version_and_kind(check, keys):
    doc = seal(keys)
    r = check(
        {
            "a.yaml": dump({**doc, "apiVersion": "bitnami.com/v1"}),
            "b.yaml": dump({**doc, "kind": "Sealedsecret"}),
            "c.json": json.dumps({k: v for k, v in doc.items() if k != "apiVersion"}),
        },
        hook="validate-sealed",
    )
    assert [(f["path"], f["rule"], f["message"]) for f in r.findings] == [
        ("a.yaml", "sealed-kind", 'SealedSecret "db" has apiVersion "bitnami.com/v1", should be bitnami.com/v1alpha1'),
        ("b.yaml", "sealed-kind", 'SealedSecret "db": kind "Sealedsecret" should be SealedSecret'),
        ("c.json", "sealed-kind", 'SealedSecret "db" has no apiVersion, should be bitnami.com/v1alpha1'),
    ]


def test_shape(check, keys):
    doc = seal(keys)
    no_name = copy.deepcopy(doc)
    del no_name["metadata"]["name"]
    r = check(
        {
            "a.yaml": dump(no_name),
            "b.yaml": dump({**doc, "spec": None}),
            "c.yaml": dump({**doc, "spec": {"encryptedData": ["x"]}}),
            "d.yaml": dump({**doc, "spec": {"template": {}}}),
        },
        hook="validate-sealed",
    )
    assert [(f["path"], f["rule"]) for f in r.findings] == [
        ("a.yaml", "sealed-shape"),
        ("b.yaml", "sealed-shape"),
        ("c.yaml", "sealed-shape"),
        ("d.yaml", "sealed-shape"),
    ]


def test_missing_namespace_is_a_warning_unless_required(check, keys):
    doc = seal(keys)
    del doc["metadata"]["namespace"]
    files = {"s.yaml": dump(doc)}
    r = check(files, hook="validate-sealed", fmt="text")
    assert r.rc == 0
    assert r.out.startswith('s.yaml:3: warning: SealedSecret "db" is strict-scoped but has no metadata.namespace')
    r = check(files, hook="validate-sealed", args=("--require-namespace",))
    assert r.rc == 1
    assert [(f["rule"], f["level"]) for f in r.findings] == [("sealed-namespace", "error")]
    # Cluster-wide values open anywhere: no namespace needed.
    cw = seal(keys, Scope.CLUSTER_WIDE, {**SECRET, "metadata": {"name": "db"}})
    r = check({"s.yaml": dump(cw)}, hook="validate-sealed", args=("--require-namespace",))
    assert (r.rc, r.findings) == (0, [])


@pytest.mark.parametrize(
    "top,template,expect",
    [
        (
            {CLUSTER_WIDE_ANNOTATION: "true"},
            {NAMESPACE_WIDE_ANNOTATION: "true"},
            "make it cluster-wide but spec.template.metadata.annotations say namespace-wide",
        ),
        (
            {NAMESPACE_WIDE_ANNOTATION: "true"},
            {CLUSTER_WIDE_ANNOTATION: "true"},
            "make it namespace-wide but spec.template.metadata.annotations say cluster-wide",
        ),
        (
            {},
            {CLUSTER_WIDE_ANNOTATION: "true"},
            "make it strict but spec.template.metadata.annotations say cluster-wide",
        ),
        ({CLUSTER_WIDE_ANNOTATION: "yes"}, {}, 'is neither "true" nor "false"'),
    ],
)
def test_inconsistent_scope_annotations(check, keys, top, template, expect):
    doc = seal(keys)
    doc["metadata"]["annotations"] = top
    doc["spec"]["template"]["metadata"]["annotations"] = template
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert r.rc == 1
    assert r.rules[0] == "sealed-scope"
    assert expect in r.findings[0]["message"]


def test_template_without_scope_annotations_is_fine(check, keys):
    doc = seal(keys, Scope.CLUSTER_WIDE)
    del doc["spec"]["template"]["metadata"]["annotations"]
    assert check({"s.yaml": dump(doc)}, hook="validate-sealed").findings == []


@pytest.mark.parametrize("field", ["name", "namespace"])
def test_strict_template_name_or_namespace_differs(check, keys, field):
    doc = seal(keys)
    doc["spec"]["template"]["metadata"][field] = "other"
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert r.rules == ["sealed-scope"]
    assert f'spec.template.metadata.{field} "other" differs' in r.findings[0]["message"]
    assert dump(doc).splitlines()[r.findings[0]["line"] - 1].strip().startswith(f"{field}: other")


def test_cluster_wide_template_name_may_differ(check, keys):
    doc = seal(keys, Scope.CLUSTER_WIDE)
    doc["spec"]["template"]["metadata"]["name"] = "other"
    assert check({"s.yaml": dump(doc)}, hook="validate-sealed").findings == []


def test_malformed_values(check, keys):
    doc = seal(keys)
    good = doc["spec"]["encryptedData"]["password"]
    blob = base64.b64decode(good)
    enc = doc["spec"]["encryptedData"]
    enc["bad-base64"] = good[:-3] + "!!="
    enc["truncated"] = base64.b64encode(blob[:200]).decode()  # cut inside the wrapped key
    enc["no-tag"] = base64.b64encode(blob[: 2 + 256 + 10]).decode()  # no room for the GCM tag
    enc["block-size"] = base64.b64encode(b"\x00\xc8" + bytes(200) + bytes(40)).decode()  # 200-byte "RSA block"
    enc["empty"] = ""
    enc["wrapped"] = "\n".join(good[i : i + 76] for i in range(0, len(good), 76))  # line breaks are fine, as in Go
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert r.rc == 1
    got = {f["message"].split(": ", 1)[1] for f in r.findings}
    assert got == {
        "encryptedData.bad-base64 is not valid base64",
        "encryptedData.truncated is not a well-formed sealed value (sealed value is too short)",
        "encryptedData.no-tag is not a well-formed sealed value (sealed value is too short)",
        "encryptedData.block-size is not a well-formed sealed value (wrapped key length 200 is not an RSA block size)",
        "encryptedData.empty is not a well-formed sealed value (sealed value is too short)",
    }
    assert set(r.rules) == {"sealed-value"}
    lines = dump(doc).splitlines()
    for f in r.findings:
        key = f["message"].split("encryptedData.")[1].split(" ")[0]
        assert lines[f["line"] - 1].strip().startswith(key + ":")


def test_legacy_spec_data_is_checked(check, keys):
    doc = seal(keys)
    doc["spec"] = {"data": "AAAA"}
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert [f["message"] for f in r.findings] == [
        'SealedSecret "db": spec.data is not a well-formed sealed value (sealed value is too short)'
    ]


def test_helm_template_warns_and_broken_sealed_secret_fails(check):
    r = check({"t.yaml": "kind: SealedSecret\nmetadata:\n  name: {{ .Release.Name }}\n"}, hook="validate-sealed")
    assert (r.rc, r.findings) == (0, [])
    assert "Helm template" in r.err
    r = check({"b.yaml": "kind: SealedSecret\nmetadata: [\n"}, hook="validate-sealed")
    assert r.rules == ["unparseable"]


def test_other_manifests_are_ignored(check):
    r = check(
        {
            "d.yaml": "kind: Deployment\nmetadata: {name: x}\n",
            "readme.md": "SealedSecret\n",
            "v.yaml": "sealed-secrets:\n  enabled: true\n",
        },
        hook="validate-sealed",
    )
    assert (r.rc, r.findings) == (0, [])


# --- the clusters' certificates in .sealer.yaml -------------------------------------------------


def config_with(*certs: str) -> str:
    return yaml.safe_dump({"certificates": list(certs)})


def test_sealed_for_a_listed_certificate_passes(check, keys, big_keys):
    files = {
        "certs/a.pem": keys.cert_pem,
        "certs/b.pem": big_keys.cert_pem,
        ".sealer.yaml": config_with("certs/a.pem", "certs/b.pem"),
        "a.yaml": dump(seal(keys)),
        "b.yaml": dump(seal(big_keys)),
        "nohint.yaml": dump(seal(keys, record_key_hint=False)),
    }
    r = check(files, hook="validate-sealed", names=["a.yaml", "b.yaml", "nohint.yaml"])
    assert (r.rc, r.findings) == (0, [])


def test_unknown_key_hint(check, keys, other_keys):
    files = {"c.pem": keys.cert_pem, ".sealer.yaml": config_with("c.pem"), "s.yaml": dump(seal(other_keys))}
    r = check(files, hook="validate-sealed", names=["s.yaml"])
    assert r.rc == 1
    assert r.findings == [
        {
            "path": "s.yaml",
            "line": dump(seal(other_keys))
            .splitlines()
            .index(f"    {KEY_HINT_ANNOTATION}: {other_keys.cert.fingerprint}")
            + 1,
            "rule": "sealed-unknown-key",
            "level": "error",
            "message": f'SealedSecret "db" is sealed for key {other_keys.cert.fingerprint}, which is not among the certificates in .sealer.yaml',
        }
    ]


def test_several_hints_each_must_be_known(check, keys, other_keys):
    doc = seal(keys)
    doc["metadata"]["annotations"][KEY_HINT_ANNOTATION] = f"{keys.cert.fingerprint},{other_keys.cert.fingerprint}"
    files = {"c.pem": keys.cert_pem, ".sealer.yaml": config_with("c.pem"), "s.yaml": dump(doc)}
    assert check(files, hook="validate-sealed", names=["s.yaml"]).rules == ["sealed-unknown-key"]
    files[".sealer.yaml"] = yaml.safe_dump(
        {"certificates": [keys.cert_pem.decode(), other_keys.cert_pem.decode()]}
    )  # inline PEM
    assert check(files, hook="validate-sealed", names=["s.yaml"]).findings == []


def test_no_hint_key_size_must_match_a_certificate(check, keys, big_keys):
    files = {
        "c.pem": keys.cert_pem,
        ".sealer.yaml": config_with("c.pem"),
        "s.yaml": dump(seal(big_keys, record_key_hint=False)),
    }
    r = check(files, hook="validate-sealed", names=["s.yaml"])
    assert r.rules == ["sealed-key-size", "sealed-key-size"]
    assert r.findings[0]["message"] == (
        'SealedSecret "db": encryptedData.password is sealed for a 4096-bit key, '
        "but the certificates in .sealer.yaml are 2048-bit"
    )


def test_block_size_must_match_the_hinted_certificate(check, keys, big_keys):
    doc = seal(big_keys)  # 4096-bit values...
    doc["metadata"]["annotations"][KEY_HINT_ANNOTATION] = keys.cert.fingerprint  # ...hinted as the 2048-bit key
    files = {
        "a.pem": keys.cert_pem,
        "b.pem": big_keys.cert_pem,
        ".sealer.yaml": config_with("a.pem", "b.pem"),
        "s.yaml": dump(doc),
    }
    r = check(files, hook="validate-sealed", names=["s.yaml"])
    assert r.rules == ["sealed-key-size", "sealed-key-size"]
    assert "but the hinted certificate is 2048-bit" in r.findings[0]["message"]


def test_without_certificates_any_key_passes(check, other_keys):
    assert check({"s.yaml": dump(seal(other_keys))}, hook="validate-sealed").findings == []


def test_expired_certificate_still_counts(check, expired_cert):
    import datetime as dt

    from sealer.core.certs import parse_certificate

    cert = parse_certificate(expired_cert, now=dt.datetime(2000, 1, 1, 12, tzinfo=dt.UTC))
    doc = sealing.Sealer(cert).seal_secret(copy.deepcopy(SECRET))
    files = {"old.pem": expired_cert, ".sealer.yaml": config_with("old.pem"), "s.yaml": dump(doc)}
    assert check(files, hook="validate-sealed", names=["s.yaml"]).findings == []


def test_unreadable_certificate_stops_the_hook(check, keys):
    r = check(
        {".sealer.yaml": config_with("missing.pem"), "s.yaml": dump(seal(keys))},
        hook="validate-sealed",
        names=["s.yaml"],
    )
    assert r.rc == 2
    assert "missing.pem" in r.err


def test_certificates_are_not_loaded_without_sealed_secrets(check):
    # A broken certificate path costs nothing (and breaks nothing) until a SealedSecret needs it.
    r = check(
        {".sealer.yaml": config_with("missing.pem"), "d.yaml": "kind: ConfigMap\n"},
        hook="validate-sealed",
        names=["d.yaml"],
    )
    assert r.rc == 0


# --- the hybrid (post-quantum) framing (issue 16) ---------------------------------------------


def pq_seal(keys, **kw) -> dict:
    import dataclasses

    from cryptography.hazmat.primitives.asymmetric import mlkem

    cert = dataclasses.replace(keys.cert, mlkem_public=mlkem.MLKEM768PrivateKey.generate().public_key())
    return Sealer(cert, pq=True, **kw).seal_secret(copy.deepcopy(SECRET))


def test_hybrid_sealed_secrets_pass(check, keys):
    doc = pq_seal(keys)
    assert base64.b64decode(doc["spec"]["encryptedData"]["user"])[:4] == b"\xffPQ\x01"
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert (r.rc, r.findings, r.err) == (0, [], "")


def test_truncated_or_mistagged_hybrid_values_are_caught(check, keys):
    doc = pq_seal(keys)
    blob = base64.b64decode(doc["spec"]["encryptedData"]["user"])
    doc["spec"]["encryptedData"]["user"] = base64.b64encode(blob[:1000]).decode()  # inside the ML-KEM ciphertext
    # Another version byte: a format this sealer does not know (a classic parser sees a 65360-byte RSA block).
    doc["spec"]["encryptedData"]["password"] = base64.b64encode(b"\xffPQ\x02" + blob[4:]).decode()
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    messages = sorted(f["message"] for f in r.findings)
    assert r.rules == ["sealed-value", "sealed-value"]
    assert messages == [
        'SealedSecret "db": encryptedData.password is not a well-formed sealed value (unknown sealed value format (made by a newer sealer?))',
        'SealedSecret "db": encryptedData.user is not a well-formed sealed value (hybrid sealed value is too short)',
    ]


def test_hybrid_value_for_another_key_size_is_caught(check, keys, big_keys):
    """The RSA block inside a hybrid value counts for the key size, as in a classic one."""
    files = {
        "c.pem": keys.cert_pem,
        ".sealer.yaml": config_with("c.pem"),
        "s.yaml": dump(pq_seal(big_keys, record_key_hint=False)),
    }
    r = check(files, hook="validate-sealed", names=["s.yaml"])
    assert r.rules == ["sealed-key-size", "sealed-key-size"]
    assert r.findings[0]["message"] == (
        'SealedSecret "db": encryptedData.password is sealed for a 4096-bit key, '
        "but the certificates in .sealer.yaml are 2048-bit"
    )
    files[".sealer.yaml"] = config_with("c.pem", "b.pem")
    files["b.pem"] = big_keys.cert_pem
    assert check(files, hook="validate-sealed", names=["s.yaml"]).findings == []


def test_hybrid_framing_to_the_byte(check, keys):
    """The shortest hybrid value (tag, length, RSA block, ML-KEM-768 ciphertext, GCM tag: an empty
    plaintext) passes, one byte less does not; nor does a length that is no RSA block. The same
    shapes are refused at apply time by deploy/admission (tests/e2e/test_admission.py)."""
    from sealer.core import crypto

    def hybrid(n: int, body: int) -> str:
        return base64.b64encode(crypto.HYBRID_TAG + n.to_bytes(2, "big") + bytes(n + 1088 + body)).decode()

    doc = pq_seal(keys)
    doc["spec"]["encryptedData"] = {"shortest": hybrid(256, 16), "pad1": hybrid(256, 17), "pad2": hybrid(256, 18)}
    assert check({"s.yaml": dump(doc)}, hook="validate-sealed").findings == []
    doc["spec"]["encryptedData"] = {"cut": hybrid(256, 15), "odd": hybrid(257, 16)}
    r = check({"s.yaml": dump(doc)}, hook="validate-sealed")
    assert sorted(f["message"] for f in r.findings) == [
        'SealedSecret "db": encryptedData.cut is not a well-formed sealed value (hybrid sealed value is too short)',
        'SealedSecret "db": encryptedData.odd is not a well-formed sealed value '
        "(wrapped key length 257 is not an RSA block size)",
    ]


def test_the_fleets_certificate_files_are_known_keys(check, keys, other_keys):
    """A repository that names its clusters in clusters: need not list their certificates twice."""
    fleet = {
        "clusters": [
            {"name": "east", "cert": "certs/east.pem", "path": "east/{name}.yaml"},
            # A context's certificate is known once it is cached in cert:; not before (nothing to read).
            {"name": "west", "context": "west", "cert": "certs/west.pem", "path": "west/{name}.yaml"},
        ]
    }
    files = {"certs/east.pem": keys.cert_pem, ".sealer.yaml": yaml.safe_dump(fleet), "s.yaml": dump(seal(other_keys))}
    assert check(files, hook="validate-sealed", names=["s.yaml"]).rules == ["sealed-unknown-key"]
    files["certs/west.pem"] = other_keys.cert_pem
    assert check(files, hook="validate-sealed", names=["s.yaml"]).findings == []
    files[".sealer.yaml"] = yaml.safe_dump({"clusters": [{"name": "East", "cert": "certs/east.pem"}]})
    r = check(files, hook="validate-sealed", names=["s.yaml"])
    assert r.rc == 2 and "clusters entry 1: name must be a DNS label" in r.err

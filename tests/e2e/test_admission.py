"""deploy/admission (the ValidatingAdmissionPolicy) against the real API server: each malformed
SealedSecret is refused at create time with a message naming the field, and every SealedSecret
sealed by `sealer seal` (classic and `--pq`) and by Bitnami's kubeseal, in all three scopes, is
stored. The policy's framing check agrees with sealer/core/crypto.py's on values of both formats
at and around their shortest length. The policy is applied as the kustomize component with its
key-size variable patched (the test keys are 2048-bit, as the e2e controller's)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keys.generate import generate_key_pair, self_signed_certificate
from sealer.core import crypto
from tests.e2e.waiting import eventually
from tests.interop.conftest import find_binary
from tests.peers import peer_bin_dir

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
POLICY = "sealed-secrets-validation"
NW = "sealedsecrets.bitnami.com/namespace-wide"
CW = "sealedsecrets.bitnami.com/cluster-wide"


def overlay(tmp: Path, key_sizes: str) -> Path:
    """An overlay using the component as the docs say, with the key sizes patched."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "components": [os.path.relpath(DEPLOY / "admission", tmp)],
                "patches": [
                    {
                        "target": {"kind": "ValidatingAdmissionPolicy", "name": POLICY},
                        "patch": yaml.safe_dump(
                            [{"op": "replace", "path": "/spec/variables/0/expression", "value": key_sizes}]
                        ),
                    }
                ],
            }
        )
    )
    return tmp


def refused(control_plane, doc: dict) -> subprocess.CompletedProcess:
    return control_plane.kubectl("create", "-f", "-", input=json.dumps(doc), check=False)


@pytest.fixture(scope="module")
def policy(control_plane, tmp_path_factory):
    control_plane.apply_crd(DEPLOY / "crd.yaml")
    built = overlay(tmp_path_factory.mktemp("admission") / "overlay", "[2048]")
    control_plane.kubectl("apply", "-k", str(built))
    # The API server loads policies asynchronously: wait until a bad object is refused.
    probe = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "probe", "namespace": "default"},
        "spec": {"encryptedData": {"a": "!"}},
    }
    deadline = time.monotonic() + 30
    while True:
        proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(probe), check=False)
        if proc.returncode != 0 and POLICY in proc.stderr:
            break
        assert time.monotonic() < deadline, f"the policy never took effect: {proc.stdout}{proc.stderr}"
        time.sleep(0.5)
    yield
    control_plane.kubectl("delete", "-k", str(built), "--ignore-not-found")


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, not_before=dt.datetime.now(dt.UTC), ttl=dt.timedelta(days=1), cn="e2e")
    path = tmp_path_factory.mktemp("cert") / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pq_cert(tmp_path_factory) -> Path:
    """A 2048-bit certificate with an ML-KEM-768 public key after it, as `/v1/cert.pem` of a
    controller run with --pq-keys serves it."""
    path = tmp_path_factory.mktemp("pq-cert") / "cert.pem"
    path.write_bytes(generate_key_pair(2048, pq=True).published_pem())
    return path


def secret(name: str, namespace: str, scope: str | None = None) -> str:
    meta = {"name": name, "namespace": namespace}
    if scope == "namespace-wide":
        meta["annotations"] = {NW: "true"}
    elif scope == "cluster-wide":
        meta["annotations"] = {CW: "true"}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "stringData": {"password": "s3cr3t-admission", "user.name": "admin"},
        }
    )


def sealer_seal(cert: Path, name: str, namespace: str, scope: str, *, pq: bool = False) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", "seal", *(["--pq"] if pq else []), "--cert", str(cert), "--scope", scope]
        + ["-o", "json"],
        input=secret(name, namespace),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def kubeseal_seal(cert: Path, name: str, namespace: str, scope: str) -> dict:
    kubeseal = find_binary(peer_bin_dir("bitnami"), "kubeseal")
    proc = subprocess.run(
        [str(kubeseal), "--cert", str(cert), "--scope", scope, "-o", "json"],
        input=secret(name, namespace),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def good(cert) -> dict:
    """A strict SealedSecret sealed by sealer for the `default` namespace: the base of the bad ones."""
    return sealer_seal(cert, "db", "default", "strict")


def sealer_seal_pq(cert: Path, name: str, namespace: str, scope: str) -> dict:
    doc = sealer_seal(cert, name, namespace, scope, pq=True)
    assert all(crypto.is_hybrid(crypto.decode(v)) for v in doc["spec"]["encryptedData"].values())
    return doc


@pytest.mark.parametrize("tool", ["sealer", "sealer-pq", "kubeseal"])
@pytest.mark.parametrize("scope", ["strict", "namespace-wide", "cluster-wide"])
def test_sealed_by_the_tools_is_admitted(control_plane, policy, cert, pq_cert, namespace, tool, scope):
    seal = {"sealer": sealer_seal, "kubeseal": kubeseal_seal, "sealer-pq": sealer_seal_pq}[tool]
    if tool == "sealer-pq":
        cert = pq_cert
    doc = seal(cert, f"{tool}-{scope}", namespace, scope)
    if scope == "cluster-wide":
        doc["metadata"].pop("namespace", None)  # may be applied anywhere: kubectl -n
    proc = control_plane.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(doc), check=False)
    assert proc.returncode == 0, proc.stderr
    # and updated (a changed value, as re-sealing does)
    doc2 = seal(cert, f"{tool}-{scope}", namespace, scope)
    doc2["metadata"].pop("namespace", None)
    proc = control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc2), check=False)
    assert proc.returncode == 0, proc.stderr


def test_legacy_spec_data_is_admitted_when_framed(control_plane, policy, good, namespace):
    doc = copy.deepcopy(good)
    doc["metadata"]["namespace"] = namespace
    doc["spec"]["template"]["metadata"]["namespace"] = namespace
    doc["spec"]["data"] = doc["spec"]["encryptedData"]["password"]
    assert control_plane.kubectl("create", "-f", "-", input=json.dumps(doc), check=False).returncode == 0


def _value(good) -> str:
    return good["spec"]["encryptedData"]["password"]


def _set(doc: dict, path: str, value) -> None:
    *parents, last = path.split("/")
    node = doc
    for p in parents:
        node = node.setdefault(p, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


def shape(n: int, extra: int = 0, *, hybrid: bool = False, tag: bytes = crypto.HYBRID_TAG, seed: int = 0) -> bytes:
    """A value framed like a sealed value with an RSA block of n bytes, `extra` bytes longer than
    the shortest one crypto.parse accepts (random bytes: only the framing counts)."""
    rng = random.Random(seed * 100_000 + n * 10 + extra)
    head = (tag if hybrid else b"") + n.to_bytes(2, "big")
    body = n + (crypto.MLKEM768_CIPHERTEXT_BYTES if hybrid else 0) + crypto.GCM_TAG_BYTES + extra
    return head + rng.randbytes(body)


# (what, edits to the good object, words the message must contain)
BAD = [
    ("not-base64", {"spec/encryptedData/password": "AgB!notbase64"}, ["spec.encryptedData.password", "not base64"]),
    (
        "not-base64-unpadded",
        {"spec/encryptedData/password": lambda v: v[:-2]},
        ["spec.encryptedData.password", "not base64"],
    ),
    (
        "line-breaks",
        {"spec/encryptedData/password": lambda v: v[:64] + "\n" + v[64:]},
        ["spec.encryptedData.password", "not base64"],
    ),
    (
        "too-short",
        {"spec/encryptedData/password": lambda v: v[:300]},
        ["spec.encryptedData.password", "not a sealed value", "2048"],
    ),
    (
        "no-framing",
        {"spec/encryptedData/password": "c2VjcmV0IGluIHRoZSBjbGVhcg=="},
        ["spec.encryptedData.password", "not a sealed value"],
    ),
    (
        "other-key-size",
        {"spec/encryptedData/password": crypto.encode(b"\x02\x00" + bytes(512 + 16 + 16))},
        ["spec.encryptedData.password", "sealed for a 4096-bit key", "2048"],
    ),
    (
        "bad-key-name",
        {"spec/encryptedData/pass word": lambda v: v},
        ["spec.encryptedData", "not valid Secret data keys"],
    ),
    (
        "scope-annotation-not-true",
        {"metadata/annotations": {NW: "yes"}},
        ["metadata.annotations", "namespace-wide", '"true"'],
    ),
    (
        "template-scope-annotation-not-true",
        {"spec/template/metadata/annotations": {CW: "True"}},
        ["spec.template.metadata.annotations", '"true"'],
    ),
    (
        "scopes-contradict",
        {"spec/template/metadata/annotations": {CW: "true"}},
        ["spec.template.metadata.annotations", "cluster-wide", "strict"],
    ),
    (
        "strict-in-another-namespace",
        {"metadata/namespace": "kube-public"},
        ["spec.template.metadata.namespace", 'metadata.namespace "kube-public"', "strict"],
    ),
    ("strict-other-name", {"spec/template/metadata/name": "other"}, ["spec.template.metadata.name", "strict"]),
    (
        "template-data-overlaps",
        {"spec/template/data": {"password": "{{ .password }}"}},
        ["spec.template.data.password", "also in spec.encryptedData"],
    ),
    ("legacy-data-not-framed", {"spec/data": "c2VjcmV0"}, ["spec.data", "not a sealed value"]),
    (
        "cut-short-by-a-byte",
        {"spec/encryptedData/password": crypto.encode(shape(256, -1))},
        ["spec.encryptedData.password", "not a sealed value", "2048 bits (too short)"],
    ),
    # the hybrid (post-quantum) framing
    (
        "hybrid-cut-short-by-a-byte",
        {"spec/encryptedData/password": crypto.encode(shape(256, -1, hybrid=True))},
        ["spec.encryptedData.password", "not a post-quantum sealed value", "2048 bits (too short)"],
    ),
    (
        "hybrid-without-its-ml-kem-ciphertext",
        {"spec/encryptedData/password": crypto.encode(crypto.HYBRID_TAG + shape(256, 64))},
        ["spec.encryptedData.password", "not a post-quantum sealed value", "2048 bits (too short)"],
    ),
    (
        "hybrid-other-key-size",
        {"spec/encryptedData/password": crypto.encode(shape(512, 16, hybrid=True))},
        ["spec.encryptedData.password", "sealed (post-quantum) for a 4096-bit key", "2048"],
    ),
    (
        "hybrid-length-not-an-rsa-block",
        {"spec/encryptedData/password": crypto.encode(shape(257, 16, hybrid=True))},
        ["spec.encryptedData.password", "not a post-quantum sealed value for a key of 2048 bits"],
    ),
    (
        "hybrid-unknown-version",
        {"spec/encryptedData/password": crypto.encode(shape(256, 16, hybrid=True, tag=b"\xffPQ\x02"))},
        ["spec.encryptedData.password", "not a post-quantum sealed value"],
    ),
]


@pytest.mark.parametrize("what, edits, words", BAD, ids=[b[0] for b in BAD])
def test_malformed_is_refused_naming_the_field(control_plane, policy, good, what, edits, words):
    doc = copy.deepcopy(good)
    for path, value in edits.items():
        if callable(value):
            value = value(_value(good))
        _set(doc, path, value)
    proc = refused(control_plane, doc)
    assert proc.returncode != 0, f"{what} was stored"
    assert f"ValidatingAdmissionPolicy '{POLICY}'" in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)
    assert "s3cr3t" not in proc.stderr


def test_namespace_wide_in_another_namespace_is_refused(control_plane, policy, cert):
    doc = sealer_seal(cert, "nw", "default", "namespace-wide")
    doc["metadata"]["namespace"] = "kube-public"
    proc = refused(control_plane, doc)
    assert proc.returncode != 0 and "spec.template.metadata.namespace" in proc.stderr, proc.stderr
    # ... but another name is fine for namespace-wide
    doc = sealer_seal(cert, "nw", "default", "namespace-wide")
    doc["metadata"]["name"] = "nw-renamed"
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
    assert proc.returncode == 0, proc.stderr


def test_strict_without_a_namespace_lands_in_the_wrong_one(control_plane, policy, good, namespace):
    """`kubectl apply` of a strict SealedSecret without metadata.namespace: the API server puts it
    in the current namespace, which is not the one it was sealed for."""
    doc = copy.deepcopy(good)
    del doc["metadata"]["namespace"]
    proc = control_plane.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(doc), check=False)
    assert proc.returncode != 0 and "spec.template.metadata.namespace" in proc.stderr, proc.stderr


def test_status_writes_and_stored_objects_are_not_blocked(control_plane, policy, kube, good, namespace):
    """The controller's status writes (a subresource) and metadata-only changes of an object stored
    before the policy (here: written with the policy's actions at Warn) still go through."""
    import kubernetes

    custom = kubernetes.client.CustomObjectsApi(kube)
    bad = copy.deepcopy(good)
    bad["metadata"]["namespace"] = namespace
    bad["spec"]["template"]["metadata"]["namespace"] = namespace
    bad["spec"]["encryptedData"]["password"] = "AgB"  # malformed
    control_plane.kubectl(
        "patch",
        "validatingadmissionpolicybinding",
        POLICY,
        "--type=merge",
        "-p",
        '{"spec":{"validationActions":["Warn"]}}',
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the binding change takes effect asynchronously too
            proc = control_plane.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
            if proc.returncode == 0:
                break
            assert time.monotonic() < deadline, proc.stderr
            time.sleep(0.5)
        assert "Warning" in proc.stderr and POLICY in proc.stderr, proc.stderr  # Warn: admitted, with a warning
    finally:
        control_plane.kubectl(
            "patch",
            "validatingadmissionpolicybinding",
            POLICY,
            "--type=merge",
            "-p",
            '{"spec":{"validationActions":["Deny"]}}',
        )
    deadline = time.monotonic() + 30
    again = json.dumps({**bad, "metadata": {**bad["metadata"], "name": "again"}})
    # A dry run: a create that succeeded under Warn would make the next one fail for another reason.
    while (
        POLICY
        not in (
            probe := control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=again, check=False)
        ).stderr
        or probe.returncode == 0
    ):
        assert time.monotonic() < deadline, "Deny never came back"
        time.sleep(0.5)
    name = bad["metadata"]["name"]
    custom.patch_namespaced_custom_object_status(
        "bitnami.com",
        "v1alpha1",
        namespace,
        "sealedsecrets",
        name,
        {"status": {"observedGeneration": 1, "conditions": [{"type": "Synced", "status": "False", "message": "x"}]}},
    )
    custom.patch_namespaced_custom_object(
        "bitnami.com", "v1alpha1", namespace, "sealedsecrets", name, {"metadata": {"labels": {"team": "a"}}}
    )
    # a change of its contents is checked again
    with pytest.raises(kubernetes.client.ApiException) as e:
        custom.patch_namespaced_custom_object(
            "bitnami.com",
            "v1alpha1",
            namespace,
            "sealedsecrets",
            name,
            {"spec": {"encryptedData": {"user.name": "AgC"}}},
        )
    assert e.value.status == 422 and "spec.encryptedData" in e.value.body


def _framed(n_bytes: int, rng) -> str:
    """A value framed like a 2048-bit sealed value of n_bytes (random bytes: only the shape counts)."""
    return crypto.encode(b"\x01\x00" + rng.randbytes(256 + n_bytes + 16))


def test_cost_stays_bounded_with_many_items(control_plane, policy, namespace):
    """2,000 items (about 0.9 MB), and one value of 1 MiB (the Secret size limit): admitted, so the
    CEL cost stays under the API server's limits; one bad item among many is named."""
    rng = random.Random(11)
    many = {f"key-{i:04d}": _framed(64, rng) for i in range(2000)}
    base = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "many", "namespace": namespace},
        "spec": {"encryptedData": many, "template": {"metadata": {"name": "many", "namespace": namespace}}},
    }
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(base), check=False)
    assert proc.returncode == 0, proc.stderr[:2000]
    big = copy.deepcopy(base)
    big["spec"]["encryptedData"] = {"blob": _framed(1024 * 1024 - 400, rng)}
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(big), check=False)
    assert proc.returncode == 0, proc.stderr[:2000]
    bad = copy.deepcopy(base)
    bad["spec"]["encryptedData"]["key-1234"] = "AgB=" * 200
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0 and "spec.encryptedData.key-1234" in proc.stderr, proc.stderr[:2000]


def test_policy_type_checks_against_the_crd_schema(control_plane, policy, kube):
    """The controller manager type-checks the policy against the SealedSecret schema (where, say,
    spec.data is bytes): no expression may have a warning."""
    import kubernetes

    api = kubernetes.client.AdmissionregistrationV1Api(kube)

    def checked():
        p = api.read_validating_admission_policy(POLICY)
        return p if p.status and p.status.observed_generation == p.metadata.generation else None

    checked_policy = eventually(checked, 60, 0.5, "the policy type-checked")
    warnings = (
        (checked_policy.status.type_checking.expression_warnings or []) if checked_policy.status.type_checking else []
    )
    assert warnings == [], [(w.field_ref, w.warning) for w in warnings]


def _sealed_secret(name: str, namespace: str, data: dict[str, str]) -> dict:
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"encryptedData": data, "template": {"metadata": {"name": name, "namespace": namespace}}},
    }


def test_cost_stays_bounded_with_hybrid_items(control_plane, policy, namespace):
    """700 hybrid items (about 1.35 MB, near etcd's 1.5 MiB) and one hybrid value of 1 MiB are
    admitted; a mis-framed value of 1 MiB is refused with its name (the message reads only the
    first characters of the value)."""
    many = {f"key-{i:04d}": crypto.encode(shape(256, 64, hybrid=True, seed=i)) for i in range(700)}
    doc = _sealed_secret("many-pq", namespace, many)
    assert len(json.dumps(doc)) > 1_300_000
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
    assert proc.returncode == 0, proc.stderr[:2000]
    big = _sealed_secret("big-pq", namespace, {"blob": crypto.encode(shape(256, 1024 * 1024 - 1500, hybrid=True))})
    proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(big), check=False)
    assert proc.returncode == 0, proc.stderr[:2000]
    for what, blob in [
        ("classic", shape(512, 1024 * 1024 - 600)),
        ("hybrid", shape(512, 1024 * 1024 - 1700, hybrid=True)),
    ]:
        bad = _sealed_secret("big-bad", namespace, {"blob": crypto.encode(blob)})
        proc = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False)
        assert proc.returncode != 0, what
        assert "spec.encryptedData.blob is sealed" in proc.stderr and "for a 4096-bit key" in proc.stderr, (
            what,
            proc.stderr[:2000],
        )


def framing_cases() -> dict[str, bytes]:
    """Values of both formats, for RSA blocks of several sizes (and one that is none), from three
    bytes shorter than crypto.parse's shortest to three longer: every base64 padding at the edge."""
    cases = {}
    for fmt in ("classic", "hybrid"):
        for n in (128, 256, 257, 384, 512):
            for extra in range(-3, 4):
                cases[f"{fmt}-{n}-{extra + 3}"] = shape(n, extra, hybrid=fmt == "hybrid")
    cases["hybrid-version-2"] = shape(256, 16, hybrid=True, tag=b"\xffPQ\x02")
    cases["unknown-format"] = b"\xff\x00" + shape(256, 16)
    return cases


def crypto_admits(blob: bytes, key_bytes: set[int]) -> bool:
    """What sealer/core/crypto.py (and so the pre-commit hook and the controller) make of the framing."""
    try:
        crypto.check_framing(blob)
    except crypto.SealedValueError:
        return False
    return len(crypto.parse(blob).wrapped) in key_bytes


def set_key_sizes(control_plane, sizes: str, probe: dict, admitted: bool) -> None:
    """Patch the policy's key sizes and wait until the API server applies them (probe: an object
    admitted under the new sizes, or refused)."""
    patch = [{"op": "replace", "path": "/spec/variables/0/expression", "value": sizes}]
    control_plane.kubectl("patch", "validatingadmissionpolicy", POLICY, "--type=json", "-p", json.dumps(patch))
    deadline = time.monotonic() + 30
    while (
        control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(probe), check=False).returncode
        == 0
    ) != admitted:
        assert time.monotonic() < deadline, f"key sizes {sizes} never took effect"
        time.sleep(0.5)


@pytest.mark.parametrize("sizes", ["[2048]", "[2048, 4096]"])
def test_framing_check_agrees_with_crypto(control_plane, policy, namespace, sizes):
    """Each value the policy admits is one crypto.check_framing accepts for the cluster's key sizes,
    and the reverse: lengths exact to the byte (not rounded to base64 groups), with several key
    sizes each with its own shortest length. The bad values go in one object: the message counts
    every value refused."""
    key_bytes = {int(s) // 8 for s in json.loads(sizes)}
    cases = framing_cases()
    good = {k: crypto.encode(v) for k, v in cases.items() if crypto_admits(v, key_bytes)}
    bad = {k: crypto.encode(v) for k, v in cases.items() if not crypto_admits(v, key_bytes)}
    assert len(good) >= 8 * len(key_bytes) and len(bad) > 40  # the cases do cover both sides
    probe = _sealed_secret("probe-4096", namespace, {"a": crypto.encode(shape(512))})
    if sizes != "[2048]":
        set_key_sizes(control_plane, sizes, probe, admitted=True)
    try:
        proc = refused(control_plane, _sealed_secret("good", namespace, good))
        assert proc.returncode == 0, proc.stderr
        proc = refused(control_plane, _sealed_secret("bad", namespace, bad))
        assert proc.returncode != 0 and f"({len(bad) - 1} more values too)" in proc.stderr, proc.stderr
    finally:
        if sizes != "[2048]":
            set_key_sizes(control_plane, "[2048]", probe, admitted=False)

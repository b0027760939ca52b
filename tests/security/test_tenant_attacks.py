"""What a tenant can do with what they are allowed (read the repository, create SealedSecrets and
Secrets in their own namespace, call the HTTP API) must give them nothing outside their namespace:
no key of theirs is taken up, no key hint helps, /v1/rotate widens no scope, /v1/verify answers
yes or no and nothing else."""

from __future__ import annotations

import base64
import copy
import json

import kubernetes
import pytest

from keys.keypair import KeyPair
from keys.secret_format import StoredKey, to_secret
from sealer.core.certs import parse_certificate
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope
from sealer.core.sealing import Sealer
from tests.e2e.sealed_objects import create, get_sealed
from tests.e2e.waiting import eventually
from tests.security.attacker import hop, request
from tests.security.conftest import OWN, TRUSTED_PROXY

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ours(target):
    return Sealer(parse_certificate(target.cert_pem()))


@pytest.fixture(scope="module")
def theirs(other_key):
    """The attacker's own key pair: they can make any key they like."""
    return Sealer(parse_certificate(other_key.cert_pem))


def sealed(sealer: Sealer, namespace: str, name: str = "db", scope: Scope | None = None) -> dict:
    doc = {"kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "stringData": {"password": "hunter2"}}
    out = sealer.seal_secret(doc, scope=scope)
    out["metadata"]["labels"] = {"sealer.test/own-controller": OWN}
    return out


def post(target, path: str, doc: dict):
    return request(target.port, "POST", path, json.dumps(doc).encode(), source=TRUSTED_PROXY, headers=hop())


def synced(custom, namespace: str, name: str) -> str | None:
    conditions = (get_sealed(custom, namespace, name).get("status") or {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Synced"), None)


def test_a_key_secret_in_the_attackers_namespace_is_ignored(target, core, custom, namespace, other_key, theirs):
    pair = KeyPair.from_pem(other_key.key_pem, other_key.cert_pem, "attacker")
    # Labelled as the controller's keys are, and once under the legacy key's exact name.
    for name in ("sealed-secrets-keyevil", "sealed-secrets-key"):
        core.create_namespaced_secret(namespace, to_secret(StoredKey(name, pair), namespace))
    cert_before = target.cert_pem()
    create(custom, sealed(theirs, namespace))
    eventually(lambda: synced(custom, namespace, "db") == "False", 30, what="Synced=False")
    with pytest.raises(kubernetes.client.ApiException) as e:
        core.read_namespaced_secret("db", namespace)
    assert e.value.status == 404
    assert target.cert_pem() == cert_before != other_key.cert_pem
    assert post(target, "/v1/verify", sealed(theirs, namespace)).status == 409


def test_a_key_hint_naming_the_attackers_key_is_useless(target, namespace, theirs, ours, other_key):
    attackers = parse_certificate(other_key.cert_pem).fingerprint
    theirs_hinted = sealed(theirs, namespace)
    assert theirs_hinted["metadata"]["annotations"][KEY_HINT_ANNOTATION] == attackers
    assert post(target, "/v1/verify", theirs_hinted).status == 409
    assert post(target, "/v1/rotate", theirs_hinted).status == 409
    # A hint only orders the controller's own keys: a wrong one costs nothing and grants nothing.
    ours_misleading = sealed(ours, namespace)
    ours_misleading["metadata"]["annotations"][KEY_HINT_ANNOTATION] = f"{attackers},SHA256:nonsense"
    assert post(target, "/v1/verify", ours_misleading).status == 200


def _renamed(doc):
    doc["metadata"]["name"] = "other"


def _moved(doc):
    doc["metadata"]["namespace"] = "kube-system"


def _no_namespace(doc):
    del doc["metadata"]["namespace"]


def _namespace_wide(doc):
    doc["metadata"]["annotations"]["sealedsecrets.bitnami.com/namespace-wide"] = "true"


def _cluster_wide(doc):
    doc["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] = "true"


def _template_elsewhere(doc):
    doc["spec"]["template"]["metadata"].update(
        name="other", namespace="kube-system", annotations={"sealedsecrets.bitnami.com/cluster-wide": "true"}
    )


@pytest.mark.parametrize("change", [_renamed, _moved, _no_namespace, _namespace_wide, _cluster_wide])
def test_rotate_widens_no_scope(target, namespace, ours, change):
    doc = sealed(ours, namespace)
    changed = copy.deepcopy(doc)
    change(changed)
    assert post(target, "/v1/rotate", changed).status == 409
    assert post(target, "/v1/verify", changed).status == 409


def test_rotate_takes_the_scope_from_metadata_never_from_the_template(target, namespace, ours):
    doc = sealed(ours, namespace)
    _template_elsewhere(doc)
    answer = post(target, "/v1/rotate", doc)
    assert answer.status == 200
    rotated = json.loads(answer.body)
    assert Scope.from_annotations(rotated["metadata"].get("annotations") or {}) is Scope.STRICT
    for change in (_renamed, _moved, _cluster_wide):
        elsewhere = copy.deepcopy(rotated)
        change(elsewhere)
        assert post(target, "/v1/verify", elsewhere).status == 409
    assert post(target, "/v1/verify", rotated).status == 200


def test_namespace_wide_does_not_become_cluster_wide(target, namespace, ours):
    doc = sealed(ours, namespace, scope=Scope.NAMESPACE_WIDE)
    assert post(target, "/v1/verify", doc).status == 200
    for change in (_cluster_wide, _moved):
        changed = copy.deepcopy(doc)
        change(changed)
        assert post(target, "/v1/rotate", changed).status == 409


def test_verify_is_no_oracle(target, namespace, ours, theirs, tmp_path):
    from tests.conftest import make_test_key

    good = sealed(ours, namespace)
    value = base64.b64decode(good["spec"]["encryptedData"]["password"])
    small = Sealer(parse_certificate(make_test_key(tmp_path, "small", bits=1024).cert_pem))
    variants = {
        "another key": sealed(theirs, namespace)["spec"]["encryptedData"]["password"],
        "tampered tag": base64.b64encode(value[:-1] + bytes([value[-1] ^ 1])).decode(),
        "tampered key": base64.b64encode(value[:10] + bytes([value[10] ^ 1]) + value[11:]).decode(),
        "another label": sealed(ours, namespace, name="other")["spec"]["encryptedData"]["password"],
        "truncated": base64.b64encode(value[:100]).decode(),
        "not base64": "!!!!",
        "another key size": sealed(small, namespace)["spec"]["encryptedData"]["password"],
    }
    answers = {}
    for what, text in variants.items():
        doc = copy.deepcopy(good)
        doc["spec"]["encryptedData"]["password"] = text
        answer = post(target, "/v1/verify", doc)
        answers[what] = (answer.status, answer.body, sorted(answer.headers))
    # Every way of failing looks the same: 409, empty, the same headers.
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert next(iter(answers.values()))[:2] == (409, b"")
    assert post(target, "/v1/verify", good).status == 200

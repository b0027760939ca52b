"""Acceptance of the controller against the real API server (issue 5), following Bitnami's own
integration scenarios (C1-C22) plus key generation, rotation, the HTTP API, metrics, kustomize,
API-server restarts, and a check that no test value ever reaches the controller's logs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.scope import MANAGED_ANNOTATION, PATCH_ANNOTATION, Scope
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, create
from tests.e2e.sealer_controller import REPO, secret_json
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

# Every plaintext value used below contains this marker, so the log check can find any leak.
MARK = "s3cr3t-e2e-"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


@pytest.fixture
def sealer(sealer_controller):
    return Sealer(parse_certificate(sealer_controller.cert_pem()))


def seal(sealer, ns, data, name="testsecret", scope=None, raw=False, own=None, **extra):
    """A SealedSecret for ``data``; ``own`` labels the SealedSecret itself (not its template) so
    that only a test's own controller instance, selecting that label, handles it."""
    values = data if raw else {k: MARK + v for k, v in data.items()}
    doc = json.loads(secret_json(name, ns, values, **extra))
    sealed = sealer.seal_secret(doc, scope=scope)
    if own:
        sealed["metadata"]["labels"] = {"sealer.test/own-controller": own}
    return sealed


def get_ss(custom, ns, name="testsecret"):
    return sealed_objects.get_sealed(custom, ns, name)


def secret_data(core, ns, name="testsecret"):
    return sealed_objects.secret_data(core, ns, name, MARK)


def wait_data(core, ns, expected, name="testsecret", timeout=30):
    return eventually(
        lambda: secret_data(core, ns, name) == expected or None,
        timeout,
        what=f"Secret {ns}/{name} == {expected} (now {secret_data(core, ns, name)})",
    )


def condition(obj, kind="Synced"):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == kind:
            return c
    return None


def wait_synced(custom, ns, name="testsecret", status="True", generation=None):
    def check():
        obj = get_ss(custom, ns, name)
        c = condition(obj)
        if (
            c
            and c["status"] == status
            and (generation is None or obj["status"].get("observedGeneration") == generation)
        ):
            return obj
        return None

    return eventually(check, 30, what=f"{ns}/{name} Synced={status}")


def events(core, ns, name="testsecret"):
    return [e for e in core.list_namespaced_event(ns).items if e.involved_object.name == name]


def wait_event(core, ns, reason, name="testsecret"):
    return eventually(lambda: [e for e in events(core, ns, name) if e.reason == reason], 30, what=f"event {reason}")


def make_secret(core, ns, data, annotations=None, labels=None, name="testsecret"):
    core.create_namespaced_secret(
        ns,
        {
            "metadata": {"name": name, "annotations": annotations, "labels": labels},
            "data": {k: b64(MARK + v) for k, v in data.items()},
        },
    )


# --- key generation and the HTTP API --------------------------------------------------------


def test_first_start_generates_a_bitnami_key_secret(sealer_controller, core):
    keys = core.list_namespaced_secret(
        "kube-system", label_selector="sealedsecrets.bitnami.com/sealed-secrets-key=active"
    ).items
    assert len(keys) == 1
    key = keys[0]
    assert key.type == "kubernetes.io/tls" and key.metadata.name.startswith("sealed-secrets-key")
    assert len(key.metadata.name) == len("sealed-secrets-key") + 5
    assert base64.b64decode(key.data["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert base64.b64decode(key.data["tls.crt"]) == sealer_controller.cert_pem()


# --- create / update (C1-C4) ------------------------------------------------------------------


def test_create_then_update(sealer_controller, sealer, core, custom, namespace):
    created = create(custom, seal(sealer, namespace, {"foo": "bar"}, labels={"mylabel": "myvalue"}))
    wait_data(core, namespace, {"foo": "bar"})
    secret = core.read_namespaced_secret("testsecret", namespace)
    assert secret.metadata.labels == {"mylabel": "myvalue"}
    owner = secret.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "SealedSecret",
        "testsecret",
        created["metadata"]["uid"],
        True,
    )
    obj = wait_synced(custom, namespace, generation=1)
    synced = condition(obj)
    assert synced["lastTransitionTime"] == synced["lastUpdateTime"]
    assert condition(obj, "Ready")["status"] == "True"
    assert obj["status"]["conditions"][0]["type"] == "Synced"
    wait_event(core, namespace, "Unsealed")

    time.sleep(1.1)  # timestamps have one-second resolution
    obj["spec"] = seal(sealer, namespace, {"foo": "baz"})["spec"]
    custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "testsecret", obj)
    wait_data(core, namespace, {"foo": "baz"})
    obj = wait_synced(custom, namespace, generation=2)
    synced = condition(obj)
    assert synced["lastTransitionTime"] != synced["lastUpdateTime"]


def test_renamed_and_appended_items(sealer_controller, sealer, core, custom, namespace):
    sealed = seal(sealer, namespace, {"foo": "bar"})
    enc = sealed["spec"]["encryptedData"]
    enc["xyzzy"] = enc.pop("foo")
    enc["foo2"] = sealer.seal_value((MARK + "new!").encode(), Scope.STRICT, namespace, "testsecret")
    create(custom, sealed)
    wait_data(core, namespace, {"xyzzy": "bar", "foo2": "new!"})


def test_no_write_when_nothing_changed(sealer_controller, sealer, core, custom, namespace):
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    obj = wait_synced(custom, namespace)
    secret_rv = core.read_namespaced_secret("testsecret", namespace).metadata.resource_version
    # A metadata-only change (no spec change) is not a reason to touch anything.
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "testsecret", {"metadata": {"labels": {"x": "y"}}}
    )
    time.sleep(2)
    assert core.read_namespaced_secret("testsecret", namespace).metadata.resource_version == secret_rv
    assert condition(get_ss(custom, namespace))["lastUpdateTime"] == condition(obj)["lastUpdateTime"]


# --- existing Secrets (C5-C8) -----------------------------------------------------------------


def test_existing_managed_secret_is_taken_over(sealer_controller, sealer, core, custom, namespace):
    make_secret(
        core,
        namespace,
        {"foo": "bar1", "foo2": "bar2"},
        {MANAGED_ANNOTATION: "true"},
        {"mylabel": "x", "anotherlabel": "y"},
    )
    create(custom, seal(sealer, namespace, {"foo": "bar"}, labels={"mylabel": "myvalue"}))
    wait_data(core, namespace, {"foo": "bar"})
    s = core.read_namespaced_secret("testsecret", namespace)
    assert s.metadata.owner_references[0].name == "testsecret"
    assert not s.metadata.annotations and s.metadata.labels == {"mylabel": "myvalue"}
    wait_event(core, namespace, "Unsealed")


def test_existing_managed_and_patch_secret_is_merged(sealer_controller, sealer, core, custom, namespace):
    ann = {MANAGED_ANNOTATION: "true", PATCH_ANNOTATION: "true"}
    make_secret(core, namespace, {"foo": "bar1", "foo2": "bar2"}, ann, {"anotherlabel": "y"})
    create(custom, seal(sealer, namespace, {"foo": "bar"}, labels={"mylabel": "myvalue"}))
    wait_data(core, namespace, {"foo": "bar", "foo2": "bar2"})
    s = core.read_namespaced_secret("testsecret", namespace)
    assert s.metadata.annotations == ann and s.metadata.labels == {"mylabel": "myvalue", "anotherlabel": "y"}
    assert s.metadata.owner_references[0].name == "testsecret"


def test_existing_patch_secret_is_merged_without_ownership(sealer_controller, sealer, core, custom, namespace):
    make_secret(core, namespace, {"foo2": "bar2"}, {PATCH_ANNOTATION: "true"})
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    wait_data(core, namespace, {"foo": "bar", "foo2": "bar2"})
    assert not core.read_namespaced_secret("testsecret", namespace).metadata.owner_references
    wait_synced(custom, namespace)


def test_existing_unmanaged_secret_is_left_alone(sealer_controller, sealer, core, custom, namespace):
    make_secret(core, namespace, {"foo": "mine"})
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    obj = wait_synced(custom, namespace, status="False")
    assert (
        condition(obj)["message"]
        == 'failed update: Resource "testsecret" already exists and is not managed by SealedSecret'
    )
    assert condition(obj, "Stalled")["status"] == "True"
    wait_event(core, namespace, "ErrUpdateFailed")
    assert secret_data(core, namespace) == {"foo": "mine"}


# --- recreation (C9-C12) ----------------------------------------------------------------------


def test_owned_secret_is_recreated(sealer_controller, sealer, core, custom, namespace):
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    wait_data(core, namespace, {"foo": "bar"})
    core.delete_namespaced_secret("testsecret", namespace)
    wait_data(core, namespace, {"foo": "bar"})
    assert core.read_namespaced_secret("testsecret", namespace).metadata.owner_references[0].name == "testsecret"


def test_managed_secret_is_recreated_unmanaged_is_not(sealer_controller, sealer, core, custom, namespace):
    make_secret(core, namespace, {"foo": "x"}, {MANAGED_ANNOTATION: "true"}, name="managed")
    make_secret(core, namespace, {"foo": "x"}, None, name="unmanaged")
    make_secret(core, namespace, {"foo": "x"}, {PATCH_ANNOTATION: "true"}, name="patched")
    for name in ("managed", "unmanaged", "patched"):
        create(custom, seal(sealer, namespace, {"foo": "bar"}, name=name))
    wait_data(core, namespace, {"foo": "bar"}, name="managed")
    wait_data(core, namespace, {"foo": "bar"}, name="patched")
    wait_synced(custom, namespace, "unmanaged", status="False")
    # The managed one is now owned: deleting it brings it back. Foreign and patch-only ones stay deleted.
    for name in ("managed", "unmanaged", "patched"):
        core.delete_namespaced_secret(name, namespace)
    wait_data(core, namespace, {"foo": "bar"}, name="managed")
    time.sleep(2)
    assert secret_data(core, namespace, "patched") is None


# --- failures, types, immutability (C13-C16) ------------------------------------------------


def test_wrong_key(sealer_controller, core, custom, namespace, other_key):
    wrong = Sealer(parse_certificate(other_key.cert_pem))
    create(custom, seal(wrong, namespace, {"foo": "bar"}))
    obj = wait_synced(custom, namespace, status="False")
    assert "no key could decrypt secret (foo)" in condition(obj)["message"]
    wait_event(core, namespace, "ErrUnsealFailed")
    assert secret_data(core, namespace) is None


def test_custom_type(sealer_controller, sealer, core, custom, namespace):
    config = json.dumps({"auths": {"registry.example": {"auth": b64(MARK + "user:pw")}}})
    create(
        custom, seal(sealer, namespace, {".dockerconfigjson": config}, raw=True, type="kubernetes.io/dockerconfigjson")
    )
    wait_data(core, namespace, {".dockerconfigjson": config})
    assert core.read_namespaced_secret("testsecret", namespace).type == "kubernetes.io/dockerconfigjson"


def test_invalid_secret_is_reported_without_its_values(sealer_controller, sealer, core, custom, namespace):
    """The API server refuses the Secret (bad .dockerconfigjson) and its message quotes what it read;
    the controller reports status, reason and field only."""
    create(custom, seal(sealer, namespace, {".dockerconfigjson": "not json"}, type="kubernetes.io/dockerconfigjson"))
    obj = wait_synced(custom, namespace, status="False")
    message = condition(obj)["message"]
    assert message.startswith(f"cannot create Secret {namespace}/testsecret: 422") and ".dockerconfigjson" in message
    assert MARK not in message and "not json" not in message
    assert all(MARK not in e.message for e in wait_event(core, namespace, "ErrUpdateFailed"))


def test_immutable(sealer_controller, sealer, core, custom, namespace):
    create(custom, seal(sealer, namespace, {"foo": "bar"}, immutable=True))
    wait_data(core, namespace, {"foo": "bar"})
    assert core.read_namespaced_secret("testsecret", namespace).immutable is True
    obj = wait_synced(custom, namespace)
    obj["spec"] = seal(sealer, namespace, {"foo": "baz"}, immutable=True)["spec"]
    custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "testsecret", obj)
    obj = wait_synced(custom, namespace, status="False", generation=2)
    assert "the target Secret is immutable" in condition(obj)["message"]
    assert [e for e in wait_event(core, namespace, "ErrUpdateFailed") if "immutable" in e.message]
    assert secret_data(core, namespace) == {"foo": "bar"}


# --- scopes (C17-C22) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "rename_ok", "move_ok"),
    [(Scope.STRICT, False, False), (Scope.NAMESPACE_WIDE, True, False), (Scope.CLUSTER_WIDE, True, True)],
)
def test_scope_matrix(sealer_controller, sealer, core, custom, namespace, scope, rename_ok, move_ok):
    other = f"{namespace}-b"
    core.create_namespace({"metadata": {"name": other}})
    try:
        renamed = seal(sealer, namespace, {"foo": "bar"}, scope=scope)
        renamed["metadata"]["name"] = "not-testsecret"
        moved = seal(sealer, namespace, {"foo": "bar"}, scope=scope)
        moved["metadata"]["namespace"] = other
        create(custom, renamed)
        create(custom, moved)
        for ns, name, ok in ((namespace, "not-testsecret", rename_ok), (other, "testsecret", move_ok)):
            if ok:
                wait_data(core, ns, {"foo": "bar"}, name=name)
            else:
                wait_synced(custom, ns, name, status="False")
                wait_event(core, ns, "ErrUnsealFailed", name=name)
                assert secret_data(core, ns, name) is None
    finally:
        core.delete_namespace(other)


# --- the HTTP API and metrics ----------------------------------------------------------------


def test_verify_and_rotate_endpoints(sealer_controller, sealer, namespace, other_key):
    good = seal(sealer, namespace, {"foo": "bar"})
    bad = seal(Sealer(parse_certificate(other_key.cert_pem)), namespace, {"foo": "bar"})
    assert sealer_controller.request("POST", "/v1/verify", json.dumps(good).encode())[0] == 200
    assert sealer_controller.request("POST", "/v1/verify", json.dumps(bad).encode())[0] == 409
    time.sleep(1)  # the rate limit: 2 per second per client
    status, body = sealer_controller.request("POST", "/v1/rotate", json.dumps(good).encode())
    assert status == 200
    rotated = json.loads(body)
    assert rotated["spec"]["template"] == good["spec"]["template"]
    assert rotated["spec"]["encryptedData"]["foo"] != good["spec"]["encryptedData"]["foo"]
    codes = [sealer_controller.request("POST", "/v1/verify", json.dumps(good).encode())[0] for _ in range(6)]
    assert 429 in codes


def test_metrics_present_and_counting(sealer_controller, sealer, core, custom, namespace, other_key):
    before = sealer_controller.metric("sealed_secrets_controller_unseal_requests_total")
    errors_before = sealer_controller.metric(
        "sealed_secrets_controller_unseal_errors_total", reason="unseal", namespace=namespace
    )
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    create(custom, seal(Sealer(parse_certificate(other_key.cert_pem)), namespace, {"foo": "bar"}, name="bad"))
    wait_synced(custom, namespace)
    wait_synced(custom, namespace, "bad", status="False")
    assert sealer_controller.metric("sealed_secrets_controller_unseal_requests_total") >= before + 2
    eventually(
        lambda: (
            sealer_controller.metric(
                "sealed_secrets_controller_unseal_errors_total", reason="unseal", namespace=namespace
            )
            > errors_before
        ),
        10,
        what="unseal error counted",
    )
    assert (
        sealer_controller.metric("sealed_secrets_controller_condition_info", namespace=namespace, name="testsecret")
        == 1
    )
    assert sealer_controller.metric("sealed_secrets_controller_condition_info", namespace=namespace, name="bad") == -1
    assert sealer_controller.metric("sealed_secrets_controller_keys") >= 1
    assert sealer_controller.metric("sealed_secrets_controller_newest_key_age_seconds") >= 0
    assert sealer_controller.metric("sealed_secrets_controller_private_key_operations_total") >= 1


# --- the GitOps path: sealer seal -> kustomize -> kubectl apply -k ----------------------------


def test_sealed_by_cli_applied_with_kustomize(sealer_controller, control_plane, core, namespace, tmp_path):
    base, overlay = tmp_path / "base", tmp_path / "overlay"
    base.mkdir()
    overlay.mkdir()
    plain = secret_json("api-secrets", namespace, {"token": MARK + "kustomized"})
    sealed = subprocess.run(
        [sys.executable, "-m", "sealer", "seal", "--cert", f"{sealer_controller.url}/v1/cert.pem", "-o", "yaml"],
        input=plain.encode(),
        capture_output=True,
        check=True,
        cwd=REPO,
    ).stdout
    (base / "sealed-secret.yaml").write_bytes(sealed)
    (base / "kustomization.yaml").write_text("resources:\n- sealed-secret.yaml\n")
    (overlay / "kustomization.yaml").write_text(
        f"namespace: {namespace}\nresources:\n- ../base\ncommonLabels:\n  env: test\n"
    )
    control_plane.kubectl("apply", "-k", str(overlay))
    wait_data(core, namespace, {"token": "kustomized"}, name="api-secrets")


# --- templates, kubeseal, keys -------------------------------------------------------------------


def test_template_data(sealer_controller, sealer, core, custom, namespace):
    sealed = seal(sealer, namespace, {"user": "admin", "password": "pw"})
    sealed["spec"]["template"]["data"] = {"dsn": 'postgres://{{ .user }}:{{ index . "password" }}@db/app'}
    create(custom, sealed)
    wait_data(core, namespace, {"user": "admin", "password": "pw", "dsn": f"postgres://{MARK}admin:{MARK}pw@db/app"})


def test_bad_template_fails_only_that_sealed_secret(sealer_controller, sealer, core, custom, namespace):
    sealed = seal(sealer, namespace, {"user": "admin"}, name="bad")
    sealed["spec"]["template"]["data"] = {"x": "{{ randAlphaNum 8 }}"}
    create(custom, sealed)
    obj = wait_synced(custom, namespace, "bad", status="False")
    assert "template data.x" in condition(obj)["message"] and "randAlphaNum" in condition(obj)["message"]
    create(custom, seal(sealer, namespace, {"foo": "bar"}))
    wait_data(core, namespace, {"foo": "bar"})


def test_kubeseal_sealed_secret_is_unsealed(sealer_controller, core, namespace, control_plane):
    from tests.interop.conftest import find_binary
    from tests.peers import peer_bin_dir

    kubeseal = find_binary(peer_bin_dir("bitnami"), "kubeseal")
    plain = secret_json("from-kubeseal", namespace, {"foo": MARK + "bar"})
    sealed = subprocess.run(
        [str(kubeseal), "--cert", f"{sealer_controller.url}/v1/cert.pem", "-o", "yaml"],
        input=plain.encode(),
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": str(control_plane.kubeconfig)},
    ).stdout
    control_plane.kubectl("apply", "-f", "-", input=sealed.decode())
    wait_data(core, namespace, {"foo": "bar"}, name="from-kubeseal")


def test_rotation_on_sigusr1_and_by_cli_keeps_old_secrets_opening(
    sealer_controller, control_plane, core, custom, namespace
):
    import os
    import signal

    old = Sealer(parse_certificate(sealer_controller.cert_pem()))
    keys_before = sealer_controller.metric("sealed_secrets_controller_keys")
    os.kill(sealer_controller.proc.pid, signal.SIGUSR1)
    eventually(
        lambda: sealer_controller.metric("sealed_secrets_controller_keys") == keys_before + 1, 30, what="new key"
    )
    after_signal = sealer_controller.cert_pem()
    assert parse_certificate(after_signal).fingerprint != old.certificate.fingerprint
    # `sealer keys rotate` writes a key Secret; the controller picks it up without a restart.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sealer",
            "keys",
            "rotate",
            "--kubeconfig",
            str(control_plane.kubeconfig),
            "--bits",
            "2048",
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    eventually(
        lambda: sealer_controller.metric("sealed_secrets_controller_keys") == keys_before + 2, 30, what="CLI key"
    )
    newest = Sealer(parse_certificate(sealer_controller.cert_pem()))
    assert newest.certificate.fingerprint not in (
        old.certificate.fingerprint,
        parse_certificate(after_signal).fingerprint,
    )
    create(custom, seal(old, namespace, {"foo": "old"}, name="old"))
    create(custom, seal(newest, namespace, {"foo": "new"}, name="new"))
    wait_data(core, namespace, {"foo": "old"}, name="old")
    wait_data(core, namespace, {"foo": "new"}, name="new")


def test_scheduled_rotation_with_a_short_renew_period(sealer_controller, control_plane, core, custom, namespace):
    """A second instance rotating every 3 s: new keys keep coming, SealedSecrets sealed for any of
    them keep opening, and the main instance learns each new key from the key Secrets' watch."""
    from tests.e2e.sealer_controller import RunningController

    first = Sealer(parse_certificate(sealer_controller.cert_pem()))
    before = len(
        core.list_namespaced_secret("kube-system", label_selector="sealedsecrets.bitnami.com/sealed-secrets-key").items
    )
    rotating = RunningController(
        control_plane,
        "kube-system",
        "--key-renew-period",
        "3s",
        "--label-selector",
        "sealer.test/own-controller=rotation",
        name="rotating",
    ).start()
    try:

        def key_count():
            return len(
                core.list_namespaced_secret(
                    "kube-system", label_selector="sealedsecrets.bitnami.com/sealed-secrets-key"
                ).items
            )

        eventually(lambda: key_count() >= before + 2, 30, 0.5, "two scheduled rotations")
        latest = Sealer(parse_certificate(rotating.cert_pem()))
        assert latest.certificate.fingerprint != first.certificate.fingerprint
        create(custom, seal(first, namespace, {"foo": "first"}, name="first", own="rotation"))
        create(custom, seal(latest, namespace, {"foo": "latest"}, name="latest", own="rotation"))
        wait_data(core, namespace, {"foo": "first"}, name="first")
        wait_data(core, namespace, {"foo": "latest"}, name="latest")
        # The rotating instance did it (its log line follows the write by a moment).
        eventually(lambda: f"{namespace}/latest: unsealed" in rotating.logs(), 10, what="rotating instance's log")
    finally:
        rotating.stop()
    assert "the renew period elapsed" in rotating.logs()
    eventually(
        lambda: sealer_controller.metric("sealed_secrets_controller_keys") == key_count(),
        30,
        what="main instance saw the keys",
    )


def test_additional_namespaces_limit_what_is_watched(sealer_controller, control_plane, sealer, core, custom, namespace):
    """--all-namespaces=false --additional-namespaces X: X is handled, other namespaces are not."""
    from tests.e2e.sealer_controller import RunningController

    other = f"{namespace}-unwatched"
    core.create_namespace({"metadata": {"name": other}})
    limited = RunningController(
        control_plane,
        "kube-system",
        "--all-namespaces=false",
        "--additional-namespaces",
        namespace,
        "--key-renew-period",
        "0",
        "--label-selector",
        "sealer.test/own-controller=namespaced",
        name="namespaced",
    ).start()
    try:
        create(custom, seal(sealer, namespace, {"foo": "bar"}, own="namespaced"))
        create(custom, seal(sealer, other, {"foo": "bar"}, own="namespaced"))
        wait_data(core, namespace, {"foo": "bar"})
        time.sleep(2)
        assert secret_data(core, other) is None
        eventually(lambda: f"{namespace}/testsecret: unsealed" in limited.logs(), 10, what="limited instance's log")
    finally:
        limited.stop()
        core.delete_namespace(other)
    assert "watching kube-system," + namespace in limited.logs()


# --- resilience --------------------------------------------------------------------------------


def test_survives_api_server_restart(sealer_controller, control_plane, sealer, core, custom, namespace):
    create(custom, seal(sealer, namespace, {"foo": "before"}, name="before"))
    wait_data(core, namespace, {"foo": "before"}, name="before")
    control_plane.restart_apiserver()
    create(custom, seal(sealer, namespace, {"foo": "after"}, name="after"))
    wait_data(core, namespace, {"foo": "after"}, name="after", timeout=60)


# --- last: nothing secret in the logs ----------------------------------------------------------


def test_zz_no_value_in_logs(sealer_controller):
    logs = sealer_controller.logs()
    assert "unsealed" in logs  # the log is real and verbose (DEBUG)
    assert MARK not in logs
    assert b64(MARK)[:8] not in logs

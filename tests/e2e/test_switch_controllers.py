"""Teams can switch controllers in both directions with nothing re-sealed.

Ours -> Bitnami's: Bitnami's controller loads the keys our controller generated, opens what
`sealer seal` sealed, and keeps managing the Secrets our controller created (same owner
reference, spec updates applied). Bitnami's -> ours: our controller loads the key Bitnami's
generated, opens what kubeseal sealed, and takes over the Secrets Bitnami's created. Plus the
HTTP API (/v1/verify) and offline recovery across tools.

Bitnami's controller runs as the deploy/ ServiceAccount (tests/e2e/bitnami_controller.py: a
private mount namespace gives it its in-cluster files). Each test's SealedSecrets carry their own
`sealer.test/own-controller` label, so the session controller leaves them alone and only the
controller under test (started with that label selector) sees them. A "switch" is what a
team does: stop one controller, start the other with the same keys and the same selector.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from sealer.core.certs import parse_certificate
from sealer.core.scope import KEY_HINT_ANNOTATION
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.bitnami_controller import BitnamiController, sandbox_unavailable
from tests.e2e.sealed_objects import GROUP, PLURAL, VERSION, create
from tests.e2e.sealer_controller import REPO, RunningController, secret_json
from tests.e2e.waiting import eventually
from tests.interop.conftest import find_binary
from tests.peers import peer_bin_dir, unavailable

pytestmark = pytest.mark.e2e

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
OWN = "sealer.test/own-controller"
MARK = "s3cr3t-switch-"


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bitnami_bin() -> SimpleNamespace:
    reason = sandbox_unavailable()
    if reason:
        unavailable(reason)
    bin_dir = peer_bin_dir("bitnami")
    return SimpleNamespace(controller=find_binary(bin_dir, "controller"), kubeseal=find_binary(bin_dir, "kubeseal"))


@pytest.fixture
def start(control_plane, bitnami_bin):
    """Start controllers (``start.bitnami(...)``, ``start.ours(...)``); all are stopped afterwards."""
    running: list = []

    def bitnami(namespace: str, *args: str, **kw) -> BitnamiController:
        ctrl = BitnamiController(control_plane, bitnami_bin.controller, namespace, *args, **kw)
        running.append(ctrl)
        return ctrl.start()

    def ours(namespace: str, *args: str) -> RunningController:
        ctrl = RunningController(control_plane, namespace, *args)
        running.append(ctrl)
        return ctrl.start()

    yield SimpleNamespace(bitnami=bitnami, ours=ours)
    for ctrl in reversed(running):
        ctrl.stop()


@pytest.fixture
def own_label() -> tuple[dict[str, str], str]:
    """This test's label for its SealedSecrets, and the selector its controllers run with."""
    value = f"switch-{secrets.token_hex(3)}"
    return {OWN: value}, f"{OWN}={value}"


# --- helpers -----------------------------------------------------------------------------------


def plain(name: str, namespace: str, data: dict[str, str], **extra) -> dict:
    return json.loads(secret_json(name, namespace, {k: MARK + v for k, v in data.items()}, **extra))


def _cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}


def sealer_cli(*args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", *args], input=input, capture_output=True, cwd=REPO, env=_cli_env(), timeout=120
    )
    assert proc.returncode == 0, f"sealer {args[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}"
    return proc.stdout


def sealer_seal(cert: str, secret: dict) -> dict:
    return json.loads(sealer_cli("seal", "--cert", cert, "-o", "json", input=json.dumps(secret).encode()))


def kubeseal(binary: Path, control_plane, *args: str, input: bytes) -> bytes:
    proc = subprocess.run(
        [str(binary), *args],
        input=input,
        capture_output=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": str(control_plane.kubeconfig)},
    )
    assert proc.returncode == 0, f"kubeseal {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}"
    return proc.stdout


def labelled(sealed: dict, labels: dict[str, str]) -> dict:
    """Labels on the SealedSecret itself (not its template): they pick the controller, and are not
    part of what was sealed."""
    sealed["metadata"].setdefault("labels", {}).update(labels)
    return sealed


def fingerprint(pem: bytes) -> str:
    return parse_certificate(pem).fingerprint


def get_ss(custom, ns: str, name: str) -> dict:
    return sealed_objects.get_sealed(custom, ns, name)


def replace_spec(custom, ns: str, name: str, spec: dict) -> dict:
    obj = get_ss(custom, ns, name)
    obj["spec"] = spec
    return custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name, obj)


def secret_data(core, ns: str, name: str) -> dict[str, str] | None:
    return sealed_objects.secret_data(core, ns, name, MARK)


def wait_data(core, ns: str, name: str, expected: dict[str, str]) -> None:
    eventually(
        lambda: secret_data(core, ns, name) == expected or None,
        30,
        what=f"Secret {ns}/{name} == {expected} (now {secret_data(core, ns, name)})",
    )


def conditions(obj: dict) -> dict[str, dict]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def without_empty(condition: dict) -> dict:
    """A condition as Bitnami's controller writes it back: its Go type drops empty fields (omitempty)."""
    return {k: v for k, v in condition.items() if v not in ("", None)}


def wait_condition(
    custom, ns: str, name: str, kind: str = "Synced", status: str = "True", generation: int | None = None
) -> dict:
    def check():
        obj = get_ss(custom, ns, name)
        c = conditions(obj).get(kind)
        if (
            c
            and c["status"] == status
            and (generation is None or obj["status"].get("observedGeneration") == generation)
        ):
            return obj
        return None

    return eventually(
        check, 30, what=f"{ns}/{name} {kind}={status}" + (f" at generation {generation}" if generation else "")
    )


def events(core, ns: str, name: str, reason: str) -> list:
    return [
        e
        for e in core.list_namespaced_event(ns).items
        if e.involved_object.name == name and e.involved_object.kind == "SealedSecret" and e.reason == reason
    ]


def wait_events(core, ns: str, name: str, reason: str, count: int = 1) -> list:
    return eventually(
        lambda: len(found := events(core, ns, name, reason)) >= count and found,
        30,
        what=f"{count} {reason} event(s) on {ns}/{name}",
    )


def assert_owned(secret, sealed: dict) -> None:
    """Exactly one owner reference, the controller one, to this SealedSecret (both controllers write
    the same: apiVersion, kind, name, uid, controller=true)."""
    refs = secret.metadata.owner_references or []
    assert [(r.api_version, r.kind, r.name, r.uid, r.controller) for r in refs] == [
        (f"{GROUP}/{VERSION}", "SealedSecret", sealed["metadata"]["name"], sealed["metadata"]["uid"], True)
    ]


def assert_no_denials(bitnami: BitnamiController) -> None:
    """Bitnami's controller got by with deploy/'s RBAC: the API server refused it nothing (status
    updates, events and key Secrets fail only in its log, so the log is where to look)."""
    denied = [line for line in bitnami.logs().splitlines() if "forbidden" in line.lower()]
    assert not denied, "\n".join(denied[:5])


def key_secrets(core, ns: str) -> list:
    return core.list_namespaced_secret(ns, label_selector=KEY_LABEL).items


# --- ours -> Bitnami's ---------------------------------------------------------------------------


def test_bitnami_controller_opens_what_sealer_sealed_with_our_keys(
    sealer_controller, control_plane, start, bitnami_bin, own_label, core, custom, namespace, other_key, tmp_path
):
    labels, selector = own_label
    our_cert = sealer_controller.cert_pem()
    keys_before = sorted(s.metadata.name for s in key_secrets(core, "kube-system"))
    sealed = sealer_seal(f"{sealer_controller.url}/v1/cert.pem", plain("from-sealer", namespace, {"foo": "bar"}))
    assert sealed["metadata"]["annotations"][KEY_HINT_ANNOTATION] == fingerprint(our_cert)

    bitnami = start.bitnami("kube-system", "--key-renew-period", "0", "--label-selector", selector)
    # It loaded the keys our controller generated, seals for the same newest one, and made none.
    assert fingerprint(bitnami.cert_pem()) == fingerprint(our_cert)
    assert sorted(s.metadata.name for s in key_secrets(core, "kube-system")) == keys_before

    created = create(custom, labelled(sealed, labels))
    wait_data(core, namespace, "from-sealer", {"foo": "bar"})
    assert_owned(core.read_namespaced_secret("from-sealer", namespace), created)
    obj = wait_condition(custom, namespace, "from-sealer", generation=1)
    assert list(conditions(obj)) == ["Synced"]  # Bitnami's controller writes this one condition only
    wait_events(core, namespace, "from-sealer", "Unsealed")

    # Its /v1/verify accepts what `sealer seal` sealed (and still refuses another key's).
    wrong = Sealer(parse_certificate(other_key.cert_pem)).seal_secret(plain("from-sealer", namespace, {"foo": "bar"}))
    assert bitnami.request("POST", "/v1/verify", json.dumps(sealed).encode())[0] == 200
    assert bitnami.request("POST", "/v1/verify", json.dumps(wrong).encode())[0] == 409

    # Disaster recovery: kubeseal opens it offline with a `sealer keys backup` of our keys.
    backup = tmp_path / "sealed-secrets-keys.yaml"
    sealer_cli("keys", "backup", "--kubeconfig", str(control_plane.kubeconfig), "-w", str(backup))
    opened = json.loads(
        kubeseal(
            bitnami_bin.kubeseal,
            control_plane,
            "--recovery-unseal",
            "--recovery-private-key",
            str(backup),
            "-o",
            "json",
            input=json.dumps(sealed).encode(),
        )
    )
    assert base64.b64decode(opened["data"]["foo"]).decode() == MARK + "bar"
    assert_no_denials(bitnami)


def test_bitnami_controller_keeps_managing_secrets_our_controller_created(
    sealer_controller, start, own_label, core, custom, namespace, other_key
):
    labels, selector = own_label
    sealer = Sealer(parse_certificate(sealer_controller.cert_pem()))
    ours = start.ours("kube-system", "--key-renew-period", "0", "--label-selector", selector)

    def sealed(value: str, with_key: Sealer = sealer) -> dict:
        doc = with_key.seal_secret(plain("app", namespace, {"foo": value}, labels={"app": "web"}))
        return labelled(doc, labels)

    created = create(custom, sealed("v1"))
    wait_data(core, namespace, "app", {"foo": "v1"})
    before = core.read_namespaced_secret("app", namespace)
    assert_owned(before, created)
    ready = conditions(wait_condition(custom, namespace, "app", "Ready", generation=1))["Ready"]
    wait_events(core, namespace, "app", "Unsealed")
    ours.stop()
    assert len(events(core, namespace, "app", "Unsealed")) == 1  # so a second one is Bitnami's

    # The switch. Bitnami's controller processes every SealedSecret when it starts: it adopts this
    # one (its own Unsealed event) and finds nothing to change in the Secret.
    bitnami = start.bitnami("kube-system", "--key-renew-period", "0", "--label-selector", selector)
    wait_events(core, namespace, "app", "Unsealed", count=2)
    after = core.read_namespaced_secret("app", namespace)
    assert after.metadata.resource_version == before.metadata.resource_version
    assert_owned(after, created)

    # It applies a spec change, keeping the owner reference and the template's labels.
    replace_spec(custom, namespace, "app", sealed("v2")["spec"])
    wait_data(core, namespace, "app", {"foo": "v2"})
    secret = core.read_namespaced_secret("app", namespace)
    assert_owned(secret, created)
    assert secret.metadata.labels == {"app": "web"}
    conds = conditions(wait_condition(custom, namespace, "app", generation=2))
    # Bitnami's controller maintains Synced only: our Ready (and Stalled) conditions stay as our
    # controller left them. Here that is still right, but see below.
    assert conds["Synced"]["status"] == "True" and conds["Ready"] == without_empty(ready)

    # A failure under Bitnami's controller: Synced turns False, the Secret keeps its last value,
    # and the Ready=True our controller wrote is left behind, stale (kstatus/Flux would read it).
    replace_spec(custom, namespace, "app", sealed("v3", Sealer(parse_certificate(other_key.cert_pem)))["spec"])
    conds = conditions(wait_condition(custom, namespace, "app", status="False", generation=3))
    assert "no key could decrypt secret (foo)" in conds["Synced"]["message"]
    assert conds["Ready"] == without_empty(ready) and "Stalled" not in conds
    assert conds["Synced"]["reason"] == "Unsealed"  # ours, also left behind: Bitnami's sets no reason
    wait_events(core, namespace, "app", "ErrUnsealFailed")
    assert secret_data(core, namespace, "app") == {"foo": "v2"}
    assert_no_denials(bitnami)


# --- Bitnami's -> ours ---------------------------------------------------------------------------


def test_our_controller_takes_over_from_bitnami_controller(
    sealer_controller, control_plane, start, bitnami_bin, own_label, key_namespace, core, custom, namespace, tmp_path
):
    labels, selector = own_label
    bitnami = start.bitnami(
        key_namespace, "--key-renew-period", "0", "--key-size", "2048", "--label-selector", selector
    )
    keys = key_secrets(core, key_namespace)
    assert len(keys) == 1 and keys[0].metadata.name.startswith("sealed-secrets-key")
    assert keys[0].type == "kubernetes.io/tls" and keys[0].metadata.labels[KEY_LABEL] == "active"
    bitnami_cert = bitnami.cert_pem()
    assert fingerprint(base64.b64decode(keys[0].data["tls.crt"])) == fingerprint(bitnami_cert)
    cert_file = tmp_path / "cert.pem"  # what a team keeps to seal offline (kubeseal --fetch-cert)
    cert_file.write_bytes(bitnami_cert)

    def kubeseal_seal(cert: str, secret: dict) -> dict:
        doc = json.loads(
            kubeseal(
                bitnami_bin.kubeseal, control_plane, "--cert", cert, "-o", "json", input=json.dumps(secret).encode()
            )
        )
        return labelled(doc, labels)

    sealed = kubeseal_seal(f"{bitnami.url}/v1/cert.pem", plain("db", namespace, {"password": "v1"}))
    later = kubeseal_seal(str(cert_file), plain("later", namespace, {"token": "t"}))
    created = create(custom, sealed)
    wait_data(core, namespace, "db", {"password": "v1"})
    before = core.read_namespaced_secret("db", namespace)
    assert_owned(before, created)
    synced = conditions(wait_condition(custom, namespace, "db", generation=1))["Synced"]
    wait_events(core, namespace, "db", "Unsealed")

    # Bitnami's documented key backup (kubectl get secret -l ... -o yaml) opens offline with sealer.
    backup = tmp_path / "main.key"
    backup.write_text(control_plane.kubectl("get", "secret", "-n", key_namespace, "-l", KEY_LABEL, "-o", "yaml").stdout)
    opened = json.loads(
        sealer_cli("unseal", "--recovery-private-key", str(backup), "-o", "json", input=json.dumps(sealed).encode())
    )
    assert base64.b64decode(opened["data"]["password"]).decode() == MARK + "v1"

    # The switch.
    assert bitnami.stop() == 0
    assert_no_denials(bitnami)
    ours = start.ours(key_namespace, "--key-renew-period", "0", "--label-selector", selector)
    # Ours loaded the key Bitnami's generated, seals for it, and made none of its own.
    assert fingerprint(ours.cert_pem()) == fingerprint(bitnami_cert)
    assert [s.metadata.name for s in key_secrets(core, key_namespace)] == [keys[0].metadata.name]
    assert ours.request("POST", "/v1/verify", json.dumps(sealed).encode())[0] == 200

    # It takes the existing Secret over: its status adds Ready (which it maintains, Bitnami's does
    # not), Synced stays True with no transition, and the Secret, already right, is not rewritten.
    conds = conditions(wait_condition(custom, namespace, "db", "Ready", generation=1))
    assert conds["Synced"]["status"] == "True" and conds["Synced"]["lastTransitionTime"] == synced["lastTransitionTime"]
    assert list(conds)[0] == "Synced"  # kubectl's and Argo CD's .status.conditions[0]
    wait_events(core, namespace, "db", "Unsealed", count=2)
    after = core.read_namespaced_secret("db", namespace)
    assert after.metadata.resource_version == before.metadata.resource_version
    assert_owned(after, created)

    # What kubeseal sealed for Bitnami's controller before the switch still opens, ...
    later_created = create(custom, later)
    wait_data(core, namespace, "later", {"token": "t"})
    assert_owned(core.read_namespaced_secret("later", namespace), later_created)
    # ... a spec change sealed offline with the kept certificate is applied, ...
    replace_spec(
        custom, namespace, "db", kubeseal_seal(str(cert_file), plain("db", namespace, {"password": "v2"}))["spec"]
    )
    wait_data(core, namespace, "db", {"password": "v2"})
    assert_owned(core.read_namespaced_secret("db", namespace), created)
    wait_condition(custom, namespace, "db", generation=2)
    # ... and the Secret Bitnami's controller created is ours to recreate when deleted.
    core.delete_namespaced_secret("db", namespace)
    wait_data(core, namespace, "db", {"password": "v2"})
    assert_owned(core.read_namespaced_secret("db", namespace), created)


def test_bitnami_controller_ignores_a_reconcile_request_harmlessly(
    sealer_controller, control_plane, start, own_label, core, custom, namespace, cli
):
    """`sealer reconcile`'s annotation is metadata: Bitnami's controller skips updates that leave the
    spec alone, so it neither re-unseals nor fails; `--wait` says no controller answered, and
    `sealer status` still reads Bitnami's Synced condition (with no record: drift unknown)."""
    labels, selector = own_label
    sealer = Sealer(parse_certificate(sealer_controller.cert_pem()))
    bitnami = start.bitnami("kube-system", "--key-renew-period", "0", "--label-selector", selector)
    create(custom, labelled(sealer.seal_secret(plain("app", namespace, {"foo": "bar"})), labels))
    wait_data(core, namespace, "app", {"foo": "bar"})
    wait_condition(custom, namespace, "app", generation=1)
    unsealed = len(wait_events(core, namespace, "app", "Unsealed"))
    secret_rv = core.read_namespaced_secret("app", namespace).metadata.resource_version
    kubeconfig = str(control_plane.kubeconfig)
    r = cli("reconcile", "app", "-n", namespace, "--kubeconfig", kubeconfig, "--wait", "--timeout", "5s")
    assert r.status == 1 and "did not report handling the request" in r.err and r.err.count("\n") == 1
    time.sleep(1)
    assert bitnami.proc.poll() is None  # still running
    assert core.read_namespaced_secret("app", namespace).metadata.resource_version == secret_rv
    assert len(events(core, namespace, "app", "Unsealed")) == unsealed
    assert "ReconcileRequest" not in conditions(get_ss(custom, namespace, "app"))
    r = cli("status", "-n", namespace, "--kubeconfig", kubeconfig, "-o", "json")
    (item,) = json.loads(r.out)["items"]
    assert r.status == 0 and item["synced"] == "True" and item["drift"] == "unknown" and item["secret"] == "present"
    assert_no_denials(bitnami)

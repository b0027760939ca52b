"""Automatic key escrow on the real control plane (docs/keys.md, "Key escrow"): the controller
seals every key for the recipients of its --escrow-recipients ConfigMap; with the escrow objects
alone and a recipient's private key, every key comes back into an emptied cluster and every
SealedSecret opens again. A recipient added later gets escrow for the existing keys; M of N
needs M; bad recipient certificates are one-line errors and the others keep working; no escrow
object holds a private key in the clear."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys

import kubernetes
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from keys.generate import self_signed_certificate
from keys.secret_format import KEY_LABEL, from_secret
from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.e2e import sealed_objects
from tests.e2e.sealer_controller import REPO, RunningController
from tests.e2e.waiting import eventually
from tests.escrow_leaks import leaks

pytestmark = pytest.mark.e2e

OWN = "sealer.test/own-controller"
ESCROW = "sealer.dev/escrow"
RECIPIENTS = "sealed-secrets-escrow-recipients"
MARK = "s3cr3t-escrow-"
NOW = dt.datetime.now(dt.UTC)


def person(tmp_path, name, *, key=None, not_before=None, ttl=dt.timedelta(days=30)):
    """(private key file, certificate PEM) of a recipient."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, not_before=not_before or NOW - dt.timedelta(hours=1), ttl=ttl, cn=name)
    path = tmp_path / f"{name}.key"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path, cert.public_bytes(serialization.Encoding.PEM).decode()


def sealer_cli(control_plane, *args):
    return subprocess.run(
        [sys.executable, "-m", "sealer", *args, "--kubeconfig", str(control_plane.kubeconfig)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def key_secrets(core, ns):
    return core.list_namespaced_secret(ns, label_selector=KEY_LABEL).items


def escrow_objects(core, ns):
    return core.list_namespaced_config_map(ns, label_selector=ESCROW).items


def export_escrow(kube, core, ns, path):
    """What an administrator keeps (or commits): the escrow ConfigMaps as a List."""
    items = [kube.sanitize_for_serialization(cm) for cm in escrow_objects(core, ns)]
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return items


def seal_one(custom, controller, ns, name, value, tag):
    sealer = Sealer(parse_certificate(controller.cert_pem()))
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}
    doc["stringData"] = {"value": MARK + value}
    sealed = sealer.seal_secret(doc)
    sealed["metadata"]["labels"] = {OWN: tag}
    sealed_objects.create(custom, sealed)


def sealing(ctrl):
    return parse_certificate(ctrl.cert_pem()).fingerprint


def opened(core, ns, name):
    return sealed_objects.secret_data(core, ns, name, MARK)


def lose_every_key(core, ns):
    for s in key_secrets(core, ns):
        core.delete_namespaced_secret(s.metadata.name, ns)
    eventually(lambda: not key_secrets(core, ns), 30, 0.2, "key Secrets gone")


def start(control_plane, ns, tag, *flags):
    return RunningController(
        control_plane, ns, "--label-selector", f"{OWN}={tag}", "--key-renew-period", "0", *flags, name=f"escrow-{tag}"
    ).start()


def test_rotate_twice_lose_every_key_restore_from_escrow_alone(
    control_plane, kube, core, custom, namespace, key_namespace, tmp_path
):
    tag = key_namespace[-6:]
    alice_key, alice_cert = person(tmp_path, "alice")
    core.create_namespaced_config_map(
        key_namespace, {"metadata": {"name": RECIPIENTS}, "data": {"alice.pem": alice_cert}}
    )
    ctrl = start(control_plane, key_namespace, tag)
    try:
        seen: set[str] = set()
        for i in range(3):
            if i:
                ctrl.proc.send_signal(signal.SIGUSR1)  # rotate
                eventually(lambda n=i + 1: len(key_secrets(core, key_namespace)) == n, 60, 0.2, f"{i + 1} keys")
                eventually(lambda: sealing(ctrl) not in seen, 30, 0.2, "the new key seals")
            seen.add(sealing(ctrl))
            seal_one(custom, ctrl, namespace, f"app-{i}", f"v{i}", tag)
        eventually(lambda: len(escrow_objects(core, key_namespace)) == 3, 30, 0.2, "an escrow object per key")
        eventually(lambda: all(opened(core, namespace, f"app-{i}") == {"value": f"v{i}"} for i in range(3)), 60, 0.3)
        eventually(lambda: ctrl.metric("sealed_secrets_controller_keys_without_escrow") == 0, 30, 0.3)
        assert ctrl.metric("sealed_secrets_controller_escrow_recipients") == 1
    finally:
        ctrl.stop()
    keys = [from_secret(kube.sanitize_for_serialization(s), "key") for s in key_secrets(core, key_namespace)]
    assert len({k.fingerprint for k in keys}) == 3
    exported = export_escrow(kube, core, key_namespace, tmp_path / "escrow.yaml")
    # No escrow object holds a private key in the clear (PEM headers, DER, base64 of either).
    assert leaks((tmp_path / "escrow.yaml").read_text(), [k.pair for k in keys]) == []
    assert {o["data"]["key.fingerprint"] for o in exported} == {k.fingerprint for k in keys}
    assert all(o["metadata"].get("ownerReferences") is None for o in exported)

    # Verify, offline, against the cluster's active keys: every one restorable.
    verified = sealer_cli(
        control_plane, "keys", "escrow", "verify", "--escrow", str(tmp_path / "escrow.yaml"),
        "--recovery-private-key", str(alice_key), "--controller-namespace", key_namespace,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.count("ok   ") == 3
    # The keys to check came from the certificate ConfigMap, which needs no right to read Secrets.
    assert f"(keys of ConfigMap {key_namespace}/sealed-secrets-controller-certs)" in verified.stderr

    # Disaster: every key Secret and every unsealed Secret is gone; escrow objects stay.
    lose_every_key(core, key_namespace)
    for i in range(3):
        core.delete_namespaced_secret(f"app-{i}", namespace)
    assert len(escrow_objects(core, key_namespace)) == 3  # deleting keys never deletes escrow
    restored = sealer_cli(
        control_plane, "keys", "restore", "--escrow", str(tmp_path / "escrow.yaml"),
        "--recovery-private-key", str(alice_key), "--controller-namespace", key_namespace,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.count("restored ") == 3
    assert "PRIVATE KEY" not in restored.stdout + restored.stderr
    back = [from_secret(kube.sanitize_for_serialization(s), "key") for s in key_secrets(core, key_namespace)]
    assert sorted((k.name, k.fingerprint) for k in back) == sorted((k.name, k.fingerprint) for k in keys)

    ctrl = start(control_plane, key_namespace, tag)
    try:
        eventually(lambda: all(opened(core, namespace, f"app-{i}") == {"value": f"v{i}"} for i in range(3)), 90, 0.3)
        assert len(key_secrets(core, key_namespace)) == 3  # it made no new key: the restored ones are active
    finally:
        ctrl.stop()


def test_recipients_checked_added_later_and_m_of_n(
    control_plane, kube, core, custom, namespace, key_namespace, tmp_path
):
    tag = key_namespace[-6:]
    curve = ec.generate_private_key(ec.SECP256R1())
    ec_cert = self_signed_certificate(curve, not_before=NOW - dt.timedelta(days=1), ttl=dt.timedelta(days=9), cn="e")
    _, expired = person(tmp_path, "old", not_before=NOW - dt.timedelta(days=10), ttl=dt.timedelta(days=1))
    bad = {"ec.pem": ec_cert.public_bytes(serialization.Encoding.PEM).decode(), "old.pem": expired}
    core.create_namespaced_config_map(key_namespace, {"metadata": {"name": RECIPIENTS}, "data": bad})
    ctrl = start(control_plane, key_namespace, tag)
    try:
        source = f"ConfigMap {key_namespace}/{RECIPIENTS}"
        eventually(lambda: [ln for ln in ctrl.logs().splitlines() if "escrow recipient left out" in ln], 20, 0.2)
        lines = [line for line in ctrl.logs().splitlines() if "escrow recipient left out" in line]
        assert any(f"{source}, data.ec.pem: not an RSA certificate (EC)" in ln for ln in lines), lines
        assert any(f"{source}, data.old.pem: the certificate expired on" in ln for ln in lines), lines
        assert "Traceback" not in ctrl.logs()
        # The CLI's check of the same ConfigMap says the same, one line each.
        checked = sealer_cli(control_plane, "keys", "escrow", "recipients", "--controller-namespace", key_namespace)
        assert checked.returncode == 1
        assert sorted(checked.stdout.splitlines()) == sorted(
            f"FAIL {ln.split('escrow recipient left out: ')[1]}" for ln in lines
        )
        # No usable recipient: the key has no escrow, and the gauge says so.
        eventually(lambda: ctrl.metric("sealed_secrets_controller_keys_without_escrow") == 1, 30, 0.3)
        assert ctrl.metric("sealed_secrets_controller_key_without_escrow_seconds") > 0
        assert escrow_objects(core, key_namespace) == []
        seal_one(custom, ctrl, namespace, "app", "v", tag)
        eventually(lambda: opened(core, namespace, "app") == {"value": "v"}, 60, 0.3)

        # Three good recipients are added next to the bad ones, 2 of 3 needed: the existing key gets
        # its escrow object (the bad entries are still left out, the good ones work).
        people = [person(tmp_path, n) for n in ("ann", "ben", "cat")]
        data = {**bad, **{f"{n}.pem": c for n, (_, c) in zip(("ann", "ben", "cat"), people, strict=True)}}
        core.replace_namespaced_config_map(
            RECIPIENTS, key_namespace, {"metadata": {"name": RECIPIENTS}, "data": {**data, "threshold": "2"}}
        )
        eventually(lambda: len(escrow_objects(core, key_namespace)) == 1, 30, 0.3, "escrow for the existing key")
        (obj,) = escrow_objects(core, key_namespace)
        assert obj.data["threshold"] == "2" and sum(k.startswith("share.") for k in obj.data) == 3
        eventually(lambda: ctrl.metric("sealed_secrets_controller_keys_without_escrow") == 0, 30, 0.3)
        assert ctrl.metric("sealed_secrets_controller_escrow_recipients") == 3
    finally:
        ctrl.stop()
    key = from_secret(kube.sanitize_for_serialization(key_secrets(core, key_namespace)[0]), "key")
    export_escrow(kube, core, key_namespace, tmp_path / "escrow.yaml")
    assert leaks((tmp_path / "escrow.yaml").read_text(), [key.pair]) == []

    lose_every_key(core, key_namespace)
    core.delete_namespaced_secret("app", namespace)
    restore = ["keys", "restore", "--escrow", str(tmp_path / "escrow.yaml"), "--controller-namespace", key_namespace]
    one = sealer_cli(control_plane, *restore, "--recovery-private-key", str(people[1][0]))
    assert one.returncode == 1 and "1 of the 2 shares needed opened" in one.stderr, one.stderr
    assert one.stderr.strip().count("\n") == 0 and "Traceback" not in one.stderr
    assert key_secrets(core, key_namespace) == []  # nothing half-written
    two = sealer_cli(
        control_plane,
        *restore,
        "--recovery-private-key",
        str(people[2][0]),
        "--recovery-private-key",
        str(people[0][0]),
    )
    assert two.returncode == 0, two.stderr
    (back,) = key_secrets(core, key_namespace)
    assert from_secret(kube.sanitize_for_serialization(back), "key").fingerprint == key.fingerprint
    ctrl = start(control_plane, key_namespace, tag)
    try:
        eventually(lambda: opened(core, namespace, "app") == {"value": "v"}, 90, 0.3)
    finally:
        ctrl.stop()


def test_escrow_rbac_never_deletes(core, key_namespace):
    """The controller's Role for escrow ConfigMaps has no delete: an escrow object outlives its key."""
    rbac = kubernetes.client.RbacAuthorizationV1Api(core.api_client)
    role = rbac.read_namespaced_role("sealed-secrets-escrow", key_namespace)
    verbs = {v for rule in role.rules for v in rule.verbs}
    assert "delete" not in verbs and {"create", "update", "get", "list"} <= verbs


def test_only_the_leader_writes_escrow_and_a_new_leader_takes_over(
    control_plane, core, namespace, key_namespace, tmp_path
):
    """Two replicas electing a leader: the leader writes every escrow object, the follower none (it
    only reports); once the leader is gone, the new one rewrites for a recipient added meanwhile."""
    tag = key_namespace[-6:]
    timings = ("--leader-election-lease-duration", "4s", "--leader-election-renew-deadline", "3s")
    timings += ("--leader-election-retry-period", "0.5s")
    people = [person(tmp_path, n) for n in ("ann", "ben", "cat")]
    core.create_namespaced_config_map(
        key_namespace, {"metadata": {"name": RECIPIENTS}, "data": {"ann.pem": people[0][1]}}
    )
    replicas = [
        RunningController(
            control_plane, key_namespace, "--leader-elect", *timings, "--label-selector", f"{OWN}={tag}",
            "--key-renew-period", "0", name=f"escrow-ha-{tag}-{i}",
        ).launch()
        for i in range(2)
    ]  # fmt: skip
    try:
        for r in replicas:
            eventually(r.ready, 60, 0.1, "replica ready")

        def leader():
            leads = [r for r in replicas if r.proc.poll() is None and r.metric("sealed_secrets_controller_leader") == 1]
            return len(leads) == 1 and leads[0]

        first = eventually(leader, 30, 0.2, "one leader")
        follower = next(r for r in replicas if r is not first)
        eventually(lambda: len(escrow_objects(core, key_namespace)) == 1, 30, 0.3, "escrow for the first key")
        for r in replicas:
            eventually(lambda r=r: r.metric("sealed_secrets_controller_escrow_recipients") == 1, 30, 0.3)
            eventually(lambda r=r: r.metric("sealed_secrets_controller_keys_without_escrow") == 0, 30, 0.3)
        data = {"ann.pem": people[0][1], "ben.pem": people[1][1]}
        core.replace_namespaced_config_map(RECIPIENTS, key_namespace, {"metadata": {"name": RECIPIENTS}, "data": data})
        eventually(lambda: len(shares(core, key_namespace)) == 2, 30, 0.3, "rewritten for two recipients")
        assert "escrow: wrote" in first.logs() and "escrow: rewrote" in first.logs()
        assert "escrow: wrote" not in follower.logs() and "escrow: rewrote" not in follower.logs()

        first.stop()  # SIGTERM: the Lease is released, the follower takes over
        eventually(lambda: leader() is follower, 30, 0.2, "the follower leads")
        data["cat.pem"] = people[2][1]
        core.replace_namespaced_config_map(RECIPIENTS, key_namespace, {"metadata": {"name": RECIPIENTS}, "data": data})
        eventually(lambda: len(shares(core, key_namespace)) == 3, 30, 0.3, "rewritten by the new leader")
        assert "escrow: rewrote" in follower.logs()
    finally:
        for r in replicas:
            r.stop()


def shares(core, ns):
    (obj,) = escrow_objects(core, ns)
    return [k for k in obj.data if k.startswith("share.")]


def test_recipients_in_a_secret(control_plane, core, key_namespace, tmp_path):
    """The recipients may be a Secret of the same name instead (tighter RBAC than ConfigMaps)."""
    tag = key_namespace[-6:]
    vault_key, vault_cert = person(tmp_path, "vault")
    core.create_namespaced_secret(
        key_namespace, {"metadata": {"name": RECIPIENTS}, "stringData": {"vault.pem": vault_cert}}
    )
    ctrl = start(control_plane, key_namespace, tag)
    try:
        eventually(lambda: len(escrow_objects(core, key_namespace)) == 1, 30, 0.3, "escrow for the first key")
        assert ctrl.metric("sealed_secrets_controller_escrow_recipients") == 1
    finally:
        ctrl.stop()
    (tmp_path / "escrow.yaml").write_text(
        yaml.safe_dump(core.api_client.sanitize_for_serialization(escrow_objects(core, key_namespace)[0]))
    )
    verified = sealer_cli(
        control_plane, "keys", "escrow", "verify", "--escrow", str(tmp_path / "escrow.yaml"),
        "--recovery-private-key", str(vault_key), "--controller-namespace", key_namespace,
    )  # fmt: skip
    assert verified.returncode == 0 and verified.stdout.startswith("ok   "), verified.stdout + verified.stderr

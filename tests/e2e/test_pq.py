"""Post-quantum sealing on the real control plane (issue 16).

Our controller with --pq-keys makes key Secrets with an ML-KEM-768 key beside the RSA key and
publishes it in /v1/cert.pem; `sealer seal --pq` fetches that and seals hybrid values; the
controller opens them, across a rotation and a backup/restore of its keys. Bitnami's controller,
given the same key Secrets, serves classic SealedSecrets and fails hybrid ones cleanly (Synced
False, an event, no Secret, no crash), until our controller takes over again.
"""

from __future__ import annotations

import json
import signal

import pytest
import yaml

from sealer.core import crypto
from sealer.core.certs import parse_certificate
from sealer.core.sealing import Sealer
from tests.e2e import test_switch_controllers as switch
from tests.e2e.sealed_objects import create
from tests.e2e.test_switch_controllers import (
    conditions,
    events,
    fingerprint,
    key_secrets,
    labelled,
    plain,
    sealer_cli,
    secret_data,
    wait_condition,
    wait_data,
    wait_events,
)
from tests.e2e.waiting import eventually

# The switch tests' fixtures: controllers of both kinds, and a label (key_namespace is conftest's).
bitnami_bin, start, own_label = switch.bitnami_bin, switch.start, switch.own_label

pytestmark = pytest.mark.e2e

MLKEM_FIELD = "mlkem768.key"


def seal_pq(cert: str, secret: dict, labels: dict) -> dict:
    doc = json.loads(sealer_cli("seal", "--pq", "--cert", cert, "-o", "json", input=json.dumps(secret).encode()))
    assert all(crypto.is_hybrid(crypto.decode(v)) for v in doc["spec"]["encryptedData"].values())
    return labelled(doc, labels)


def test_seal_pq_open_rotate_backup_restore(
    control_plane, start, own_label, key_namespace, core, custom, namespace, tmp_path
):
    labels, selector = own_label
    flags = ("--key-renew-period", "0", "--pq-keys", "--label-selector", selector)
    ours = start.ours(key_namespace, *flags)
    (first_key,) = key_secrets(core, key_namespace)
    assert MLKEM_FIELD in first_key.data and set(first_key.data) == {"tls.crt", "tls.key", MLKEM_FIELD}
    first_cert = ours.cert_pem()
    assert parse_certificate(first_cert).mlkem_public is not None

    # Seal with --pq against the certificate fetched from the controller; it unseals.
    sealed = seal_pq(f"{ours.url}/v1/cert.pem", plain("db", namespace, {"password": "v1"}), labels)
    create(custom, sealed)
    wait_data(core, namespace, "db", {"password": "v1"})
    wait_condition(custom, namespace, "db", generation=1)
    wait_events(core, namespace, "db", "Unsealed")

    # Rotation (SIGUSR1, as for Bitnami's controller): the new key has its ML-KEM key too.
    ours.proc.send_signal(signal.SIGUSR1)
    eventually(lambda: len(key_secrets(core, key_namespace)) == 2, 60, what="a second key Secret")
    assert all(MLKEM_FIELD in s.data for s in key_secrets(core, key_namespace))
    second_cert = eventually(lambda: (pem := ours.cert_pem()) != first_cert and pem, 30, what="the new certificate")
    assert (
        parse_certificate(second_cert).mlkem_public.public_bytes_raw()
        != parse_certificate(first_cert).mlkem_public.public_bytes_raw()
    )
    later = seal_pq(f"{ours.url}/v1/cert.pem", plain("later", namespace, {"token": "t"}), labels)
    assert later["metadata"]["annotations"]["sealer.dev/sealing-key"] == fingerprint(second_cert)
    create(custom, later)
    wait_data(core, namespace, "later", {"token": "t"})
    # /v1/rotate re-seals the old SealedSecret for the new key, still post-quantum.
    status, body = ours.request("POST", "/v1/rotate", json.dumps(sealed).encode())
    assert status == 200, body
    resealed = json.loads(body)
    assert all(crypto.is_hybrid(crypto.decode(v)) for v in resealed["spec"]["encryptedData"].values())

    # Backup, lose every key Secret, restore: the ML-KEM keys come back and open what was sealed.
    backup = tmp_path / "keys.yaml"
    sealer_cli(
        "keys",
        "backup",
        "--kubeconfig",
        str(control_plane.kubeconfig),
        "--controller-namespace",
        key_namespace,
        "-w",
        str(backup),
    )
    items = yaml.safe_load(backup.read_text())["items"]
    assert len(items) == 2 and all(MLKEM_FIELD in i["data"] for i in items)
    ours.stop()
    for s in key_secrets(core, key_namespace):
        core.delete_namespaced_secret(s.metadata.name, key_namespace)
    sealer_cli(
        "keys",
        "restore",
        str(backup),
        "--kubeconfig",
        str(control_plane.kubeconfig),
        "--controller-namespace",
        key_namespace,
    )
    restored = key_secrets(core, key_namespace)
    assert len(restored) == 2 and all(MLKEM_FIELD in s.data for s in restored)
    again = start.ours(key_namespace, *flags)
    assert fingerprint(again.cert_pem()) == fingerprint(second_cert)
    assert len(key_secrets(core, key_namespace)) == 2  # the restored keys sufficed: none made
    # One request for all three (the API's rate limit allows two per second and client).
    stream = "\n---\n".join(json.dumps(doc) for doc in (sealed, later, resealed)).encode()
    assert again.request("POST", "/v1/verify", stream)[0] == 200
    core.delete_namespaced_secret("db", namespace)  # recreated from the SealedSecret of the first key
    wait_data(core, namespace, "db", {"password": "v1"})


def test_bitnami_controller_fails_hybrid_sealed_secrets_cleanly(
    start, own_label, key_namespace, core, custom, namespace
):
    labels, selector = own_label
    ours = start.ours(key_namespace, "--key-renew-period", "0", "--pq-keys", "--label-selector", selector)
    cert = parse_certificate(ours.cert_pem())
    assert ours.stop() == 0

    bitnami = start.bitnami(key_namespace, "--key-renew-period", "0", "--label-selector", selector)
    # It loaded our key Secret (the extra mlkem768.key ignored) and made none of its own.
    assert fingerprint(bitnami.cert_pem()) == cert.fingerprint
    assert len(key_secrets(core, key_namespace)) == 1
    hybrid = labelled(Sealer(cert, pq=True).seal_secret(plain("pq", namespace, {"password": "p"})), labels)
    classic = labelled(Sealer(cert).seal_secret(plain("classic", namespace, {"password": "c"})), labels)
    create(custom, hybrid)
    create(custom, classic)
    wait_data(core, namespace, "classic", {"password": "c"})
    failed = conditions(wait_condition(custom, namespace, "pq", status="False"))["Synced"]
    assert "no key could decrypt secret (password)" in failed["message"]
    wait_events(core, namespace, "pq", "ErrUnsealFailed")
    assert secret_data(core, namespace, "pq") is None
    assert bitnami.request("POST", "/v1/verify", json.dumps(hybrid).encode())[0] == 409
    assert bitnami.proc.poll() is None  # still running: a clean failure, not a crash
    assert "panic" not in bitnami.logs()

    # Switched back to our controller, the same SealedSecret opens.
    assert bitnami.stop() == 0
    start.ours(key_namespace, "--key-renew-period", "0", "--pq-keys", "--label-selector", selector)
    wait_data(core, namespace, "pq", {"password": "p"})
    assert len(key_secrets(core, key_namespace)) == 1
    assert events(core, namespace, "pq", "Unsealed")

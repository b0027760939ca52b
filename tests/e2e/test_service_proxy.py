"""The cluster path for real: `sealer` and `kubeseal` side by side, reaching the controller through
the API server's service proxy, as the GitOps guide's headline command does (issue 10).

The controller runs on a test host (tests/e2e/testhost.py), behind a Service named `sealed-secrets`
whose port is named `http` (as Bitnami's Helm chart names them), with Endpoints pointing at the
host's address and a Pod object whose status holds it: what the API server (1.35) demands before it
proxies. Nothing runs that Pod; no kubelet is needed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e import sealed_objects
from tests.e2e.sealer_controller import RunningController, install
from tests.e2e.testhost import TestHost, TestHostUnavailable, kubeconfig_via
from tests.e2e.waiting import eventually
from tests.interop.conftest import find_binary
from tests.peers import peer_bin_dir

pytestmark = [pytest.mark.e2e, pytest.mark.interop]

NS = "kube-system"
SERVICE = "sealed-secrets"
PORT = 8080
SEALER = [sys.executable, "-m", "sealer"]


class ProxiedController(RunningController):
    """Our controller on a test host: its HTTP API on the host's address, the API server through
    the forwarder; it handles only SealedSecrets labelled ``sealer.test/own-controller=<own>``."""

    def __init__(self, plane, host: TestHost, own: str, namespace: str = NS, *flags: str):
        # The tests call /v1/verify in quick succession: no 429 for them.
        super().__init__(
            plane,
            namespace,
            "--key-renew-period",
            "0",
            "--rate-limit",
            "100",
            "--rate-limit-burst",
            "100",
            "--label-selector",
            f"sealer.test/own-controller={own}",
            *flags,
            name="controller-proxied",
        )
        self.host = host
        kubeconfig = kubeconfig_via(
            self.kubeconfig,
            f"https://{host.gateway}:{host.forward(plane.port)}",
            "localhost",
            plane.dir / "sa-proxied.kubeconfig",
        )
        self.port, self.metrics_port = PORT, PORT + 1
        self.url = f"http://{host.address}:{PORT}"
        argv = self.argv
        argv[argv.index("--kubeconfig") + 1] = str(kubeconfig)
        argv[argv.index("--listen-addr") + 1] = f"{host.address}:{PORT}"
        argv[argv.index("--listen-metrics-addr") + 1] = f"{host.address}:{PORT + 1}"
        self.argv = ["ip", "netns", "exec", host.netns, *argv]


def _apply(plane, doc: dict) -> None:
    plane.kubectl("apply", "-f", "-", input=json.dumps(doc))


def _expose(
    plane, host: TestHost, service: str, port_name: str | None, endpoints: bool = True, namespace: str = NS
) -> None:
    """A Service for the controller; with ``endpoints``, Endpoints naming the test host's Pod."""
    port = {"port": PORT, "targetPort": PORT, "protocol": "TCP", **({"name": port_name} if port_name else {})}
    _apply(
        plane,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "namespace": namespace},
            "spec": {"ports": [port]},
        },
    )
    # Without ``endpoints``, an Endpoints object with no address: a Service whose Pods are all gone.
    subsets = (
        [
            {
                "addresses": [
                    {
                        "ip": host.address,
                        "targetRef": {"kind": "Pod", "name": "sealed-secrets-test-host", "namespace": namespace},
                    }
                ],
                "ports": [{k: v for k, v in port.items() if k in ("name", "port", "protocol")}],
            }
        ]
        if endpoints
        else []
    )
    _apply(
        plane,
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": service, "namespace": namespace},
            "subsets": subsets,
        },
    )


def host_pod(plane, host: TestHost, namespace: str = NS) -> None:
    """The Pod object the proxy demands behind the Endpoints (nothing runs it), Running at the host's address."""
    _apply(
        plane,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "sealed-secrets-test-host", "namespace": namespace},
            "spec": {"containers": [{"name": "controller", "image": "sealer-controller:test"}]},
        },
    )
    plane.kubectl(
        "patch",
        "pod",
        "sealed-secrets-test-host",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"phase": "Running", "podIP": host.address, "podIPs": [{"ip": host.address}]}}),
    )


def serve_through_proxy(plane, host: TestHost) -> None:
    """deploy/ in ``plane``, and the Service `sealed-secrets` (port `http`) with its Endpoints at
    the test host's Pod: a controller on ``host`` is then reached through the service proxy."""
    install(plane)
    host_pod(plane, host)
    _expose(plane, host, SERVICE, "http")


@pytest.fixture(scope="module")
def own() -> str:
    return f"proxy-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def proxied(control_plane, own):
    try:
        host = TestHost()
    except TestHostUnavailable as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(e))
    with host:
        serve_through_proxy(control_plane, host)
        _expose(control_plane, host, "sealed-secrets-unnamed", None)
        _expose(control_plane, host, "sealed-secrets-no-endpoints", "http", endpoints=False)
        controller = ProxiedController(control_plane, host, own).start()
        yield controller
        controller.stop()


@pytest.fixture(scope="module")
def kubeseal() -> Path:
    return find_binary(peer_bin_dir("bitnami"), "kubeseal")


@pytest.fixture
def tools(kubeseal):
    return {"sealer": SEALER, "kubeseal": [str(kubeseal)]}


def run(argv: list[str], kubeconfig: Path, stdin: str = "", *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


def secret_yaml(namespace: str, name: str, value: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"password": value},
        }
    )


def guide_command(*extra: str) -> list[str]:
    return ["--controller-namespace", NS, "--controller-name", SERVICE, *extra]


def masked(doc: dict) -> dict:
    """The SealedSecret with every ciphertext replaced and sealer's key hint dropped."""
    doc = json.loads(json.dumps(doc))
    doc["spec"]["encryptedData"] = {k: "<sealed>" for k in doc["spec"]["encryptedData"]}
    (doc["metadata"].get("annotations") or {}).pop("sealer.dev/sealing-key", None)
    if not doc["metadata"].get("annotations"):
        doc["metadata"].pop("annotations", None)
    return doc


def test_the_guides_command_through_the_service_proxy(control_plane, proxied, tools, namespace, own, core, custom):
    """`sealer --controller-namespace kube-system --controller-name sealed-secrets --format yaml`
    and the same with kubeseal: both fetch the certificate through the proxy, and the controller
    opens what each sealed."""
    outputs = {}
    for tool, argv in tools.items():
        value = f"proxied-{tool}-{secrets.token_hex(4)}"
        done = run(
            argv,
            control_plane.kubeconfig,
            secret_yaml(namespace, f"db-{tool}", value),
            *guide_command("--format", "yaml"),
        )
        assert done.returncode == 0, f"{tool}: {done.stderr}"
        doc = yaml.safe_load(done.stdout)
        outputs[tool] = doc
        doc["metadata"].setdefault("labels", {})["sealer.test/own-controller"] = own
        sealed_objects.create(custom, doc)
        eventually(
            lambda t=tool, v=value: sealed_objects.secret_data(core, namespace, f"db-{t}") == {"password": v},
            30,
            what=f"the Secret of what {tool} sealed",
        )
    sealer_doc, kubeseal_doc = (masked(outputs[t]) for t in ("sealer", "kubeseal"))
    kubeseal_doc["metadata"]["name"] = sealer_doc["metadata"]["name"]
    kubeseal_doc["spec"]["template"]["metadata"]["name"] = sealer_doc["spec"]["template"]["metadata"]["name"]
    assert sealer_doc == kubeseal_doc


@pytest.mark.parametrize("service", [SERVICE, "sealed-secrets-unnamed"])
def test_fetch_cert_through_the_proxy(control_plane, proxied, tools, service):
    """`--fetch-cert` prints the controller's certificate, whether the Service's port is named or not."""
    expected = proxied.cert_pem()
    for tool, argv in tools.items():
        done = run(
            argv,
            control_plane.kubeconfig,
            "",
            "--controller-namespace",
            NS,
            "--controller-name",
            service,
            "--fetch-cert",
        )
        assert done.returncode == 0, f"{tool}: {done.stderr}"
        assert done.stdout.encode() == expected, tool


def _sealed_by_sealer(control_plane, namespace: str, value: str) -> str:
    done = run(
        SEALER, control_plane.kubeconfig, secret_yaml(namespace, "validated", value), *guide_command("-o", "json")
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _tampered(sealed_json: str) -> str:
    doc = json.loads(sealed_json)
    raw = bytearray(base64.b64decode(doc["spec"]["encryptedData"]["password"]))
    raw[-1] ^= 1
    doc["spec"]["encryptedData"]["password"] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(doc)


def test_validate_through_the_proxy(control_plane, proxied, tools, namespace):
    good = _sealed_by_sealer(control_plane, namespace, "valid-" + secrets.token_hex(4))
    for tool, argv in tools.items():
        ok = run(argv, control_plane.kubeconfig, good, *guide_command("--validate"))
        assert ok.returncode == 0, f"{tool}: {ok.stderr}"
        bad = run(argv, control_plane.kubeconfig, _tampered(good), *guide_command("--validate"))
        assert bad.returncode != 0, tool
    bad = run(SEALER, control_plane.kubeconfig, _tampered(good), *guide_command("--validate"))
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "Traceback" not in bad.stderr


def test_re_encrypt_through_the_proxy(control_plane, proxied, tools, namespace, own, core, custom):
    """`--re-encrypt` through the proxy: new ciphertexts that the controller still opens, for both tools."""
    value = "reenc-" + secrets.token_hex(4)
    original = _sealed_by_sealer(control_plane, namespace, value)
    before = json.loads(original)["spec"]["encryptedData"]["password"]
    for tool, argv in tools.items():
        done = run(argv, control_plane.kubeconfig, original, *guide_command("--re-encrypt", "-o", "json"))
        assert done.returncode == 0, f"{tool}: {done.stderr}"
        assert json.loads(done.stdout)["spec"]["encryptedData"]["password"] != before, tool
        check = run(
            tools["kubeseal" if tool == "sealer" else "sealer"],
            control_plane.kubeconfig,
            done.stdout,
            *guide_command("--validate"),
        )
        assert check.returncode == 0, f"{tool}'s output: {check.stderr}"
    doc = json.loads(done.stdout)
    doc["metadata"].setdefault("labels", {})["sealer.test/own-controller"] = own
    sealed_objects.create(custom, doc)
    eventually(
        lambda: sealed_objects.secret_data(core, namespace, "validated") == {"password": value},
        30,
        what="the re-encrypted Secret",
    )


def test_a_missing_service_names_the_flags_to_fix(control_plane, proxied):
    done = run(
        SEALER,
        control_plane.kubeconfig,
        "",
        "--controller-namespace",
        NS,
        "--controller-name",
        "no-such",
        "--fetch-cert",
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--controller-name" in done.stderr and "--controller-namespace" in done.stderr


def test_no_endpoints_reports_the_api_servers_reason(control_plane, proxied, kubeseal):
    """The proxy itself fails: the controller never saw the request, so say what the API server said."""
    args = ("--controller-namespace", NS, "--controller-name", "sealed-secrets-no-endpoints", "--fetch-cert")
    ours = run(SEALER, control_plane.kubeconfig, "", *args)
    theirs = run([str(kubeseal)], control_plane.kubeconfig, "", *args)
    assert ours.returncode == 1 and theirs.returncode != 0
    assert "no endpoints available" in theirs.stderr
    assert "no endpoints available for service" in ours.stderr, ours.stderr
    assert "controller answered" not in ours.stderr
    assert len(ours.stderr.strip().splitlines()) == 1, ours.stderr


def test_a_denied_proxy_is_a_one_line_forbidden(control_plane, proxied, kubeseal, namespace):
    """A user without `services/proxy`: both tools fail; sealer says it was forbidden, on one line."""
    kubeconfig = control_plane.kubeconfig_for_service_account(namespace, "no-rbac")
    ours = run(SEALER, kubeconfig, "", *guide_command("--fetch-cert"))
    theirs = run([str(kubeseal)], kubeconfig, "", *guide_command("--fetch-cert"))
    assert ours.returncode == 1 and theirs.returncode != 0
    assert re.search(r"forbidden", ours.stderr, re.I), ours.stderr
    assert len(ours.stderr.strip().splitlines()) == 1, ours.stderr
    assert "Traceback" not in ours.stderr

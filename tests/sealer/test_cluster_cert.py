"""Fetching the certificate through the API server's service proxy, as kubeseal does. A stand-in
API server on loopback checks the exact requests and headers; the real API server's proxy, with a
controller behind it, is tested end to end in tests/e2e/test_service_proxy.py."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
import yaml

TOKEN = "test-token-123"


@pytest.fixture
def fake_apiserver(test_key):
    seen, agents = [], []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            agents.append(self.headers.get("User-Agent"))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.reply(401, {"kind": "Status", "message": "Unauthorized"})
            if self.path == "/api/v1/namespaces/kube-system/services/sealed-secrets":
                return self.reply(200, {"kind": "Service", "spec": {"ports": [{"name": "http", "port": 8080}]}})
            if self.path == "/api/v1/namespaces/kube-system/services/http:sealed-secrets:http/proxy/v1/cert.pem":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(test_key.cert_pem)
                return None
            name = self.path.rsplit("/", 1)[-1]
            return self.reply(404, {"kind": "Status", "message": f'services "{name}" not found', "reason": "NotFound"})

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body["metadata"]["name"]))
            agents.append(self.headers.get("User-Agent"))
            base = "/api/v1/namespaces/kube-system/services/http:sealed-secrets:http/proxy"
            if self.path == base + "/v1/verify":
                return self.reply(200 if body["metadata"]["name"] == "good" else 409, {})
            if self.path == base + "/v1/rotate":
                body["spec"]["encryptedData"] = {k: "AgRESEALED" for k in body["spec"]["encryptedData"]}
                del body["apiVersion"], body["kind"]  # as Bitnami's controller answers
                return self.reply(200, body)
            return self.reply(404, {"message": "not found"})

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen, agents
    server.shutdown()


@pytest.fixture
def kubeconfig(tmp_path, fake_apiserver):
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "k", "cluster": {"server": fake_apiserver[0]}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "team"}}],
            }
        )
    )
    return path


SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: x}\n"


def test_guide_command_line_fetches_through_the_proxy(run_cli, kubeconfig, fake_apiserver, test_key):
    result = run_cli(
        "seal",
        "--controller-namespace",
        "kube-system",
        "--controller-name",
        "sealed-secrets",
        "--format",
        "yaml",
        input=SECRET,
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["metadata"]["namespace"] == "team"  # from the kubeconfig context
    assert [p for p, _ in fake_apiserver[1]] == [
        # The certificate ConfigMap first (none here: 404), then the proxy, as kubeseal.
        "/api/v1/namespaces/kube-system/configmaps/sealed-secrets-certs",
        "/api/v1/namespaces/kube-system/services/sealed-secrets",
        "/api/v1/namespaces/kube-system/services/http:sealed-secrets:http/proxy/v1/cert.pem",
    ]
    fetched = run_cli("--fetch-cert", "--controller-name", "sealed-secrets", "--kubeconfig", str(kubeconfig))
    assert fetched.stdout == test_key.cert_pem


def test_requests_carry_sealers_user_agent(run_cli, kubeconfig, fake_apiserver):
    """Audit logs tell sealer apart from kubeseal and from the Python client's `OpenAPI-Generator`."""
    from sealer._version import __version__

    env = {"KUBECONFIG": str(kubeconfig)}
    assert run_cli("--fetch-cert", "--controller-name", "sealed-secrets", env=env).returncode == 0
    assert (
        run_cli(
            "--validate", "--controller-name", "sealed-secrets", input=json.dumps(sealed("good")), env=env
        ).returncode
        == 0
    )
    agents = fake_apiserver[2]
    assert len(agents) == 5  # --fetch-cert: ConfigMap, Service, proxy; --validate: Service, proxy
    assert all(a.startswith(f"sealer/v{__version__} (") and "python/" in a for a in agents), agents


def test_wrong_controller_name_says_what_to_do(run_cli, kubeconfig):
    result = run_cli("seal", input=SECRET, env={"KUBECONFIG": str(kubeconfig)})
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert 'cannot get sealed secret service: services "sealed-secrets-controller" not found' in err
    assert "--controller-name" in err and err.count("\n") == 1


def test_controller_name_from_environment(run_cli, kubeconfig):
    result = run_cli(
        "seal", input=SECRET, env={"KUBECONFIG": str(kubeconfig), "SEALED_SECRETS_CONTROLLER_NAME": "sealed-secrets"}
    )
    assert result.returncode == 0, result.stderr


def test_unreachable_cluster_is_one_line(run_cli, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "k", "cluster": {"server": "http://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    result = run_cli("seal", input=SECRET, env={"KUBECONFIG": str(config)})
    err = result.stderr.decode()
    assert result.returncode == 1 and "cannot reach the cluster" in err and err.count("\n") == 1


def sealed(name):
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {"encryptedData": {"password": "AgAAAA=="}},
    }


def test_validate(run_cli, kubeconfig):
    args = ("--validate", "--controller-name", "sealed-secrets")
    env = {"KUBECONFIG": str(kubeconfig)}
    assert run_cli(*args, input=json.dumps(sealed("good")), env=env).returncode == 0
    bad = run_cli(*args, input=json.dumps(sealed("good")) + json.dumps(sealed("bad")), env=env)
    assert bad.returncode == 1 and b"document 2 (team/bad): unable to decrypt sealed secret" in bad.stderr


def test_re_encrypt_in_place(run_cli, kubeconfig, tmp_path):
    target = tmp_path / "sealed.yaml"
    target.write_text(yaml.safe_dump(sealed("good")))
    result = run_cli(
        "--re-encrypt", "--controller-name", "sealed-secrets", "-f", str(target), env={"KUBECONFIG": str(kubeconfig)}
    )
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(target.read_text())
    assert doc["kind"] == "SealedSecret" and doc["spec"]["encryptedData"] == {"password": "AgRESEALED"}

"""The `sealer` command line as a user runs it: real process, exit codes, stderr, files."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
import yaml

from tests.conftest import make_cert

SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
stringData:
  password: s3cr3t-value-123
"""
PLAINTEXT = "s3cr3t-value-123"


def assert_clean_error(result, *fragments, code=1):
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert "Traceback" not in err
    assert PLAINTEXT not in err and PLAINTEXT not in result.stdout.decode()
    if code == 1:
        assert err.startswith("error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_seal_then_unseal(run_cli, test_key):
    sealed = run_cli("seal", "--cert", str(test_key.cert_path), "-o", "yaml", input=SECRET)
    assert sealed.returncode == 0, sealed.stderr
    assert PLAINTEXT not in sealed.stdout.decode()
    doc = yaml.safe_load(sealed.stdout)
    assert doc["kind"] == "SealedSecret" and doc["metadata"] == {
        "name": "db",
        "namespace": "prod",
        "annotations": {"sealer.dev/sealing-key": doc["metadata"]["annotations"]["sealer.dev/sealing-key"]},
    }
    opened = run_cli("unseal", "--recovery-private-key", str(test_key.key_path), input=sealed.stdout)
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["data"] == {"password": "czNjcjN0LXZhbHVlLTEyMw=="}


def test_default_command_is_seal_and_json_is_default(run_cli, test_key):
    result = run_cli("--cert", str(test_key.cert_path), input=SECRET)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "SealedSecret"


def test_kubeseal_spelling_of_recovery(run_cli, test_key):
    sealed = run_cli("--cert", str(test_key.cert_path), input=SECRET).stdout
    result = run_cli("--recovery-unseal", "--recovery-private-key", str(test_key.key_path), input=sealed)
    assert result.returncode == 0, result.stderr


def test_guide_command_line_parses(run_cli):
    """The GitOps guide's kubeseal command line, with sealer: it must get as far as the cluster."""
    result = run_cli(
        "seal",
        "--controller-namespace",
        "kube-system",
        "--controller-name",
        "sealed-secrets",
        "--format",
        "yaml",
        input=SECRET,
    )
    assert_clean_error(result, "kubeconfig")


def test_env_vars_set_flags_and_flags_win(run_cli, test_key, other_key):
    result = run_cli(
        "-o",
        "yaml",
        input=SECRET,
        env={"SEALED_SECRETS_CERT": str(test_key.cert_path), "SEALED_SECRETS_SCOPE": "cluster-wide"},
    )
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] == "true"
    flag = run_cli(
        "--scope",
        "strict",
        "--cert",
        str(other_key.cert_path),
        input=SECRET,
        env={"SEALED_SECRETS_CERT": "/nonexistent", "SEALED_SECRETS_SCOPE": "cluster-wide"},
    )
    assert flag.returncode == 0, flag.stderr
    assert "sealedsecrets.bitnami.com/cluster-wide" not in json.loads(flag.stdout)["metadata"].get("annotations", {})


def test_multi_document_in_order(run_cli, test_key):
    stream = SECRET + "---\n" + SECRET.replace("name: db", "name: cache")
    result = run_cli("-o", "yaml", "--cert", str(test_key.cert_path), input=stream)
    assert result.stdout.decode().startswith("---\n")
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout)] == ["db", "cache"]


def test_namespace_from_kubeconfig_context(run_cli, test_key, tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: x, user: y, namespace: fromctx}\n"
    )
    no_ns = SECRET.replace("  namespace: prod\n", "")
    result = run_cli("--cert", str(test_key.cert_path), input=no_ns, env={"KUBECONFIG": str(kubeconfig)})
    assert json.loads(result.stdout)["metadata"]["namespace"] == "fromctx"
    result = run_cli("--cert", str(test_key.cert_path), "-n", "argns", input=no_ns, env={"KUBECONFIG": str(kubeconfig)})
    assert json.loads(result.stdout)["metadata"]["namespace"] == "argns"
    assert (
        json.loads(run_cli("--cert", str(test_key.cert_path), input=no_ns).stdout)["metadata"]["namespace"] == "default"
    )


def test_write_file_is_atomic_and_only_on_success(run_cli, test_key, tmp_path):
    out = tmp_path / "sealed.yaml"
    ok = run_cli("--cert", str(test_key.cert_path), "-w", str(out), input=SECRET)
    assert ok.returncode == 0 and ok.stdout == b""
    assert out.read_text().startswith("---\n")  # .yaml forces YAML
    before = out.read_bytes()
    bad = run_cli("--cert", str(test_key.cert_path), "-w", str(out), input="kind: Secret\nmetadata: {}\n")
    assert bad.returncode == 1 and out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sealer-")] == []


def test_raw(run_cli, test_key):
    result = run_cli("--raw", "--cert", str(test_key.cert_path), "--name", "db", "--namespace", "prod", input=PLAINTEXT)
    assert result.returncode == 0 and not result.stdout.endswith(b"\n")
    sealed = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod"},
        "spec": {"encryptedData": {"password": result.stdout.decode()}},
    }
    opened = run_cli("unseal", "--recovery-private-key", str(test_key.key_path), input=json.dumps(sealed))
    assert json.loads(opened.stdout)["data"]["password"] == "czNjcjN0LXZhbHVlLTEyMw=="
    assert_clean_error(
        run_cli("--raw", "--cert", str(test_key.cert_path), input="x"),
        "must provide the --name flag with --raw and --scope strict",
    )
    assert_clean_error(
        run_cli("--from-file", "x", "--cert", str(test_key.cert_path), input="x"), "--from-file requires --raw"
    )


def test_raw_from_file_namespace_wide(run_cli, test_key, tmp_path):
    (tmp_path / "value").write_bytes(b"\x00binary\xff")
    result = run_cli(
        "--raw",
        "--scope",
        "namespace-wide",
        "--namespace",
        "prod",
        "--from-file",
        "key=value",
        "--cert",
        str(test_key.cert_path),
    )
    assert result.returncode == 0, result.stderr
    sealed = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {
            "name": "any",
            "namespace": "prod",
            "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
        },
        "spec": {"encryptedData": {"v": result.stdout.decode()}},
    }
    opened = run_cli("unseal", "--recovery-private-key", str(test_key.key_path), input=json.dumps(sealed))
    assert json.loads(opened.stdout)["data"]["v"] == "AGJpbmFyef8="


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_merge_into_keeps_format_and_untouched_items(run_cli, test_key, tmp_path, fmt):
    target = tmp_path / f"sealed.{fmt}"
    first = run_cli(
        "--cert",
        str(test_key.cert_path),
        "-o",
        fmt,
        input=SECRET.replace("password: s3cr3t-value-123", "a: one\n  b: two"),
    )
    target.write_bytes(first.stdout)
    original = yaml.safe_load(first.stdout)
    result = run_cli(
        "--cert",
        str(test_key.cert_path),
        "--merge-into",
        str(target),
        input=SECRET.replace("password: s3cr3t-value-123", "b: TWO\n  c: three"),
    )
    assert result.returncode == 0 and result.stdout == b"", result.stderr
    text = target.read_text()
    assert text.lstrip().startswith("{") == (fmt == "json")
    merged = yaml.safe_load(text)
    assert merged["spec"]["encryptedData"]["a"] == original["spec"]["encryptedData"]["a"]
    assert merged["spec"]["encryptedData"]["b"] != original["spec"]["encryptedData"]["b"]
    opened = json.loads(run_cli("unseal", "--recovery-private-key", str(test_key.key_path), "-f", str(target)).stdout)
    assert sorted(opened["data"]) == ["a", "b", "c"]


def test_merge_into_uses_the_files_name_and_namespace(run_cli, test_key, tmp_path):
    target = tmp_path / "sealed.json"
    target.write_bytes(run_cli("--cert", str(test_key.cert_path), input=SECRET).stdout)
    other = SECRET.replace("name: db", "name: whatever").replace("namespace: prod", "namespace: elsewhere")
    assert run_cli("--cert", str(test_key.cert_path), "--merge-into", str(target), input=other).returncode == 0
    opened = run_cli("unseal", "--recovery-private-key", str(test_key.key_path), "-f", str(target))
    assert opened.returncode == 0, opened.stderr


def test_fetch_cert_copies_certificate(run_cli, test_key):
    result = run_cli("--fetch-cert", "--cert", str(test_key.cert_path))
    assert result.stdout == test_key.cert_pem


def test_cert_over_http(run_cli, test_key):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/v1/cert.pem":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(test_key.cert_pem)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert run_cli("--cert", base + "/v1/cert.pem", input=SECRET).returncode == 0
        assert_clean_error(run_cli("--cert", base + "/missing", input=SECRET), f'cannot fetch "{base}/missing": 404')
    finally:
        server.shutdown()


def test_version_and_help(run_cli):
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.decode().startswith("sealer version: v")
    help_ = run_cli("seal", "--help")
    assert help_.returncode == 0 and b"SEALED_SECRETS_CERT" in help_.stdout


def test_usage_errors_exit_2(run_cli, test_key):
    assert_clean_error(run_cli("--scope", "galaxy-wide", "--cert", str(test_key.cert_path), input=SECRET), code=2)
    assert_clean_error(run_cli("--no-such-flag"), code=2)


# --- bad input: one clear line, exit 1, never a traceback, never a value ------------------


@pytest.mark.parametrize(
    ("stdin", "fragments"),
    [
        ("", ["no secrets found"]),
        ("kind: Secret\nmetadata:\n  name: [x\n", ["document 1", "malformed YAML"]),
        (
            '{"kind": "Secret", "metadata": {"name": "x"}, "stringData": {"password": "s3cr3t-value-123"}',
            ["malformed JSON"],
        ),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", ["document 1", "ConfigMap"]),
        (SECRET + "---\napiVersion: v1\nkind: List\nitems: []\n", ["document 2", "List"]),
        ("kind: Secret\nmetadata: {namespace: x}\nstringData: {password: s3cr3t-value-123}\n", ["metadata.name"]),
        ("kind: Secret\nmetadata: {name: x}\ndata: {password: 's3cr3t-value-123!'}\n", ["data.password", "base64"]),
        ("kind: Secret\nmetadata: {name: x}\n", ["secret.data is empty", "--allow-empty-data"]),
        (b'kind: Secret\nmetadata: {name: x}\nstringData: {a: "\xff"}\n', ["not valid UTF-8"]),
    ],
)
def test_bad_input(run_cli, test_key, stdin, fragments):
    assert_clean_error(run_cli("--cert", str(test_key.cert_path), input=stdin), *fragments)


def test_alias_bomb_is_refused_quickly(run_cli, test_key):
    from tests.sealer.test_manifests import BOMB

    assert_clean_error(run_cli("--cert", str(test_key.cert_path), input=BOMB), "alias bomb")


def test_input_over_size_limit(run_cli, test_key):
    result = run_cli("--cert", str(test_key.cert_path), input=b"#" * 2048, env={"SEALER_MAX_INPUT_BYTES": "1024"})
    assert_clean_error(result, "larger than")


def test_allow_empty_data(run_cli, test_key):
    assert (
        run_cli(
            "--allow-empty-data", "--cert", str(test_key.cert_path), input="kind: Secret\nmetadata: {name: x}\n"
        ).returncode
        == 0
    )


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda p, k: str(p / "missing.pem"), ["no such file or directory"]),
        (lambda p, k: (p / "junk.pem").write_text("hello") and str(p / "junk.pem"), ["not a PEM certificate"]),
        (lambda p, k: (p / "key.pem").write_bytes(k.key_pem) and str(p / "key.pem"), ["expected a PEM certificate"]),
        (
            lambda p, k: (
                (p / "bad.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                and str(p / "bad.pem")
            ),
            ["corrupt"],
        ),
    ],
)
def test_bad_certificates(run_cli, test_key, tmp_path, make, fragments):
    assert_clean_error(run_cli("--cert", make(tmp_path, test_key), input=SECRET), *fragments)


def test_expired_and_non_rsa_certificates(run_cli, test_key, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    old = make_cert(test_key.private_key, not_before=dt.datetime(2010, 1, 1, tzinfo=dt.UTC), days=365)
    (tmp_path / "old.pem").write_bytes(old)
    assert_clean_error(
        run_cli("--cert", str(tmp_path / "old.pem"), input=SECRET),
        "failed to encrypt using an expired certificate on January 1, 2011",
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(make_cert(ec_key))
    assert_clean_error(run_cli("--cert", str(tmp_path / "ec.pem"), input=SECRET), "expected RSA public key")


def test_unseal_errors(run_cli, test_key, other_key, tmp_path):
    sealed = json.loads(run_cli("--cert", str(test_key.cert_path), input=SECRET).stdout)
    assert_clean_error(
        run_cli("unseal", "--recovery-private-key", str(other_key.key_path), input=json.dumps(sealed)),
        "no key could decrypt secret (password)",
    )
    assert_clean_error(run_cli("unseal", input=json.dumps(sealed)), "no key could decrypt secret")
    sealed["spec"]["encryptedData"]["password"] = sealed["spec"]["encryptedData"]["password"][:40]
    assert_clean_error(
        run_cli("unseal", "--recovery-private-key", str(test_key.key_path), input=json.dumps(sealed)),
        "password: sealed value is too short",
    )
    (tmp_path / "notakey").write_text("hello: world\n")
    assert_clean_error(
        run_cli("unseal", "--recovery-private-key", str(tmp_path / "notakey"), input=json.dumps(sealed)), "tls.key"
    )


def test_unseal_with_key_secret_list(run_cli, test_key, other_key, tmp_path):
    import base64

    sealed = run_cli("--cert", str(test_key.cert_path), input=SECRET).stdout
    items = [
        {
            "metadata": {"name": f"k{i}"},
            "type": "kubernetes.io/tls",
            "data": {"tls.key": base64.b64encode(k.key_pem).decode(), "tls.crt": base64.b64encode(k.cert_pem).decode()},
        }
        for i, k in enumerate((other_key, test_key))
    ]
    (tmp_path / "backup.json").write_text(json.dumps({"items": items}))  # client-go's SecretList: no kind
    fd = os.open(tmp_path / "backup.yaml", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}).encode())
    os.close(fd)
    for path in ("backup.json", "backup.yaml"):
        result = run_cli("unseal", "--recovery-private-key", str(tmp_path / path), input=sealed)
        assert result.returncode == 0, result.stderr
    result = run_cli("unseal", "--recovery-private-key", f"{other_key.key_path},{test_key.key_path}", input=sealed)
    assert result.returncode == 0, result.stderr


def test_sealing_offline_imports_nothing_heavy(run_cli, test_key):
    """Start-up budget: the kubernetes client (~240 ms) and prometheus are for cluster commands only."""
    result = run_cli("--cert", str(test_key.cert_path), input=SECRET, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0
    imported = {
        line.split("|")[-1].strip() for line in result.stderr.decode().splitlines() if line.startswith("import time:")
    }
    assert "sealer.core.sealing" in imported  # the probe works
    assert not {m for m in imported if m.split(".")[0] in ("kubernetes", "prometheus_client", "keyring", "urllib3")}
    # Nor our own cluster, key-management or controller code (the import-linter contracts' runtime twin).
    assert not {m for m in imported if m.split(".")[0] in ("keys", "controller")}
    assert not imported & {
        "sealer.kube.client",
        "sealer.kube.config",
        "sealer.kube.controller_api",
        "sealer.cli.server_side",
    }


@pytest.mark.parametrize(
    "args",
    [
        ("-w", "{tmp}"),
        ("-w", "{tmp}/missing/x.yaml"),
        ("--merge-into", "{tmp}"),
        ("--raw", "--name", "a", "--from-file", "{tmp}"),
    ],
)
def test_file_problems_are_one_line_errors(run_cli, test_key, tmp_path, args):
    args = [a.format(tmp=tmp_path) for a in args]
    assert_clean_error(run_cli("--cert", str(test_key.cert_path), *args, input=SECRET), str(tmp_path))


def test_closed_stdin_is_empty_input(run_cli, test_key):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "sealer", "--cert", str(test_key.cert_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert proc.returncode == 1 and b"no secrets found" in proc.stderr and b"Traceback" not in proc.stderr


def test_mistyped_fields_are_named_not_echoed(run_cli, test_key):
    doc = {"kind": {"password": PLAINTEXT}, "metadata": {"name": "x"}, "stringData": {"a": "b"}}
    assert_clean_error(run_cli("--cert", str(test_key.cert_path), input=json.dumps(doc)), "field kind: is a map")

"""kubeseal's invocations, run in-process through sealer's CLI (issue 10): flags and variables that
used to be refused or ignored, file modes, help. The same invocations against the real kubeseal
are in tests/interop/."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
import yaml

from sealer.core.exit_status import ExitStatus
from sealer.core.scope import KEY_HINT_ANNOTATION

SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: hunter2}\n"


def opened(cli, test_key, sealed: str) -> dict[str, str]:
    import base64

    r = cli("--recovery-unseal", "--recovery-private-key", str(test_key.key_path), input=sealed)
    assert r.status == 0, r.err
    return {k: base64.b64decode(v).decode() for k, v in json.loads(r.out)["data"].items()}


def test_exit_statuses_and_streams(cli, test_key):
    ok = cli("--cert", str(test_key.cert_path), input=SECRET)
    assert ok.status == ExitStatus.OK and json.loads(ok.out)["kind"] == "SealedSecret" and ok.err == ""
    bad = cli("--cert", str(test_key.cert_path), input="kind: Secret\n")
    assert bad.status == ExitStatus.FAILURE and bad.out == "" and bad.err.startswith("error: ")
    usage = cli("--no-such-flag")
    assert usage.status == ExitStatus.USAGE and "No such option" in usage.err


def test_name_without_raw_renames_the_sealed_secret(cli, test_key):
    r = cli("--cert", str(test_key.cert_path), "--name", "other", input=SECRET)
    doc = json.loads(r.out)
    assert doc["metadata"]["name"] == doc["spec"]["template"]["metadata"]["name"] == "other"
    # Strict scope: sealed for the new name, so it opens under it.
    assert opened(cli, test_key, r.out) == {"password": "hunter2"}


@pytest.mark.parametrize("flags", [("--from-file", "a", "--from-file", "b"), ("--from-file", "a,b")])
def test_raw_takes_exactly_one_from_file(cli, test_key, tmp_path, flags):
    (tmp_path / "a").write_text("x")
    (tmp_path / "b").write_text("y")
    flags = tuple(
        str(tmp_path / f) if f in ("a", "b") else f.replace("a,b", f"{tmp_path}/a,{tmp_path}/b") for f in flags
    )
    r = cli("--cert", str(test_key.cert_path), "--raw", "--name", "n", "--namespace", "ns", *flags)
    assert (
        r.status == 1 and r.err == "error: must provide only one --from-file when encrypting a single item with --raw\n"
    )


def test_numbers_and_yaml_1_1_booleans_are_sealed_as_kubectl_reads_them(cli, test_key):
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod, labels: {enabled: y}}\n"
        "stringData: {port: 5432, debug: yes}\n"
    )
    r = cli("--cert", str(test_key.cert_path), input=secret)
    assert r.status == 0, r.err
    assert json.loads(r.out)["spec"]["template"]["metadata"]["labels"] == {"enabled": "true"}
    assert opened(cli, test_key, r.out) == {"port": "5432", "debug": "true"}


def test_recovery_unseal_writes_a_private_file(cli, test_key, tmp_path):
    sealed = cli("--cert", str(test_key.cert_path), input=SECRET).out
    out = tmp_path / "plain.yaml"
    out.write_text("old")
    os.chmod(out, 0o644)
    r = cli("--recovery-unseal", "--recovery-private-key", str(test_key.key_path), "-w", str(out), input=sealed)
    assert r.status == 0 and r.out == "", r.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert yaml.safe_load(out.read_text())["kind"] == "Secret"


def test_stray_positional_arguments_are_ignored_with_a_warning(cli, test_key):
    r = cli("--cert", str(test_key.cert_path), "hunter2-typed-by-mistake", input=SECRET)
    assert r.status == 0 and json.loads(r.out)["kind"] == "SealedSecret"
    assert r.err == "warning: ignoring 1 positional argument(s), as kubeseal does\n"  # the argument is not echoed


def test_w_files_are_0600_as_kubeseals(cli, test_key, tmp_path):
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text("{}")
    os.chmod(old, 0o644)
    for path in (new, old):
        assert cli("--cert", str(test_key.cert_path), "-w", str(path), input=SECRET).status == 0
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_merge_into_keeps_the_files_mode_and_sorts_items(cli, test_key, tmp_path):
    target = tmp_path / "sealed.json"
    target.write_text(cli("--cert", str(test_key.cert_path), input=SECRET).out)
    os.chmod(target, 0o644)
    more = SECRET.replace("{password: hunter2}", "{apikey: k}")
    r = cli("--cert", str(test_key.cert_path), "--merge-into", str(target), input=more)
    assert r.status == 0, r.err
    assert list(json.loads(target.read_text())["spec"]["encryptedData"]) == ["apikey", "password"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("environ", [{"SEALED_SECRETS_KEY_HINT": "false"}, {"SEALED_SECRETS_NO_KEY_HINT": "true"}])
def test_key_hint_variables(cli, test_key, environ):
    r = cli("--cert", str(test_key.cert_path), input=SECRET, environ=environ)
    assert KEY_HINT_ANNOTATION not in (json.loads(r.out)["metadata"].get("annotations") or {})
    with_flag = cli("--cert", str(test_key.cert_path), "--key-hint", input=SECRET, environ=environ)
    assert KEY_HINT_ANNOTATION in json.loads(with_flag.out)["metadata"]["annotations"]  # the flag wins


def test_help_shows_the_seal_flags_and_the_commands(cli):
    for args in (("--help",), ("-h",)):
        r = cli(*args)
        assert r.status == 0
        for text in ("--cert", "--controller-name", "--recovery-unseal", "--token", "unseal", "keys", "cert"):
            assert text in r.out, text


@pytest.mark.parametrize(
    "flags",
    [
        ("--token", "t"),
        ("-s", "https://x"),
        ("--server", "https://x"),
        ("--as", "u"),
        ("--as-group", "g"),
        ("--as-uid", "1"),
        ("--user", "u"),
        ("--cluster", "c"),
        ("--insecure-skip-tls-verify",),
        ("--certificate-authority", "ca.crt"),
        ("--client-certificate", "c.crt"),
        ("--client-key", "c.key"),
        ("--tls-server-name", "n"),
        ("--request-timeout", "5s"),
        ("--username", "u"),
        ("--password", "p"),
        ("-v", "4"),
        ("--v=2",),
        ("--logtostderr",),
        ("--vmodule", "x=2"),
    ],
)
def test_kubectl_connection_and_klog_flags_are_accepted_next_to_cert(cli, test_key, flags):
    r = cli("--cert", str(test_key.cert_path), *flags, input=SECRET)
    assert r.status == 0, r.err
    assert json.loads(r.out)["kind"] == "SealedSecret"


def test_verbose_says_where_the_certificate_came_from(cli, test_key):
    r = cli("--cert", str(test_key.cert_path), "-v", "1", input=SECRET)
    assert r.err == f"using the certificate {test_key.cert_path} (--cert)\n"


def test_a_missing_optional_package_is_a_one_line_error(tmp_path):
    """As if keyring were not installed (a fresh interpreter whose imports of it fail)."""
    import subprocess

    code = (
        "import sys\n"
        "class NotInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'keyring':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NotInstalled())\n"
        "from sealer.cli.main import main\n"
        "sys.exit(main(['keys', 'generate', '--keyring', 'dev', '--bits', '2048']))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 1
    assert r.stderr == (
        "error: this command needs the Python package 'keyring', which is not installed: "
        "pip install 'sealer[keyring]'\n"
    )


def test_connection_flags_reach_the_client_factory(cli, test_key):
    """The cluster path gets every connection flag (the factory is the Environment's)."""
    seen = []

    def connect(conn, environ):
        seen.append(conn)
        raise_it = __import__("sealer.core.errors", fromlist=["SealerError"]).SealerError
        raise raise_it("stop here")

    r = cli(
        "--token",
        "tok",
        "-s",
        "https://10.0.0.1:6443",
        "--as",
        "alice",
        "--as-group",
        "a",
        "--as-group",
        "b",
        "--request-timeout",
        "1m",
        "--insecure-skip-tls-verify",
        "--context",
        "ctx",
        input=SECRET,
        environ={"SEALED_SECRETS_AS_GROUP": "e"},
        connect=connect,
    )
    assert r.status == 1 and r.err == "error: stop here\n"
    (conn,) = seen
    assert (conn.token, conn.server, conn.as_user, conn.as_groups, conn.request_timeout, conn.context) == (
        "tok",
        "https://10.0.0.1:6443",
        "alice",
        ("e", "a", "b"),
        60.0,
        "ctx",
    )
    assert conn.insecure_skip_tls_verify


# --- found by the differential suite (tests/interop/test_kubeseal_differential.py) -------------


def test_unknown_output_format_is_kubeseals_error_and_exit_1(cli, test_key):
    r = cli("--cert", str(test_key.cert_path), "-o", "xml", input=SECRET)
    assert (r.status, r.out, r.err) == (ExitStatus.FAILURE, "", "error: unsupported output format: xml\n")
    assert cli("--cert", str(test_key.cert_path), "-o", "YAML", input=SECRET).out.startswith("---\n")


@pytest.mark.parametrize(
    "flags",
    [
        ("--disable-compression",),
        ("--proxy-url", "http://127.0.0.1:3128"),
        ("--legacy_stderr_threshold_behavior=false",),
    ],
)
def test_kubeseals_remaining_flags_are_accepted(cli, test_key, flags):
    r = cli("--cert", str(test_key.cert_path), *flags, input=SECRET)
    assert r.status == ExitStatus.OK, r.err


def test_proxy_url_reaches_the_connection():
    from sealer.cli.arguments import ControllerTarget

    target = ControllerTarget.from_flags({"proxy_url": "http://127.0.0.1:3128"}, {})
    assert target.connection.proxy_url == "http://127.0.0.1:3128"


def test_blank_input_holds_no_secrets(cli, test_key):
    r = cli("--cert", str(test_key.cert_path), input="  \n\t\n")
    assert r.status == ExitStatus.FAILURE and r.err.startswith("error: stdin: no secrets found")


def test_output_file_extension_is_case_sensitive_as_kubeseal(cli, test_key, tmp_path):
    out = tmp_path / "out.YAML"
    assert cli("--cert", str(test_key.cert_path), "-w", str(out), input=SECRET).status == 0
    assert out.read_text().startswith("{")


def test_scope_annotations_stay_as_written_without_scope_flag(cli, test_key):
    both = SECRET.replace(
        "metadata: {name: db, namespace: prod}",
        "metadata: {name: db, namespace: prod, annotations: "
        "{sealedsecrets.bitnami.com/cluster-wide: 'true', sealedsecrets.bitnami.com/namespace-wide: 'false'}}",
    )
    doc = json.loads(cli("--cert", str(test_key.cert_path), input=both).out)
    assert doc["spec"]["template"]["metadata"]["annotations"] == {
        "sealedsecrets.bitnami.com/cluster-wide": "true",
        "sealedsecrets.bitnami.com/namespace-wide": "false",
    }
    flagged = json.loads(cli("--cert", str(test_key.cert_path), "--scope", "namespace-wide", input=both).out)
    assert flagged["spec"]["template"]["metadata"]["annotations"] == {
        "sealedsecrets.bitnami.com/namespace-wide": "true"
    }


def test_recovery_unseal_variable_means_recovery_unseal(cli, test_key):
    sealed = cli("--cert", str(test_key.cert_path), input=SECRET).out
    r = cli(
        "--recovery-private-key",
        str(test_key.key_path),
        input=sealed,
        environ={"SEALED_SECRETS_RECOVERY_UNSEAL": "true"},
    )
    assert r.status == 0, r.err
    assert json.loads(r.out)["kind"] == "Secret"


def test_an_unreachable_cluster_is_named_in_one_short_line():
    import urllib3

    from sealer.kube.controller_api import _connection_failure

    pool = urllib3.HTTPSConnectionPool("127.0.0.1", 1)
    reason = urllib3.exceptions.NewConnectionError(
        pool, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    assert (
        _connection_failure(urllib3.exceptions.MaxRetryError(pool, "/api", reason)) == "127.0.0.1:1: connection refused"
    )

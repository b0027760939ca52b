"""The proof of kubeseal parity (issue 10): every invocation of kubeseal_cases.py runs through the
real kubeseal v0.36.6 and through `python -m sealer` (same argv, stdin and variables, fresh
directories, all at once), and the two are compared: exit status, output bytes with --no-key-hint
(ciphertexts masked), output structure without it, files written and their modes, the meaning of
errors (MEANINGS), and each tool opening what the other sealed. Where sealer differs on purpose,
the case names the difference (DIFFERENCES, each explained in docs/kubeseal.md) and its check
asserts exactly that difference, so the test fails if either tool changes."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.server
import json
import os
import pickle
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import REPO, make_cert
from tests.interop import kubeseal_cases
from tests.interop.differential import (
    CANARY,
    KEY_HINT,
    Assets,
    Case,
    Outcome,
    Run,
    documents,
    mask,
    one_line_error,
    opened_data,
    run_all,
    without_hint,
    written_modes,
)

pytestmark = pytest.mark.interop

CASES = kubeseal_cases.ALL


# --- fixtures: the files and addresses the cases name ---------------------------------------------


class Tripwire:
    """A loopback listener that counts connections: invocations with --cert must make none."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def kubeconfig(server: str) -> str:
    contexts = [
        {"name": name, "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns else {})}}
        for name, ns in (("ctx", "team-a"), ("other", "team-b"), ("nons", None))
    ]
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "ctx",
            "contexts": contexts,
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
        }
    )


def key_secret(name: str, key_pem: bytes, cert_pem: bytes) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
        },
        "data": {"tls.crt": base64.b64encode(cert_pem).decode(), "tls.key": base64.b64encode(key_pem).decode()},
    }


@pytest.fixture(scope="session")
def tripwire() -> Tripwire:
    return Tripwire()


@pytest.fixture(scope="session")
def assets(tmp_path_factory, kubeseal, test_key, other_key, tripwire) -> Assets:
    d = tmp_path_factory.mktemp("assets")
    files: dict[str, bytes | str] = {
        "pubkey.pem": test_key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "bundle.pem": test_key.cert_pem + other_key.cert_pem,
        "expired.pem": make_cert(
            test_key.private_key, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=30), days=2
        ),
        "garbage.pem": "this is not a certificate\n",
        "empty.pem": b"",
        "kc.yaml": kubeconfig(tripwire.url),
        "kc-refused.yaml": kubeconfig("https://127.0.0.1:1"),
        "key-secret.yaml": yaml.safe_dump(key_secret("sealed-secrets-key1", test_key.key_pem, test_key.cert_pem)),
        "key-secret.json": json.dumps(key_secret("sealed-secrets-key1", test_key.key_pem, test_key.cert_pem)),
        "key-list.yaml": yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    key_secret("k0", other_key.key_pem, other_key.cert_pem),
                    key_secret("k1", test_key.key_pem, test_key.cert_pem),
                ],
            }
        ),
    }
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(dt.UTC)
    files["ec.pem"] = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=9))
        .sign(ec_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )

    # SealedSecrets for the recovery and --merge-into cases, sealed by kubeseal itself.
    def kubeseal_seal(text: str, *argv: str) -> bytes:
        proc = subprocess.run(
            [str(kubeseal), "--cert", str(test_key.cert_path), *argv],
            input=text.encode(),
            capture_output=True,
            env={"PATH": "/usr/bin:/bin", "KUBECONFIG": str(d / "none")},
            check=True,
        )
        return proc.stdout

    files["sealed.json"] = kubeseal_seal(kubeseal_cases.S)
    files["sealed.yaml"] = kubeseal_seal(kubeseal_cases.S, "-o", "yaml")
    files["sealed-nw.json"] = kubeseal_seal(kubeseal_cases.S, "--scope", "namespace-wide")
    files["sealed-cw.json"] = kubeseal_seal(kubeseal_cases.S, "--scope", "cluster-wide")
    files["sealed-rich.json"] = kubeseal_seal(kubeseal_cases.RICH)
    files["sealed-stream.json"] = kubeseal_seal(kubeseal_cases.S + "---\n" + kubeseal_cases.yaml_secret("api"))
    renamed = json.loads(files["sealed.json"])
    renamed["metadata"]["name"] = "renamed"
    files["sealed-renamed.json"] = json.dumps(renamed)
    for file_name, data in files.items():
        (d / file_name).write_bytes(data.encode() if isinstance(data, str) else data)

    handler = functools.partial(_QuietHandler, directory=str(d))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (d / "cert.pem").write_bytes(test_key.cert_pem)

    values = {
        "cert": str(test_key.cert_path),
        "key": str(test_key.key_path),
        "other_key": str(other_key.key_path),
        "cert4096": str(REPO / "examples" / "example-cert.pem"),
        "key4096": str(REPO / "examples" / "example-key.pem"),
        "pubkey": str(d / "pubkey.pem"),
        "bundle": str(d / "bundle.pem"),
        "expired": str(d / "expired.pem"),
        "ec_cert": str(d / "ec.pem"),
        "garbage": str(d / "garbage.pem"),
        "empty": str(d / "empty.pem"),
        "kc": str(d / "kc.yaml"),
        "kc_refused": str(d / "kc-refused.yaml"),
        "key_secret_yaml": str(d / "key-secret.yaml"),
        "key_secret_json": str(d / "key-secret.json"),
        "key_list": str(d / "key-list.yaml"),
        "url": f"http://127.0.0.1:{server.server_address[1]}",
        "tripwire": tripwire.url,
        "sealed_json": str(d / "sealed.json"),
        "sealed_yaml": str(d / "sealed.yaml"),
        "sealed_namespace_wide": str(d / "sealed-nw.json"),
        "sealed_cluster_wide": str(d / "sealed-cw.json"),
        "sealed_rich": str(d / "sealed-rich.json"),
        "sealed_stream": str(d / "sealed-stream.json"),
        "sealed_renamed": str(d / "sealed-renamed.json"),
    }
    yield Assets(values, kubeseal)
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def outcomes(request, assets, tmp_path_factory) -> dict[str, Outcome]:
    """Every selected case, run at once (kubeseal and sealer side by side)."""
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)  # other tests' "case"s
    }
    cases = [c for c in CASES if c.id in selected] or CASES
    start = time.monotonic()
    results = run_all(cases, assets, tmp_path_factory.mktemp("differential"))
    elapsed = time.monotonic() - start
    runs = [r for o in results.values() for r in (o.kubeseal, o.sealer, o.nohint, o.kubeseal_opens_sealer) if r]
    slowest = max(runs, key=lambda r: r.seconds)
    print(
        f"\ndifferential: {len(cases)} kubeseal invocations, {len(runs) + 1} processes, {elapsed:.1f} s "
        f"(slowest {slowest.seconds:.1f} s: {' '.join(slowest.argv)[:80]})"
    )
    if os.environ.get("DIFFERENTIAL_DUMP"):
        with open(os.environ["DIFFERENTIAL_DUMP"], "wb") as f:
            pickle.dump(results, f)
    return results


# --- what sealer's errors must mean where kubeseal's say... -------------------------------------


@dataclass(frozen=True)
class Meaning:
    kubeseal: str  # a substring of kubeseal's stderr
    sealer: str  # a regex sealer's one error line must match


MEANINGS = {
    "no-secrets": Meaning("no secrets found", r"no secrets found|not valid UTF-8|expected a Secret object"),
    "format": Meaning("unsupported output format: xml", r"unsupported output format: xml"),
    "input-file": Meaning("", r"open \S+: no such file"),
    "write": Meaning("", r"write \S+: no such file"),
    "malformed": Meaning("error", r"malformed (YAML|JSON) at line \d+"),
    "empty-data": Meaning("secret.data is empty in input Secret", r"document \d+, field data: secret.data is empty"),
    "list": Meaning("secret.data is empty", r"document 1, field kind: is a List"),
    "configmap": Meaning("error unmarshaling JSON", r"document 1, field kind: is a ConfigMap, not a Secret"),
    "missing-name": Meaning("missing metadata.name in input Secret", r"field metadata.name: missing metadata.name"),
    "base64": Meaning("illegal base64 data", r"field data.password: is not valid base64"),
    "wrong-type": Meaning("cannot unmarshal", r"document 1, field [a-zA-Z.]+: must be"),
    "not-an-object": Meaning("", r"document 1: expected a Secret object, found a (string|list)"),
    "scope": Meaning("must be one of: strict, namespace-wide, cluster-wide", r"'everywhere' is not one of"),
    "namespace-mismatch": Meaning(
        'namespace mismatch: input secret is in namespace "prod" but "other" was specified',
        r'field metadata.namespace: namespace mismatch: input secret is in namespace "prod" '
        r'but "other" was specified',
    ),
    "raw-name": Meaning(
        "must provide the --name flag with --raw and --scope strict",
        r"must provide the --name flag with --raw and --scope strict",
    ),
    "raw-one-file": Meaning(
        "must provide only one --from-file when encrypting a single item with --raw",
        r"must provide only one --from-file",
    ),
    "from-file-raw": Meaning("--from-file requires --raw", r"--from-file requires --raw"),
    "cert-fetch": Meaning("", r"cannot fetch \"http://127\.0\.0\.1:\d+/\S+\.pem\""),
    "cert-not-rsa": Meaning("", r"expected RSA public key"),
    "cert-garbage": Meaning("", r"not a PEM certificate"),
    "cert-expired": Meaning(
        "failed to encrypt using an expired certificate on",
        r"expired.pem: failed to encrypt using an expired certificate on \w+ \d+, \d{4}$",
    ),
    "cert-missing": Meaning("", r"open missing.pem: no such file"),
    "cluster-unreachable": Meaning(
        "127.0.0.1:1: connect: connection refused", r"cannot reach the cluster: 127\.0\.0\.1:1: connection refused$"
    ),
    "no-cluster-config": Meaning("", r"kubeconfig|cluster"),
    "no-key": Meaning("no key could decrypt secret", r"no key could decrypt secret"),
    "key-file": Meaning("", r"open nokey.pem: no such file"),
    "key-garbage": Meaning("", r"garbage.pem"),
    "recovery-not-sealed": Meaning("", r"document 1, field kind: is a Secret, not a SealedSecret"),
    "unknown-flag": Meaning("unknown flag: --no-such-flag", r"No such option '--no-such-flag'"),
    "flag-needs-value": Meaning("flag needs an argument: --cert", r"'--cert' requires an argument"),
}


# --- the default comparison -------------------------------------------------------------------


def check_failure(o: Outcome) -> None:
    k, s, case = o.kubeseal, o.sealer, o.case
    meaning = MEANINGS[case.error]
    assert k.returncode != 0, f"kubeseal succeeded where the case expects {case.error!r}"
    said = k.err + k.stdout.decode("utf-8", "replace")  # pflag's usage errors go to stdout
    assert meaning.kubeseal in said, f"kubeseal's message changed: {said!r}"
    assert s.returncode != 0, f"sealer succeeded where kubeseal failed with {k.err!r}"
    assert s.returncode == (2 if k.returncode == 2 else 1), (k.returncode, s.returncode, s.err)
    line = one_line_error(s) if s.returncode == 1 else s.err
    assert re.search(meaning.sealer, line), f"sealer's error does not say {meaning.sealer!r}: {line!r}"
    assert CANARY not in s.err and base64.b64encode(CANARY.encode()).decode() not in s.err
    assert s.stdout == b"" and s.written == {}, "sealer wrote output on failure"


def check_same_files(o: Outcome, sealer_run: Run) -> None:
    k = o.kubeseal
    assert written_modes(sealer_run) == written_modes(k), "files written or their modes differ"
    for name, (_, data) in k.written.items():
        if name != o.case.output or o.case.kind != "seal" or sealer_run is not o.sealer:
            assert mask(sealer_run.written[name][1]) == mask(data), f"{name} differs"


def check_success(o: Outcome) -> None:
    k, s, case = o.kubeseal, o.sealer, o.case
    assert k.returncode == 0, f"kubeseal failed: {k.err!r}"
    assert s.returncode == 0, f"sealer failed where kubeseal succeeded: {s.err!r}"
    if case.kind == "seal":
        assert o.nohint is not None and o.nohint.returncode == 0, o.nohint and o.nohint.err
        assert mask(o.nohint.output(case)) == mask(k.output(case)), "bytes differ (with --no-key-hint)"
        assert KEY_HINT.encode() not in o.nohint.output(case)
        assert [without_hint(d) for d in documents(mask(s.output(case)))] == documents(mask(k.output(case)))
        check_same_files(o, o.nohint)
        check_same_files(o, s)
        check_opened_alike(o)
    elif case.kind == "unseal":
        theirs = [without_owner_reference(d) for d in documents(k.output(case))]
        assert ordered(documents(s.output(case))) == ordered(theirs), "opened Secrets differ"
        assert written_modes(s) == written_modes(k)
    elif case.kind in ("raw", "text"):
        if case.kind == "raw":
            assert mask(s.stdout) == mask(k.stdout) == (b"<sealed>" if case.output is None else b"")
        else:
            assert s.stdout == k.stdout, "output differs"
        check_same_files(o, s)
    elif case.kind == "version":
        assert re.fullmatch(r"kubeseal version: v\d+\.\d+\.\d+\n", k.stdout.decode())
        assert re.fullmatch(r"sealer version: v\S+\n", s.stdout.decode())
    if k.err == "":
        assert s.err == "", f"sealer says something where kubeseal is silent: {s.err!r}"


def check_opened_alike(o: Outcome) -> None:
    """Each tool opens what the other sealed, to the same Secrets."""
    theirs, ours = o.sealer_opens_kubeseal, o.kubeseal_opens_sealer
    assert theirs is not None and ours is not None
    assert theirs.returncode == 0, f"sealer cannot open kubeseal's output: {theirs.err!r}"
    assert ours.returncode == 0, f"kubeseal cannot open sealer's output: {ours.err!r}"
    # kubeseal's recovery opens the first document only (see DIFFERENCES["recovery-every-document"]).
    assert opened_data(theirs)[:1] == opened_data(ours)


def ordered(value: object) -> str:
    """Equality that also sees key order (Go writes struct fields in declaration order)."""
    return json.dumps(value, ensure_ascii=False)


def without_owner_reference(secret: dict) -> dict:
    """kubeseal's recovery output without the ownerReference it adds (see "recovery-owner-reference")."""
    refs = secret["metadata"].get("ownerReferences")
    assert refs == [
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "name": secret["metadata"]["name"],
            "uid": "",
            "controller": True,
        }
    ], refs
    return {**secret, "metadata": {k: v for k, v in secret["metadata"].items() if k != "ownerReferences"}}


# --- the documented differences: each check asserts exactly the difference ----------------------


def sealer_fails_alone(o: Outcome, message: str) -> None:
    assert o.kubeseal.returncode == 0, o.kubeseal.err
    assert o.sealer.returncode == 1 and o.sealer.stdout == b"" and o.sealer.written == {}
    assert re.search(message, one_line_error(o.sealer)), o.sealer.err


def all_or_nothing(o: Outcome) -> None:
    """kubeseal prints the SealedSecrets before the bad document, then fails; sealer prints nothing."""
    assert o.kubeseal.returncode == 1 and documents(o.kubeseal.output(o.case))[0]["kind"] == "SealedSecret"
    check_failure(o)


def size_limit(o: Outcome) -> None:
    sealer_fails_alone(o, r"document 1, field data: Secret is larger than Kubernetes' 1 MiB limit")


def empty_value_null(o: Outcome) -> None:
    check_success(o)  # the same sealed output, and both open it...
    assert b'"empty": null' in o.kubeseal_opens_sealer.stdout  # ...kubeseal to a null (Go's nil []byte),
    assert b'"empty": ""' in o.sealer_opens_kubeseal.stdout  # sealer to the empty string


def no_kubeconfig_namespace(o: Outcome) -> None:
    assert o.kubeseal.returncode == 1
    assert re.search(r"secret must declare a namespace|no configuration has been provided", o.kubeseal.err)
    assert o.sealer.returncode == 0, o.sealer.err
    if o.case.kind == "seal":
        assert {d["metadata"]["namespace"] for d in documents(o.sealer.stdout)} == {"default"}


def merge_keeps_yaml(o: Outcome) -> None:
    k, s = o.kubeseal.output(o.case), o.nohint.output(o.case)
    assert k.startswith(b"{") and s.startswith(b"---\n"), "kubeseal rewrites the YAML file as JSON, sealer keeps YAML"
    assert documents(mask(s)) == documents(mask(k))
    assert written_modes(o.sealer) == written_modes(o.kubeseal)
    check_opened_alike(o)


def merge_labels(o: Outcome) -> None:
    assert o.kubeseal.returncode == 2 and "panic: assignment to entry in nil map" in o.kubeseal.err
    assert o.kubeseal.written == {}
    assert o.sealer.returncode == 0
    merged = documents(o.sealer.output(o.case))[0]["spec"]["template"]["metadata"]
    assert merged["labels"] == {"added": "true"} and merged["annotations"] == {"note": "x"}
    assert o.kubeseal_opens_sealer.returncode == 0


def merge_target_scope(o: Outcome) -> None:
    """kubeseal seals the new item for the input's (strict) scope inside a cluster-wide SealedSecret,
    so the result no longer opens; sealer seals it for the file's scope."""
    assert o.kubeseal.returncode == 0 and o.sealer.returncode == 0
    assert (
        o.sealer_opens_kubeseal.returncode == 1 and "no key could decrypt secret (extra)" in o.sealer_opens_kubeseal.err
    )
    assert o.kubeseal_opens_sealer.returncode == 0, o.kubeseal_opens_sealer.err
    assert sorted(opened_data(o.kubeseal_opens_sealer)[0]["data"]) == ["extra", "password"]


def merge_scope_mismatch(o: Outcome) -> None:
    assert o.kubeseal.returncode == 2 and "panic:" in o.kubeseal.err
    assert o.sealer.returncode == 1 and o.sealer.written == {}
    assert re.search(
        r"--scope cluster-wide differs from the scope of target.json \(strict\)$", one_line_error(o.sealer)
    )


def public_key_pem(o: Outcome) -> None:
    assert o.kubeseal.returncode == 1 and "does not contain any valid RSA or ECDSA certificates" in o.kubeseal.err
    assert o.sealer.returncode == 0 and o.kubeseal_opens_sealer.returncode == 0, o.kubeseal_opens_sealer.err


def recovery_every_document(o: Outcome) -> None:
    assert o.kubeseal.returncode == 1 and "after top-level value" in o.kubeseal.err
    assert o.sealer.returncode == 0
    assert [d["metadata"]["name"] for d in documents(o.sealer.stdout)] == ["db", "api"]


def recovery_empty(o: Outcome) -> None:
    """kubeseal "opens" nothing into a Secret without a name; sealer says there is nothing."""
    assert o.kubeseal.returncode == 0 and "name" not in documents(o.kubeseal.stdout)[0]["metadata"]
    assert o.sealer.returncode == 1 and one_line_error(o.sealer) == "error: stdin: no SealedSecrets found in the input"


def kubectl_short_server(o: Outcome) -> None:
    assert o.kubeseal.returncode == 2 and "unknown shorthand flag: 's'" in o.kubeseal.stdout.decode()
    assert o.sealer.returncode == 0 and o.kubeseal_opens_sealer.returncode == 0, o.kubeseal_opens_sealer.err


def explicit_strict_scope(o: Outcome) -> None:
    """kubeseal cannot tell --scope strict from no --scope, so the input's cluster-wide annotation
    wins there; in sealer the flag wins."""
    theirs, ours = documents(o.kubeseal.stdout)[0], documents(o.nohint.stdout)[0]
    assert theirs["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/cluster-wide": "true"}
    assert "annotations" not in ours["metadata"] and "annotations" not in ours["spec"]["template"]["metadata"]
    check_opened_alike(o)


def stray_arguments(o: Outcome) -> None:
    assert o.kubeseal.err == "" and o.sealer.err == "warning: ignoring 1 positional argument(s), as kubeseal does\n"
    assert mask(o.nohint.stdout) == mask(o.kubeseal.stdout)


def key_hint_variables(o: Outcome) -> None:
    """sealer's own variables: with them its default output is kubeseal's, byte for byte."""
    assert KEY_HINT.encode() not in o.sealer.stdout
    assert mask(o.sealer.stdout) == mask(o.kubeseal.stdout)


DIFFERENCES: dict[str, Callable[[Outcome], None]] = {
    "all-or-nothing": all_or_nothing,
    "size-limit": size_limit,
    "empty-value-null": empty_value_null,
    "no-kubeconfig-namespace": no_kubeconfig_namespace,
    "merge-keeps-yaml": merge_keeps_yaml,
    "merge-labels": merge_labels,
    "merge-target-scope": merge_target_scope,
    "merge-scope": merge_scope_mismatch,
    "public-key-pem": public_key_pem,
    "recovery-every-document": recovery_every_document,
    "recovery-empty": recovery_empty,
    "kubectl-short-server": kubectl_short_server,
    "explicit-strict-scope": explicit_strict_scope,
    "stray-arguments": stray_arguments,
    "key-hint-variables": key_hint_variables,
}
# Differences every case of a kind shows (checked in check_success), documented all the same.
DOCUMENTED_ELSEWHERE = ("recovery-owner-reference",)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sealer_behaves_as_kubeseal(outcomes, case):
    o = outcomes[case.id]
    if case.difference:
        DIFFERENCES[case.difference](o)
    elif case.error:
        check_failure(o)
    else:
        check_success(o)


def test_enough_invocations():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


def test_nothing_contacted_a_cluster(outcomes, tripwire):
    """Connection flags and kubeconfigs next to --cert are accepted and never used."""
    assert outcomes and tripwire.connections == 0


def test_every_difference_is_documented():
    page = (REPO / "docs" / "kubeseal.md").read_text()
    used = {c.difference for c in CASES if c.difference}
    assert used <= set(DIFFERENCES)
    for key in (*DIFFERENCES, *DOCUMENTED_ELSEWHERE):
        assert f'<a id="{key}"></a>' in page, f"docs/kubeseal.md does not explain {key!r}"

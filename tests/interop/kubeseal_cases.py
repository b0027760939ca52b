"""The invocations of the differential suite: kubeseal v0.36.6's command lines as its users type
them, grouped by what they exercise. Placeholders ({cert}, {key}, ...) are the fixture files of
test_kubeseal_differential.py's ``assets``."""

from __future__ import annotations

import base64
import json

from tests.interop.differential import CANARY, Case

C = ("--cert", "{cert}")
RECOVER = ("--recovery-unseal", "--recovery-private-key", "{key}")


def yaml_secret(
    name: str = "db",
    namespace: str | None = "prod",
    *,
    body: str = "stringData:\n  password: hunter2\n",
    meta: str = "",
) -> str:
    ns = f"  namespace: {namespace}\n" if namespace is not None else ""
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{ns}{meta}{body}"


def json_secret(name: str = "db", namespace: str | None = "prod", **fields: object) -> str:
    meta: dict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, **(fields or {"stringData": {"password": "hunter2"}})}
    )


S = yaml_secret()
NO_NS = yaml_secret(namespace=None)
RICH = yaml_secret(
    meta="  labels:\n    app: db\n    tier: backend\n  annotations:\n    team: a\n",
    body='type: kubernetes.io/basic-auth\nstringData:\n  username: admin\n  password: "p@ss: w\\u00f6rd\\n"\n'
    "data:\n  binary: AAEC/w==\n",
)
BAD = yaml_secret(body=f"stringData:\n  password: {CANARY}\n")  # a value no error may echo


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def seal(id: str, *argv: str, stdin: str | bytes = S, **kw: object) -> Case:
    return Case(id, (*C, *argv), stdin, **kw)  # type: ignore[arg-type]


def fail(id: str, error: str, *argv: str, stdin: str | bytes = BAD, cert: bool = True, **kw: object) -> Case:
    return Case(id, (*(C if cert else ()), *argv), stdin, error=error, **kw)  # type: ignore[arg-type]


FORMATS = [
    seal("format-default-json"),
    seal("format-json", "-o", "json"),
    seal("format-yaml", "-o", "yaml"),
    seal("format-long-flag", "--format", "yaml"),
    seal("format-equals", "--format=yaml"),
    seal("format-upper-YAML", "-o", "YAML"),
    seal("format-mixed-Json", "-o", "Json"),
    fail("format-unknown", "format", "-o", "xml", stdin=S),
    seal("format-json-input-yaml-output", "-o", "yaml", stdin=json_secret()),
    seal("format-json-input", stdin=json_secret()),
    seal("format-rich-json", stdin=RICH),
    seal("format-rich-yaml", "-o", "yaml", stdin=RICH),
    seal("input-file-yaml", "-f", "in.yaml", stdin=b"", files={"in.yaml": RICH}),
    seal("input-file-json", "--secret-file", "in.json", stdin=b"", files={"in.json": json_secret()}),
    fail("input-file-missing", "input-file", "-f", "missing.yaml"),
]

OUTPUT_FILES = [
    seal("w-yaml-name", "-w", "out.yaml", output="out.yaml"),
    seal("w-yml-name", "-w", "out.yml", output="out.yml"),
    seal("w-json-name", "-w", "out.json", output="out.json"),
    seal("w-no-extension", "-w", "out", output="out"),
    seal("w-upper-YAML", "-w", "out.YAML", output="out.YAML"),
    seal("w-json-name-yaml-format", "-w", "out.json", "-o", "yaml", output="out.json"),
    seal("w-yaml-name-json-format", "-w", "out.yaml", "-o", "json", output="out.yaml"),
    seal("w-long-flag", "--sealed-secret-file", "sealed.json", output="sealed.json"),
    seal("w-replaces-file", "-w", "out.json", files={"out.json": "old\n"}, output="out.json"),
    seal("w-in-subdir", "-w", "sub/out.yaml", files={"sub/.keep": ""}, output="sub/out.yaml"),
    fail("w-missing-dir", "write", "-w", "nodir/out.yaml", stdin=S),
    fail("w-bad-input-writes-nothing", "malformed", "-w", "out.json", stdin="kind: Secret\nmetadata: [\n"),
    seal("w-multi-doc-yaml", "-w", "out.yaml", stdin=S + "---\n" + yaml_secret("api"), output="out.yaml"),
]

STREAMS = [
    seal("stream-two-yaml", stdin=S + "---\n" + yaml_secret("api")),
    seal("stream-two-yaml-out-yaml", "-o", "yaml", stdin=S + "---\n" + yaml_secret("api")),
    seal("stream-leading-separator", stdin="---\n" + S),
    seal("stream-trailing-separator", stdin=S + "---\n"),
    seal("stream-empty-document-between", stdin=S + "---\n---\n" + yaml_secret("api")),
    seal("stream-document-end-marker", stdin=S + "...\n"),
    seal("stream-comment-document", stdin="# header\n---\n" + S),
    seal("stream-concatenated-json", stdin=json_secret() + json_secret("api")),
    seal("stream-json-newlines", stdin=json_secret() + "\n\n" + json_secret("api") + "\n"),
    seal(
        "stream-three-mixed-scopes",
        stdin=S
        + "---\n"
        + yaml_secret("ns", meta='  annotations:\n    sealedsecrets.bitnami.com/namespace-wide: "true"\n')
        + "---\n"
        + yaml_secret("cw", meta='  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: "true"\n'),
    ),
    fail(
        "stream-second-bad", "empty-data", stdin=S + "---\n" + yaml_secret("api", body=""), difference="all-or-nothing"
    ),
    fail(
        "stream-second-bad-w",
        "empty-data",
        "-w",
        "out.yaml",
        stdin=S + "---\n" + yaml_secret("api", body=""),
        output="out.yaml",
    ),  # with -w, kubeseal writes nothing either
    fail("stream-json-array", "no-secrets", stdin="[" + json_secret() + "]"),
]

ODD = [
    fail("odd-empty", "no-secrets", stdin=b""),
    fail("odd-whitespace", "no-secrets", stdin=b"  \n\n\t\n"),
    fail("odd-comments-only", "no-secrets", stdin=b"# nothing\n# here\n"),
    seal("odd-bom", stdin=b"\xef\xbb\xbf" + S.encode()),
    seal("odd-crlf", stdin=S.replace("\n", "\r\n")),
    seal("odd-tab-in-quoted-value", stdin=yaml_secret(body='stringData:\n  password: "a\\tb\tc"\n')),
    fail("odd-tab-indentation", "malformed", stdin=yaml_secret(body="stringData:\n\tpassword: x\n")),
    seal(
        "odd-unicode",
        "-o",
        "yaml",
        stdin=yaml_secret(
            meta="  labels:\n    app: caf\u00e9\n  annotations:\n    note: \u65e5\u672c\u8a9e \U0001f511\n",
            body="stringData:\n  p\u00e4ss: w\u00f6rd \U0001f511\n",
        ),
    ),
    seal(
        "odd-unicode-json-escapes",
        stdin='{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"prod",'
        '"annotations":{"n":"caf\\u00e9 \\ud83d\\udd11"}},"stringData":{"k":"\\u00e9"}}',
    ),
    seal("odd-html-characters", stdin=yaml_secret(meta='  annotations:\n    url: "https://x/?a=1&b=<2>"\n')),
    seal(
        "odd-html-characters-yaml",
        "-o",
        "yaml",
        stdin=yaml_secret(meta='  annotations:\n    url: "https://x/?a=1&b=<2>"\n'),
    ),
    seal("odd-huge-value", stdin=yaml_secret(body="data:\n  big: " + base64.b64encode(b"x" * 900_000).decode() + "\n")),
    seal(
        "odd-over-one-mib",
        stdin=yaml_secret(body="data:\n  big: " + base64.b64encode(b"x" * 1_100_000).decode() + "\n"),
        difference="size-limit",
    ),
    seal("odd-number-value", stdin=yaml_secret(body="stringData:\n  port: 5432\n")),
    seal("odd-bool-y-value", stdin=yaml_secret(body="stringData:\n  enabled: y\n  off: off\n")),
    seal("odd-float-values", stdin=yaml_secret(body="stringData:\n  f: 1e3\n  g: 0.5\n  h: .inf\n")),
    seal("odd-octal-hex-values", stdin=yaml_secret(body="stringData:\n  mode: 0777\n  hex: 0x1F\n")),
    seal(
        "odd-null-stringdata-value",
        stdin=yaml_secret(body="stringData:\n  empty: null\n  x: y1\n"),
        difference="empty-value-null",
    ),
    seal(
        "odd-tilde-stringdata-value",
        stdin=yaml_secret(body="stringData:\n  empty: ~\n  x: y1\n"),
        difference="empty-value-null",
    ),
    seal(
        "odd-null-data-value",
        stdin=yaml_secret(body="data:\n  empty: null\n  x: eQ==\n"),
        difference="empty-value-null",
    ),
    seal("odd-empty-string-value", stdin=yaml_secret(body='stringData:\n  empty: ""\n'), difference="empty-value-null"),
    seal("odd-duplicate-keys", stdin=yaml_secret(body="stringData:\n  x: first\n  x: second\n")),
    seal("odd-data-and-stringdata-collide", stdin=yaml_secret(body="data:\n  x: ZGF0YQ==\nstringData:\n  x: string\n")),
    seal(
        "odd-data-wrapped-base64",
        stdin=yaml_secret(body="data:\n  x: |\n    " + b64("a" * 60)[:40] + "\n    " + b64("a" * 60)[40:] + "\n"),
    ),
    seal(
        "odd-label-scalars",
        "-o",
        "yaml",
        stdin=yaml_secret(
            meta="  labels:\n    int: 5432\n    bool: y\n    no: n\n    float: 1.50\n    exp: 1e3\n    octal: 0777\n"
            '    hex: 0x1F\n    date: 2024-01-02\n    on: on\n    quoted: "5432"\n    empty: ""\n    tilde: ~\n'
        ),
    ),
    seal(
        "odd-label-scalars-json",
        stdin=yaml_secret(
            meta="  labels:\n    int: 5432\n    bool: y\n    float: 1.50\n    date: 2024-01-02\n    tilde: ~\n"
        ),
    ),
    seal(
        "odd-annotation-shapes",
        "-o",
        "yaml",
        stdin=yaml_secret(
            meta="  annotations:\n    multi: |\n      line one\n      line two\n    folded: >\n      a\n      b\n"
            '    colon: "a: b"\n    hash: "# not a comment"\n    star: "*"\n    spaces: " padded "\n'
        ),
    ),
    seal(
        "odd-last-applied",
        stdin=yaml_secret(
            meta="  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: "
            f'\'{{"stringData":{{"password":"{CANARY}"}}}}\'\n    keep: me\n'
        ),
    ),
    seal(
        "odd-owner-references",
        stdin=yaml_secret(meta="  ownerReferences:\n  - apiVersion: v1\n    kind: Pod\n    name: p\n    uid: u\n"),
    ),
    seal(
        "odd-server-fields",
        stdin=yaml_secret(
            meta='  uid: 1234\n  resourceVersion: "9"\n  creationTimestamp: 2024-01-01T00:00:00Z\n'
            "  generation: 3\n  managedFields: []\n"
        ),
    ),
    seal("odd-finalizers", "-o", "yaml", stdin=yaml_secret(meta="  finalizers:\n  - example.com/keep\n")),
    seal("odd-immutable-true", stdin=yaml_secret(body="immutable: true\nstringData:\n  x: y1\n")),
    seal("odd-immutable-false", stdin=yaml_secret(body="immutable: false\nstringData:\n  x: y1\n")),
    seal("odd-type-tls", stdin=yaml_secret(body="type: kubernetes.io/tls\nstringData:\n  tls.crt: c\n  tls.key: k\n")),
    seal("odd-numeric-name", stdin=yaml_secret(name="123")),
    seal("odd-namespace-n-is-false", stdin=yaml_secret(namespace="n")),
    seal("odd-key-characters", stdin=yaml_secret(body="stringData:\n  a.b_c-D: x\n  .dot: y\n")),
    seal("odd-anchors", stdin=yaml_secret(body="stringData:\n  a: &v shared\n  b: *v\n")),
    seal(
        "odd-flow-style",
        stdin="{apiVersion: v1, kind: Secret, metadata: {name: db, namespace: prod}, stringData: {x: y1}}",
    ),
    seal("odd-explicit-str-tag", stdin=yaml_secret(body="stringData:\n  port: !!str 5432\n")),
    seal("odd-no-apiversion-kind", stdin='{"metadata":{"name":"db","namespace":"prod"},"stringData":{"x":"y1"}}'),
    seal(
        "odd-multiline-value",
        "-o",
        "yaml",
        stdin=yaml_secret(body="stringData:\n  pem: |\n    -----BEGIN-----\n    abc\n    -----END-----\n"),
    ),
    seal("odd-generate-name", stdin=yaml_secret(meta="  generateName: db-\n")),
]

BAD_INPUT = [
    fail("bad-non-utf8", "no-secrets", stdin=S.encode() + b"  bad: \xff\xfe\n"),
    fail("bad-not-yaml", "malformed", stdin="kind: Secret\nmetadata: [unclosed\n"),
    fail("bad-not-json", "malformed", stdin='{"kind": "Secret", "metadata": '),
    fail("bad-list", "list", stdin="apiVersion: v1\nkind: List\nitems:\n- " + json_secret() + "\n"),
    fail(
        "bad-configmap",
        "configmap",
        stdin=f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: b\ndata:\n  x: {CANARY}\n",
    ),
    fail("bad-missing-name", "missing-name", stdin=yaml_secret(name="", namespace="prod").replace("  name: \n", "")),
    fail("bad-base64", "base64", stdin=yaml_secret(body='data:\n  password: "!!!not-base64"\n')),
    fail("bad-empty-data", "empty-data", stdin=yaml_secret(body="")),
    fail("bad-empty-maps", "empty-data", stdin=yaml_secret(body="data: {}\nstringData: {}\n")),
    seal("empty-data-allowed", "--allow-empty-data", stdin=yaml_secret(body="")),
    fail("bad-stringdata-list", "wrong-type", stdin=yaml_secret(body=f"stringData:\n- {CANARY}\n")),
    fail("bad-data-string", "wrong-type", stdin=yaml_secret(body=f"data: {CANARY}\n")),
    fail("bad-scalar-document", "not-an-object", stdin=f"{CANARY}\n"),
    fail("bad-list-document", "not-an-object", stdin=f"- {CANARY}\n"),
    fail("bad-metadata-string", "wrong-type", stdin=f"apiVersion: v1\nkind: Secret\nmetadata: {CANARY}\n"),
    fail("bad-labels-list", "wrong-type", stdin=yaml_secret(meta=f"  labels:\n  - {CANARY}\n")),
    fail("bad-nested-value", "wrong-type", stdin=yaml_secret(body=f"stringData:\n  x:\n    y: {CANARY}\n")),
]

ANN = "sealedsecrets.bitnami.com/"
SCOPES = [
    seal("scope-strict", "--scope", "strict"),
    seal("scope-namespace-wide", "--scope", "namespace-wide"),
    seal("scope-cluster-wide", "--scope", "cluster-wide"),
    seal("scope-cluster-wide-yaml", "--scope", "cluster-wide", "-o", "yaml"),
    seal("scope-equals-form", "--scope=namespace-wide"),
    seal(
        "scope-annotation-namespace-wide", stdin=yaml_secret(meta=f'  annotations:\n    {ANN}namespace-wide: "true"\n')
    ),
    seal("scope-annotation-cluster-wide", stdin=yaml_secret(meta=f'  annotations:\n    {ANN}cluster-wide: "true"\n')),
    seal(
        "scope-both-annotations",
        stdin=yaml_secret(meta=f'  annotations:\n    {ANN}cluster-wide: "true"\n    {ANN}namespace-wide: "true"\n'),
    ),
    seal("scope-annotation-false", stdin=yaml_secret(meta=f'  annotations:\n    {ANN}cluster-wide: "false"\n')),
    seal(
        "scope-flag-wins-over-annotation",
        "--scope",
        "strict",
        difference="explicit-strict-scope",
        stdin=yaml_secret(meta=f'  annotations:\n    {ANN}cluster-wide: "true"\n'),
    ),
    seal(
        "scope-flag-namespace-wide-over-cluster",
        "--scope",
        "namespace-wide",
        stdin=yaml_secret(meta=f'  annotations:\n    {ANN}cluster-wide: "true"\n'),
    ),
    fail("scope-unknown", "scope", "--scope", "everywhere", stdin=S),
    seal("ns-flag-matches", "-n", "prod"),
    seal("ns-long-flag-matches", "--namespace", "prod"),
    fail("ns-flag-mismatch", "namespace-mismatch", "-n", "other"),
    seal("ns-flag-fills-missing", "-n", "other", stdin=NO_NS),
    seal("ns-cluster-wide-without-namespace", "--scope", "cluster-wide", stdin=NO_NS),
    seal("ns-cluster-wide-with-flag", "--scope", "cluster-wide", "-n", "other", stdin=NO_NS),
    seal("ns-cluster-wide-mismatch", "--scope", "cluster-wide", "-n", "other", stdin=S),
    seal("ns-missing-no-kubeconfig", stdin=NO_NS, difference="no-kubeconfig-namespace"),
    seal(
        "ns-missing-namespace-wide-no-kubeconfig",
        "--scope",
        "namespace-wide",
        stdin=NO_NS,
        difference="no-kubeconfig-namespace",
    ),
    seal("ns-kubeconfig-context", stdin=NO_NS, env={"KUBECONFIG": "{kc}"}),
    seal("ns-kubeconfig-context-flag", "--context", "other", stdin=NO_NS, env={"KUBECONFIG": "{kc}"}),
    seal("ns-kubeconfig-flag", "--kubeconfig", "{kc}", stdin=NO_NS),
    seal("ns-kubeconfig-context-without-namespace", "--kubeconfig", "{kc}", "--context", "nons", stdin=NO_NS),
    seal("ns-flag-wins-over-kubeconfig", "-n", "mine", stdin=NO_NS, env={"KUBECONFIG": "{kc}"}),
    seal("ns-input-wins-over-kubeconfig", env={"KUBECONFIG": "{kc}"}),
    seal(
        "ns-kubeconfig-multi-doc",
        stdin=NO_NS + "---\n" + yaml_secret("api", namespace=None),
        env={"KUBECONFIG": "{kc}"},
    ),
    seal("name-renames", "--name", "renamed"),
    seal("name-renames-namespace-wide", "--name", "renamed", "--scope", "namespace-wide"),
]

RAW = [
    Case("raw-stdin-strict", (*C, "--raw", "--name", "db", "-n", "prod"), "value", kind="raw"),
    Case("raw-stdin-namespace-wide", (*C, "--raw", "--scope", "namespace-wide", "-n", "prod"), "value", kind="raw"),
    Case("raw-stdin-cluster-wide", (*C, "--raw", "--scope", "cluster-wide"), "value", kind="raw"),
    Case(
        "raw-cluster-wide-ignores-name",
        (*C, "--raw", "--scope", "cluster-wide", "--name", "x", "-n", "y"),
        "value",
        kind="raw",
    ),
    fail("raw-missing-name", "raw-name", "--raw", "-n", "prod", stdin="value"),
    Case(
        "raw-from-file",
        (*C, "--raw", "--name", "db", "-n", "prod", "--from-file", "value.txt"),
        files={"value.txt": "v\n"},
        kind="raw",
    ),
    Case(
        "raw-from-file-key",
        (*C, "--raw", "--name", "db", "-n", "prod", "--from-file", "k=value.txt"),
        files={"value.txt": "v"},
        kind="raw",
    ),
    Case(
        "raw-from-file-equals",
        (*C, "--raw", "--name", "db", "-n", "prod", "--from-file=value.txt"),
        files={"value.txt": "v"},
        kind="raw",
    ),
    fail(
        "raw-two-from-file",
        "raw-one-file",
        "--raw",
        "--name",
        "db",
        "-n",
        "p",
        "--from-file",
        "a",
        "--from-file",
        "b",
        files={"a": "1", "b": "2"},
    ),
    fail(
        "raw-from-file-comma",
        "raw-one-file",
        "--raw",
        "--name",
        "db",
        "-n",
        "p",
        "--from-file",
        "a,b",
        files={"a": "1", "b": "2"},
    ),
    fail("raw-from-file-missing", "input-file", "--raw", "--name", "db", "-n", "p", "--from-file", "nothing.txt"),
    Case("raw-kubeconfig-namespace", (*C, "--raw", "--name", "db"), "value", env={"KUBECONFIG": "{kc}"}, kind="raw"),
    Case(
        "raw-no-namespace-no-kubeconfig",
        (*C, "--raw", "--name", "db"),
        "value",
        kind="raw",
        difference="no-kubeconfig-namespace",
    ),
    Case(
        "raw-w-file",
        (*C, "--raw", "--name", "db", "-n", "prod", "-w", "raw.txt"),
        "value",
        kind="raw",
        output="raw.txt",
    ),
    Case("raw-format-ignored", (*C, "--raw", "--name", "db", "-n", "prod", "-o", "yaml"), "value", kind="raw"),
    Case("raw-empty-stdin", (*C, "--raw", "--name", "db", "-n", "prod"), b"", kind="raw"),
    Case("raw-binary-stdin", (*C, "--raw", "--name", "db", "-n", "prod"), bytes(range(256)), kind="raw"),
    fail("from-file-without-raw", "from-file-raw", "--from-file", "a", files={"a": "1"}, stdin=S),
]

MERGE = [
    seal(
        "merge-json-new-item",
        "--merge-into",
        "target.json",
        stdin=yaml_secret(body="stringData:\n  zz: new\n  aa: first\n"),
        files={"target.json": "@sealed_json"},
        output="target.json",
    ),
    seal(
        "merge-json-replaced-item",
        "--merge-into",
        "target.json",
        stdin=yaml_secret(body="stringData:\n  password: replaced\n"),
        files={"target.json": "@sealed_json"},
        output="target.json",
    ),
    seal(
        "merge-json-labels",
        "--merge-into",
        "target.json",
        stdin=yaml_secret(
            meta="  labels:\n    added: yes\n  annotations:\n    note: x\n", body="stringData:\n  b: 2\n"
        ),
        files={"target.json": "@sealed_json"},
        output="target.json",
        difference="merge-labels",
    ),
    seal(
        "merge-yaml-target",
        "--merge-into",
        "target.yaml",
        stdin=yaml_secret(body="stringData:\n  extra: x\n"),
        files={"target.yaml": "@sealed_yaml"},
        output="target.yaml",
        difference="merge-keeps-yaml",
    ),
    seal(
        "merge-cluster-wide-target",
        "--merge-into",
        "target.json",
        stdin=yaml_secret(body="stringData:\n  extra: x\n"),
        files={"target.json": "@sealed_cluster_wide"},
        output="target.json",
        difference="merge-target-scope",
    ),
    seal(
        "merge-scope-mismatch",
        "--merge-into",
        "target.json",
        "--scope",
        "cluster-wide",
        stdin=yaml_secret(body="stringData:\n  extra: x\n"),
        files={"target.json": "@sealed_json"},
        output="target.json",
        difference="merge-scope",
    ),
    seal(
        "merge-other-name-input",
        "--merge-into",
        "target.json",
        stdin=yaml_secret("another", body="stringData:\n  extra: x\n"),
        files={"target.json": "@sealed_json"},
        output="target.json",
    ),
    fail("merge-missing-target", "input-file", "--merge-into", "nothing.json", stdin=S),
    seal(
        "merge-keeps-mode",
        "--merge-into",
        "target.json",
        stdin=yaml_secret(body="stringData:\n  extra: x\n"),
        files={"target.json": ("@sealed_json", 0o640)},
        output="target.json",
    ),
]

CERTS = [
    seal("cert-file"),
    Case("cert-file-4096", ("--cert", "{cert4096}"), S, opening_key="key4096"),
    Case("cert-url", ("--cert", "{url}/cert.pem"), S),
    fail("cert-url-404", "cert-fetch", "--cert", "{url}/missing.pem", cert=False, stdin=S),
    fail("cert-url-refused", "cert-fetch", "--cert", "http://127.0.0.1:1/cert.pem", cert=False, stdin=S),
    Case("cert-public-key-pem", ("--cert", "{pubkey}"), S, difference="public-key-pem"),
    Case("cert-bundle-first-wins", ("--cert", "{bundle}"), S),
    fail("cert-expired", "cert-expired", "--cert", "{expired}", cert=False, stdin=S),
    fail("cert-not-rsa", "cert-not-rsa", "--cert", "{ec_cert}", cert=False, stdin=S),
    fail("cert-garbage", "cert-garbage", "--cert", "{garbage}", cert=False, stdin=S),
    fail("cert-empty-file", "cert-garbage", "--cert", "{empty}", cert=False, stdin=S),
    fail("cert-missing-file", "cert-missing", "--cert", "missing.pem", cert=False, stdin=S),
    Case("cert-relative-path", ("--cert", "c.pem"), S, files={"c.pem": "@cert"}),
    Case("fetch-cert-with-cert-file", ("--fetch-cert", *C), b"", kind="text"),
    Case("fetch-cert-with-cert-url", ("--fetch-cert", "--cert", "{url}/cert.pem"), b"", kind="text"),
    Case("fetch-cert-w-file", ("--fetch-cert", *C, "-w", "cert-out.pem"), b"", kind="text", output="cert-out.pem"),
    fail(
        "fetch-cert-unreachable",
        "cluster-unreachable",
        "--fetch-cert",
        "--kubeconfig",
        "{kc_refused}",
        cert=False,
        stdin=b"",
    ),
    fail("seal-without-cert-unreachable", "cluster-unreachable", "--kubeconfig", "{kc_refused}", cert=False, stdin=S),
    fail("seal-without-cert-no-kubeconfig", "no-cluster-config", cert=False, stdin=S),
]

RECOVERY = [
    Case("recovery-pem-key", RECOVER, "@sealed_json", kind="unseal"),
    Case("recovery-yaml-input", RECOVER, "@sealed_yaml", kind="unseal"),
    Case("recovery-output-yaml", (*RECOVER, "-o", "yaml"), "@sealed_json", kind="unseal"),
    Case(
        "recovery-file-input",
        (*RECOVER, "-f", "sealed.json"),
        b"",
        files={"sealed.json": "@sealed_json"},
        kind="unseal",
    ),
    Case("recovery-w-file", (*RECOVER, "-w", "plain.json"), "@sealed_json", kind="unseal", output="plain.json"),
    Case("recovery-w-yaml", (*RECOVER, "-w", "plain.yaml"), "@sealed_json", kind="unseal", output="plain.yaml"),
    Case(
        "recovery-key-secret-yaml",
        ("--recovery-unseal", "--recovery-private-key", "{key_secret_yaml}"),
        "@sealed_json",
        kind="unseal",
    ),
    Case(
        "recovery-key-secret-json",
        ("--recovery-unseal", "--recovery-private-key", "{key_secret_json}"),
        "@sealed_json",
        kind="unseal",
    ),
    Case(
        "recovery-key-list",
        ("--recovery-unseal", "--recovery-private-key", "{key_list}"),
        "@sealed_json",
        kind="unseal",
    ),
    Case(
        "recovery-keys-comma",
        ("--recovery-unseal", "--recovery-private-key", "{other_key},{key}"),
        "@sealed_json",
        kind="unseal",
    ),
    Case(
        "recovery-keys-repeated",
        ("--recovery-unseal", "--recovery-private-key", "{other_key}", "--recovery-private-key", "{key}"),
        "@sealed_json",
        kind="unseal",
    ),
    fail(
        "recovery-wrong-key",
        "no-key",
        "--recovery-unseal",
        "--recovery-private-key",
        "{other_key}",
        cert=False,
        stdin="@sealed_json",
    ),
    fail("recovery-no-key", "no-key", "--recovery-unseal", cert=False, stdin="@sealed_json"),
    fail(
        "recovery-missing-key-file",
        "key-file",
        "--recovery-unseal",
        "--recovery-private-key",
        "nokey.pem",
        cert=False,
        stdin="@sealed_json",
    ),
    fail(
        "recovery-garbage-key",
        "key-garbage",
        "--recovery-unseal",
        "--recovery-private-key",
        "{garbage}",
        cert=False,
        stdin="@sealed_json",
    ),
    Case("recovery-namespace-wide", RECOVER, "@sealed_namespace_wide", kind="unseal"),
    Case("recovery-cluster-wide", RECOVER, "@sealed_cluster_wide", kind="unseal"),
    Case("recovery-rich", RECOVER, "@sealed_rich", kind="unseal"),
    Case("recovery-stream", RECOVER, "@sealed_stream", kind="unseal", difference="recovery-every-document"),
    fail("recovery-renamed", "no-key", *RECOVER, cert=False, stdin="@sealed_renamed"),
    fail("recovery-not-sealed", "recovery-not-sealed", *RECOVER, cert=False, stdin=S),
    Case("recovery-empty-input", RECOVER, b"", kind="unseal", difference="recovery-empty"),
    Case(
        "recovery-env-key",
        ("--recovery-unseal",),
        "@sealed_json",
        env={"SEALED_SECRETS_RECOVERY_PRIVATE_KEY": "{key}"},
        kind="unseal",
    ),
    Case(
        "recovery-env-and-flag-keys",
        ("--recovery-unseal", "--recovery-private-key", "{key}"),
        "@sealed_json",
        env={"SEALED_SECRETS_RECOVERY_PRIVATE_KEY": "{other_key}"},
        kind="unseal",
    ),
    Case(
        "recovery-env-unseal",
        ("--recovery-private-key", "{key}"),
        "@sealed_json",
        env={"SEALED_SECRETS_RECOVERY_UNSEAL": "true"},
        kind="unseal",
    ),
    Case("recovery-key-ignored-when-sealing", ("--recovery-private-key", "{key}", *C), S),
]

TRIP = "{tripwire}"
CONNECTION = [
    seal("conn-server", "--server", TRIP),
    seal("conn-server-short", "-s", TRIP, difference="kubectl-short-server"),
    seal("conn-token", "--server", TRIP, "--token", CANARY),
    seal("conn-as", "--as", "someone"),
    seal("conn-as-group-repeated", "--as", "someone", "--as-group", "a", "--as-group", "b"),
    seal("conn-as-uid", "--as", "someone", "--as-uid", "42"),
    seal("conn-user", "--user", "u"),
    seal("conn-cluster", "--cluster", "c"),
    seal("conn-context", "--context", "ctx"),
    seal("conn-kubeconfig", "--kubeconfig", "{kc}"),
    seal("conn-insecure-skip-tls-verify", "--insecure-skip-tls-verify", "--server", TRIP),
    seal("conn-certificate-authority", "--certificate-authority", "{cert}", "--server", TRIP),
    seal("conn-client-certificate-key", "--client-certificate", "{cert}", "--client-key", "{key}", "--server", TRIP),
    seal("conn-tls-server-name", "--tls-server-name", "api.example", "--server", TRIP),
    seal("conn-request-timeout", "--request-timeout", "5s"),
    seal("conn-username-password", "--username", "u", "--password", CANARY),
    seal("conn-disable-compression", "--disable-compression"),
    seal("conn-proxy-url", "--proxy-url", TRIP),
    seal("conn-controller-flags", "--controller-name", "sealed-secrets", "--controller-namespace", "sealed-secrets"),
    seal(
        "conn-everything",
        "--kubeconfig",
        "{kc}",
        "--context",
        "ctx",
        "--server",
        TRIP,
        "--token",
        "t",
        "--as",
        "a",
        "--as-group",
        "g",
        "--request-timeout",
        "1m",
        "--insecure-skip-tls-verify",
    ),
    seal("klog-v", "-v", "3"),
    seal("klog-v-equals", "--v=2"),
    seal("klog-logtostderr", "--logtostderr"),
    seal("klog-logtostderr-false", "--logtostderr=false", "--alsologtostderr"),
    seal("klog-add-dir-header", "--add_dir_header", "--skip_headers", "--one_output", "--skip_log_headers"),
    seal("klog-vmodule", "--vmodule", "main=2"),
    seal("klog-stderrthreshold", "--stderrthreshold", "2", "--alsologtostderrthreshold", "3"),
    seal("klog-legacy-threshold", "--legacy_stderr_threshold_behavior=false"),
    seal("klog-log-file-max-size", "--log_file_max_size", "10"),
]

ENV = [
    Case("env-cert", (), S, env={"SEALED_SECRETS_CERT": "{cert}"}),
    seal("env-format-yaml", env={"SEALED_SECRETS_FORMAT": "yaml"}),
    seal("env-format-flag-wins", "-o", "json", env={"SEALED_SECRETS_FORMAT": "yaml"}),
    seal("env-scope", env={"SEALED_SECRETS_SCOPE": "cluster-wide"}),
    seal("env-scope-flag-wins", "--scope", "strict", env={"SEALED_SECRETS_SCOPE": "cluster-wide"}),
    seal("env-namespace", stdin=NO_NS, env={"SEALED_SECRETS_NAMESPACE": "envns"}),
    seal("env-namespace-flag-wins", "-n", "flagns", stdin=NO_NS, env={"SEALED_SECRETS_NAMESPACE": "envns"}),
    seal("env-allow-empty-data", stdin=yaml_secret(body=""), env={"SEALED_SECRETS_ALLOW_EMPTY_DATA": "true"}),
    seal("env-allow-empty-data-1", stdin=yaml_secret(body=""), env={"SEALED_SECRETS_ALLOW_EMPTY_DATA": "1"}),
    fail(
        "env-allow-empty-data-false",
        "empty-data",
        stdin=yaml_secret(body=""),
        env={"SEALED_SECRETS_ALLOW_EMPTY_DATA": "false"},
    ),
    Case("env-raw", (*C, "--name", "db", "-n", "prod"), "value", env={"SEALED_SECRETS_RAW": "true"}, kind="raw"),
    Case("env-name-raw", (*C, "--raw", "-n", "prod"), "value", env={"SEALED_SECRETS_NAME": "db"}, kind="raw"),
    seal("env-name-renames", env={"SEALED_SECRETS_NAME": "renamed"}),
    Case(
        "env-from-file",
        (*C, "--raw", "--name", "db", "-n", "prod"),
        b"",
        env={"SEALED_SECRETS_FROM_FILE": "value.txt"},
        files={"value.txt": "v"},
        kind="raw",
    ),
    fail(
        "env-from-file-concatenates",
        "raw-one-file",
        "--raw",
        "--name",
        "db",
        "-n",
        "prod",
        "--from-file",
        "b",
        env={"SEALED_SECRETS_FROM_FILE": "a"},
        files={"a": "1", "b": "2"},
        stdin=b"",
    ),
    seal("env-secret-file", stdin=b"", env={"SEALED_SECRETS_SECRET_FILE": "in.yaml"}, files={"in.yaml": S}),
    seal(
        "env-secret-file-flag-wins",
        "-f",
        "b.yaml",
        stdin=b"",
        env={"SEALED_SECRETS_SECRET_FILE": "a.yaml"},
        files={"a.yaml": yaml_secret("from-env"), "b.yaml": yaml_secret("from-flag")},
    ),
    seal("env-sealed-secret-file", env={"SEALED_SECRETS_SEALED_SECRET_FILE": "out.yaml"}, output="out.yaml"),
    seal(
        "env-merge-into",
        stdin=yaml_secret(body="stringData:\n  extra: x\n"),
        env={"SEALED_SECRETS_MERGE_INTO": "target.json"},
        files={"target.json": "@sealed_json"},
        output="target.json",
    ),
    seal(
        "env-controller-name", env={"SEALED_SECRETS_CONTROLLER_NAME": "x", "SEALED_SECRETS_CONTROLLER_NAMESPACE": "y"}
    ),
    Case("env-fetch-cert", C, b"", env={"SEALED_SECRETS_FETCH_CERT": "true"}, kind="text"),
    seal("env-kubeconfig", stdin=NO_NS, env={"SEALED_SECRETS_KUBECONFIG": "{kc}"}),
    seal("env-context", stdin=NO_NS, env={"SEALED_SECRETS_CONTEXT": "other", "KUBECONFIG": "{kc}"}),
    seal(
        "env-context-flag-wins",
        "--context",
        "ctx",
        stdin=NO_NS,
        env={"SEALED_SECRETS_CONTEXT": "other", "KUBECONFIG": "{kc}"},
    ),
    seal(
        "env-connection-flags",
        env={
            "SEALED_SECRETS_SERVER": TRIP,
            "SEALED_SECRETS_TOKEN": CANARY,
            "SEALED_SECRETS_AS": "a",
            "SEALED_SECRETS_AS_GROUP": "g1,g2",
            "SEALED_SECRETS_REQUEST_TIMEOUT": "5s",
            "SEALED_SECRETS_INSECURE_SKIP_TLS_VERIFY": "true",
        },
    ),
    seal("env-as-group-and-flag", "--as-group", "g3", env={"SEALED_SECRETS_AS_GROUP": "g1"}),
    seal("env-key-hint-false", env={"SEALED_SECRETS_KEY_HINT": "false"}, difference="key-hint-variables"),
    seal("env-no-key-hint-true", env={"SEALED_SECRETS_NO_KEY_HINT": "true"}, difference="key-hint-variables"),
    seal("env-unknown-variable-ignored", env={"SEALED_SECRETS_NO_SUCH_FLAG": "x"}),
    seal("env-empty-value-ignored", env={"SEALED_SECRETS_FORMAT": ""}),
]

MISC = [
    Case("version", ("--version",), kind="version"),
    Case("help", ("--help",), kind="exit"),
    Case("help-short", ("-h",), kind="exit"),
    fail("unknown-flag", "unknown-flag", "--no-such-flag", stdin=S),
    fail("flag-missing-value", "flag-needs-value", "--cert", cert=False, stdin=S),
    seal("stray-positional-argument", "stray", difference="stray-arguments"),
    fail(
        "validate-unreachable",
        "cluster-unreachable",
        "--validate",
        "--kubeconfig",
        "{kc_refused}",
        cert=False,
        stdin="@sealed_json",
    ),
    fail(
        "re-encrypt-unreachable",
        "cluster-unreachable",
        "--re-encrypt",
        "--kubeconfig",
        "{kc_refused}",
        cert=False,
        stdin="@sealed_json",
    ),
]

ALL = [
    *FORMATS,
    *OUTPUT_FILES,
    *STREAMS,
    *ODD,
    *BAD_INPUT,
    *SCOPES,
    *RAW,
    *MERGE,
    *CERTS,
    *RECOVERY,
    *CONNECTION,
    *ENV,
    *MISC,
]

"""sealer-no-plaintext-secrets: each rule caught, and each near miss not a false positive."""

from __future__ import annotations

import base64
import json

import pytest

from tests.hooks.conftest import git

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
type: Opaque
data:
  password: aHVudGVyMg==
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef: {name: db, key: password}
"""


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


# --- plaintext Secrets ----------------------------------------------------------------------------


def test_secret_with_data_is_caught_at_the_line_of_the_key(check):
    r = check({"secret.yaml": SECRET})
    assert r.rc == 1
    assert r.findings == [
        {
            "path": "secret.yaml",
            "line": 8,
            "rule": "plaintext-secret",
            "level": "error",
            "message": 'Secret "db" has plaintext data.password',
        }
    ]


def test_text_output_is_path_line_message(check):
    r = check({"secret.yaml": SECRET}, fmt="text")
    assert r.rc == 1
    assert r.out == 'secret.yaml:8: Secret "db" has plaintext data.password (plaintext-secret)\n'


def test_string_data_is_caught(check):
    r = check(
        {"s.yml": "kind: Secret\nmetadata: {name: api}\nstringData:\n  token: abc123\n  url: postgres://u:p@db/x\n"}
    )
    assert r.rc == 1
    assert [(f["line"], f["message"]) for f in r.findings] == [
        (4, 'Secret "api" has plaintext stringData.token'),
        (5, 'Secret "api" has plaintext stringData.url'),
    ]


def test_values_never_appear_in_any_output(check):
    marker = "s3cr3t-Value-That-Must-Not-Leak"
    files = {
        "a.yaml": f"kind: Secret\nmetadata: {{name: a}}\nstringData:\n  k: {marker}\ndata:\n  d: {b64(marker)}\n",
        "k/kustomization.yaml": f"secretGenerator:\n  - name: g\n    literals: [user=admin, pass={marker}, {marker}]\n",
        "b.json": json.dumps({"kind": "Secret", "metadata": {"name": "b"}, "data": {"x": b64(marker)}}),
        "last.yaml": "kind: Secret\nmetadata:\n  name: l\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: "
        + json.dumps(json.dumps({"kind": "Secret", "stringData": {"k": marker}}))
        + "\n",
    }
    for fmt in ("text", "json", "sarif"):
        r = check(files, fmt=fmt)
        assert r.rc == 1
        assert marker not in r.out + r.err
        assert b64(marker) not in r.out + r.err
    assert len(check(files).findings) == 7


def test_multi_document_stream(check):
    stream = f"{CONFIGMAP}---\n{DEPLOYMENT}---\n# the Secret\n{SECRET}"
    r = check({"all.yaml": stream})
    assert r.rc == 1
    (finding,) = r.findings
    assert stream.splitlines()[finding["line"] - 1].strip().startswith("password:")


def test_list_of_secrets_and_nested_lists(check):
    items = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}"}, "stringData": {"k": "v"}}
        for i in range(3)
    ]
    doc = {"apiVersion": "v1", "kind": "List", "items": [items[0], {"kind": "SecretList", "items": items[1:]}]}
    import yaml

    r = check({"list.yaml": yaml.safe_dump(doc), "kindless.json": json.dumps({"items": items})})
    assert r.rc == 1
    names = sorted(f["message"].split('"')[1] + ":" + f["path"] for f in r.findings)
    assert names == [
        "s0:kindless.json",
        "s0:list.yaml",
        "s1:kindless.json",
        "s1:list.yaml",
        "s2:kindless.json",
        "s2:list.yaml",
    ]
    lines = {f["line"] for f in r.findings if f["path"] == "list.yaml"}
    assert len(lines) == 3  # each item's own line, not the List's


def test_json_secret_points_at_the_field(check):
    text = json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j"}, "data": {"a": "", "b": b64("x")}}, indent=2
    )
    r = check({"s.json": text})
    (finding,) = r.findings
    assert finding["message"] == 'Secret "j" has plaintext data.b'
    assert '"b"' in text.splitlines()[finding["line"] - 1]


def test_concatenated_json_objects(check):
    secret = json.dumps({"kind": "Secret", "metadata": {"name": "two"}, "stringData": {"k": "v"}})
    r = check({"s.json": json.dumps({"kind": "ConfigMap", "metadata": {"name": "one"}}) + "\n" + secret + "\n"})
    assert r.rc == 1
    assert r.findings[0]["line"] == 2


@pytest.mark.parametrize(
    "body",
    [
        # a service-account token stub: the cluster fills it in
        "kind: Secret\nmetadata:\n  name: sa-token\n  annotations:\n    kubernetes.io/service-account.name: build\ntype: kubernetes.io/service-account-token\n",
        "kind: Secret\nmetadata: {name: e}\ndata: {}\nstringData: {}\n",
        "kind: Secret\nmetadata: {name: e}\ndata:\nstringData:\n",
        "kind: Secret\nmetadata: {name: e}\ndata:\n  a: ''\nstringData:\n  b:\n",
    ],
)
def test_secret_without_data_passes(check, body):
    r = check({"s.yaml": body})
    assert (r.rc, r.findings) == (0, [])


@pytest.mark.parametrize(
    "value",
    [
        "'{{ .Values.password }}'",
        "'${DB_PASSWORD}'",
        "<path:secret/data/db#password>",
        '"{{ include \\"pw\\" . | b64enc }}"',
    ],
)
def test_placeholders_filled_in_later_pass(check, value):
    r = check({"s.yaml": f"kind: Secret\nmetadata: {{name: p}}\nstringData:\n  password: {value}\n"})
    assert (r.rc, r.findings) == (0, [])


def test_last_applied_configuration_keeps_the_data(check):
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"k": b64("v")}})
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "x", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}},
    }
    r = check({"s.json": json.dumps(body)})
    assert r.rules == ["plaintext-secret"]
    assert "last-applied-configuration" in r.findings[0]["message"]


# --- what passes --------------------------------------------------------------------------------


def test_sealed_secret_passes(check, keys):
    sealed = keys.sealer().seal_secret(
        {"kind": "Secret", "metadata": {"name": "db", "namespace": "prod"}, "stringData": {"password": "hunter2"}}
    )
    import yaml

    r = check({"sealed.yaml": yaml.safe_dump(sealed), "sealed.json": json.dumps(sealed)})
    assert (r.rc, r.findings) == (0, [])


@pytest.mark.parametrize(
    "name,content",
    [
        (
            "compose.yaml",
            "services:\n  db:\n    image: postgres\n    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./pw.txt\n",
        ),
        (
            "cfn.yaml",
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Name\n",
        ),
        ("workflow.yml", "on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ secrets.TOKEN }}\n"),
        (
            "external.yaml",
            "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  data:\n    - secretKey: pw\n",
        ),
        ("store.yaml", "apiVersion: external-secrets.io/v1beta1\nkind: SecretStore\nmetadata: {name: x}\nspec: {}\n"),
        ("deploy.yaml", DEPLOYMENT),
        ("cm.yaml", CONFIGMAP),
    ],
)
def test_non_secret_yaml_passes(check, name, content):
    r = check({name: content})
    assert (r.rc, r.findings, r.err) == (0, [], "")


def test_helm_templates_warn_but_pass(check):
    r = check(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            "chart/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\n"
            "data:\n  password: {{ .Values.password | b64enc }}\n",
            "chart/templates/helpers.yaml": "kind: Secret\ndata:\n  a: [\n",  # under templates/, no braces
        }
    )
    assert (r.rc, r.findings) == (0, [])
    assert r.err.count("Helm template") == 2


def test_broken_yaml_that_looks_like_a_secret_fails(check):
    r = check({"s.yaml": "kind: Secret\nmetadata:\n  name: x\ndata:\n  password: [unclosed\n"})
    assert r.rc == 1
    assert r.rules == ["unparseable-secret"]
    r = check({"other.yaml": "kind: Secret\nmetadata: [\n"})  # no data: a warning, not a failure
    assert (r.rc, r.findings) == (0, [])
    assert "cannot parse" in r.err


# --- key backups and private keys ---------------------------------------------------------------


def key_secret(name: str, keys, *, label: bool = True, type_: str = "kubernetes.io/tls") -> dict:
    meta = {"name": name, "namespace": "kube-system"}
    if label:
        meta["labels"] = {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "metadata": meta,
        "data": {"tls.crt": b64(keys.cert_pem), "tls.key": keys.key_b64},
    }


def test_sealing_key_backup_is_caught(check, keys):
    import yaml

    backup = {"apiVersion": "v1", "kind": "List", "items": [key_secret("k1", keys), key_secret("k2", keys)]}
    r = check(
        {
            "backup.yaml": yaml.safe_dump(backup),
            "one.json": json.dumps(key_secret("k3", keys, label=False, type_="Opaque")),
        }
    )
    assert r.rc == 1
    assert r.rules == ["sealing-key-backup"] * 3
    assert all("tls.key" in f["message"] for f in r.findings)
    assert len({(f["path"], f["line"]) for f in r.findings}) == 3


def test_labelled_key_secret_with_garbage_key_is_still_a_backup(check):
    r = check(
        {
            "k.yaml": "kind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: k\n  labels:\n"
            "    sealedsecrets.bitnami.com/sealed-secrets-key: active\ndata:\n  tls.key: Zm9v\n"
        }
    )
    assert r.rules == ["sealing-key-backup"]


def test_pem_private_key_in_any_file(check, keys):
    pem = keys.key_pem.decode()
    r = check(
        {
            "id_rsa": pem,
            "notes.txt": "some text\n\n" + pem,
            "app.py": f'KEY = """{pem}"""\n',
            "terraform.tfstate": json.dumps({"resources": [{"private_key_pem": pem}]}),  # "\n" escaped in JSON
            ".env": f"SIGNING_KEY={keys.key_b64}\n",
        }
    )
    assert r.rc == 1
    assert [(f["path"], f["line"], f["rule"]) for f in r.findings] == [
        ("id_rsa", 1, "private-key"),
        ("notes.txt", 3, "private-key"),
        ("app.py", 1, "private-key"),
        ("terraform.tfstate", 1, "private-key"),
        (".env", 1, "private-key"),
    ]
    assert "base64-encoded PEM RSA private key" in r.findings[-1]["message"]


def test_private_key_inside_other_manifests(check, keys):
    pem = keys.key_pem.decode()
    import yaml

    cm = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"ok": "1", "key.pem": pem}}
    b64cm = {"kind": "ConfigMap", "metadata": {"name": "d"}, "binaryData": {"key": keys.key_b64}}
    secret = {"kind": "Secret", "metadata": {"name": "ssh"}, "data": {"id_rsa": keys.key_b64}}
    r = check({"cm.yaml": yaml.safe_dump(cm) + "---\n" + yaml.safe_dump(b64cm), "ssh.yaml": yaml.safe_dump(secret)})
    assert [(f["path"], f["rule"], f["message"]) for f in r.findings] == [
        ("cm.yaml", "private-key", 'ConfigMap "c" has a PEM RSA private key in data.key.pem'),
        ("cm.yaml", "private-key", 'ConfigMap "d" has a base64-encoded PEM RSA private key in binaryData.key'),
        ("ssh.yaml", "private-key", 'Secret "ssh" has a private key in data.id_rsa'),
    ]


@pytest.mark.parametrize(
    "content",
    [
        "To check: grep -- '-----BEGIN RSA PRIVATE KEY-----' file\n",  # a header in prose
        "PATTERN = re.compile(r'-----BEGIN ([A-Z ]*)PRIVATE KEY-----')\n",
        "a private key, `-----BEGIN PRIVATE KEY-----`, must never be committed\n",
    ],
)
def test_prose_about_keys_is_not_a_key(check, content):
    r = check({"README.md": content})
    assert (r.rc, r.findings) == (0, [])


def test_certificates_and_public_keys_are_not_keys(check, keys):
    from cryptography.hazmat.primitives import serialization

    public = (
        serialization.load_pem_private_key(keys.key_pem, None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    r = check(
        {
            "cert.pem": keys.cert_pem,
            "pub.pem": public,
            "ca.yaml": f"kind: ConfigMap\nmetadata: {{name: ca}}\ndata:\n  ca.crt: {b64(keys.cert_pem)}\n",
            "tls.yaml": f"kind: Secret\nmetadata: {{name: t}}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {b64(keys.cert_pem)}\n  tls.key: ''\n",
        }
    )
    assert r.rc == 1  # only the tls.crt of a Secret: it is plaintext data all the same
    assert [(f["path"], f["rule"]) for f in r.findings] == [("tls.yaml", "plaintext-secret")]


# --- kustomize ----------------------------------------------------------------------------------

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
secretGenerator:
  - name: db
    envs:
      - db.env
    files:
      - tls.key=certs/key.pem
      - config.json
"""


def test_kustomize_literals(check):
    r = check(
        {
            "overlay/kustomization.yaml": "secretGenerator:\n  - name: db\n    literals:\n      - user=admin\n"
            "      - password=hunter2\n      - empty=\n"
        }
    )
    assert r.rc == 1
    assert [(f["line"], f["message"]) for f in r.findings] == [
        (4, 'secretGenerator "db" has a plaintext literal "user"'),
        (5, 'secretGenerator "db" has a plaintext literal "password"'),
    ]


@pytest.mark.parametrize("name", ["kustomization.yml", "Kustomization"])
def test_kustomization_file_names(check, name):
    r = check({name: "secretGenerator:\n- name: x\n  literals: [a=b]\n"})
    assert r.rules == ["kustomize-secret-literal"]


def test_kustomize_files_tracked_in_git_fail_untracked_pass(check):
    root = check.root
    git(root, "init", "-q")
    files = {
        "app/kustomization.yaml": KUSTOMIZATION,
        "app/db.env": "PASSWORD=x\n",
        "app/certs/key.pem": "x",
        "app/config.json": "{}",
    }
    r = check(files, names=["app/kustomization.yaml"])
    assert (r.rc, r.findings) == (0, [])  # nothing is tracked yet

    git(root, "add", "app/db.env", "app/certs/key.pem")  # staged counts as tracked
    r = check(files, names=["app/kustomization.yaml"])
    assert r.rc == 1
    assert [(f["line"], f["message"]) for f in r.findings] == [
        (
            6,
            'secretGenerator "db" reads envs "db.env", which is tracked in Git: its values are plaintext in the repository',
        ),
        (
            8,
            'secretGenerator "db" reads files "certs/key.pem", which is tracked in Git: its values are plaintext in the repository',
        ),
    ]
    # A file given to the hook (the staged set) counts too, tracked or not.
    r = check(files, names=["app/kustomization.yaml", "app/config.json"])
    assert [f["line"] for f in r.findings] == [6, 8, 9]


def test_kustomize_outside_git_only_the_given_files_count(check):
    files = {
        "kustomization.yaml": "secretGenerator:\n- name: x\n  env: a.env\n  files: [b.txt]\n",
        "a.env": "K=V\n",
        "b.txt": "v",
    }
    assert check(files, names=["kustomization.yaml"]).findings == []
    r = check(files, names=["kustomization.yaml", "a.env"])
    assert [f["message"].split(" reads ")[1].split(",")[0] for f in r.findings] == ['env "a.env"']


def test_kustomization_without_generators_passes(check):
    r = check({"kustomization.yaml": "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: c\n  literals: [a=b]\n"})
    assert (r.rc, r.findings) == (0, [])


# --- allow-list ---------------------------------------------------------------------------------


def test_allow_annotation_with_a_reason(check):
    allowed = SECRET.replace(
        "  namespace: prod\n", "  namespace: prod\n  annotations:\n    sealer.dev/allow-plaintext: test fixture\n"
    )
    r = check({"s.yaml": allowed})
    assert (r.rc, r.findings) == (0, [])
    r = check({"s.yaml": allowed}, fmt="sarif")
    (result,) = json.loads(r.out)["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "inSource", "justification": "test fixture"}]


def test_allow_annotation_without_a_reason_does_not_count(check):
    r = check(
        {
            "s.yaml": SECRET.replace(
                "  namespace: prod\n", "  namespace: prod\n  annotations:\n    sealer.dev/allow-plaintext: ''\n"
            )
        }
    )
    assert r.rc == 1
    assert "gives no reason" in r.findings[0]["message"]


def test_allow_annotation_on_a_list_covers_its_items(check):
    import yaml

    doc = {
        "kind": "List",
        "metadata": {"annotations": {"sealer.dev/allow-plaintext": "fixtures"}},
        "items": [{"kind": "Secret", "metadata": {"name": "a"}, "stringData": {"k": "v"}}],
    }
    other = {"kind": "Secret", "metadata": {"name": "b"}, "stringData": {"k": "v"}}
    r = check({"l.yaml": yaml.safe_dump(doc) + "---\n" + yaml.safe_dump(other)})
    assert [f["message"] for f in r.findings] == ['Secret "b" has plaintext stringData.k']


def test_allow_entries_in_config(check, keys):
    config = (
        "allow:\n"
        "  - path: fixtures/*.yaml\n    rule: plaintext-secret\n    reason: test data\n"
        "  - path: keys/demo.pem\n    reason: public demo key\n"
    )
    r = check(
        {
            ".sealer.yaml": config,
            "fixtures/deep/s.yaml": SECRET,
            "keys/demo.pem": keys.key_pem,
            "keys/real.pem": keys.key_pem,
            "other/s.yaml": SECRET,
            "fixtures/k.yaml": SECRET.replace("aHVudGVyMg==", keys.key_b64),
        },  # a key is not "plaintext-secret"
        names=["fixtures/deep/s.yaml", "keys/demo.pem", "keys/real.pem", "other/s.yaml", "fixtures/k.yaml"],
    )
    assert r.rc == 1
    assert [(f["path"], f["rule"]) for f in r.findings] == [
        ("keys/real.pem", "private-key"),
        ("other/s.yaml", "plaintext-secret"),
        ("fixtures/k.yaml", "private-key"),
    ]


def test_config_found_at_the_git_root_from_a_subdirectory(check):
    git(check.root, "init", "-q")
    write_files = {".sealer.yaml": "allow:\n- {path: sub/s.yaml, reason: fixture}\n", "sub/s.yaml": SECRET}
    check(write_files, names=[])
    from tests.hooks.conftest import run_hook

    assert run_hook("no-plaintext", check.root / "sub", "s.yaml").rc == 0
    assert run_hook("no-plaintext", check.root / "sub", "s.yaml", "--config", "/dev/null").rc == 1


@pytest.mark.parametrize(
    "config,error",
    [
        ("allow:\n- path: x\n", "needs a reason"),
        ("allow:\n- {path: x, reason: r, rule: no-such-rule}\n", "unknown rule"),
        ("allow:\n- {reason: r}\n", "needs a path"),
        ("alow: []\n", "unknown key 'alow'"),
        ("certificates: [https://example.com/cert.pem]\n", "not a URL"),
        ("allow: [\n", "malformed YAML"),
    ],
)
def test_bad_config_stops_the_hook_when_it_is_needed(check, config, error):
    r = check({".sealer.yaml": config, "s.yaml": SECRET}, names=["s.yaml"])
    assert r.rc == 2
    assert error in r.err
    # Read only when there is something to allow: a clean run does not pay for parsing it.
    assert check({".sealer.yaml": config, "c.yaml": CONFIGMAP}, names=["c.yaml"]).rc == 0


def test_missing_explicit_config_stops_the_hook(check):
    r = check({"s.yaml": SECRET}, args=("--config", "nope.yaml"), names=["s.yaml"])
    assert r.rc == 2
    assert "nope.yaml: no such file" in r.err


def test_repository_own_config_allows_exactly_the_examples():
    from sealer.hooks import config

    cfg = config.load(start=str(config.find_root(__file__)))
    assert cfg.path and cfg.path.endswith(".sealer.yaml")
    assert cfg.certificates == []
    assert sorted((e.pattern, tuple(sorted(e.rules))) for e in cfg.allow) == [
        ("examples/example-key.pem", ("private-key",)),
        ("examples/secret.yaml", ("plaintext-secret",)),
    ]
    assert all(e.reason for e in cfg.allow)


def test_repository_examples_pass_with_the_repository_config():
    from tests.hooks.conftest import REPO, run_hook

    files = [str(p.relative_to(REPO)) for p in sorted((REPO / "examples").iterdir())]
    assert run_hook("no-plaintext", REPO, *files).rc == 0
    assert run_hook("no-plaintext", REPO, *files, "--config", "/dev/null").rc == 1


def test_keys_that_parsing_does_not_see(check, keys):
    pem = keys.key_pem.decode()
    commented = "".join("# " + line + "\n" for line in pem.splitlines())
    r = check(
        {
            "comment.yaml": f"kind: Secret\nmetadata: {{name: s}}\n{commented}stringData:\n  password: x\n",
            "bare.yaml": pem,  # a YAML document that is one string
            "secret-and-key.yaml": f"kind: Secret\nmetadata: {{name: k}}\ndata:\n  id_rsa: {keys.key_b64}\n",
        }
    )
    assert [(f["path"], f["line"], f["rule"]) for f in r.findings] == [
        ("comment.yaml", 3, "private-key"),
        ("comment.yaml", 3 + len(pem.splitlines()) + 1, "plaintext-secret"),
        ("bare.yaml", 1, "private-key"),
        ("secret-and-key.yaml", 4, "private-key"),  # once: the Secret rule's finding covers it
    ]


def test_key_in_a_comment_of_an_allowed_document_is_allowed(check, keys):
    commented = "".join("# " + line + "\n" for line in keys.key_pem.decode().splitlines())
    r = check(
        {
            "a.yaml": "kind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    sealer.dev/allow-plaintext: demo\n"
            + commented
        }
    )
    assert (r.rc, r.findings) == (0, [])


def _key_forms():
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    enc = s.BestAvailableEncryption(b"passphrase")
    return {
        "EC": key.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()),
        "PKCS#8": key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()),
        "OpenSSH": key.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()),
        "encrypted PKCS#8": key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc),
        "encrypted legacy": key.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, enc),
        "PGP": b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
        + base64.b64encode(bytes(range(256)) * 3).replace(b"=", b"")[:640]
        + b"\n-----END PGP PRIVATE KEY BLOCK-----\n",
    }


@pytest.mark.parametrize("form", list(_key_forms()))
def test_every_private_key_form(check, form):
    pem = _key_forms()[form]
    r = check({"key.txt": pem, "key.b64": base64.b64encode(pem)})
    assert r.rules == ["private-key", "private-key"], form

"""What the review of the hooks found, each caught and each near miss not a false positive:
duplicate keys that hide plaintext, kustomize inline patches, OpenShift Templates, input that hits
Python's own limits (never a traceback), and messages that must not echo input values."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml

MARKER = "hunter2-Must-Not-Leak"


def never_echoed(r, *values: str) -> None:
    for value in (MARKER, *values):
        assert value not in r.out + r.err


# --- 1. duplicate keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,line,field",
    [
        # stringData with a value, then an empty one: the parsed Secret has no data at all
        (
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {MARKER}\nstringData: {{}}\n",
            7,
            "stringData is given twice (lines 5 and 7)",
        ),
        # the value, then an empty value
        (
            f"kind: Secret\nmetadata: {{name: db}}\nstringData:\n  password: {MARKER}\n  password: ''\n",
            5,
            "stringData.password is given twice (lines 4 and 5)",
        ),
        # data too, in flow style
        (
            "kind: Secret\nmetadata: {name: db}\ndata: {password: aHVudGVy, password: ''}\n",
            3,
            "data.password is given twice (line 3)",
        ),
        # a second kind: the parsed object is a ConfigMap, whose data no rule looks at
        (
            "kind: Secret\nmetadata: {name: db}\ndata:\n  password: aHVudGVyMg==\nkind: ConfigMap\n",
            5,
            "kind is given twice (lines 1 and 5)",
        ),
    ],
)
def test_duplicate_keys_that_hide_plaintext_are_caught(check, body, line, field):
    r = check({"s.yaml": body})
    assert r.rc == 1
    assert r.rules == ["duplicate-key"]
    (finding,) = r.findings
    assert finding["line"] == line
    assert finding["level"] == "error"
    assert field in finding["message"]
    never_echoed(r, "aHVudGVy")


def test_duplicate_keys_in_json(check):
    compact = (
        json.dumps({"kind": "Secret", "metadata": {"name": "j"}})[:-1]
        + f', "stringData": {{"password": "{MARKER}"}}, "stringData": {{}}}}'
    )
    pretty = (
        '{\n  "kind": "Secret",\n  "metadata": {"name": "p"},\n  "data": {\n    "k": "aHVudGVy",\n    "k": ""\n  }\n}\n'
    )
    # JSON, but not YAML (a key's colon on the next line): the duplicate is named at the document's line
    not_yaml = '\n\n{"kind": "Secret",\n "data"\n : {"k": "aHVudGVy"},\n "data"\n : {}}\n'
    r = check({"a.json": compact, "b.json": pretty, "c.json": not_yaml})
    assert r.rc == 1
    assert [(f["path"], f["line"], f["rule"]) for f in r.findings] == [
        ("a.json", 1, "duplicate-key"),
        ("b.json", 6, "duplicate-key"),
        ("c.json", 3, "duplicate-key"),
    ]
    assert 'Secret "p": data.k is given twice (lines 5 and 6)' in r.findings[1]["message"]
    assert "data is given twice" in r.findings[2]["message"]
    never_echoed(r, "aHVudGVy")


def test_duplicate_keys_in_a_list_name_the_item(check):
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: c}\n"
        "- kind: Secret\n  metadata: {name: s}\n  stringData:\n    a: x\n    a: ''\n"
    )
    r = check({"l.yaml": text})
    (finding,) = r.findings
    assert (finding["rule"], finding["line"]) == ("duplicate-key", 10)
    assert finding["message"].startswith('Secret "s": stringData.a is given twice')


def test_duplicate_key_in_last_applied_configuration(check):
    applied = '{"kind": "Secret", "data": {"k": "aHVudGVy"}, "data": {}}'
    body = {
        "kind": "Secret",
        "metadata": {"name": "x", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}},
    }
    r = check({"s.yaml": yaml.safe_dump(body)})
    assert r.rules == ["duplicate-key"]
    assert "last-applied-configuration" in r.findings[0]["message"]


def test_duplicate_secret_generator_in_a_kustomization(check):
    r = check({"kustomization.yaml": "secretGenerator:\n- name: db\n  literals: [password=x]\nsecretGenerator: []\n"})
    assert r.rules == ["duplicate-key"]
    assert r.findings[0]["line"] == 4


def test_allow_annotation_covers_duplicate_keys(check):
    r = check(
        {
            "s.yaml": "kind: Secret\nmetadata:\n  name: db\n  annotations:\n    sealer.dev/allow-plaintext: fixture\n"
            "stringData: {a: x}\nstringData: {}\n"
        }
    )
    assert (r.rc, r.findings) == (0, [])


@pytest.mark.parametrize(
    "name,content",
    [
        # YAML merge keys: overriding a merged key is what they are for
        (
            "merge.yaml",
            "x-defaults: &d\n  kind: Secret\n  type: Opaque\n<<: *d\nmetadata: {name: m}\ntype: kubernetes.io/tls\n",
        ),
        (
            "merge-list.yaml",
            "kind: Secret\nmetadata: {name: m}\nx: &a {p: 1, q: 2}\ny: {<<: [*a, {p: 3}], p: 4, q: 5}\n",
        ),
        # a mapping merged into another before it is constructed itself (breadth first): its own
        # override of a merged key is still not a duplicate
        (
            "merge-order.yaml",
            "kind: Secret\nmetadata: {name: m}\na:\n  inner:\n    mid: &b {<<: {x: 1}, x: 2}\nb2: {<<: *b, x: 3}\n",
        ),
        # duplicates where no Secret can be: a ConfigMap, a Deployment
        ("cm.yaml", "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: '1'\n  a: '2'\n"),
        ("deploy.json", '{"kind": "Deployment", "spec": {"replicas": 1, "replicas": 2}}'),
        # keys that differ as written and as parsed are not duplicates
        ("keys.yaml", "kind: Secret\nmetadata: {name: k}\ndata: {}\nlabels: {'1': a, '01': b, 'true': c, 'True': d}\n"),
    ],
)
def test_no_duplicate_key_false_positives(check, name, content):
    r = check({name: content})
    assert (r.rc, r.findings, r.err) == (0, [], "")


def test_duplicates_count_per_document(check):
    # The Secret document has none; the ConfigMap's duplicate is not a place plaintext can hide.
    stream = "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1', a: '2'}\n---\nkind: Secret\nmetadata: {name: s}\n"
    r = check({"s.yaml": stream})
    assert (r.rc, r.findings) == (0, [])


def test_parser_records_duplicates_and_keeps_manifests_rules():
    from sealer.core import manifests
    from sealer.hooks import parsing

    assert parsing.MAX_INPUT_BYTES == manifests.MAX_INPUT_BYTES
    assert parsing.MAX_EXPANDED_NODES == manifests.MAX_EXPANDED_NODES
    text = "a: 2024-01-01\nb: {c: 1, c: 2}\n---\n---\nx: [1, {y: 1, y: 1}]\n"
    docs = parsing.parse(text)
    assert [d.body for d in docs] == [d.body for d in manifests.parse_stream(text)]
    assert docs[0].body["a"] == "2024-01-01"  # timestamps stay strings, as in Kubernetes
    assert [(d.index, d.line) for d in docs] == [(1, 1), (2, 5)]
    assert docs[0].duplicates == (parsing.Duplicate(("b",), "c", 2, 2),)
    assert docs[1].duplicates == (parsing.Duplicate(("x", 1), "y", 5, 5),)
    with pytest.raises(Exception, match="alias bomb"):
        bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdef", "bcdefg", strict=True)
        )
        parsing.parse(bomb)


# --- 2. kustomize inline patches ------------------------------------------------------------------

KUSTOMIZATION = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
patches:
  - patch: |-
      apiVersion: v1
      kind: Secret
      metadata:
        name: db
      stringData:
        password: {MARKER}
  - target: {{kind: Secret, name: api}}
    patch: |-
      - op: add
        path: /data/token
        value: aHVudGVy
  - target: {{kind: Secret, name: smp}}
    patch: |-
      metadata:
        name: smp
      stringData: {{k: v}}
patchesStrategicMerge:
  - secret-patch.yaml
  - |-
    kind: Secret
    metadata: {{name: inline}}
    stringData: {{password: {MARKER}}}
patchesJson6902:
  - target: {{version: v1, kind: Secret, name: j}}
    patch: '[{{"op": "replace", "path": "/stringData", "value": {{"token": "{MARKER}"}}}}]'
  - target: {{version: v1, kind: "Secret|ConfigMap", name: r}}
    patch: '[{{"op": "add", "path": "/data/tls.key", "value": "aHVudGVy"}}]'
"""


def test_inline_patches_are_scanned_at_their_line(check):
    r = check({"kustomization.yaml": KUSTOMIZATION})
    assert r.rc == 1
    assert [(f["line"], f["rule"], f["message"]) for f in r.findings] == [
        (5, "plaintext-secret", 'patches[0]: Secret "db" has plaintext stringData.password'),
        (13, "plaintext-secret", 'patches[1]: Secret "api" has plaintext data.token'),
        (18, "plaintext-secret", 'patches[2]: Secret "smp" has plaintext stringData.k'),
        (24, "plaintext-secret", 'patchesStrategicMerge[1]: Secret "inline" has plaintext stringData.password'),
        (30, "plaintext-secret", 'patchesJson6902[0]: Secret "j" has plaintext stringData.token'),
        (32, "plaintext-secret", 'patchesJson6902[1]: Secret "r" has plaintext data.tls.key'),
    ]
    never_echoed(r, "aHVudGVy")


def test_inline_patch_problems(check, keys):
    r = check(
        {
            "kustomization.yaml": "patches:\n- patch: |-\n    kind: Secret\n    metadata: {name: b}\n    data:\n      a: [unclosed\n"
            "- patch: |-\n    kind: Secret\n    stringData: {a: x}\n    stringData: {}\n"
            "- patch: |-\n    kind: Secret\n    metadata: {name: key}\n    data:\n"
            f"      id_rsa: {keys.key_b64}\n"
        }
    )
    assert [(f["line"], f["rule"], f["message"].split(" ")[0]) for f in r.findings] == [
        (2, "unparseable-secret", "patches[0]"),
        (7, "duplicate-key", "patches[1]:"),
        (11, "private-key", "patches[2]:"),
    ]
    assert (
        r.findings[2]["message"] == 'patches[2]: Secret "key" has a private key in data.id_rsa'
    )  # once, not again for the kustomization


@pytest.mark.parametrize(
    "patch",
    [
        # a ConfigMap's data, by target kind or the patch's own
        '- target: {kind: ConfigMap, name: c}\n  patch: \'[{"op": "add", "path": "/data/mode", "value": "fast"}]\'\n',
        "- patch: |-\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {mode: fast}\n",
        # data without a target kind: may be anything's
        '- target: {name: c}\n  patch: \'[{"op": "add", "path": "/data/mode", "value": "fast"}]\'\n',
        # operations on a Secret that put no value in it
        "- target: {kind: Secret, name: s}\n  patch: |-\n    - op: remove\n      path: /data/password\n"
        "    - op: add\n      path: /metadata/labels/team\n      value: a\n    - op: add\n      path: /stringData/p\n      value: ${P}\n",
        "- patch: |-\n    kind: Secret\n    metadata:\n      name: s\n      labels: {team: a}\n",
        # a Deployment, and file names
        '- target: {kind: Deployment}\n  patch: \'[{"op": "replace", "path": "/spec/replicas", "value": 3}]\'\n',
        "- path: secret-patch.yaml\n  target: {kind: Secret}\n",
    ],
)
def test_inline_patches_without_plaintext_pass(check, patch):
    r = check(
        {
            "kustomization.yaml": "resources: [a.yaml]\npatches:\n" + textwrap.indent(patch, "  "),
            "k2/kustomization.yaml": "patchesStrategicMerge:\n- secret-patch.yaml\n- deploy-patch.yaml\n",
        }
    )
    assert (r.rc, r.findings, r.err) == (0, [], "")


# --- 3. OpenShift Templates -----------------------------------------------------------------------

TEMPLATE = f"""\
apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: app
objects:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {{name: c}}
    data: {{mode: fast}}
  - apiVersion: v1
    kind: Secret
    metadata: {{name: db}}
    stringData:
      user: admin
      password: ${{DB_PASSWORD}}
      token: "${{{{TOKEN}}}}"
      api: {MARKER}
parameters:
  - name: DB_PASSWORD
    generate: expression
"""


def test_template_objects_are_walked(check):
    r = check({"t.yaml": TEMPLATE})
    assert r.rc == 1
    assert [(f["line"], f["message"]) for f in r.findings] == [
        (14, 'Secret "db" has plaintext stringData.user'),
        (17, 'Secret "db" has plaintext stringData.api'),
    ]
    never_echoed(r)


def test_template_with_parameters_only_passes(check):
    r = check({"t.yaml": TEMPLATE.replace("      user: admin\n", "").replace(f"      api: {MARKER}\n", "")})
    assert (r.rc, r.findings) == (0, [])
    # Only a Template's objects are objects: another kind's "objects" field is not walked.
    r = check({"o.yaml": "kind: Secret\nmetadata: {name: s}\nobjects:\n- kind: Secret\n  stringData: {a: b}\n"})
    assert (r.rc, r.findings) == (0, [])


def test_sealed_secrets_in_templates_are_validated(check, keys):
    good = keys.sealer().seal_secret(
        {"kind": "Secret", "metadata": {"name": "db", "namespace": "p"}, "stringData": {"password": "x"}}
    )
    bad = json.loads(json.dumps(good))
    bad["spec"]["encryptedData"]["password"] = "not base64!"
    template = {"apiVersion": "template.openshift.io/v1", "kind": "Template", "metadata": {"name": "t"}}
    r = check(
        {
            "good.yaml": yaml.safe_dump({**template, "objects": [good]}),
            "bad.yaml": yaml.safe_dump({**template, "objects": [good, bad]}),
        },
        hook="validate-sealed",
    )
    assert [(f["path"], f["rule"]) for f in r.findings] == [("bad.yaml", "sealed-value")]


def test_deeply_nested_lists_do_not_overflow(check):
    secret = json.dumps({"kind": "Secret", "metadata": {"name": "deep"}, "stringData": {"k": "v"}})
    r = check({"l.json": '{"kind": "List", "items": [' * 300 + secret + "]}" * 300})
    assert r.rules == ["plaintext-secret"]


# --- 4. Python's limits, bad configuration, and no traceback ever -------------------------------

BIG = "9" * 5000


@pytest.mark.parametrize(
    "name,content,rule",
    [
        ("big.json", '{"kind": "Secret", "data": {"a": ' + BIG + "}}", "unparseable-secret"),
        ("big.yaml", "kind: Secret\nmetadata: {name: b}\ndata:\n  a: " + BIG + "\n", "unparseable-secret"),
        ("deep.json", '{"kind": "Secret", "data": ' + "[" * 100_000 + "]" * 100_000 + "}", "unparseable-secret"),
        (
            "surrogate.json",
            '{"kind": "Secret", "metadata": {"name": "x"}, "data": {"\\ud800": "eA=="}}',
            "unparseable-secret",
        ),
        # not a Secret with data: a warning
        ("list.yaml", "kind: List\nx: " + BIG + "\n", None),
        ("deep-list.json", '{"kind": "List", "items": ' + "[" * 100_000 + "]" * 100_000 + "}", None),
    ],
)
def test_limits_are_parse_errors_not_tracebacks(check, name, content, rule):
    r = check({name: content}, fmt="text")
    if rule:
        assert r.rc == 1
        assert r.out.startswith(f"{name}:1: looks like a Secret with data but cannot be parsed (")
        assert r.out.rstrip().endswith(f"({rule})")
    else:
        assert (r.rc, r.out) == (0, "")
        assert "cannot parse" in r.err
    assert "Traceback" not in r.err
    assert BIG not in r.out + r.err


def test_deeply_nested_values_are_values(check):
    # Parses (libyaml allows 1,000 levels), but str() of it would overflow Python's stack.
    deep = "[" * 990 + "]" * 990
    r = check(
        {
            "s.yaml": f"kind: Secret\nmetadata: {{name: s}}\nstringData:\n  a: {deep}\n",
            "k.yaml": f"kind: Secret\nmetadata: {{name: k}}\ntype: kubernetes.io/tls\nstringData:\n  tls.key: {deep}\n",
            "kustomization.yaml": f"secretGenerator:\n- name: g\n  literals: [{deep}]\n",
        }
    )
    assert [(f["path"], f["rule"]) for f in r.findings] == [
        ("s.yaml", "plaintext-secret"),
        ("k.yaml", "plaintext-secret"),
        ("kustomization.yaml", "kustomize-secret-literal"),
    ]


def test_limits_in_sealed_secrets(check):
    r = check(
        {
            "s.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nx: " + BIG + "\n",
            "d.json": '{"kind": "SealedSecret", "spec": ' + "[" * 100_000 + "]" * 100_000 + "}",
        },
        hook="validate-sealed",
    )
    assert r.rc == 1
    assert r.rules == ["unparseable", "unparseable"]
    assert "a number in it is too large" in r.findings[0]["message"]
    assert "nested too deeply" in r.findings[1]["message"]


@pytest.mark.parametrize(
    "config,error",
    [
        ("allow:\n- {path: x, reason: r, rule: [[a]]}\n", "allow entry 1: rule must be a rule id or a list of them"),
        ("allow:\n- {path: x, reason: r, rule: [1]}\n", "rule must be a rule id or a list of them"),
        ("allow:\n- {path: x, reason: [r]}\n", "allow entry 1: needs a reason"),
        ("allow:\n- {path: [x], reason: r}\n", "allow entry 1: needs a path"),
        ("allow:\n- {path: x, reason: r, [k]: v}\n", "found unhashable key"),
        ("allow:\n- {path: x, reason: r, 3: v}\n", "allow entry 1: unknown key '3'"),
        ("allow: {path: x}\n", "allow must be a list"),
        ("certificates: [[a]]\n", "certificates must be a list"),
        ('certificates: "a\\0b"\n', "certificates must be a list"),
        ('certificates: ["a\\0b"]\n', "certificate 1 is not a file name"),
        ("[allow]\n", "expected a map"),
        ("allow: []\nallow: [{path: s.yaml, reason: r}]\n", "line 2: key 'allow' is given twice"),
        ("x: " + BIG + "\n", "a number in it is too large"),
        ('allow:\n- {path: x, reason: r, rule: "multi\\nline"}\n', "unknown rule 'multi\\nline'"),
    ],
)
def test_bad_config_types_are_one_line_errors(check, config, error):
    r = check(
        {".sealer.yaml": config, "s.yaml": "kind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"}, names=["s.yaml"]
    )
    assert r.rc == 2
    assert error in r.err
    assert r.err.count("\n") == 1 and r.err.startswith("sealer-no-plaintext-secrets: error: ")


def test_internal_errors_are_one_line_without_a_traceback(check, monkeypatch):
    from sealer.hooks import plaintext

    def broken(*args, **kwargs):
        raise RuntimeError(f"something about {MARKER}")

    monkeypatch.setattr(plaintext, "check_object", broken)
    r = check({"s.yaml": "kind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"})
    assert r.rc == 2
    assert r.err == "sealer-no-plaintext-secrets: error: internal error (RuntimeError)\n"
    assert r.out == ""


def test_no_traceback_from_a_real_process(tmp_path):
    (tmp_path / "big.json").write_text('{"kind": "Secret", "data": {"a": ' + BIG + "}}")
    (tmp_path / "deep.json").write_text('{"kind": "SealedSecret", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / ".sealer.yaml").write_text("allow:\n- {path: x, reason: r, rule: [[a]]}\n")
    for module in ("sealer.hooks.no_plaintext", "sealer.hooks.validate_sealed"):
        p = subprocess.run(
            [sys.executable, "-m", module, "big.json", "deep.json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in p.stderr
        assert p.returncode in (1, 2)


def test_names_that_are_not_utf8_do_not_break_text_output(tmp_path):
    # Python keeps a file name's undecodable bytes as surrogates, which a UTF-8 stdout refuses.
    name = b"s\xff.yaml"
    (tmp_path / name.decode("utf-8", "surrogateescape")).write_text(
        "kind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "sealer.hooks.no_plaintext", name],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        env={**__import__("os").environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith(b"s\\udcff.yaml:3: Secret")
    assert p.stderr == b""


# --- 5. messages never echo input values ----------------------------------------------------------


def test_sealed_kind_and_api_version_are_shown_only_when_plain(check, keys):
    doc = keys.sealer().seal_secret(
        {"kind": "Secret", "metadata": {"name": "db", "namespace": "p"}, "stringData": {"password": "x"}}
    )
    long_kind = "Sealed" + "x" * 80
    r = check(
        {
            "a.yaml": yaml.safe_dump({**doc, "kind": long_kind}),
            "b.yaml": yaml.safe_dump({**doc, "apiVersion": f"bitnami.com/{MARKER} now"}),
            "c.yaml": yaml.safe_dump({**doc, "kind": {"x": MARKER}}),
            "d.yaml": yaml.safe_dump({**doc, "apiVersion": ["bitnami.com/v1", MARKER]}),
            "e.yaml": yaml.safe_dump({**doc, "kind": "Sealed-Secret", "apiVersion": "bitnami.com/v1"}),
        },
        hook="validate-sealed",
    )
    assert [f["message"] for f in r.findings] == [
        'SealedSecret "db": kind (a !!str) should be SealedSecret',
        'SealedSecret "db" has apiVersion (a !!str), should be bitnami.com/v1alpha1',
        'SealedSecret "db": kind (a !!map) should be SealedSecret',
        'SealedSecret "db" has apiVersion (a !!seq), should be bitnami.com/v1alpha1',
        'SealedSecret "db" has apiVersion "bitnami.com/v1", should be bitnami.com/v1alpha1',
        'SealedSecret "db": kind "Sealed-Secret" should be SealedSecret',
    ]
    never_echoed(r, long_kind)


def test_template_names_and_object_names_are_shown_only_when_plain(check, keys):
    doc = keys.sealer().seal_secret(
        {"kind": "Secret", "metadata": {"name": "db", "namespace": "p"}, "stringData": {"password": "x"}}
    )
    doc["spec"]["template"]["metadata"]["name"] = f"{MARKER} with spaces"
    r = check({"s.yaml": yaml.safe_dump(doc)}, hook="validate-sealed")
    assert r.findings[0]["message"].startswith(
        'SealedSecret "db": spec.template.metadata.name (a !!str) differs from metadata.name "db"'
    )
    never_echoed(r)
    r = check(
        {
            "n.yaml": f"kind: Secret\nmetadata:\n  name: '{MARKER}\n\n  x'\nstringData: {{a: b}}\n",
            "kustomization.yaml": f"secretGenerator:\n- name: '{MARKER} x'\n  literals: ['{MARKER} x=y']\n",
        }
    )
    assert [f["message"] for f in r.findings] == [
        'Secret "(a name not shown)" has plaintext stringData.a',
        "secretGenerator (a name not shown) has a plaintext literal literals[0]",
    ]
    never_echoed(r)


def test_hooks_import_yaml_only_when_needed_and_no_dataclasses(tmp_path):
    """Start-up is paid per batch of files: PyYAML only for files worth parsing, and nothing that
    pulls in dataclasses (sealer.core.manifests keeps to plain classes for this)."""
    (tmp_path / "s.yaml").write_text("kind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n")
    (tmp_path / "app.py").write_text("print('hello')\n")
    code = (
        "import io, sys, contextlib\n"
        "from sealer.hooks import no_plaintext\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    no_plaintext.main(['app.py'])\n"
        "print('yaml' in sys.modules)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    no_plaintext.main(['s.yaml'])\n"
        "print('yaml' in sys.modules, 'dataclasses' in sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "False\nTrue False\n"

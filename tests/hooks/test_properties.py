"""Property tests of the manifest handling: whatever the key names, the position of the Secret in
a stream, or the form (YAML or JSON, stream or List), a Secret with a plaintext value is caught,
its values never show, and sealing it makes it pass both hooks."""

from __future__ import annotations

import base64
import copy
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.core import manifests
from sealer.hooks.plaintext import is_placeholder
from tests.hooks.conftest import run_hook

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
# Any printable key name, not only valid Kubernetes ones: the hook must not depend on them. Not
# surrogates (no UTF-8 file can hold them), nor control and line-separator characters (YAML counts
# NEL, LS and PS as line breaks, editors do not, so lines would differ by definition).
printable = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
keys = st.text(printable, min_size=1, max_size=20)
plain_values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda v: not is_placeholder(v)
)
data_values = st.binary(min_size=1, max_size=40).map(lambda b: base64.b64encode(b).decode())
others = st.lists(
    st.sampled_from(
        [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "stub"},
                "type": "kubernetes.io/service-account-token",
            },
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}},
        ]
    ),
    max_size=4,
)


@st.composite
def secrets(draw) -> dict:
    data = draw(st.dictionaries(keys, data_values, max_size=4))
    string_data = draw(st.dictionaries(keys, plain_values, max_size=4))
    if not data and not string_data:  # at least one plaintext value
        if draw(st.booleans()):
            data[draw(keys)] = draw(data_values)
        else:
            string_data[draw(keys)] = draw(plain_values)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": draw(names), "namespace": draw(names)}}
    if data:
        secret["data"] = data
    if string_data:
        secret["stringData"] = string_data
    # Empty values are not plaintext, and must not hide the others.
    if draw(st.booleans()):
        secret.setdefault("data", {})[draw(keys) + "-empty"] = ""
    return secret


def render(docs: list[dict], form: str) -> tuple[str, list[tuple[int, int]]]:
    """The file, and each document's (first, last) line. YAML is written as kubectl, kubeseal and
    sealer write it (a namespace `n` quoted: unquoted, yaml.v2 reads it as false)."""
    if form == "yaml":
        parts = [manifests.dump_yaml(d) for d in docs]
        sep = "---\n"
    elif form == "json":
        parts = [json.dumps(d, indent=2, ensure_ascii=False) + "\n" for d in docs]
        sep = ""
    else:  # a List, in YAML or JSON
        items = {"apiVersion": "v1", "kind": "List", "items": docs}
        text = manifests.dump_yaml(items) if form == "yaml-list" else json.dumps(items, indent=1)
        return text, []
    spans, line = [], 1
    for i, part in enumerate(parts):
        if i and sep:
            line += 1
        n = part.count("\n")
        spans.append((line, line + n - 1))
        line += n
    return sep.join(parts), spans


def expected(secret: dict) -> set[tuple[str, str]]:
    return {
        (field, str(key)) for field in ("data", "stringData") for key, value in secret.get(field, {}).items() if value
    }


def run_on(text: str, name: str, hook: str = "no-plaintext"):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / name).write_text(text, encoding="utf-8")
        return run_hook(hook, Path(d), name)


@SETTINGS
@given(secret=secrets(), before=others, after=others, form=st.sampled_from(["yaml", "json", "yaml-list", "json-list"]))
def test_a_secret_with_a_plaintext_value_is_always_caught(secret, before, after, form):
    docs = [*before, secret, *after]
    text, spans = render(docs, form)
    r = run_on(text, "stream.json" if form.startswith("json") else "stream.yaml")
    assert r.rc == 1
    name = secret["metadata"]["name"]
    got = set()
    for f in r.findings:
        assert f["rule"] in ("plaintext-secret", "private-key")
        prefix = (
            f'Secret "{name}" has plaintext '
            if f["rule"] == "plaintext-secret"
            else f'Secret "{name}" has a private key in '
        )
        assert f["message"].startswith(prefix)
        field, _, key = f["message"][len(prefix) :].partition(".")
        got.add((field, key))
        if spans:
            first, last = spans[len(before)]
            assert first <= f["line"] <= last
    assert got == expected(secret)
    shown = r.out + r.err
    said = "".join(f["message"] for f in r.findings)
    for field in ("data", "stringData"):
        for value in secret.get(field, {}).values():
            if len(value) >= 6 and value not in said:
                assert value not in shown


@SETTINGS
@given(secret=secrets(), before=others, after=others, form=st.sampled_from(["yaml", "json"]))
def test_sealing_the_secret_makes_it_pass(sealing_keys, secret, before, after, form):
    sealed = sealing_keys.sealer().seal_secret(copy.deepcopy(secret))
    text, _ = render([*before, sealed, *after], form)
    name = "stream.json" if form == "json" else "stream.yaml"
    for hook in ("no-plaintext", "validate-sealed"):
        r = run_on(text, name, hook)
        assert (r.rc, r.findings) == (0, []), hook


@SETTINGS
@given(
    prefix=st.text(max_size=200),
    suffix=st.text(max_size=200),
    encoded=st.booleans(),
    name=st.sampled_from(["notes.txt", "app.py", "key", "values.yaml", "data.json"]),
)
def test_a_private_key_is_caught_in_any_surroundings(pem_key, prefix, suffix, encoded, name):
    key = base64.b64encode(pem_key).decode() if encoded else pem_key.decode()
    text = prefix + ("\n" if prefix else "") + key + "\n" + suffix
    r = run_on(text.replace("\x00", ""), name)
    assert r.rc == 1
    assert "private-key" in r.rules
    assert key.splitlines()[1 if not encoded else 0][10:40] not in r.out


@SETTINGS
@given(key=keys, encoded=st.booleans(), kind=st.sampled_from(["ConfigMap", "Pod", "Secret"]))
def test_a_private_key_in_any_manifest_field_is_caught_at_its_line(pem_key, key, encoded, kind):
    value = base64.b64encode(pem_key).decode() if encoded or kind == "Secret" else pem_key.decode()
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "data": {"other": "", key: value}}
    text = yaml.safe_dump(doc, allow_unicode=True)
    r = run_on(text, "m.yaml")
    assert r.rc == 1
    (finding,) = r.findings
    assert finding["rule"] == "private-key"
    assert finding["line"] > 1  # the field's line, past "apiVersion" (keys are sorted: data first)

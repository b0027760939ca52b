"""Parsing untrusted manifest streams: formats, limits, and attacks."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealer.core import manifests
from sealer.core.errors import InputError

BOMB = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_yaml_stream_with_empty_documents_and_lines():
    docs = manifests.parse_stream(b"---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n")
    assert [(d.index, d.line, d.body) for d in docs] == [(1, 2, {"a": 1}), (2, 7, {"b": 2})]


def test_concatenated_json():
    docs = manifests.parse_stream(b'{"a": 1}\n{"b": 2}{"c": 3}')
    assert [d.body for d in docs] == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_yaml_flow_mapping_is_not_mistaken_for_json():
    assert manifests.parse_stream(b"{a: 1}")[0].body == {"a": 1}


def test_timestamps_stay_strings_like_kubernetes():
    assert manifests.parse_stream(b"t: 2024-01-02T03:04:05Z")[0].body == {"t": "2024-01-02T03:04:05Z"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a: [1\nb: 2", "document 1: malformed YAML at line 2"),
        (b"a: 1\n---\nb: : :\n", "document 2: malformed YAML"),
        (b'{"a": 1}{"b": ', "document 2: malformed JSON at line 1"),
        (b"a: \xff\xfe", "not valid UTF-8 (line 1"),
        (BOMB, "alias bomb"),
    ],
)
def test_bad_input_is_one_clear_error(data, message):
    with pytest.raises(InputError) as e:
        manifests.parse_stream(data)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_size_limit(monkeypatch):
    monkeypatch.setattr(manifests, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(InputError, match="larger than"):
        manifests.read_bytes(io.BytesIO(b"x" * 1001), "stdin")
    assert manifests.read_bytes(io.BytesIO(b"x" * 1000), "stdin") == b"x" * 1000


def test_yaml_output_matches_kubeseal_conventions():
    text = manifests.dump([{"b": "x" * 500, "a": {"d": 1, "c": [1]}}], "yaml")
    assert text.startswith("---\na:")
    assert "x" * 500 in text  # never wrapped
    assert text.index("a:") < text.index("b:")
    assert not text.endswith("---\n")


def test_json_output_is_pretty_and_concatenated():
    text = manifests.dump([{"k": 1}, {"k": 2}], "json")
    assert text == '{\n  "k": 1\n}\n{\n  "k": 2\n}\n'


def test_output_format_rules():
    assert manifests.output_format("json", "out.yaml") == "yaml"
    assert manifests.output_format(None, "out.json") == "json"
    assert manifests.output_format("YAML", None) == "yaml"
    with pytest.raises(InputError, match="unsupported output format: xml"):
        manifests.output_format("xml", None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    objs=st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), min_size=1, max_size=4),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_dump_then_parse_is_identity(objs, fmt):
    parsed = [d.body for d in manifests.parse_stream(manifests.dump(objs, fmt).encode())]
    assert parsed == [o for o in objs]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data):
    try:
        manifests.parse_stream(data)
    except InputError:
        pass


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    try:
        manifests.parse_stream(text.encode())
    except InputError:
        pass


def test_lines_count_newlines_only_like_editors():
    """YAML also breaks lines at NEL (U+0085), LS, PS and lone CR; editors do not, so lines
    are counted by newlines (found by the hooks' property tests)."""
    text = "a: 1\nb: '\x85'\n---\nc: 2\n"
    assert [d.line for d in manifests.parse_stream(text.encode())] == [1, 4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"kind": "Secret", "n": ' + b"9" * 5000 + b"}", "document 1: a number in it is too large"),
        (b"x: " + b"9" * 5000, "document 1: a number in it is too large"),
        (b"[" * 100000, "document 1: document is nested too deeply"),
        (b'{"a": "\\ud800"}', "document 1: contains an invalid \\u escape"),
        (b"a: 1\n---\nb: !!python/object:os.system 1\n", "document 2: malformed YAML at line 3"),
        (b"---\na: 1\n---\n---\n{[a]: 1}\n", "document 2: malformed YAML at line 5"),
    ],
)
def test_limits_and_document_numbers(data, message):
    with pytest.raises(InputError) as e:
        manifests.parse_stream(data)
    assert message in str(e.value)

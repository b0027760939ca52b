"""YAML scalars read and written as kubectl and kubeseal (yaml.v2 + sigs.k8s.io/yaml) do.

The expected strings are what kubeseal v0.36.6 sealed for the same input (checked by hand once,
and on every run by the differential suite in tests/interop/)."""

from __future__ import annotations

import math
import struct

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sealer.core import goyaml, manifests


def load(text: str):
    return manifests.parse_stream(text)[0].body


@pytest.mark.parametrize(
    ("plain", "sealed_as"),
    [
        ("5432", "5432"),
        ("0777", "511"),
        ("0x1F", "31"),
        ("-0b11", "-3"),
        ("1_000", "1000"),
        ("08", "8"),
        ("1e3", "1000"),
        ("1.0e+6", "1e+06"),
        ("3.14159265358979", "3.1415927"),
        (".5", "0.5"),
        ("1.5", "1.5"),
        ("12345678901234567890", "12345678901234567890"),
        ("y", "true"),
        ("Yes", "true"),
        ("on", "true"),
        ("n", "false"),
        ("OFF", "false"),
        ("1:20", "1:20"),
        ("2001-12-14", "2001-12-14"),
        ("1.2.3", "1.2.3"),
        ("+x", "+x"),
    ],
)
def test_plain_scalars_are_read_as_kubeseal_reads_them(plain, sealed_as):
    value = load(f"v: {plain}\n")["v"]
    assert goyaml.go_string(value) == sealed_as


def test_keys_are_resolved_too():
    """yaml.v2 resolves keys as well: a label key `n` is "false" for kubectl and kubeseal."""
    body = load("n: a\ny: b\n1: c\n")
    assert {str(goyaml.go_string(k)) for k in body} == {"false", "true", "1"}


@pytest.mark.parametrize(
    ("value", "go"),
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (123456.7, "123456.7"),
        (1234567.0, "1.234567e+06"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (0.0, "0"),
        (3.4e38, "3.4e+38"),
        (1e39, "+Inf"),
    ],
)
def test_float32_g_formatting_matches_go(value, go):
    assert goyaml.format_float32_g(value) == go


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float32_formatting_round_trips_to_the_same_float32(f):
    text = goyaml.format_float32_g(f)
    assert struct.unpack("f", struct.pack("f", float(text)))[0] == f
    # Shortest: one digit fewer would not identify it.
    digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    assert len(digits) <= 9


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("true", '"true"'),
        ("y", '"y"'),
        ("5432", '"5432"'),
        ("1e3", '"1e3"'),
        ("1:20", '"1:20"'),
        ("~", '"~"'),
        ("", '""'),
        ("null", '"null"'),
        ("2001-12-14", '"2001-12-14"'),
        ("*star", "'*star'"),
        ("plain", "plain"),
        ("<<", "<<"),
        ("=", "="),
        ("a\nb", "|-\n  a\n  b"),
    ],
)
def test_strings_are_quoted_as_yaml_v2_quotes_them(text, written):
    assert manifests.dump_yaml({"k": text}) == f"k: {written}\n"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_every_string_written_reads_back_as_the_same_string(text):
    assert load(manifests.dump_yaml({"k": text}))["k"] == text


def test_json_escapes_as_go_does():
    assert manifests.dump([{"a": "<b>&\u2028"}], "json") == '{\n  "a": "\\u003cb\\u003e\\u0026\\u2028"\n}\n'
    assert manifests.parse_stream(manifests.dump([{"a": "<b>&"}], "json"))[0].body == {"a": "<b>&"}


def test_explicit_tags_and_quotes_are_left_alone():
    assert load("v: \"5432\"\nw: !!str 0777\nx: 'y'\n") == {"v": "5432", "w": "0777", "x": "y"}
    assert yaml.safe_load("v: 0777") == {"v": 511}  # (PyYAML agrees here; it is `y`, `1e3`, `1:20` that differ)

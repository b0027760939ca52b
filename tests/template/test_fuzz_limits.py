"""Hypothesis against the limits: generated templates, written the way an attacker would
(amplifying functions, huge counts, doubling by sharing, loops, recursion, self-reference),
never exceed the engine's memory and time bounds, and never raise anything but TemplateError."""

from __future__ import annotations

import time
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.template import LIMITS, TemplateError, render
from sealer.template.functions import FUNCS

MiB = 1 << 20
MEMORY_BOUND = LIMITS.allocated + 16 * MiB  # what evaluation may allocate, plus parse and slack
TIME_BOUND = 3 * LIMITS.seconds + 2  # the deadline, under tracemalloc's threefold slowdown

VALUES = {"a": "x" * 1000, "b": "é\n" * 500, "n": "1000000", "j": '{"k": [1, "v", null]}'}
AMPLIFIERS = [
    "repeat",
    "indent",
    "nindent",
    "printf",
    "print",
    "println",
    "cat",
    "quote",
    "squote",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "join",
    "replace",
    "b64enc",
    "b32enc",
    "html",
    "js",
    "urlquery",
    "list",
    "dict",
    "append",
    "prepend",
    "splitList",
    "split",
    "toStrings",
    "sortAlpha",
    "keys",
    "uniq",
    "has",
    "deepEqual",
    "fromJson",
    "mustFromJson",
    "toString",
    "trunc",
    "upper",
    "title",
]
numbers = st.sampled_from(["0", "1", "2", "7", "100", "1000", "100000", "1000000", "1000000000", "-1"])
strings = st.sampled_from(
    ['""', '"x"', '"é"', '"\\n"', '"<\'>"', '","', '"%v"', '"%1000000d"', '"%.100000v"', '"[1,[2,[3]]]"']
)
atoms = st.one_of(numbers, strings, st.sampled_from(["$v", "$w", ".a", ".b", ".n", ".j", ".", "$"]))


def _call(parts: list[str]) -> str:
    return "(" + " ".join(parts) + ")"


def expressions(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return atoms
    sub = expressions(depth - 1)
    name = st.one_of(st.sampled_from(AMPLIFIERS), st.sampled_from(sorted(FUNCS)))

    def call(f: str) -> st.SearchStrategy[str]:  # mostly with as many operands as it takes
        fixed = len(FUNCS[f].params) - FUNCS[f].variadic
        n = st.integers(fixed, fixed + 3) if FUNCS[f].variadic else st.just(fixed)
        return (
            st.one_of(n, n, n, st.integers(0, 4))
            .flatmap(lambda k: st.lists(sub, min_size=k, max_size=k))
            .map(lambda args: _call([f, *args]))
        )

    return st.one_of(
        atoms,
        name.flatmap(call),
        st.builds(lambda x: _call(["list", x, x]), sub),  # doubling by sharing
        st.builds(lambda x: _call(["dict", '"k"', x, '"l"', x]), sub),
    )


expr = expressions(3)


def statements(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        expr.map(lambda e: f"{{{{ {e} }}}}"),
        expr.map(lambda e: f"{{{{ $v = {e} }}}}"),
        expr.map(lambda e: f"{{{{ $w = {e} }}}}"),
        st.just("{{ $v = list $v $v }}"),
        st.just('{{ $_ := set $d "d" $d }}'),
        st.just('{{ template "t" $v }}'),
        st.just("{{ $v }}{{ toJson $v }}"),
    )
    if depth == 0:
        return leaf
    body = st.lists(statements(depth - 1), min_size=1, max_size=4).map("".join)
    return st.one_of(
        leaf,
        st.builds(lambda n, b: f"{{{{ range {n} }}}}{b}{{{{ end }}}}", numbers, body),
        st.builds(lambda e, b: f"{{{{ range $i, $x := {e} }}}}{b}{{{{ end }}}}", expr, body),
        st.builds(lambda e, b: f"{{{{ if {e} }}}}{b}{{{{ else }}}}{b}{{{{ end }}}}", expr, body),
        st.builds(lambda e, b: f"{{{{ with {e} }}}}{b}{{{{ end }}}}", expr, body),
    )


DEFINE = st.sampled_from(
    [
        '{{ define "t" }}{{ . }}{{ end }}',
        '{{ define "t" }}{{ template "t" (list . .) }}{{ end }}',
        '{{ define "t" }}x{{ template "t" . }}{{ template "t" . }}{{ end }}',
        '{{ define "t" }}{{ if . }}{{ template "t" (slice . 1) }}{{ end }}{{ end }}',
    ]
)
templates = st.builds(
    lambda d, body: d + '{{ $v := "ab" }}{{ $w := list }}{{ $d := dict }}' + body,
    DEFINE,
    st.lists(statements(2), min_size=1, max_size=6).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(template=templates)
def test_generated_templates_stay_within_the_bounds(template):
    tracemalloc.start()
    start = time.monotonic()
    try:
        out = render(template, VALUES)
    except TemplateError as e:
        assert "\n" not in str(e)
        out = ""
    finally:
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(out) <= LIMITS.output
    assert peak < MEMORY_BOUND, f"peak {peak / MiB:.1f} MiB: {template!r}"
    assert elapsed < TIME_BOUND, f"{elapsed:.1f} s: {template!r}"

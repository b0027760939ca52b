"""Templates built to exhaust the controller (issue 17): each fails fast, within measured memory.

Every shape below once cost (or would cost) far more than its size: doubling by sharing, huge
counts and widths, loops that concatenate, recursion, self-reference. The engine must refuse each
with a TemplateError before it allocates, so the peak of Python allocations (tracemalloc) stays
under a bound asserted here, far below the controller Pod's 512 MiB.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from sealer.template import LIMITS, Budget, Limits, TemplateError, render

MiB = 1 << 20
# What evaluation may allocate, plus the parse tree and the interpreter's own slack.
GENERAL_BOUND = LIMITS.allocated + 16 * MiB

DOUBLE = "{{ $l = list $l $l }}"
ISSUE_BOMB = '{{ $l := list (repeat 1000000 "a") }}' + DOUBLE * 12 + "{{ toJson $l | len }}"

BOMBS = {  # name: (template, bound on the peak of Python allocations)
    "issue: toJson of a list doubled by sharing": (ISSUE_BOMB, 8 * MiB),
    "issue: printing it": (ISSUE_BOMB.replace("{{ toJson $l | len }}", "{{ $l }}"), 8 * MiB),
    "issue, deeper: 40 doublings": ('{{ $l := list (repeat 1000000 "a") }}' + DOUBLE * 40 + "{{ $l }}", 8 * MiB),
    "toPrettyJson of dicts sharing dicts": (
        '{{ $d := dict "a" (repeat 100000 "x") }}' + '{{ $d = dict "a" $d "b" $d }}' * 30 + "{{ toPrettyJson $d }}",
        8 * MiB,
    ),
    "printf %v of shared dicts": (
        '{{ $d := dict "a" (repeat 100000 "x") }}' + '{{ $d = dict "a" $d "b" $d }}' * 30 + '{{ printf "%v" $d }}',
        8 * MiB,
    ),
    "toStrings of a shared list": (
        '{{ $l := list (repeat 100000 "a") }}' + DOUBLE * 20 + "{{ toStrings $l }}",
        8 * MiB,
    ),
    "join of a shared list": ('{{ $l := list (repeat 100000 "a") }}' + DOUBLE * 20 + '{{ join "," $l }}', 8 * MiB),
    "sortAlpha of a shared list": (
        '{{ $l := list (repeat 10000 "a") }}' + DOUBLE * 20 + "{{ sortAlpha $l }}",
        GENERAL_BOUND,
    ),
    "quote, squote, cat, print of a shared list": (
        '{{ $l := list (repeat 100000 "a") }}'
        + DOUBLE * 20
        + "{{ quote $l }}{{ squote $l }}{{ cat $l }}{{ print $l }}",
        8 * MiB,
    ),
    "repeat of repeat": ('{{ repeat 1000 (repeat 1000 (repeat 1000 "x")) }}', 8 * MiB),
    "repeat, huge count": ('{{ repeat 1000000000000 "x" }}', 1 * MiB),
    "printf width 1e9": ('{{ printf "%1000000000d" 1 }}', 1 * MiB),
    "printf width 1e6, many operands": ('{{ printf "' + "%1000000d" * 100 + '" ' + "1 " * 100 + "}}", 8 * MiB),
    "printf precision on list elements": ('{{ printf "%.1000000d" (list ' + "1 " * 50 + ") }}", 8 * MiB),
    "printf width over a shared list": ("{{ $l := list 1 }}" + DOUBLE * 30 + '{{ printf "%1000v" $l }}', 8 * MiB),
    "indent, huge": ('{{ indent 1000000000 "x" }}', 1 * MiB),
    "indent of many lines": ('{{ indent 100000 (repeat 100000 "\\n") }}', 4 * MiB),
    "nindent of repeat": ('{{ nindent 2000 (repeat 1000 "a\\n") }}', 4 * MiB),
    "replace, amplifying": ('{{ replace "a" (repeat 10000 "b") (repeat 100000 "a") }}', 4 * MiB),
    "replace of the empty string": ('{{ replace "" (repeat 1000 "b") (repeat 10000 "a") }}', 4 * MiB),
    "join with a huge separator": ('{{ join (repeat 100000 "s") (splitList "" (repeat 1000 "a")) }}', 4 * MiB),
    "b64enc of the limit": ('{{ b64enc (repeat 1000000 "a") }}', 8 * MiB),
    "html of quotes": ('{{ html (repeat 500000 "\'") }}', 4 * MiB),
    "js and urlquery of angle brackets": ('{{ js (repeat 500000 "<") }}{{ urlquery (repeat 500000 "<") }}', 8 * MiB),
    "splitList of many characters": (
        (
            '{{ $s := repeat 300000 "\\u4e00" }}{{ $a := splitList "" $s }}'
            '{{ $b := splitList "" $s }}{{ $c := splitList "" $s }}'
        ),
        GENERAL_BOUND,
    ),
    "split into a huge dict": ('{{ split "," (repeat 1000000 ",") }}', GENERAL_BOUND),
    "range over a huge int": ("{{ range 1000000000 }}{{ end }}", 1 * MiB),
    "range over a huge int, nested": ("{{ range 100000 }}{{ range 100000 }}x{{ end }}{{ end }}", 4 * MiB),
    "seq and until are refused": ("{{ range seq 1000000000 }}{{ end }}{{ range until 100000000 }}{{ end }}", 1 * MiB),
    "concatenation by doubling": ('{{ $s := "x" }}{{ range 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}', 8 * MiB),
    "concatenation in a long loop": (
        '{{ $s := "" }}{{ range 100000 }}{{ $s = cat $s "xxxxxxxxxx" }}{{ end }}',
        GENERAL_BOUND,
    ),
    "append in a loop": (
        '{{ $l := list }}{{ range 100000 }}{{ $l = append $l (repeat 100000 "x") }}{{ end }}',
        GENERAL_BOUND,
    ),
    "dict of big keys in a loop": (
        (
            "{{ $d := dict }}{{ range $i := 100000 }}"
            '{{ $_ := set $d (printf "%d%s" $i (repeat 100000 "k")) 1 }}{{ end }}'
        ),
        GENERAL_BOUND,
    ),
    "keys of a growing dict": (
        ("{{ $d := dict }}{{ range $i := 100000 }}{{ $_ := set $d (print $i) $i }}{{ $k := keys $d }}{{ end }}"),
        GENERAL_BOUND,
    ),
    "output of a loop": ('{{ $s := repeat 100000 "x" }}{{ range 1000 }}{{ $s }}{{ end }}', 4 * MiB),
    "recursion: infinite": ('{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}', 1 * MiB),
    "recursion: binary": (
        '{{ define "a" }}x{{ template "a" . }}{{ template "a" . }}{{ end }}{{ template "a" }}',
        1 * MiB,
    ),
    "recursion: nested blocks in each call": (
        '{{ define "r" }}'
        + "{{ if true }}" * 90
        + '{{ template "r" . }}'
        + "{{ end }}" * 90
        + '{{ end }}{{ template "r" 1 }}',
        4 * MiB,
    ),
    "deep parentheses": ("{{ " + "(" * 5000 + ".foo" + ")" * 5000 + " }}", 8 * MiB),
    "deep blocks": ("{{ if true }}" * 2000 + "x" + "{{ end }}" * 2000, 8 * MiB),
    "deeply nested list": ("{{ $l := list }}{{ range 10000 }}{{ $l = list $l }}{{ end }}{{ toJson $l }}", 8 * MiB),
    "a dict containing itself": ('{{ $d := dict }}{{ $_ := set $d "d" $d }}{{ toJson $d }}{{ $d }}', 1 * MiB),
    "deepEqual of two shared DAGs": (
        "{{ $a := list 1 }}{{ $b := list 1 }}"
        + "{{ $a = list $a $a }}{{ $b = list $b $b }}" * 40
        + "{{ deepEqual $a $b }}",
        1 * MiB,
    ),
    "uniq and has over shared lists": (
        "{{ $l := list }}{{ $x := list 1 }}"
        + "{{ $x = list $x $x }}" * 30
        + "{{ range 1000 }}{{ $l = append $l $x }}{{ end }}{{ uniq $l }}{{ has (list 2) $l }}",
        GENERAL_BOUND,
    ),
    "fromJson of a big array": ('{{ fromJson (printf "[%s0]" (repeat 400000 "0,")) | toJson }}', GENERAL_BOUND),
    "fromJson deeply nested": (
        '{{ mustFromJson (printf "%s%s" (repeat 100000 "[") (repeat 100000 "]")) }}',
        GENERAL_BOUND,
    ),
    "template text of a million tokens": ("{{.}}" * 200_000, GENERAL_BOUND),
    "template text over the limit": ("x" * (LIMITS.template + 1), 4 * MiB),
}


def _measure(
    template: str, values: dict[str, str], budget: Budget | None = None
) -> tuple[TemplateError | None, int, float]:
    tracemalloc.start()
    start = time.monotonic()
    try:
        render(template, values, budget)
        error = None
    except TemplateError as e:
        error = e
    finally:
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak, elapsed


@pytest.mark.parametrize("name", BOMBS)
def test_bomb_fails_fast_within_measured_memory(name):
    template, bound = BOMBS[name]
    error, peak, elapsed = _measure(template, {"foo": "bar"})
    assert error is not None, f"{name}: rendered"
    assert "\n" not in str(error) and str(error).startswith("template: ")
    assert peak < bound, f"{name}: peak {peak / MiB:.1f} MiB >= {bound / MiB:.0f} MiB ({error})"
    # Time is bounded by the deadline (tracemalloc slows Python down about threefold).
    assert elapsed < 3 * LIMITS.seconds + 2, f"{name}: {elapsed:.1f} s ({error})"


def test_the_issues_bomb_names_the_limit_not_the_size():
    with pytest.raises(TemplateError) as error:
        render(ISSUE_BOMB, {})
    message = str(error.value)
    assert message == "template: 1:293: error calling toJson: result exceeds the 1048576-byte limit"


def test_limits_are_per_budget_shared_by_several_templates():
    """The controller renders all keys of one SealedSecret with one budget: 1 MiB of output in all."""
    budget = Budget()
    half = '{{ repeat 600000 "x" }}'
    assert len(render(half, {}, budget)) == 600_000
    with pytest.raises(TemplateError, match=f"output exceeds {LIMITS.output} bytes"):
        render(half, {}, budget)
    assert len(render(half, {})) == 600_000  # a fresh budget for an unrelated render


def test_many_keys_cannot_add_up_past_the_budget():
    budget, rendered = Budget(), 0
    with pytest.raises(TemplateError):
        for _ in range(1000):
            rendered += len(render('{{ $x := repeat 1000000 "x" }}{{ len $x }}', {}, budget))
    assert budget.allocated <= LIMITS.allocated + LIMITS.string + 1024


def test_wall_clock_deadline():
    budget = Budget(Limits(seconds=0.05, steps=10**9))
    start = time.monotonic()
    with pytest.raises(TemplateError, match="exceeds 0.05 seconds"):
        render("{{ range 100000000 }}{{ end }}", {}, budget)
    assert time.monotonic() - start < 2


def test_each_limit_can_be_reached_and_is_named():
    cases = {
        "evaluation steps": ("{{ range 1000 }}{{ end }}", Limits(steps=500)),
        "memory budget": ('{{ $a := repeat 1000 "x" }}{{ $b := repeat 1000 "y" }}', Limits(allocated=4000)),
        "byte limit": ('{{ repeat 101 "x" }}', Limits(string=100)),
        "output exceeds": ('{{ repeat 60 "x" }}{{ repeat 60 "x" }}', Limits(output=100)),
        "nested deeper than 3 levels": ("{{ toJson (list (list (list (list 1)))) }}", Limits(depth=3)),
        "template text exceeds": ("x" * 11, Limits(template=10)),
    }
    for words, (template, limits) in cases.items():
        with pytest.raises(TemplateError, match=words):
            render(template, {}, Budget(limits))


def test_memory_error_fails_the_render_not_the_process(monkeypatch):
    from sealer.template.functions import registry

    def exhausted(*_):
        raise MemoryError

    monkeypatch.setattr(registry.FUNCS["upper"], "impl", exhausted)
    with pytest.raises(TemplateError, match="ran out of memory"):
        render("{{ upper .a }}", {"a": "x"})


def test_legitimate_templates_near_the_limits_still_render():
    values = {f"k{i}": "v" * 10_000 for i in range(50)}
    out = render("{{ range $k, $v := . }}{{ $k }}: {{ $v | b64enc | quote }}\n{{ end }}", values)
    assert len(out) > 50 * 13_000
    assert len(render("{{ toJson . }}", {"a": "x" * 1_000_000})) == 1_000_008
    deep = '{{ define "r" }}{{ if . }}{{ template "r" (sub . 1) }}{{ end }}{{ end }}{{ template "r" 99 }}'
    assert render(deep, {}) == ""
    assert render("{{ toJson " + "(list " * 99 + "1" + ")" * 99 + " }}", {}).count("[") == 99

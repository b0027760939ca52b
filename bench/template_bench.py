"""Template rendering: sealer.template against the engine before the budget (gotemplate.py at a
given git revision) and Bitnami's own (Go text/template + Sprig, the differential-test peer), in
the same run; then the cost of rejecting issue 17's memory bomb.

  typical: CPU µs per render of each typical template, in process (the Go peer: wall-clock
           median of a round trip over its JSON-lines pipe, so an upper bound of Go's own cost)
  bomb:    time and tracemalloc peak to reject the issue's bomb (and the old engine on smaller
           versions of it: its cost doubles with each doubling, up to ~4 GiB at twelve)
  tokens:  the parse's memory per token (what Limits' TOKEN_COST charges)

Run: .venv/bin/python bench/template_bench.py [--runs N] [--before REV]   (REV: default eb9dff1)
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import REPO, table  # noqa: E402

from sealer.template import render  # noqa: E402

VALUES = {
    "user": "admin",
    "password": 's3cr"t-pa$$word',
    "host": "db.example.com",
    "port": "5432",
    "ca.crt": base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" + b"A" * 1200).decode(),
    "config": json.dumps({"replicas": 3, "features": ["a", "b", "c"], "limits": {"cpu": "1"}}),
}
TYPICAL = {
    "dsn": 'postgres://{{ .user }}:{{ index . "password" | urlquery }}@{{ .host }}:{{ .port }}/app',
    "config file": (
        'apiUrl: "https://{{ .host }}:{{ .port }}/v1"\nuser: {{ .user | quote }}\n'
        "password: {{ .password | quote }}\n{{- if .port }}\nport: {{ .port }}{{ end }}\n"
        'ca: |\n{{ index . "ca.crt" | b64dec | indent 2 }}\n'
    ),
    "json": '{{ toPrettyJson (dict "user" .user "password" .password "hosts" (list .host "replica")) }}',
    "range": "{{ range $k, $v := . }}{{ $k }}={{ $v | b64enc }}\n{{ end }}",
    "fromJson": "{{ $c := fromJson .config }}replicas: {{ $c.replicas }}\n"
    "{{ range $c.features }}- {{ . | upper }}\n{{ end }}",
}
DOUBLE = "{{ $l = list $l $l }}"


def bomb(doublings: int) -> str:
    return '{{ $l := list (repeat 1000000 "a") }}' + DOUBLE * doublings + "{{ toJson $l | len }}"


def load_before(rev: str):
    """gotemplate.py as it was at ``rev``, loaded from a temporary file."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:sealer/gotemplate.py"], capture_output=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "gotemplate_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("gotemplate_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def go_peer():
    sys.path.insert(0, str(REPO))
    from tests.template.test_engine import GoPeer, _peer_executable

    exe = _peer_executable()
    return GoPeer(exe) if not isinstance(exe, str) else None


def medians_us(fns, runs: int, per_round: int = 20) -> list[float]:
    """µs of CPU per call of each function: the median over rounds of ``per_round`` calls, the
    functions taking turns round by round (so that a loaded machine slows all alike; CPU time,
    not wall time, so that waiting for a core is not counted)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(max(runs // per_round, 1)):
        for i, fn in enumerate(fns):
            start = time.process_time()
            for _ in range(per_round):
                fn()
            times[i].append((time.process_time() - start) / per_round)
    return [statistics.median(t) * 1e6 for t in times]


def wall_median_us(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def peak_of(fn) -> tuple[float, float, str]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
        outcome = "rendered"
    except Exception as e:  # noqa: BLE001 - the old engine may fail otherwise
        outcome = type(e).__name__
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed * 1000, peak / (1 << 20), outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--before", default="eb9dff1")
    args = parser.parse_args()
    before = load_before(args.before)
    peer = go_peer()

    rows = []
    for name, template in TYPICAL.items():
        assert render(template, VALUES) == before.render(template, VALUES)
        ours, old = medians_us(
            [lambda t=template: render(t, VALUES), lambda t=template: before.render(t, VALUES)], args.runs
        )
        go = wall_median_us(lambda t=template: peer.render(t, VALUES), args.runs // 4) if peer else float("nan")
        rows.append((name, f"{old:.0f}", f"{ours:.0f}", f"{ours / old:.2f}", f"{go:.0f}", f"{ours / go:.2f}"))
    print(f"typical templates, µs of CPU per render (median over rounds; {args.runs} renders each)")
    print(table(rows, ("template", "before", "now", "now/before", "Go peer (pipe, wall)", "now/Go")))

    print('\nissue 17\'s bomb (list (repeat 1000000 "a"), doubled n times by sharing, then toJson)')
    rows = []
    for n in (4, 6):
        ms, mib, outcome = peak_of(lambda n=n: before.render(bomb(n), {}))
        rows.append((f"before, n={n}", f"{ms:.0f}", f"{mib:.0f}", outcome))
    for n in (12, 40):
        ms, mib, outcome = peak_of(lambda n=n: render(bomb(n), {}))
        rows.append((f"now, n={n}", f"{ms:.1f}", f"{mib:.1f}", outcome))
    print(table(rows, ("engine", "ms", "peak MiB (tracemalloc)", "outcome")))

    tokens = 50_000
    from sealer.template.limits import Budget
    from sealer.template.parser import Parser

    text = "{{ .a }}" * (tokens // 5)  # LDELIM SPACE FIELD SPACE RDELIM
    tracemalloc.start()
    tree = Parser(text, Budget()).parse()
    per_token = tracemalloc.get_traced_memory()[1] / tokens
    tracemalloc.stop()
    del tree
    print(f"\nparse: {per_token:.0f} bytes of Python objects per token (charged: 400)")
    if peer:
        peer.close()


if __name__ == "__main__":
    main()

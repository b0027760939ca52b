"""The machinery of the differential suite: one invocation, run through the real kubeseal and
through `python -m sealer` with the same argv, stdin and environment variables, each in a fresh
directory, and the outcomes compared (test_kubeseal_differential.py holds the invocations).

An argv word or a stdin/file text may name a fixture file or address as ``{cert}``, ``{key}``,
``{url}``...: ``Assets`` fills them in, the same for both tools."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A sealed value: base64 of a 2-byte length, an RSA-OAEP block (>= 256 bytes) and AES-GCM; nothing
# else either tool writes is a base64 run this long.
CIPHERTEXT = re.compile(r"A[A-Za-z0-9+/]{340,}={0,2}")
KEY_HINT = "sealer.dev/sealing-key"
# Put in the values of bad inputs: no error message may show it.
CANARY = "CANARY-5e1f"
SEAL_WORKERS = 4


def mask(data: bytes) -> bytes:
    return CIPHERTEXT.sub("<sealed>", data.decode("utf-8", "replace")).encode()


@dataclass(frozen=True)
class Case:
    """One kubeseal invocation. ``files`` are created in the working directory first (names may
    hold a sub-directory). ``kind``: what the output is (``seal``: SealedSecrets, opened by the other
    tool; ``raw``: one sealed value; ``unseal``: plaintext Secrets; ``text``: anything else, compared
    byte for byte; ``exit``: only the exit status counts, e.g. --help). ``error`` names the meaning
    (MEANINGS) sealer's message must convey where kubeseal fails. ``difference`` names a documented
    difference (DIFFERENCES); its check replaces the default comparison."""

    id: str
    argv: tuple[str, ...]
    stdin: str | bytes = b""
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str | bytes | tuple[str | bytes, int]] = field(default_factory=dict)  # data or (data, mode)
    kind: str = "seal"
    error: str | None = None
    difference: str | None = None
    output: str | None = None  # the file holding the output, if not stdout (-w, --merge-into)
    opening_key: str = "key"  # the placeholder of the private key that opens the output


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    files: dict[str, tuple[int, bytes]]  # name -> (mode, bytes), after the run
    before: dict[str, tuple[int, bytes]]  # the same, before it
    seconds: float = 0.0

    @property
    def written(self) -> dict[str, tuple[int, bytes]]:
        """Files created or changed by the run."""
        return {k: v for k, v in self.files.items() if self.before.get(k) != v}

    def output(self, case: Case) -> bytes:
        if case.output is None:
            return self.stdout
        return self.files.get(case.output, (0, b""))[1]

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


@dataclass
class Outcome:
    case: Case
    kubeseal: Run
    sealer: Run
    nohint: Run | None = None  # sealer with --no-key-hint: the byte-for-byte comparison
    sealer_opens_kubeseal: Run | None = None
    kubeseal_opens_sealer: Run | None = None


class Assets:
    """Fixture files and addresses the cases name as {placeholders}."""

    def __init__(self, values: Mapping[str, str], kubeseal: Path):
        self.values = dict(values)
        self.kubeseal = kubeseal

    def fill(self, text: str) -> str:
        return re.sub(r"\{([a-z0-9_]+)\}", lambda m: self.values.get(m.group(1), m.group(0)), text)

    def fill_bytes(self, data: str | bytes) -> bytes:
        """Text with its placeholders filled in; ``@name``: the bytes of the fixture file ``{name}``."""
        if isinstance(data, str) and data.startswith("@"):
            return Path(self.values[data[1:]]).read_bytes()
        return self.fill(data).encode() if isinstance(data, str) else data


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "home" not in path.relative_to(directory).parts[:1]:
            out[str(path.relative_to(directory))] = (stat.S_IMODE(path.stat().st_mode), path.read_bytes())
    return out


def run_tool(
    tool: list[str],
    argv: list[str],
    stdin: bytes,
    env: Mapping[str, str],
    files: Mapping[str, tuple[bytes, int]],
    directory: Path,
) -> Run:
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "home").mkdir(parents=True)
    for name, (data, mode) in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(directory / "home"),
        "LANG": "C.UTF-8",
        "KUBECONFIG": str(directory / "no-kubeconfig"),
        **env,
    }
    before = snapshot(directory)
    start = time.monotonic()
    proc = subprocess.run(
        [*tool, *argv], input=stdin, capture_output=True, env=environment, cwd=directory, timeout=120, umask=0o022
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr, snapshot(directory), before, time.monotonic() - start)


SEALER = [sys.executable, "-m", "sealer"]


def run_case(case: Case, assets: Assets, workdir: Path) -> Outcome:
    argv = [assets.fill(a) for a in case.argv]
    stdin = assets.fill_bytes(case.stdin)
    env = {k: assets.fill(v) for k, v in case.env.items()}
    files = {
        k: (assets.fill_bytes(v[0]), v[1]) if isinstance(v, tuple) else (assets.fill_bytes(v), 0o644)
        for k, v in case.files.items()
    }
    base = workdir / case.id
    with ThreadPoolExecutor(3) as pool:
        theirs = pool.submit(run_tool, [str(assets.kubeseal)], argv, stdin, env, files, base / "kubeseal")
        ours = pool.submit(run_tool, SEALER, argv, stdin, env, files, base / "sealer")
        nohint = (
            pool.submit(run_tool, SEALER, [*argv, "--no-key-hint"], stdin, env, files, base / "nohint")
            if case.kind == "seal" and not case.error
            else None
        )
        outcome = Outcome(case, theirs.result(), ours.result(), nohint.result() if nohint else None)
    if case.kind == "seal" and outcome.sealer.returncode == 0 and outcome.sealer.output(case).strip():
        # kubeseal's recovery reads one document: the first one of a stream.
        first = json.dumps(documents(outcome.sealer.output(case))[0]).encode()
        outcome.kubeseal_opens_sealer = run_tool(
            [str(assets.kubeseal)], opener(assets, case), first, {}, {}, base / "kubeseal-opens"
        )
    return outcome


def opener(assets: Assets, case: Case) -> list[str]:
    return ["--recovery-unseal", "--recovery-private-key", assets.values[case.opening_key]]


def sealer_opens(outcomes: list[Outcome], assets: Assets, workdir: Path) -> None:
    """sealer opens what kubeseal sealed: all of it in one process (sealer opens every document of
    a stream), one process per case only if that fails, to tell which."""
    sealed = [
        o
        for o in outcomes
        if o.case.kind == "seal" and o.kubeseal.returncode == 0 and o.kubeseal.output(o.case).strip()
    ]
    keys = sorted({assets.values[o.case.opening_key] for o in sealed})
    stream = [(o, documents(o.kubeseal.output(o.case))) for o in sealed]
    everything = "".join(json.dumps(d) + "\n" for _, docs in stream for d in docs).encode()
    together = run_tool(
        SEALER,
        ["--recovery-unseal", "--recovery-private-key", ",".join(keys)],
        everything,
        {},
        {},
        workdir / "sealer-opens-all",
    )
    if together.returncode == 0:
        secrets = documents(together.stdout)
        for o, docs in stream:
            mine, secrets = secrets[: len(docs)], secrets[len(docs) :]
            o.sealer_opens_kubeseal = Run(together.argv, 0, "".join(json.dumps(s) for s in mine).encode(), b"", {}, {})
        return
    for o in sealed:
        o.sealer_opens_kubeseal = run_tool(
            SEALER, opener(assets, o.case), o.kubeseal.output(o.case), {}, {}, workdir / o.case.id / "sealer-opens"
        )


def run_all(cases: list[Case], assets: Assets, workdir: Path) -> dict[str, Outcome]:
    with ThreadPoolExecutor(SEAL_WORKERS) as pool:
        outcomes = list(pool.map(lambda c: run_case(c, assets, workdir), cases))
    sealer_opens(outcomes, assets, workdir)
    return {o.case.id: o for o in outcomes}


# --- reading outputs ------------------------------------------------------------------------------


def documents(data: bytes) -> list[Any]:
    """The objects of a JSON (concatenated) or YAML (---) stream."""
    text = data.decode()
    if text.lstrip().startswith("{"):
        decoder, pos, out = json.JSONDecoder(), 0, []
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                return out
            obj, pos = decoder.raw_decode(text, pos)
            out.append(obj)
    return [d for d in yaml.safe_load_all(text) if d is not None]


def without_hint(doc: Any) -> Any:
    """A SealedSecret as kubeseal would have written it: sealer's key-hint annotation removed."""
    if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
        annotations = doc["metadata"].get("annotations")
        if isinstance(annotations, dict) and KEY_HINT in annotations:
            annotations = {k: v for k, v in annotations.items() if k != KEY_HINT}
            doc = {**doc, "metadata": {**doc["metadata"], "annotations": annotations}}
            if not annotations:
                del doc["metadata"]["annotations"]
    return doc


def opened_data(run: Run) -> list[dict[str, Any]]:
    """What each opened Secret holds: name, namespace, type and plaintext items."""
    out = []
    for doc in documents(run.stdout):
        meta = doc.get("metadata") or {}
        data = {k: base64.b64decode(v or "") for k, v in (doc.get("data") or {}).items()}  # null: empty
        out.append(
            {"name": meta.get("name"), "namespace": meta.get("namespace"), "type": doc.get("type"), "data": data}
        )
    return out


def one_line_error(run: Run) -> str:
    """sealer's error contract: exactly one line on stderr, starting ``error: ``."""
    lines = [line for line in run.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], f"not one error line: {run.err!r}"
    assert "Traceback" not in run.err
    return errors[0]


def written_modes(run: Run) -> dict[str, int]:
    return {name: mode for name, (mode, _) in run.written.items()}

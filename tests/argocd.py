"""Argo CD's own health check for SealedSecrets, run by a real Lua 5.1 interpreter.

The script is Argo CD's `resource_customizations/bitnami.com/SealedSecret/health.lua`, taken at
test time from the Argo CD Go module on the module proxy (`go mod download`), never copied here.
Argo CD runs it in gopher-lua, a Lua 5.1; Debian's lua5.1 (+ lua-cjson to hand it the object) comes
from .ci/system-packages.sh. Missing pieces skip the tests, or fail them in CI (tests/peers.py policy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from tests.peers import unavailable

# v3.6 needs Go 1.27 to be downloaded with this machine's Go (1.26); 3.5 has the same script.
MODULE, VERSION = "github.com/argoproj/argo-cd/v3", "v3.5.7"
SCRIPT = Path("resource_customizations/bitnami.com/SealedSecret")
LUA = "lua5.1"

# Argo CD sets the live object as the global `obj`, runs the script and reads the table it
# returns. Argo's Go-to-Lua conversion turns JSON null into nil, which cjson would not: the
# caller drops nulls first (see _without_nulls).
_RUNNER = """
local cjson = require "cjson"
obj = cjson.decode(io.read("*a"))
local check = assert(loadfile(os.getenv("ARGO_HEALTH_LUA")))
io.write(cjson.encode(check()))
"""


@cache
def _module_dir() -> Path | str:
    if shutil.which("go") is None:
        return "Go toolchain not found on PATH: cannot download Argo CD's health checks"
    # GOFLAGS=-mod=mod: whatever go.mod is around plays no part in a plain download.
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
    )
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        return f"go mod download {MODULE}@{VERSION} failed: {proc.stderr.strip()[-300:]}"
    if info.get("Error") or not info.get("Dir"):
        return f"go mod download {MODULE}@{VERSION} failed: {info.get('Error')}"
    return Path(info["Dir"])


def check_dir() -> Path:
    """Argo CD's directory for the SealedSecret check (health.lua, its health_test.yaml, testdata)."""
    if shutil.which(LUA) is None:
        unavailable(f"{LUA} not found (.ci/system-packages.sh installs lua5.1 and lua-cjson)")
    found = _module_dir()
    if isinstance(found, str):
        unavailable(found)
    return found / SCRIPT


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def health(obj: dict, script: Path | None = None) -> dict:
    """Argo CD's verdict on the SealedSecret `obj`: {"status": ..., "message": ...}."""
    script = script or check_dir() / "health.lua"
    proc = subprocess.run(
        [LUA, "-e", _RUNNER],
        input=json.dumps(_without_nulls(obj), ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ARGO_HEALTH_LUA": str(script)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{LUA} {script.name} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)

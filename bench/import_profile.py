"""What start-up costs: the `python -X importtime` profile of the CLI's two start paths.

  seal:  `sealer seal --cert cert.pem` with one Secret on stdin, offline (the cold seal)
  help:  `sealer --help`

For each: the median wall and CPU time (user + system, steadier than wall time on a busy machine)
of the whole process (unprofiled runs: the profiler's bookkeeping inflates the others), the
median total import time, the number of modules, and the top-level
packages by import time (self time summed over their modules) of the median run. The
import-linter contracts (pyproject.toml) keep kubernetes, prometheus_client, keyring and urllib3
off these paths; this shows what the paths do cost.

Run: .venv/bin/python bench/import_profile.py [--runs N] [--compare DIR]
  --compare DIR: also profile another checkout's code (e.g. `git worktree`/`git archive` of an
  older commit) with the same interpreter, through `python -m sealer` for both, side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, table

CERT = REPO / "examples" / "example-cert.pem"
SECRET = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: team\nstringData:\n  password: hunter2\n"
HEAVY = ("kubernetes", "prometheus_client", "keyring", "urllib3")
SCENARIOS = (
    ("seal --cert (offline)", ["seal", "--cert", str(CERT), "-o", "yaml"], SECRET),
    ("--help", ["--help"], b""),
)


def run(command: list[str], stdin: bytes, env: dict, *, profile: bool) -> tuple[float, float, dict[str, int]]:
    """One process: wall seconds, CPU seconds (user + system: far steadier than wall time on a
    busy machine) and, when profiled, {module: self microseconds}."""
    wall, cpu, modules, _ = run_profiled(command, stdin, env, profile=profile)
    return wall, cpu, modules


def run_profiled(
    command: list[str], stdin: bytes, env: dict, *, profile: bool = True
) -> tuple[float, float, dict[str, int], dict[str, int]]:
    """``run``, and {module: cumulative microseconds} (the module with everything it imported)."""
    argv = [command[0], "-X", "importtime", *command[1:]] if profile else command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # From the code's own directory: `python -m` puts the working directory first on sys.path.
    proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=env.get("PYTHONPATH") or REPO)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.decode(errors='replace')[-500:]}")
    modules: dict[str, int] = {}
    cumulative: dict[str, int] = {}
    for line in proc.stderr.decode(errors="replace").splitlines():
        if profile and line.startswith("import time:") and "[us]" not in line:
            self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
            modules[name] = int(self_us)
            cumulative[name] = int(cumulative_us)
    return elapsed, cpu, modules, cumulative


def measure(targets: list[tuple[str, list[str], dict]], argv: list[str], stdin: bytes, runs: int) -> dict[str, dict]:
    """Each target's figures, their runs interleaved (the machine's load then weighs on all alike)."""
    walls: dict[str, list[float]] = defaultdict(list)
    cpus: dict[str, list[float]] = defaultdict(list)
    profiles: dict[str, list[dict[str, int]]] = defaultdict(list)
    for _name, command, env in targets:
        run([*command, *argv], stdin, env, profile=False)  # warm the page cache and the .pyc files
    for _ in range(runs):
        for name, command, env in targets:
            wall, cpu, _ = run([*command, *argv], stdin, env, profile=False)
            walls[name].append(wall * 1000)
            cpus[name].append(cpu * 1000)
            profiles[name].append(run([*command, *argv], stdin, env, profile=True)[2])
    results = {}
    for name, _, _ in targets:
        ordered = sorted(profiles[name], key=lambda m: sum(m.values()))
        median = ordered[len(ordered) // 2]
        packages: dict[str, int] = defaultdict(int)
        for module, us in median.items():
            packages[module.split(".")[0]] += us
        heavy = sorted({m.split(".")[0] for p in ordered for m in p if m.split(".")[0] in HEAVY})
        results[name] = {
            "wall": statistics.median(walls[name]),
            "wall_min": min(walls[name]),
            "cpu": statistics.median(cpus[name]),
            "imports": sum(median.values()) / 1000,
            "imports_min": sum(ordered[0].values()) / 1000,
            "modules": len(median),
            "packages": sorted(packages.items(), key=lambda kv: -kv[1]),
            "heavy": heavy,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--compare", metavar="DIR", help="another checkout to profile side by side")
    args = parser.parse_args()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_") and k != "PYTHONPROFILEIMPORTTIME"
    }
    env["KUBECONFIG"] = os.devnull  # nothing may need a cluster
    if args.compare:
        targets = [
            (
                Path(args.compare).name or args.compare,
                [sys.executable, "-m", "sealer"],
                {**env, "PYTHONPATH": str(Path(args.compare).resolve())},
            ),
            ("this checkout", [sys.executable, "-m", "sealer"], {**env, "PYTHONPATH": str(REPO)}),
        ]
    else:  # the console script, as users start it
        targets = [("this checkout", [sys.executable, str(Path(sys.executable).parent / "sealer")], env)]

    results = {}
    for label, argv, stdin in SCENARIOS:
        for name, r in measure(targets, argv, stdin, args.runs).items():
            results[label, name] = r
            print(
                f"\nsealer {label} [{name}]: wall {r['wall']:.1f} ms median, {r['wall_min']:.1f} min (of {args.runs}); "
                f"CPU {r['cpu']:.1f} ms median; "
                f"imports {r['imports']:.1f} ms median, {r['imports_min']:.1f} min (profiled), {r['modules']} modules; "
                f"heavy packages: {', '.join(r['heavy']) or 'none'}"
            )
            total = sum(us for _, us in r["packages"]) or 1
            rows = [(pkg, f"{us / 1000:.1f}", f"{100 * us / total:.0f}%") for pkg, us in r["packages"][: args.top]]
            print(table(rows, ("package", "self ms", "share")))
    if len(targets) == 2:
        (old, *_), (new, *_) = targets
        rows = []
        for label, _, _ in SCENARIOS:
            a, b = results[label, old], results[label, new]
            rows.append(
                (
                    label,
                    f"{a['wall']:.1f} / {a['wall_min']:.1f}",
                    f"{b['wall']:.1f} / {b['wall_min']:.1f}",
                    f"{b['wall'] / a['wall']:.2f}",
                    f"{a['cpu']:.1f}",
                    f"{b['cpu']:.1f}",
                    f"{b['cpu'] / a['cpu']:.2f}",
                    f"{a['imports']:.1f}",
                    f"{b['imports']:.1f}",
                    f"{a['modules']} -> {b['modules']}",
                )
            )
        print(
            f"\nwall: median / min ms; CPU (user+sys): median ms; imports: median ms (profiled). {old} -> this checkout:"
        )
        header = (
            "sealer",
            f"wall {old}",
            "wall now",
            "ratio",
            f"CPU {old}",
            "CPU now",
            "ratio",
            f"imports {old}",
            "imports now",
            "modules",
        )
        print(table(rows, header))


if __name__ == "__main__":
    main()

"""How long the pre-commit hooks take, next to detect-secrets on the same files.

pre-commit starts one hook process per batch of files, so a hook's start-up is paid on every
commit: this measures whole processes, wall time, median of repeated runs, over 10 files and over
1,000 files of a realistic GitOps mix (Deployments with Services, ConfigMaps, kustomizations,
SealedSecrets, and a few plaintext Secrets). Goals: 10 files < 100 ms, 1,000 files < 1 s.

    .venv/bin/python bench/hooks_bench.py [--runs-small 15] [--runs-large 5] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
GOALS_MS = {10: 100.0, 1000: 1000.0}

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: registry.example.com/{name}:1.4.2
          ports: [{{containerPort: 8080}}]
          envFrom:
            - configMapRef: {{name: {name}-config}}
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {{name: {name}-db, key: password}}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
          readinessProbe:
            httpGet: {{path: /healthz, port: 8080}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector: {{app: {name}}}
  ports:
    - port: 80
      targetPort: 8080
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "search,checkout,recommendations"
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
    cache:
      ttl: 300
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {ns}
resources:
  - deployment.yaml
  - configmap.yaml
  - sealedsecret.yaml
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {name}-db
  namespace: {ns}
type: Opaque
stringData:
  username: app
  password: correct-horse-battery-staple-{name}
"""


def make_files(root: Path, count: int) -> list[str]:
    """``count`` files, mixed like a GitOps repository: per app a Deployment+Service, a ConfigMap,
    a kustomization and a SealedSecret; every 25th app commits a plaintext Secret instead."""
    from sealer.core.certs import load_certificate
    from sealer.core.manifests import dump_yaml
    from sealer.core.sealing import Sealer

    sealer = Sealer(load_certificate(str(REPO / "examples/example-cert.pem")))  # 4096-bit, as Bitnami's default
    files: list[str] = []
    app = 0
    while len(files) < count:
        name, ns = f"app{app:04d}", f"team{app % 7}"
        d = root / "apps" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "deployment.yaml").write_text(DEPLOYMENT.format(name=name, ns=ns))
        (d / "configmap.yaml").write_text(CONFIGMAP.format(name=name, ns=ns))
        (d / "kustomization.yaml").write_text(KUSTOMIZATION.format(ns=ns))
        secret = SECRET.format(name=name, ns=ns)
        if app % 25 == 24:
            (d / "sealedsecret.yaml").write_text(secret)
        else:
            import yaml

            sealed = sealer.seal_secret(yaml.safe_load(secret))
            (d / "sealedsecret.yaml").write_text(dump_yaml(sealed))
        files += [
            f"apps/{name}/{f}" for f in ("deployment.yaml", "configmap.yaml", "sealedsecret.yaml", "kustomization.yaml")
        ]
        app += 1
    return files[:count]


def tools() -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    # The same as the console scripts pyproject declares, whether or not they are installed yet.
    launch = "import sys; from sealer.hooks.{} import main; sys.exit(main())"
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],  # the floor: interpreter start-up alone
        "sealer-no-plaintext-secrets": [sys.executable, "-c", launch.format("no_plaintext")],
        "sealer-validate-sealed": [sys.executable, "-c", launch.format("validate_sealed")],
    }
    for name in out:
        if (bindir / name).exists():
            out[name] = [str(bindir / name)]
    ds = bindir / "detect-secrets-hook"
    if ds.exists() or shutil.which("detect-secrets-hook"):
        out["detect-secrets-hook"] = [str(ds) if ds.exists() else "detect-secrets-hook"]
    return out


def measure(cmd: list[str], files: list[str], cwd: Path, runs: int) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    subprocess.run([*cmd, *files], cwd=cwd, capture_output=True, env=env)  # warm-up: page cache, .pyc
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*cmd, *files], cwd=cwd, capture_output=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-small", type=int, default=15, help="runs over 10 files (default 15)")
    parser.add_argument("--runs-large", type=int, default=5, help="runs over 1,000 files (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a sealer hook misses its goal")
    args = parser.parse_args(argv)

    results: dict[tuple[int, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="hooks-bench-") as tmp:
        root = Path(tmp)
        files = make_files(root, 1000)
        for count, runs in ((10, args.runs_small), (1000, args.runs_large)):
            # Every 4th file of the first ten is a plaintext Secret's place: keep one in the small set.
            batch = files[:count] if count > 10 else files[:8] + [files[4 * 24 + 2], files[9]]
            for tool, cmd in tools().items():
                results[count, tool] = measure(cmd, batch, root, runs)

    print(f"{'files':>5}  {'hook':<28} {'median ms':>10}  {'vs detect-secrets':>17}  goal")
    failed = False
    for (count, tool), ms in results.items():
        ds = results.get((count, "detect-secrets-hook"))
        ratio = f"{ms / ds:.3f}x" if ds else "n/a"
        goal = ""
        if tool.startswith("sealer-"):
            ok = ms < GOALS_MS[count]
            failed |= not ok
            goal = f"< {GOALS_MS[count]:.0f} ms {'ok' if ok else 'MISSED'}"
        print(f"{count:>5}  {tool:<28} {ms:>10.1f}  {ratio:>17}  {goal}")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())

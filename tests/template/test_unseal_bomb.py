"""`sealer unseal` renders spec.template.data too: an admin opening a bomb offline gets a one-line
error, fast, a non-zero exit, and the process stays small (its peak RSS measured by wait4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.template.test_bombs import ISSUE_BOMB

SECRET = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
                     "stringData": {"password": "s3cr3t-bomb-value"}})




def test_unseal_of_a_template_bomb_fails_with_one_line(test_key, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    sealed = subprocess.run([sys.executable, "-m", "sealer", "--cert", str(test_key.cert_path)], input=SECRET.encode(),
                            capture_output=True, env=env, cwd=tmp_path, timeout=60, check=True).stdout
    doc = json.loads(sealed)
    doc["spec"]["template"]["data"] = {"bomb": ISSUE_BOMB.replace('(repeat 1000000 "a")', "(repeat 50000 .password)")}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sealer", "unseal", "--recovery-private-key", str(test_key.key_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    proc.stdin.write(json.dumps(doc).encode())
    proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not the test run's
    elapsed = time.monotonic() - start
    out, err = proc.stdout.read(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert "template data.bomb" in err and "error calling toJson: result exceeds the 1048576-byte limit" in err, err
    assert "s3cr3t" not in err and out == b""
    print(f"unseal of the bomb: {elapsed:.2f} s, peak RSS {usage.ru_maxrss // 1024} MiB: {err.strip()}")
    assert usage.ru_maxrss < 150 * 1024, f"peak RSS {usage.ru_maxrss} KiB"  # Linux: KiB; the CLI idles at ~40 MiB
    assert elapsed < 30, elapsed

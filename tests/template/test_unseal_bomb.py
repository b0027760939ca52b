"""`sealer unseal` renders spec.template.data too: an admin opening a bomb offline gets a one-line
error, fast, a non-zero exit, and the process stays small (its peak RSS measured)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.template.test_bombs import ISSUE_BOMB

SECRET = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": {"password": "s3cr3t-bomb-value"},
    }
)


# The CLI's peak RSS, from a small parent: a child of the (big) test process would inherit the test
# process's high-water mark at exec (Linux keeps the larger of the old and new address space's).
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def test_unseal_of_a_template_bomb_fails_with_one_line(test_key, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    sealed = subprocess.run(
        [sys.executable, "-m", "sealer", "--cert", str(test_key.cert_path)],
        input=SECRET.encode(),
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    ).stdout
    doc = json.loads(sealed)
    doc["spec"]["template"]["data"] = {"bomb": ISSUE_BOMB.replace('(repeat 1000000 "a")', "(repeat 50000 .password)")}
    start = time.monotonic()
    rss = tmp_path / "maxrss"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            str(rss),
            sys.executable,
            "-m",
            "sealer",
            "unseal",
            "--recovery-private-key",
            str(test_key.key_path),
        ],
        input=json.dumps(doc).encode(),
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - start
    out, err = proc.stdout, proc.stderr.decode()
    maxrss_kib = int(rss.read_text())
    assert proc.returncode == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert "template data.bomb" in err and "error calling toJson: result exceeds the 1048576-byte limit" in err, err
    assert "s3cr3t" not in err and out == b""
    print(f"unseal of the bomb: {elapsed:.2f} s, peak RSS {maxrss_kib // 1024} MiB: {err.strip()}")
    assert maxrss_kib < 150 * 1024, f"peak RSS {maxrss_kib} KiB"  # the CLI alone takes ~50 MiB
    assert elapsed < 30, elapsed

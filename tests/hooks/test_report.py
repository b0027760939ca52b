"""Output formats: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning dashboards;
and the exit status and start-up cost pre-commit relies on."""

from __future__ import annotations

import json
import subprocess
import sys

from sealer.hooks.findings import NO_PLAINTEXT_RULES, RULES, VALIDATE_SEALED_RULES
from tests.hooks.conftest import REPO

SECRET = "kind: Secret\nmetadata: {name: db}\nstringData:\n  password: hunter2\n"
ALLOWED = (
    "kind: Secret\nmetadata:\n  name: fixture\n  annotations:\n    sealer.dev/allow-plaintext: a test fixture\n"
    "stringData:\n  password: hunter2\n"
)


def test_json_is_an_array_of_findings(check):
    r = check({"dir with space/s.yaml": SECRET, "clean.yaml": "a: 1\n"})
    assert r.rc == 1
    (finding,) = json.loads(r.out)
    assert finding == {
        "path": "dir with space/s.yaml",
        "line": 4,
        "rule": "plaintext-secret",
        "level": "error",
        "message": 'Secret "db" has plaintext stringData.password',
    }
    assert check({"clean.yaml": "a: 1\n"}).out == "[]\n"


def test_sarif_shape(check):
    r = check({"dir with space/s.yaml": SECRET, "allowed.yaml": ALLOWED}, fmt="sarif")
    assert r.rc == 1
    sarif = json.loads(r.out)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sealer-no-plaintext-secrets"
    assert [rule["id"] for rule in driver["rules"]] == list(NO_PLAINTEXT_RULES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["name"].isalnum()
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    active, suppressed = run["results"]
    assert active["ruleId"] == "plaintext-secret"
    assert driver["rules"][active["ruleIndex"]]["id"] == active["ruleId"]
    assert active["level"] == "error"
    assert active["message"]["text"] == 'Secret "db" has plaintext stringData.password'
    (location,) = active["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "dir%20with%20space/s.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["physicalLocation"]["region"] == {"startLine": 4}
    assert "suppressions" not in active
    assert suppressed["suppressions"] == [{"kind": "inSource", "justification": "a test fixture"}]


def test_sarif_for_validate_sealed_and_config_suppressions(check):
    files = {
        ".sealer.yaml": "allow:\n- {path: old/*, rule: sealed-value, reason: migrated next sprint}\n",
        "old/s.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x, namespace: y}\n"
        "spec:\n  encryptedData:\n    k: AAAA\n",
    }
    r = check(files, hook="validate-sealed", fmt="sarif", names=["old/s.yaml"])
    assert r.rc == 0
    (run,) = json.loads(r.out)["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(VALIDATE_SEALED_RULES)
    (result,) = run["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": "migrated next sprint"}]


def test_rules_are_registered_once_each():
    assert set(NO_PLAINTEXT_RULES) | set(VALIDATE_SEALED_RULES) == set(RULES)
    assert not set(NO_PLAINTEXT_RULES) & set(VALIDATE_SEALED_RULES)


def test_entry_points_run_as_scripts(tmp_path):
    (tmp_path / "s.yaml").write_text(SECRET)
    for module, rc in (("sealer.hooks.no_plaintext", 1), ("sealer.hooks.validate_sealed", 0)):
        p = subprocess.run(
            [sys.executable, "-m", module, "s.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert p.returncode == rc, p.stderr
    p = subprocess.run(
        [sys.executable, "-m", "sealer.hooks.no_plaintext", "--help"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0 and "--format" in p.stdout


def test_hooks_import_nothing_heavy(tmp_path):
    """Start-up is paid per batch of files: no click, kubernetes or cryptography in a run over
    Secrets and SealedSecrets (cryptography only when .sealer.yaml lists certificates)."""
    (tmp_path / "s.yaml").write_text(
        SECRET + "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"
        "metadata: {name: x, namespace: y}\nspec:\n  encryptedData:\n    k: AAAA\n"
    )
    code = (
        "import io, sys, contextlib\n"
        "from sealer.hooks import no_plaintext, validate_sealed\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    no_plaintext.main(['s.yaml']), validate_sealed.main(['s.yaml'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'kubernetes', 'cryptography'))\n"
        "print('heavy:', *heavy)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "heavy:\n"


def test_pre_commit_hook_definitions():
    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["sealer-no-plaintext-secrets", "sealer-validate-sealed"]
    assert all(h["language"] == "python" and h["entry"] == h["id"] for h in hooks)
    scripts = (REPO / "pyproject.toml").read_text()
    assert 'sealer-no-plaintext-secrets = "sealer.hooks.no_plaintext:main"' in scripts
    assert 'sealer-validate-sealed = "sealer.hooks.validate_sealed:main"' in scripts

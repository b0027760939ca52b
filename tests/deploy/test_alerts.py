"""deploy/monitoring/prometheusrule.yaml under promtool: `check rules` and the unit tests in
deploy/monitoring/alerts_test.yaml. promtool is built from the Go module proxy by
`.ci/build-peers.sh prometheus` (cached); the skip/fail policy is tests/peers.py's: skipped
without Go, mandatory in CI (CI=true)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.peers import peer_bin_dir

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"


@pytest.fixture(scope="module")
def promtool() -> Path:
    path = peer_bin_dir("prometheus") / "promtool"
    assert path.is_file(), f"build-peers.sh prometheus did not produce {path}"
    return path


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    """The PrometheusRule's spec as a plain rules file, next to a copy of the unit tests."""
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    shutil.copy(MONITORING / "alerts_test.yaml", tmp_path / "alerts_test.yaml")
    return tmp_path


def run(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_rules_are_valid(promtool, rules_dir):
    proc = run(promtool, "check", "rules", "rules.yaml", cwd=rules_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_alert_unit_tests_pass(promtool, rules_dir):
    proc = run(promtool, "test", "rules", "alerts_test.yaml", cwd=rules_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "old, new",
    [
        ("for: 15m", "for: 5m"),
        ("(720 + 24) * 3600", "(720 + 23) * 3600"),
        ('absent(up{job=~".*sealed-secrets.*"} == 1)', 'absent(up{job=~".*sealed-secrets.*"})'),
        ('sealed_secrets_controller_condition_info{condition="Synced"}', "sealed_secrets_controller_condition_info"),
        (
            "sum by (namespace, job) (sealed_secrets_controller_leader) != 1",
            "sum(sealed_secrets_controller_leader) < 1",
        ),
        (
            "key_without_escrow_seconds)",
            "key_without_escrow_seconds) / 2",
        ),
        (
            "max by (namespace, job) (sealed_secrets_controller_key_without",
            "sum by (namespace, job) (sealed_secrets_controller_key_without",
        ),
    ],
    ids=[
        "not-synced-for",
        "rotation-threshold",
        "absent-ignores-up-value",
        "not-synced-any-condition",
        "leaderless-also-two-leaders",
        "without-escrow-threshold",
        "without-escrow-one-per-installation",
    ],
)
def test_alert_unit_tests_catch_changes(promtool, rules_dir, old, new):
    """The unit tests have teeth: each of these edits makes them fail."""
    rules = rules_dir / "rules.yaml"
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new))
    proc = run(promtool, "test", "rules", "alerts_test.yaml", cwd=rules_dir)
    assert proc.returncode != 0, proc.stdout

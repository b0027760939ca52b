"""Controller flags: Bitnami's names and defaults, env vars, Go-style booleans and durations."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from controller import config


def test_defaults_match_bitnami(monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("SEALED_SECRETS_"):
            monkeypatch.delenv(k)
    args = config.parser().parse_args([])
    assert args.key_prefix == "sealed-secrets-key" and args.key_size == 4096
    assert args.key_renew_period == dt.timedelta(hours=720)
    assert args.update_status is True and args.all_namespaces is True and args.skip_recreate is False
    assert args.listen_addr == ":8080" and args.listen_metrics_addr == ":8081"
    assert args.rate_limit == 2 and args.rate_limit_burst == 2 and args.log_format == "text"


def test_retirement_and_certificate_configmap_flags(monkeypatch):
    monkeypatch.delenv("SEALED_SECRETS_RETIRED_KEY_GRACE_PERIOD", raising=False)
    monkeypatch.delenv("SEALED_SECRETS_CERTIFICATE_CONFIGMAP", raising=False)
    default = config.Config(config.parser().parse_args([]))
    assert default.retired_grace == dt.timedelta(days=30)
    assert default.args.certificate_configmap == "sealed-secrets-controller-certs"
    monkeypatch.setenv("SEALED_SECRETS_RETIRED_KEY_GRACE_PERIOD", "90s")
    args = config.parser().parse_args(["--certificate-configmap", ""])
    assert config.Config(args).retired_grace == dt.timedelta(seconds=90) and args.certificate_configmap == ""


def test_go_style_booleans():
    p = config.parser()
    assert p.parse_args(["--update-status"]).update_status is True
    assert p.parse_args(["--update-status=false"]).update_status is False
    assert p.parse_args(["--all-namespaces=0"]).all_namespaces is False


def test_env_vars_set_flags_and_flags_win(monkeypatch):
    monkeypatch.setenv("SEALED_SECRETS_KEY_RENEW_PERIOD", "1h30m")
    monkeypatch.setenv("SEALED_SECRETS_UPDATE_STATUS", "false")
    monkeypatch.setenv("SEALED_SECRETS_KEY_PREFIX", "from-env")
    args = config.parser().parse_args(["--key-prefix", "from-flag"])
    assert args.key_renew_period == dt.timedelta(hours=1, minutes=30)
    assert args.update_status is False and args.key_prefix == "from-flag"


def test_cutoff_and_rotation_policy():
    args = config.parser().parse_args(
        ["--key-cutoff-time", "Mon, 14 Oct 2024 21:45:30 +0200", "--key-renew-period", "0"]
    )
    policy = config.Config(args).rotation
    assert policy.cutoff == dt.datetime(2024, 10, 14, 19, 45, 30, tzinfo=dt.UTC)
    assert not policy.automatic


def test_namespaces_rule():
    p = config.parser()
    assert config.namespaces(p.parse_args([]), "kube-system") is None
    assert config.namespaces(p.parse_args(["--all-namespaces=false"]), "kube-system") == ("kube-system",)
    assert config.namespaces(p.parse_args(["--additional-namespaces", "a, b,a"]), "kube-system") == (
        "kube-system",
        "a",
        "b",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--key-renew-period", "soon"], "key-renew-period"),
        (["--key-cutoff-time", "yesterday"], "invalid cutoff time"),
        (["--log-format", "xml"], "--log-format"),
        (["--key-prefix", "Bad_Prefix"], "prefix"),
        (["--log-level", "LOUD"], "--log-level"),
        (["--listen-addr", "8080"], "--listen-addr"),
        (["--escrow-recipients", "Not_A_Name"], "--escrow-recipients"),
        (["--retired-key-grace-period", "a month"], "retired-key-grace-period"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, message, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "--kubeconfig", str(tmp_path / "none"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_version():
    out = subprocess.run(
        [sys.executable, "-m", "controller", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("controller version: v")

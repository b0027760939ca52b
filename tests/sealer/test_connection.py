"""kubectl's connection flags over the kubeconfig (sealer.kube.connection), without a cluster."""

from __future__ import annotations

import pytest
import yaml

from sealer.core.errors import SealerError
from sealer.kube.connection import (
    OVERRIDE,
    Connection,
    effective_kubeconfig,
    kubeconfig_paths,
    merged_kubeconfig,
    parse_request_timeout,
)

KUBECONFIG = {
    "current-context": "dev",
    "contexts": [
        {"name": "dev", "context": {"cluster": "dev", "user": "dev", "namespace": "team"}},
        {"name": "prod", "context": {"cluster": "prod", "user": "admin"}},
    ],
    "clusters": [
        {"name": "dev", "cluster": {"server": "https://dev:6443", "certificate-authority": "ca.crt"}},
        {"name": "prod", "cluster": {"server": "https://prod:6443", "certificate-authority-data": "Q0E="}},
    ],
    "users": [
        {"name": "dev", "user": {"exec": {"command": "get-token"}}},
        {"name": "admin", "user": {"client-certificate": "admin.crt", "client-key": "admin.key"}},
    ],
}


def effective(doc, **flags):
    out = effective_kubeconfig(doc, Connection(**flags))
    assert out["current-context"] == OVERRIDE

    def named(kind):
        return next(e[kind[:-1]] for e in out[kind] if e["name"] == OVERRIDE)

    return named("clusters"), named("users"), named("contexts")


def test_nothing_given_is_the_current_context():
    cluster, user, context = effective(KUBECONFIG)
    assert cluster["server"] == "https://dev:6443" and user == {"exec": {"command": "get-token"}}
    assert context["namespace"] == "team"


def test_context_cluster_and_user_pick_entries():
    cluster, user, _ = effective(KUBECONFIG, context="prod")
    assert cluster["server"] == "https://prod:6443" and "client-certificate" in user
    cluster, user, _ = effective(KUBECONFIG, cluster="prod", user="admin")
    assert cluster["server"] == "https://prod:6443" and "client-key" in user


def test_server_and_token_work_with_no_kubeconfig_at_all():
    cluster, user, context = effective({}, server="https://10.0.0.1:6443", token="t")
    assert cluster == {"server": "https://10.0.0.1:6443"} and user == {"token": "t"} and "namespace" not in context


def test_a_token_replaces_exec_plugins_and_basic_auth():
    _, user, _ = effective(KUBECONFIG, token="t")
    assert user == {"token": "t"}


def test_tls_flags():
    cluster, _, _ = effective(KUBECONFIG, context="prod", certificate_authority="/etc/ca.pem", tls_server_name="n")
    assert cluster["certificate-authority"] == "/etc/ca.pem" and "certificate-authority-data" not in cluster
    assert cluster["tls-server-name"] == "n"
    cluster, _, _ = effective(KUBECONFIG, context="prod", insecure_skip_tls_verify=True)
    assert cluster["insecure-skip-tls-verify"] is True and "certificate-authority-data" not in cluster


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"context": "nope"}, 'context "nope" does not exist'),
        ({"cluster": "nope"}, 'cluster "nope" does not exist'),
        ({"user": "nope"}, 'user "nope" does not exist'),
    ],
)
def test_names_that_do_not_exist_are_one_line_errors(flags, message):
    with pytest.raises(SealerError, match=message):
        effective_kubeconfig(KUBECONFIG, Connection(**flags))


def test_no_server_anywhere_says_what_to_give():
    with pytest.raises(SealerError, match="--kubeconfig, --context or --server"):
        effective_kubeconfig({}, Connection(token="t"))


def test_kubeconfig_files_merge_as_kubectl_merges_them(tmp_path):
    first, second = tmp_path / "a", tmp_path / "sub" / "b"
    second.parent.mkdir()
    first.write_text(
        yaml.safe_dump(
            {
                "current-context": "dev",
                "contexts": KUBECONFIG["contexts"][:1],
                "clusters": KUBECONFIG["clusters"][:1],
                "users": KUBECONFIG["users"][:1],
            }
        )
    )
    second.write_text(
        yaml.safe_dump(
            {
                "current-context": "prod",
                "contexts": KUBECONFIG["contexts"],
                "clusters": [{"name": "dev", "cluster": {"server": "https://other"}}, KUBECONFIG["clusters"][1]],
                "users": KUBECONFIG["users"],
            }
        )
    )
    paths = kubeconfig_paths(Connection(), {"KUBECONFIG": f"{first}:{tmp_path / 'missing'}:{second}"})
    assert paths == [str(first), str(second)]
    doc = merged_kubeconfig(paths)
    assert doc["current-context"] == "dev"  # the first file that sets it
    clusters = {c["name"]: c["cluster"] for c in doc["clusters"]}
    assert clusters["dev"]["server"] == "https://dev:6443"  # the first file wins
    assert clusters["dev"]["certificate-authority"] == str(tmp_path / "ca.crt")  # relative to its own file
    users = {u["name"]: u["user"] for u in doc["users"]}
    assert users["admin"]["client-key"] == str(tmp_path / "sub" / "admin.key")


def test_an_explicit_kubeconfig_must_exist(tmp_path):
    with pytest.raises(SealerError, match="no such file"):
        kubeconfig_paths(Connection(kubeconfig=str(tmp_path / "nope")), {})


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", None), ("30", 30.0), ("1.5", 1.5), ("30s", 30.0), ("2m", 120.0), ("1h30m", 5400.0)]
)
def test_request_timeout(text, seconds):
    assert parse_request_timeout(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-1", "5x"])
def test_bad_request_timeouts(text):
    with pytest.raises(SealerError, match="--request-timeout"):
        parse_request_timeout(text)

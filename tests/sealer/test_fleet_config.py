"""The fleet of .sealer.yaml (sealer.core.fleet): what a clusters: list may say, and the one-line
errors for what it may not."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealer.core.fleet import FleetError, load_fleet, parse_clusters

BASE = "/repo"


def fleet(*entries):
    return parse_clusters(list(entries), "/repo/.sealer.yaml", BASE)


def test_the_issue_example_parses():
    f = fleet(
        {
            "name": "production-east",
            "cert": "certs/production-east.pem",
            "path": "clusters/production-east/apps/{namespace}/{name}.sealed.yaml",
        },
        {
            "name": "staging",
            "context": "kind-staging",
            "path": "clusters/{cluster}/apps/{namespace}/{name}.yaml",
            "pq": True,
            "controller-namespace": "sealed-secrets",
        },
    )
    east, staging = f.clusters
    assert east.cert == "/repo/certs/production-east.pem" and east.context is None and not east.pq
    assert east.sealed_path("team-a", "db") == "clusters/production-east/apps/team-a/db.sealed.yaml"
    assert staging.cert is None and staging.context == "kind-staging" and staging.pq
    assert staging.controller_namespace == "sealed-secrets"
    assert staging.sealed_path("ns", "web") == "clusters/staging/apps/ns/web.yaml"
    assert f.names == ["production-east", "staging"]
    assert [c.name for c in f.select(["staging", "production-east", "staging"])] == ["staging", "production-east"]


def test_a_url_stays_a_url():
    (c,) = fleet({"name": "a", "cert": "https://certs.example/a.pem", "path": "{name}.yaml"}).clusters
    assert c.cert_is_url and c.cert == "https://certs.example/a.pem"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"name": "Prod", "cert": "c.pem"}, "name must be a DNS label"),
        ({"cert": "c.pem"}, "name must be a DNS label"),
        ({"name": "a"}, "needs cert: (a file or URL) or context:"),
        ({"name": "a", "cert": "c.pem", "colour": "red"}, "unknown key 'colour'"),
        ({"name": "a", "context": "x", "cert": "https://c/x.pem"}, "with context:, cert: is the file that caches"),
        ({"name": "a", "cert": "c.pem", "pq": "yes"}, "pq must be true or false"),
        ({"name": "a", "cert": ""}, "cert must be a non-empty string"),
        ({"name": "a", "cert": "c.pem", "path": "x/{namespace}.yaml"}, "path must contain {name}"),
        ({"name": "a", "cert": "c.pem", "path": "x/{secret}.yaml"}, "may use only {cluster}, {namespace} and {name}"),
        ({"name": "a", "cert": "c.pem", "path": "x/{name!r}.yaml"}, "may use only"),
        ({"name": "a", "cert": "c.pem", "path": "x/{name.yaml"}, "unmatched brace"),
        ({"name": "a", "cert": "c.pem", "path": "../{name}.yaml"}, "must stay inside the repository"),
        ({"name": "a", "cert": "c.pem", "path": "/etc/{name}.yaml"}, "must stay inside the repository"),
        ("a", "expected a map"),
    ],
)
def test_bad_entries_are_one_line_errors_naming_the_entry(entry, says):
    with pytest.raises(FleetError) as e:
        fleet(entry)
    message = str(e.value)
    assert says in message and "clusters entry 1" in message and "\n" not in message


def test_a_name_given_twice_and_an_unknown_cluster():
    with pytest.raises(FleetError, match="cluster 'a' is named twice"):
        fleet({"name": "a", "cert": "1.pem"}, {"name": "a", "cert": "2.pem"})
    f = fleet({"name": "a", "cert": "1.pem"})
    with pytest.raises(FleetError, match=r"cluster 'b' is not in /repo/.sealer.yaml \(known: a\)"):
        f.select(["b"])
    with pytest.raises(FleetError, match="names no clusters"):
        parse_clusters(None, "/repo/.sealer.yaml", BASE).select(["a"])


@given(st.text(min_size=1, max_size=30))
def test_a_secret_name_never_walks_out_of_the_cluster_directory(name):
    (c,) = fleet({"name": "a", "cert": "c.pem", "path": "clusters/{cluster}/{namespace}/{name}.yaml"}).clusters
    try:
        placed = c.sealed_path("ns", name)
    except FleetError:
        return
    assert os.path.normpath(placed).startswith("clusters/a/ns/")


def test_load_fleet_reads_the_repository_file(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / ".sealer.yaml").write_text("clusters:\n  - name: a\n    cert: certs/a.pem\n    path: a/{name}.yaml\n")
    f = load_fleet(start=str(tmp_path / "sub"))
    assert f.clusters[0].cert == str(tmp_path / "certs" / "a.pem")
    (tmp_path / ".sealer.yaml").write_text("clusters: [1]\n")
    with pytest.raises(FleetError, match="clusters entry 1: expected a map"):
        load_fleet(start=str(tmp_path))
    os.remove(tmp_path / ".sealer.yaml")
    with pytest.raises(FleetError, match="no .sealer.yaml found"):
        load_fleet(start=str(tmp_path))

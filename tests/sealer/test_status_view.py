"""`sealer status`'s pure parts (issue 12): one row per SealedSecret from its status and its
Secret's metadata, the table, the JSON, the summary, the exit status; and the reconcile request's
annotation and condition, as the controller writes them."""

from __future__ import annotations

import json

from sealer.core import sealed_status
from sealer.core.scope import KEY_HINT_ANNOTATION, RECONCILE_ANNOTATION
from sealer.core.sealed_status import DRIFT_DRIFTED, DRIFT_NONE, DRIFT_UNKNOWN, DRIFT_UNVERIFIED

FP = "SHA256:3f9a1c2b4d5eAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
RECORD = "Secret verified at resourceVersion 41; record v1 keys=3f9a1c2b4d5e state=abc_-1 check=def-_2"


def cond(kind, status, reason="", message=""):
    return {"type": kind, "status": status, "reason": reason, "message": message}


def sealed(name="db", ns="prod", generation=1, observed=1, conditions=None, annotations=None):
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": "u-1",
            "generation": generation,
            "annotations": {KEY_HINT_ANNOTATION: FP, **(annotations or {})},
        },
        "status": {
            "observedGeneration": observed,
            "conditions": conditions
            if conditions is not None
            else [
                cond("Synced", "True", "Unsealed"),
                cond("Ready", "True", "Unsealed"),
                cond("SecretInSync", "True", "Recorded", RECORD),
            ],
        },
    }


def owned_secret(rv="41"):
    return {
        "resourceVersion": rv,
        "ownerReferences": [{"kind": "SealedSecret", "uid": "u-1", "controller": True, "name": "db"}],
    }


def test_synced_row():
    r = sealed_status.row(sealed(), owned_secret(), secrets_known=True)
    assert r.ok and r.synced == "True" and r.ready == "True" and r.lag == 0
    assert r.opened_by == ("3f9a1c2b4d5e",) and r.sealed_for == (FP,)
    assert r.secret == "present" and r.owned is True and r.drift == DRIFT_NONE and r.problem == ""


def test_not_synced_rows_say_why():
    failed = sealed(
        conditions=[
            cond("Synced", "False", "ErrUnsealFailed", "no key could decrypt secret (password)"),
            cond("Ready", "False", "ErrUnsealFailed", "no key could decrypt secret (password)"),
        ]
    )
    r = sealed_status.row(failed, None, secrets_known=True)
    assert not r.ok and r.problem == "ErrUnsealFailed: no key could decrypt secret (password)"
    assert r.drift == DRIFT_UNKNOWN and r.secret == "absent"

    lagging = sealed_status.row(sealed(generation=3, observed=2), owned_secret(), secrets_known=True)
    assert not lagging.ok and lagging.lag == 1 and "generation 3 not observed" in lagging.problem

    gone = sealed_status.row(sealed(), None, secrets_known=True)
    assert not gone.ok and gone.problem == "the Secret does not exist"

    edited = sealed_status.row(sealed(), owned_secret(rv="57"), secrets_known=True)
    assert not edited.ok and edited.drift == DRIFT_UNVERIFIED

    reported = sealed(
        conditions=[
            cond("Synced", "False", "SecretDrifted", "Secret prod/db differs from its SealedSecret (data.password)"),
            cond("Ready", "False", "SecretDrifted", "x"),
            cond("SecretInSync", "False", "Drifted", RECORD.replace("verified", "differs from the SealedSecret")),
        ]
    )
    r = sealed_status.row(reported, owned_secret(rv="57"), secrets_known=True)
    assert not r.ok and r.drift == DRIFT_DRIFTED and "data.password" in r.problem

    never = sealed_status.row(
        {"metadata": {"name": "new", "namespace": "prod", "generation": 1}}, None, secrets_known=True
    )
    assert not never.ok and never.synced == "Unknown" and "no Synced condition" in never.problem


def test_without_secret_access_the_rest_still_counts():
    r = sealed_status.row(sealed(), None, secrets_known=False)
    assert r.ok and r.secret == "unknown" and r.drift == DRIFT_UNKNOWN and r.owned is None


def test_table_json_and_summary():
    rows = [
        sealed_status.row(sealed("a"), owned_secret(), secrets_known=True, cluster="east"),
        sealed_status.row(sealed("b"), None, secrets_known=True, cluster="west"),
    ]
    table = sealed_status.table(rows).splitlines()
    assert table[0].split() == [
        "CLUSTER",
        "NAMESPACE",
        "NAME",
        "SYNCED",
        "READY",
        "GEN",
        "KEYS",
        "SECRET",
        "DRIFT",
        "REASON",
    ]
    assert table[1].split()[:9] == ["east", "prod", "a", "True", "True", "1/1", "3f9a1c2b4d5e", "present", "none"]
    assert table[2].split()[:2] == ["west", "prod"] and table[2].endswith("the Secret does not exist")
    assert (
        sealed_status.summary_line(rows, 2)
        == "2 SealedSecrets in 2 clusters: 1 synced, 1 not synced (1 without Secret)"
    )
    doc = json.loads(json.dumps([r.to_json() for r in rows]))
    assert doc[0]["cluster"] == "east" and doc[0]["ok"] is True and doc[0]["openedBy"] == ["3f9a1c2b4d5e"]
    assert doc[1]["ok"] is False and doc[1]["secret"] == "absent" and doc[1]["reason"] == "the Secret does not exist"
    single = sealed_status.table([sealed_status.row(sealed("a"), owned_secret(), secrets_known=True)])
    assert single.split()[0] == "NAMESPACE"  # no cluster column outside a fleet


def test_reconcile_request_is_pending_until_handled():
    obj = sealed(annotations={RECONCILE_ANNOTATION: "2026-12-01T12:00:00.000000Z"})
    assert sealed_status.pending_request(obj) == "2026-12-01T12:00:00.000000Z"
    kind, ok, reason, message = sealed_status.request_condition("2026-12-01T12:00:00.000000Z", True, "Secret updated")
    obj["status"]["conditions"].append(cond(kind, "True" if ok else "False", reason, message))
    assert sealed_status.pending_request(obj) is None  # a restart over it costs nothing
    assert sealed_status.handled(obj["status"]) == ("2026-12-01T12:00:00.000000Z", True, "Secret updated")
    obj["metadata"]["annotations"][RECONCILE_ANNOTATION] = "2026-12-01T12:05:00Z"
    assert sealed_status.pending_request(obj) == "2026-12-01T12:05:00Z"
    # A value that is not a short token is not honoured (it would go into the status as is).
    for bad in ("", "a b", "x" * 65, "new\nline"):
        obj["metadata"]["annotations"][RECONCILE_ANNOTATION] = bad
        assert sealed_status.pending_request(obj) is None


def test_the_controller_reads_the_record_format_the_cli_reads():
    from controller import record

    status = sealed()["status"]
    assert record.parse(status) == record.Record(*sealed_status.parse_record(status))
    assert record.parse(status).message() == RECORD


# --- the command, in-process, with a fake client (the cluster is not the point here) ----------------


class FakeKube:
    """Answers `sealer status`'s two lists; records what was asked (paths and Accept headers)."""

    def __init__(self, sealed_items, secrets=None, forbid_secrets=False):
        self.sealed_items, self.secret_items, self.forbid = sealed_items, secrets or [], forbid_secrets
        self.asked = []

    def list(self, path, *, label_selector=None, accept="application/json"):
        self.asked.append((path, accept))
        if "/secrets" in path:
            if self.forbid:
                from sealer.kube.errors import Forbidden

                raise Forbidden(403, "Forbidden", "secrets is forbidden")
            return [{"metadata": m} for m in self.secret_items], "9"
        return self.sealed_items, "10"


def connect_to(kubes):
    seen = []

    def connect(conn, environ):
        seen.append(conn)
        return kubes[conn.context] if isinstance(kubes, dict) else kubes

    return connect, seen


def test_status_command_exit_codes_and_metadata_only(cli):
    kube = FakeKube([sealed("a")], [{"name": "a", "namespace": "prod", **owned_secret()}])
    connect, seen = connect_to(kube)
    r = cli("status", "-n", "prod", "--as", "viewer", connect=connect)
    assert r.status == 0, r.err
    assert r.out.splitlines()[-1] == "1 SealedSecret: 1 synced"
    assert seen[0].as_user == "viewer"
    assert kube.asked == [
        ("/apis/bitnami.com/v1alpha1/namespaces/prod/sealedsecrets", "application/json"),
        # The metadata-only form, with no fallback to full objects: never the Secrets' data.
        ("/api/v1/namespaces/prod/secrets", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
    ]
    kube = FakeKube([sealed("a"), sealed("b")], [{"name": "a", "namespace": "prod", **owned_secret()}])
    r = cli("status", "-A", "-o", "json", connect=connect_to(kube)[0])
    assert r.status == 1
    doc = json.loads(r.out)
    assert [i["ok"] for i in doc["items"]] == [True, False] and doc["summary"]["ok"] is False
    assert kube.asked[0][0] == "/apis/bitnami.com/v1alpha1/sealedsecrets"  # all namespaces

    r = cli("status", "-n", "prod", connect=connect_to(FakeKube([sealed("a")], forbid_secrets=True))[0])
    assert r.status == 0 and "not allowed to list Secrets" in r.err and " unknown " in r.out


def test_status_all_clusters_reaches_each_context(cli, tmp_path):
    config = tmp_path / ".sealer.yaml"
    config.write_text(
        "clusters:\n"
        "  - {name: east, context: ctx-east, kubeconfig: east.kubeconfig}\n"
        "  - {name: west, context: ctx-west}\n"
        "  - {name: filed, cert: certs/x.pem}\n"
    )
    kubes = {"ctx-east": FakeKube([sealed("a")], [{"name": "a", "namespace": "prod", **owned_secret()}])}
    kubes["ctx-west"] = FakeKube([sealed("b", observed=0)], [{"name": "b", "namespace": "prod", **owned_secret()}])
    connect, seen = connect_to(kubes)
    r = cli("status", "--all-clusters", "--config", str(config), "-n", "prod", connect=connect)
    assert r.status == 1
    assert [(c.context, c.kubeconfig) for c in seen] == [
        ("ctx-east", str(tmp_path / "east.kubeconfig")),
        ("ctx-west", None),
    ]
    lines = r.out.splitlines()
    assert lines[1].split()[:3] == ["east", "prod", "a"] and lines[2].split()[:3] == ["west", "prod", "b"]
    assert "generation 1 not observed yet" in lines[2]
    assert lines[-1] == "2 SealedSecrets in 2 clusters: 1 synced, 1 not synced (1 lagging)"
    assert "'filed' has no context" in r.err
    r = cli("status", "--cluster", "filed", "--config", str(config), connect=connect)
    assert r.status == 2 and "has no context" in r.err  # the configuration is wrong for this: a usage error
    r = cli("status", "--timeout", "soon", "--watch", "-n", "prod", connect=connect)
    assert r.status == 1 and "--timeout" in r.err


def test_table_cells_carry_no_terminal_escapes():
    hostile = sealed(
        conditions=[cond("Synced", "False", "Bad", "\x1b[2J\x1b[31mfake\nNAMESPACE line" + "x" * 1000)],
        annotations={},
    )
    out = sealed_status.table([sealed_status.row(hostile, None, secrets_known=True)])
    assert "\x1b" not in out and len(out.splitlines()) == 2 and max(len(line) for line in out.splitlines()) < 500


def test_an_unreachable_cluster_is_said_and_fails_the_gate(cli, tmp_path):
    from sealer.core.errors import SealerError

    config = tmp_path / ".sealer.yaml"
    config.write_text("clusters:\n  - {name: east, context: ctx-east}\n  - {name: west, context: ctx-west}\n")
    good = FakeKube([sealed("a")], [{"name": "a", "namespace": "prod", **owned_secret()}])

    class Down(FakeKube):
        def list(self, path, **kw):
            raise SealerError("cannot reach the cluster: 127.0.0.1:1: connection refused")

    r = cli(
        "status", "--all-clusters", "--config", str(config), "-n", "prod", "-o", "json",
        connect=connect_to({"ctx-east": good, "ctx-west": Down([])})[0],
    )  # fmt: skip
    assert r.status == 1
    assert r.err == "error: cluster west: cannot reach the cluster: 127.0.0.1:1: connection refused\n"
    doc = json.loads(r.out)
    assert [i["cluster"] for i in doc["items"]] == ["east"] and doc["summary"]["ok"] is False
    assert doc["errors"] == ["cluster west: cannot reach the cluster: 127.0.0.1:1: connection refused"]

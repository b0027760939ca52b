"""The body of `sealer clusters`: the fleet of .sealer.yaml, each cluster with where its certificate
comes from, the certificate's fingerprint and expiry, pq and its path pattern (docs/fleets.md).

Every cluster is listed even when one's certificate cannot be read: that row says so, the
error (one line naming the cluster and the file) goes to stderr, and the exit status is 1."""

from __future__ import annotations

import json
from typing import Any

from sealer.cli.arguments import ClustersOptions
from sealer.cli.environment import Environment
from sealer.cli.fleet_targets import certificate_for, chosen, describe_source, fleet_from
from sealer.core.errors import SealerError, UsageError


def cluster_rows(options: ClustersOptions, env: Environment) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per chosen cluster, and the problems found (one line each)."""
    fleet = fleet_from(options.config)
    clusters = chosen(fleet, options.cluster_names, not options.cluster_names)
    now = env.clock()
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for cluster in clusters:
        row: dict[str, Any] = {
            "name": cluster.name,
            "source": describe_source(cluster),
            "fingerprint": None,
            "notAfter": None,
            "daysLeft": None,
            "pq": cluster.pq,
            "path": cluster.path,
            "error": None,
        }
        # --refresh fetches only what comes from a cluster; files and URLs are read as they are.
        refresh = options.refresh and cluster.context is not None
        try:
            cc = certificate_for(cluster, env, refresh=refresh)
        except SealerError as e:
            row["error"] = " ".join(str(e).split())
            problems.append(row["error"])
        else:
            cert = cc.certificate
            row["fingerprint"] = cert.fingerprint
            if cert.not_after is not None:
                row["notAfter"] = cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
                row["daysLeft"] = (cert.not_after - now).days
            if cluster.pq and cert.mlkem_public is None:
                row["error"] = f"cluster {cluster.name}: pq: true, but its certificate has no ML-KEM-768 public key"
                problems.append(row["error"])
            if cc.fetched and cluster.cert:
                env.note(f"fetched the certificate of cluster {cluster.name} into {cluster.cert}")
        rows.append(row)
    return rows, problems


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("NAME", "CERTIFICATE", "FINGERPRINT", "EXPIRES", "DAYS", "PQ", "PATH")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r["name"],
                r["source"],
                r["fingerprint"] or "(error)",
                r["notAfter"] or "-",
                "-" if r["daysLeft"] is None else str(r["daysLeft"]),
                "yes" if r["pq"] else "no",
                r["path"] or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n" for line in lines
    )


def clusters(options: ClustersOptions, env: Environment) -> None:
    if options.fmt not in ("table", "json"):
        raise UsageError(f"--output {options.fmt}: expected table or json")
    rows, problems = cluster_rows(options, env)
    if options.fmt == "json":
        env.write(json.dumps(rows, indent=2) + "\n")
    else:
        env.write(_table(rows))
    if problems:
        for problem in problems[:-1]:
            env.note(f"error: {problem}")
        raise SealerError(problems[-1])

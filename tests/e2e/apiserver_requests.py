"""Counting what reached the API server, from its own ``apiserver_request_total`` (not from what a
client says it sent): the tests and the benchmark read writes and requests per object from it."""

from __future__ import annotations

import re
import ssl
import urllib.request
from collections import Counter

from tests.e2e.cluster import ControlPlane

_SERIES = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
WRITES = ("POST", "PUT", "PATCH", "APPLY", "DELETE")
# What a controller writes when it acts: it never deletes (the garbage collector and the namespace
# controller do, for other tests' namespaces, at any time).
CONTROLLER_WRITES = ("POST", "PUT", "PATCH", "APPLY")


def request_counts(plane: ControlPlane, *, successful_only: bool = False) -> Counter:
    """Requests so far by (verb, resource, subresource), e.g. ("POST", "events", ""); with
    ``successful_only``, only those answered 2xx (a refused write changed nothing)."""
    context = ssl.create_default_context(cafile=str(plane.dir / "ca.crt"))
    req = urllib.request.Request(plane.server + "/metrics", headers={"Authorization": f"Bearer {plane.admin_token}"})
    with urllib.request.urlopen(req, context=context, timeout=30) as resp:
        text = resp.read().decode()
    counts: Counter = Counter()
    for line in text.splitlines():
        m = _SERIES.match(line)
        if m:
            labels = dict(_LABEL.findall(m["labels"]))
            if successful_only and not labels.get("code", "").startswith("2"):
                continue
            counts[(labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))] += int(
                float(m["value"])
            )
    return counts


def delta(before: Counter, after: Counter, resources=("secrets", "sealedsecrets", "events"), verbs=None) -> Counter:
    """What changed between two readings, for these resources (and verbs, if given)."""
    out: Counter = Counter()
    for key, n in after.items():
        verb, resource, _ = key
        if resource in resources and (verbs is None or verb in verbs) and n - before.get(key, 0):
            out[key] = n - before.get(key, 0)
    return out


def quiet_namespaces(plane: ControlPlane, timeout: float = 90) -> None:
    """Wait until no namespace is being deleted: the namespace controller's and the garbage
    collector's work for earlier tests would otherwise land in a count of writes."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = plane.kubectl("get", "namespaces", "-o", "json").stdout
        items = json.loads(out)["items"]
        if not any((ns.get("status") or {}).get("phase") == "Terminating" for ns in items):
            return
        time.sleep(0.5)
    raise AssertionError("namespaces still terminating after 90 s")

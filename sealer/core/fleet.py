"""The fleet: the clusters a repository seals for, as ``.sealer.yaml`` names them.

    # .sealer.yaml, at the root of the Git repository
    clusters:
      - name: production-east
        cert: certs/production-east.pem     # a file (relative to this file), or an http(s) URL
        path: clusters/production-east/apps/{namespace}/{name}.sealed.yaml
      - name: staging
        context: kind-staging               # or: the certificate is fetched through this kubeconfig
        cert: certs/staging.pem             #   context, and kept in ``cert`` (the cache) when given
        path: clusters/staging/apps/{namespace}/{name}.sealed.yaml
        pq: true                            # seal in the hybrid post-quantum format (docs/format.md)

Each entry also takes ``kubeconfig`` (a path), ``controller-name`` and ``controller-namespace``
(kubeseal's ``--controller-name``/``--controller-namespace`` for that cluster). Parsing is pure: the
body comes from whoever read the file (the hooks with their own parser, the CLI with the Loader),
and nothing is fetched here.
"""

from __future__ import annotations

import os
import re
import string
from typing import NamedTuple

from sealer.core.errors import SealerError
from sealer.core.exit_status import ExitStatus

FIELDS = ("name", "cert", "context", "kubeconfig", "path", "pq", "controller-name", "controller-namespace")
PATH_FIELDS = frozenset({"cluster", "namespace", "name"})
# A cluster's name goes into paths, file names and messages: a DNS label keeps all three plain.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_URL_SCHEMES = ("http://", "https://")


class FleetError(SealerError):
    """A ``clusters:`` entry that cannot be used, or a cluster name that is not the fleet's; the
    message names the file and the entry. A configuration error: the CLI exits 2."""

    exit_status = ExitStatus.USAGE


# NamedTuples, not dataclasses: the hooks read .sealer.yaml, and importing dataclasses costs them
# start-up time on every commit (tests/hooks/test_hardening.py keeps them free of it).
class Cluster(NamedTuple):
    name: str
    cert: str | None  # an absolute path, or an http(s) URL; with ``context``: where the fetched cert is kept
    context: str | None
    kubeconfig: str | None  # an absolute path
    path: str | None  # the pattern of this cluster's sealed files, relative to the repository root
    pq: bool
    controller_name: str | None
    controller_namespace: str | None

    @property
    def cert_is_url(self) -> bool:
        return self.cert is not None and self.cert.lower().startswith(_URL_SCHEMES)

    def sealed_path(self, namespace: str, name: str) -> str:
        """Where this cluster's SealedSecret ``namespace/name`` goes (relative to the repository root)."""
        if self.path is None:
            raise FleetError(f"cluster {self.name!r} has no path: for its sealed files")
        for field, value in (("namespace", namespace), ("name", name)):
            # A Secret's name or namespace could otherwise walk the file out of its directory.
            if not value or "/" in value or value in (".", "..") or "\0" in value:
                raise FleetError(f"cluster {self.name!r}: cannot place a sealed file for {field} {value!r}")
        return self.path.format(cluster=self.name, namespace=namespace, name=name)


class Fleet(NamedTuple):
    clusters: tuple[Cluster, ...]
    source: str  # the file they came from, for messages

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clusters]

    def select(self, names: list[str] | tuple[str, ...]) -> list[Cluster]:
        """The clusters called ``names``, in the order given; every name must be one of the fleet's."""
        by_name = {c.name: c for c in self.clusters}
        if not by_name:
            raise FleetError(f"{self.source}: names no clusters (add a clusters: list)")
        chosen = []
        for name in names:
            if name not in by_name:
                known = ", ".join(self.names)
                raise FleetError(f"cluster {name!r} is not in {self.source} (known: {known})")
            if by_name[name] not in chosen:
                chosen.append(by_name[name])
        return chosen


def parse_clusters(value: object, source: str, base: str) -> Fleet:
    """The ``clusters:`` value of a .sealer.yaml read from ``source``; relative paths are relative
    to ``base`` (the file's directory). Every problem is a one-line FleetError naming the entry."""
    if value is None:
        return Fleet((), source)
    if not isinstance(value, list):
        raise FleetError(f"{source}: clusters must be a list of {{name, cert or context, path}} entries")
    clusters: list[Cluster] = []
    for i, item in enumerate(value, 1):
        clusters.append(_cluster(item, f"{source}: clusters entry {i}", base))
        if clusters[-1].name in [c.name for c in clusters[:-1]]:
            raise FleetError(f"{source}: cluster {clusters[-1].name!r} is named twice")
    return Fleet(tuple(clusters), source)


def _cluster(item: object, where: str, base: str) -> Cluster:
    if not isinstance(item, dict):
        raise FleetError(f"{where}: expected a map with name:, cert: or context:, and path:")
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if unknown:
        raise FleetError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(FIELDS)})")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FleetError(f"{where}: name must be a DNS label (lower-case letters, digits, '-'), got {name!r}")
    where = f"{where} ({name})"
    text = {key: _text(item, key, where) for key in FIELDS if key not in ("name", "pq")}
    if text["cert"] is None and text["context"] is None:
        raise FleetError(f"{where}: needs cert: (a file or URL) or context: (a kubeconfig context)")
    if text["context"] is not None and text["cert"] is not None and text["cert"].lower().startswith(_URL_SCHEMES):
        # With a context, cert: is where the fetched certificate is kept: a file, not a URL.
        raise FleetError(f"{where}: with context:, cert: is the file that caches its certificate, not a URL")
    pq = item.get("pq", False)
    if not isinstance(pq, bool):
        raise FleetError(f"{where}: pq must be true or false")
    return Cluster(
        name=name,
        cert=_location(text["cert"], base),
        context=text["context"],
        kubeconfig=_file(text["kubeconfig"], base),
        path=_pattern(text["path"], where),
        pq=pq,
        controller_name=text["controller-name"],
        controller_namespace=text["controller-namespace"],
    )


def _text(item: dict[object, object], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise FleetError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _file(value: str | None, base: str) -> str | None:
    return None if value is None else os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def _location(value: str | None, base: str) -> str | None:
    if value is not None and value.lower().startswith(_URL_SCHEMES):
        return value
    return _file(value, base)


def _pattern(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    try:
        fields = {field for _, field, spec, conv in string.Formatter().parse(value) if field is not None}
        specs = [(spec, conv) for _, field, spec, conv in string.Formatter().parse(value) if field is not None]
    except ValueError:
        raise FleetError(f"{where}: path {value!r} has an unmatched brace") from None
    bad = sorted(fields - PATH_FIELDS)
    if bad or any(spec or conv for spec, conv in specs):
        raise FleetError(f"{where}: path may use only {{cluster}}, {{namespace}} and {{name}}, got {value!r}")
    if "name" not in fields:
        # Every SealedSecret of the cluster would land in the same file.
        raise FleetError(f"{where}: path must contain {{name}}, got {value!r}")
    if os.path.isabs(value) or ".." in value.replace("\\", "/").split("/"):
        raise FleetError(f"{where}: path must stay inside the repository, got {value!r}")
    return value


CONFIG_NAME = ".sealer.yaml"
MAX_CONFIG_BYTES = 1024 * 1024


def find_root(start: str = ".") -> str:
    """The Git work tree that holds ``start``, without running git (a process costs milliseconds
    and pre-commit runs the hooks from the root anyway); ``start`` itself outside Git."""
    here = os.path.abspath(start)
    probe = here
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


def find_config(start: str = ".") -> str | None:
    """The .sealer.yaml at the root of the repository holding ``start``, if there is one."""
    path = os.path.join(find_root(start), CONFIG_NAME)
    return path if os.path.isfile(path) else None


def load_fleet(path: str | None = None, start: str = ".") -> Fleet:
    """The fleet of the .sealer.yaml at ``path`` (or found from ``start``). Bounded like every
    manifest we read (size, aliases, depth)."""
    from sealer.core.files import read_limited
    from sealer.core.manifests import parse_stream

    found = path or find_config(start)
    if found is None:
        raise FleetError(f"no {CONFIG_NAME} found (at the root of the Git repository) to name the clusters")
    data = read_limited(found, MAX_CONFIG_BYTES, error=FleetError, what="configuration")
    docs = parse_stream(data, found)
    body = docs[0].body if docs else None
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise FleetError(f"{found}: expected a map with clusters:")
    return parse_clusters(body.get("clusters"), found, os.path.dirname(os.path.abspath(found)))

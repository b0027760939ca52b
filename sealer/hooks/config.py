"""The repository's ``.sealer.yaml`` and the two ways to allow a deliberate exception.

    # .sealer.yaml, at the root of the Git repository
    certificates:            # the clusters' sealing certificates: paths (relative to this file)
      - certs/production.pem #   or inline PEM; SealedSecrets must be sealed for one of them
    allow:                   # deliberate exceptions
      - path: examples/*.pem # a glob, relative to the repository root ("*" also matches "/")
        rule: private-key    # a rule id, a list of them, or left out for every rule
        reason: a public demo key, never used anywhere

And in a manifest, on the object itself (or on the List that holds it)::

    metadata:
      annotations:
        sealer.dev/allow-plaintext: "test fixture, the password is not used anywhere"

Both need a reason: an exception nobody can explain later is how real secrets slip through.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any, NamedTuple

from sealer.core.errors import SealerError
from sealer.core.fleet import CONFIG_NAME as CONFIG_NAME
from sealer.core.fleet import FleetError, find_root, parse_clusters
from sealer.hooks.findings import RULES

ALLOW_ANNOTATION = "sealer.dev/allow-plaintext"
_KEYS = {"certificates", "allow", "clusters"}


class ConfigError(SealerError):
    pass


class AllowEntry(NamedTuple):
    pattern: str
    rules: frozenset[str] | None  # None: every rule
    reason: str


class Config:
    """The file is read on first use of ``allow`` or ``certificates``: a run without findings and
    without SealedSecrets needs neither, and parsing YAML costs a hook milliseconds at start-up.
    So a broken .sealer.yaml stops the hook only when the hook needs it."""

    def __init__(self, root: str, path: str | None = None, *, explicit: bool = False):
        self.root = root  # the repository root: allow paths are relative to it
        self.path = path
        self._explicit = explicit
        self._certificates: list[str] = []  # paths (absolute) or inline PEM
        self._allow: list[AllowEntry] = []
        self._loaded = path is None

    @property
    def allow(self) -> list[AllowEntry]:
        self._load()
        return self._allow

    @property
    def certificates(self) -> list[str]:
        self._load()
        return self._certificates

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        assert self.path is not None  # without a path, _loaded starts True
        try:
            with open(self.path, "rb") as f:
                data = f.read(1024 * 1024)
        except FileNotFoundError:
            if self._explicit:
                raise ConfigError(f"{self.path}: no such file") from None
            return
        except OSError as e:
            raise ConfigError(f"{self.path}: {e.strerror or e}") from None
        self._certificates, self._allow = parse(data, self.path)

    def allowed(self, relpath: str, rule: str) -> str | None:
        """The reason of the first allow entry that covers this path and rule, if any."""
        for entry in self.allow:
            if (entry.rules is None or rule in entry.rules) and fnmatch.fnmatchcase(relpath, entry.pattern):
                return entry.reason
        return None

    def relpath(self, path: str) -> str:
        """``path`` (as given to the hook) relative to the repository root, with forward slashes."""
        rel = os.path.relpath(os.path.abspath(path), self.root)
        return rel.replace(os.sep, "/")


def load(explicit: str | None = None, start: str = ".") -> Config:
    root = find_root(start)
    return Config(root, explicit or os.path.join(root, CONFIG_NAME), explicit=explicit is not None)


def parse(data: bytes, path: str) -> tuple[list[str], list[AllowEntry]]:
    """(certificates, allow entries) of a .sealer.yaml. Every problem is a ConfigError with a
    one-line message."""
    from sealer.core.errors import InputError
    from sealer.hooks import parsing

    try:
        docs = parsing.parse(data, path)
    except InputError as e:
        raise ConfigError(str(e)) from None
    if docs and docs[0].duplicates:
        # Which of the two was meant? An allow entry given twice is not a guess to make.
        dup = docs[0].duplicates[0]
        raise ConfigError(f"{path}: line {dup.line}: key {_shown(dup.key)} is given twice")
    body = docs[0].body if docs else {}
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: expected a map with certificates:, clusters: and allow:")
    unknown = sorted(_shown(key) for key in body if key not in _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]} (known: {', '.join(sorted(_KEYS))})")
    base = os.path.dirname(os.path.abspath(path))
    certificates = _certificates(body.get("certificates"), path, base)
    try:
        fleet = parse_clusters(body.get("clusters"), path, base)
    except FleetError as e:
        raise ConfigError(str(e)) from None
    # A fleet cluster's certificate file is one the repository seals for; a URL is not fetched
    # (a hook must be fast and work offline), a context's certificate only if it is cached in cert:.
    for cluster in fleet.clusters:
        cached = cluster.context is None or (cluster.cert is not None and os.path.exists(cluster.cert))
        if cluster.cert and not cluster.cert_is_url and cached and cluster.cert not in certificates:
            certificates.append(cluster.cert)
    return certificates, _allow(body.get("allow"), path)


def _certificates(value: object, path: str, base: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise ConfigError(f"{path}: certificates must be a list of file paths or PEM certificates")
    out = []
    for i, cert in enumerate(value, 1):
        if cert.lstrip().startswith("-----BEGIN"):
            out.append(cert)
        elif "://" in cert:
            # A hook that fetches URLs would be slow, flaky, and fail offline: commit the cert.
            raise ConfigError(f"{path}: certificate {_shown(cert)}: give a file in the repository, not a URL")
        elif "\0" in cert:
            raise ConfigError(f"{path}: certificate {i} is not a file name (it has a NUL character)")
        else:
            out.append(os.path.join(base, os.path.expanduser(cert)))
    return out


def _allow(value: object, path: str) -> list[AllowEntry]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{path}: allow must be a list of {{path, rule, reason}} entries")
    entries = []
    for i, item in enumerate(value, 1):
        where = f"{path}: allow entry {i}"
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
            raise ConfigError(f"{where}: needs a path (a glob relative to the repository root)")
        unknown = sorted(_shown(key) for key in item if key not in ("path", "rule", "reason"))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]}")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}: needs a reason (a string)")
        rules = item.get("rule")
        if rules is not None:
            rules = [rules] if isinstance(rules, str) else rules
            if not isinstance(rules, list) or not rules or not all(isinstance(rule, str) for rule in rules):
                raise ConfigError(f"{where}: rule must be a rule id or a list of them")
            for rule in rules:
                if rule not in RULES:
                    raise ConfigError(f"{where}: unknown rule {_shown(rule)} (known: {', '.join(RULES)})")
            rules = frozenset(rules)
        entries.append(AllowEntry(item["path"].removeprefix("./"), rules, reason.strip()))
    return entries


def _shown(value: object) -> str:
    """A value from the file for an error message: quoted, on one line, and not too long."""
    text = repr(value) if isinstance(value, str) else f"{value!r} (a {type(value).__name__})"
    return text if len(text) <= 80 else text[:77] + "..."


def annotation_reason(objects: list[dict[str, Any]]) -> tuple[str | None, bool]:
    """The allow annotation's reason on the innermost of ``objects`` that carries one (an object,
    then the Lists around it), and whether an annotation was there but gave no reason."""
    from sealer.hooks.documents import annotations_of

    for obj in reversed(objects):
        if ALLOW_ANNOTATION in annotations_of(obj):
            reason = annotations_of(obj)[ALLOW_ANNOTATION]
            if isinstance(reason, str) and reason.strip():
                return reason.strip(), False
            return None, True
    return None, False

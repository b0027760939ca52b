"""Bodies of ``sealer keys restore --escrow`` and ``sealer keys escrow verify``: the keys back from
escrow objects (keys.escrow) with the recipients' recovery keys, and the offline proof that every
active key of a cluster can be.

Recovery keys are read with the private-key loaders of ``sealer unseal`` (PEM keys, key Secrets,
Lists of them). Nothing here prints key material: the restored keys go only into a key store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from keys.escrow import EscrowError, EscrowObject, read_objects, restore_key
from sealer.cli.arguments import KeyOptions
from sealer.cli.environment import Environment
from sealer.cli.io import read_file
from sealer.core import manifests
from sealer.core.errors import SealerError
from sealer.core.privkeys import load_private_keys

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from keys.secret_format import StoredKey

# Expired certificates still name keys that must open what was sealed for them: no expiry check.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _objects(paths: Iterable[str], env: Environment) -> list[EscrowObject]:
    docs: list[tuple[object, str]] = []
    for path in paths:
        data, source = (manifests.read_bytes(env.stdin, "stdin"), "stdin") if path == "-" else (read_file(path), path)
        for doc in manifests.parse_stream(data, source):
            docs.append((doc.body, f"{source}, document {doc.index}"))
    return read_objects(docs)


def _recovery_keys(opts: KeyOptions) -> list[rsa.RSAPrivateKey]:
    if not opts.recovery_keys:
        raise SealerError("give the escrow recipients' private keys: --recovery-private-key FILE (repeat for M of N)")
    return [key for path in opts.recovery_keys for key in load_private_keys(path)]


def escrowed_keys(opts: KeyOptions, env: Environment) -> list[StoredKey]:
    """Every key of the escrow objects in ``--escrow`` files, all or nothing: one that does not
    restore is an error naming it, and nothing is written."""
    private_keys = _recovery_keys(opts)
    restored: dict[str, StoredKey] = {}
    for obj in _objects(opts.escrow_files, env):
        if obj.fingerprint in restored:
            continue  # the same key escrowed twice (an old copy, say): once is enough
        restored[obj.fingerprint] = restore_key(obj, private_keys)
    return list(restored.values())


def _cluster_certificates(opts: KeyOptions, env: Environment) -> list[tuple[str, str, bytes]]:
    """(source, name, certificate PEM) of the cluster's active keys: from the controller's
    certificate ConfigMap (anyone authenticated may read it), else from the key Secrets (an
    administrator's right; only their certificates are used)."""
    if not opts.directory and not opts.keyring_name:
        published = _published_certificates(opts, env)
        if published is not None:
            return published
    from sealer.cli.keys_commands import open_store

    store = open_store(opts, env)
    return [
        (f"key Secret {store.description}/{k.name}", k.name, k.pair.cert_pem)
        for k in store.list()
        if k.usable(store.prefix)
    ]


def _published_certificates(opts: KeyOptions, env: Environment) -> list[tuple[str, str, bytes]] | None:
    """The active keys of the certificate ConfigMap; None when it cannot be read (Bitnami's
    controller publishes none, nor does an older sealer), so that the key Secrets are read instead."""
    from sealer.core import certmap
    from sealer.kube.client import configmap_path
    from sealer.kube.errors import ApiError

    target = opts.target
    name = certmap.name_for(target.name)
    try:
        doc = env.kube(target.connection).get(configmap_path(target.namespace, name))
    except ApiError:
        return None
    if doc is None:
        return None
    where = f"ConfigMap {target.namespace}/{name}"
    return [
        (where, k.name, k.certificate.encode("ascii", "replace"))
        for k in certmap.published_keys(doc, where)
        if k.status == "active"
    ]


def _given_certificates(paths: Iterable[str]) -> list[tuple[str, str, bytes]]:
    from sealer.core.certs import read_certificate_source

    return [(path, "", read_certificate_source(path)) for path in paths]


def verify(opts: KeyOptions, env: Environment) -> None:
    from sealer.core.certs import parse_certificate
    from sealer.core.errors import CertificateError

    private_keys = _recovery_keys(opts)
    objects = _objects(opts.escrow_files, env)
    by_fingerprint: dict[str, list[EscrowObject]] = {}
    for obj in objects:
        by_fingerprint.setdefault(obj.fingerprint, []).append(obj)
    certificates = _given_certificates(opts.certs) if opts.certs else _cluster_certificates(opts, env)
    if not certificates:
        raise SealerError("no active keys to verify (give their certificates with --cert FILE)")
    failures = 0
    for source, name, pem in certificates:
        try:
            cert = parse_certificate(pem, source, now=_EPOCH)
        except CertificateError as e:
            env.write(f"FAIL {source}: {e}\n")
            failures += 1
            continue
        label = f"{cert.fingerprint}" + (f" ({name})" if name else "")
        finding = _finding(by_fingerprint.get(cert.fingerprint, []), private_keys, cert.public_key)
        if finding is None:
            env.write(f"ok   {label}: restorable from its escrow object\n")
        else:
            env.write(f"FAIL {label}: {finding}\n")
            failures += 1
    if failures:
        raise SealerError(f"{failures} of {len(certificates)} key(s) cannot be restored from the escrow objects given")
    sources = sorted(
        {source.partition("/")[0] if source.startswith("key Secret") else source for source, _, _ in certificates}
    )
    env.note(f"all {len(certificates)} key(s) can be restored from the escrow objects (keys of {', '.join(sources)})")


def _finding(
    candidates: list[EscrowObject], private_keys: list[rsa.RSAPrivateKey], public: rsa.RSAPublicKey
) -> str | None:
    """None if one of the escrow objects restores the key of ``public``; else why not (one line)."""
    if not candidates:
        return "no escrow object"
    why = ""
    for obj in candidates:
        try:
            key = restore_key(obj, private_keys)
        except EscrowError as e:
            why = str(e)
            continue
        if key.pair.private_key.public_key().public_numbers() == public.public_numbers():
            return None
        why = f"{obj.source}: opens a key that does not match the certificate"
    return why


def _recipient_objects(opts: KeyOptions, env: Environment) -> list[tuple[dict[str, Any], str]]:
    """(object, description) of the recipients: manifests or PEM files, else the cluster's."""
    objects: list[tuple[dict[str, Any], str]] = []
    for path in opts.files:
        data = read_file(path)
        if data.lstrip().startswith(b"-----BEGIN"):
            objects.append(({"kind": "ConfigMap", "data": {path: data.decode("utf-8", "replace")}}, "file"))
            continue
        for doc in manifests.parse_stream(data, path):
            if not isinstance(doc.body, dict) or doc.body.get("kind") not in ("ConfigMap", "Secret"):
                raise SealerError(f"{path}, document {doc.index}: expected a ConfigMap or Secret of recipients")
            objects.append((doc.body, f"{path}, document {doc.index} ({doc.body.get('kind')})"))
    if opts.files:
        return objects
    from sealer.kube import ApiError, secret_path
    from sealer.kube.client import configmap_path

    kube, ns, name = env.kube(opts.target.connection), opts.target.namespace, opts.recipients_name
    for kind, path in (("ConfigMap", configmap_path(ns, name)), ("Secret", secret_path(ns, name))):
        try:
            obj = kube.get(path)
        except ApiError as e:
            raise SealerError(f"cannot read {kind} {ns}/{name}: {e.summary}") from None
        if obj is not None:
            objects.append(({**obj, "kind": kind}, f"{kind} {ns}/{name}"))
    if not objects:
        raise SealerError(f"no ConfigMap or Secret {ns}/{name}: escrow is off")
    return objects


def check_recipients(opts: KeyOptions, env: Environment) -> None:
    from keys.escrow_recipients import from_objects

    got = from_objects(_recipient_objects(opts, env), dt.datetime.now(dt.UTC))
    for recipient in got.recipients:
        env.write(f"ok   {recipient.fingerprint} {recipient.source}\n")
    for problem in got.problems:
        env.write(f"FAIL {problem}\n")
    if got.problems or not got.usable:
        raise SealerError(
            f"{len(got.problems)} problem(s); {len(got.recipients)} usable recipient(s)"
            + ("" if got.usable else ": no key can be escrowed")
        )
    env.note(f"{len(got.recipients)} usable recipient(s); {got.threshold} of them restore a key")

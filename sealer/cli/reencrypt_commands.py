"""The body of `sealer reencrypt PATH...`: re-seal the SealedSecrets of files and directories
offline, for a cluster of the fleet or a certificate, with local private keys (docs/fleets.md).

All or nothing over the whole run: every file is read, opened and re-sealed in memory first; if
any cannot be (unreadable, malformed, a key missing), each is named on stderr and none is
changed. Only the moved items' base64 and the key-hint annotation are replaced in each file's
text (sealer.core.sealed_text): everything else keeps its bytes, so the Git diff shows exactly
what moved. Progress and the list of files go to stderr (--dry-run: the plan to stdout); values never.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from sealer.cli.arguments import KeyOptions, ReencryptOptions
from sealer.cli.environment import Environment
from sealer.core import manifests
from sealer.core.errors import SealerError, UsageError
from sealer.core.files import read_limited, write_all_atomically
from sealer.core.scope import KEY_HINT_ANNOTATION

if TYPE_CHECKING:
    from sealer.core.certs import Certificate
    from sealer.core.keyset import KeySet

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class Target(NamedTuple):
    certificate: Certificate
    pq: bool
    what: str  # for messages: "cluster east", "--cert cert.pem"
    default_paths: tuple[str, ...]  # a cluster's directory: where its path: pattern puts its files


def target_certificate(options: ReencryptOptions, env: Environment) -> Target:
    """The certificate to re-seal for: --cluster's (of .sealer.yaml) or --cert's."""
    from sealer.core.certs import load_certificate

    if bool(options.cluster) == bool(options.cert):
        raise UsageError("give the target: --cluster NAME (of .sealer.yaml) or --cert PATH|URL, one of them")
    if options.cert:
        return Target(load_certificate(options.cert, now=env.clock()), options.pq, f"--cert {options.cert}", ())
    from sealer.cli.fleet_targets import certificate_for, fleet_from, repository_root

    fleet = fleet_from(options.config)
    (cluster,) = fleet.select([options.cluster or ""])
    cc = certificate_for(cluster, env)
    paths: tuple[str, ...] = ()
    if cluster.path:
        # The part of the pattern before its first field: the directory all its files are under.
        fixed = os.path.dirname(cluster.path.format(cluster=cluster.name, namespace="{", name="{").split("{")[0])
        paths = (os.path.join(repository_root(fleet), fixed),)
    return Target(cc.certificate, options.pq or cluster.pq, f"cluster {cluster.name}", paths)


def local_keys(options: ReencryptOptions, env: Environment) -> KeySet:
    """The private keys given: key files (PEM, key Secrets, backups, encrypted ones too), key
    directories (`sealer keys generate --out`), the keyring."""
    from sealer.core.keyset import KeySet

    keys = KeySet()
    for path in options.keys:
        if os.path.isdir(os.path.expanduser(path)):
            _add_directory(keys, path)
        else:
            _add_file(keys, path, options, env)
    for path in options.key_dirs:
        _add_directory(keys, path)
    if options.keyring_name:
        from keys.stores.keyring import KeyringKeyStore

        store = KeyringKeyStore(options.keyring_name, allow_insecure=options.allow_insecure_keyring)
        for stored in store.list():
            keys.add(stored.pair.private_key, stored.pair.mlkem_key)
    if not len(keys):
        raise UsageError("no private keys: give --recovery-private-key FILE, --key-dir DIR or --keyring NAME")
    return keys


def _add_directory(keys: KeySet, path: str) -> None:
    from keys.stores.directory import DirectoryKeyStore

    for stored in DirectoryKeyStore(path).list():
        keys.add(stored.pair.private_key, stored.pair.mlkem_key)


def _add_file(keys: KeySet, path: str, options: ReencryptOptions, env: Environment) -> None:
    from keys import envelope
    from keys.backup import read_backup
    from sealer.cli.keys_commands import read_passphrase
    from sealer.core.privkeys import MAX_KEY_FILE_BYTES, load_key_pairs

    data = read_limited(path, MAX_KEY_FILE_BYTES, what="key file")
    docs = [] if b"-----BEGIN" in data[:64] else _documents(data, path)
    if any(envelope.is_envelope(d.body) for d in docs):
        passphrase = KeyOptions(passphrase_file=options.passphrase_file)
        for stored in read_backup(data, path, lambda: read_passphrase(passphrase, env, confirm=False)):
            keys.add(stored.pair.private_key, stored.pair.mlkem_key)
        return
    for key, mlkem_key in load_key_pairs(path):
        keys.add(key, mlkem_key)


def _documents(data: bytes, source: str) -> list[manifests.Document]:
    try:
        return manifests.parse_stream(data, source)
    except SealerError:
        return []  # load_key_pairs says what is wrong with it


def manifest_files(paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(files to look at, problems): the files given, and the manifests under the directories
    given (hidden directories such as .git skipped), in a stable order."""
    files: list[str] = []
    problems: list[str] = []
    for path in paths:
        if os.path.isdir(path):

            def failed(e: OSError) -> None:
                problems.append(f"{e.filename}: cannot read the directory: {(e.strerror or '').lower()}")

            for root, dirs, names in os.walk(path, onerror=failed):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES))
        elif os.path.exists(path):
            files.append(path)
        else:
            problems.append(f"{path}: no such file or directory")
    return list(dict.fromkeys(files)), problems


class FileChange:
    __slots__ = ("lines", "path", "text")

    def __init__(self, path: str, text: str, lines: list[str]):
        self.path, self.text, self.lines = path, text, lines


def reencrypt_file(
    path: str, data: bytes, keys: KeySet, target: Certificate, *, pq: bool, from_key: str | None
) -> FileChange | None:
    """The new text of one file (None: nothing in it moves). Raises a one-line SealerError."""
    from sealer.core.errors import InputError, UnsealError
    from sealer.core.reencrypting import plan
    from sealer.core.sealed_text import Span, locate, replace

    text = manifests.decode_text(data, path)
    edits: list[tuple[Span, str]] = []
    lines: list[str] = []
    found = locate(text, path)
    expected = []
    for one in found:
        try:
            p = plan(one.body, keys, target, pq=pq, from_key=from_key)
        except (UnsealError, InputError) as e:
            raise SealerError(f"{path}, {one.where}: {getattr(e, 'reason', e)}") from None
        body = copy.deepcopy(one.body)
        expected.append(body)
        if not p.moved:
            continue
        edits.extend((one.items[key], value) for key, value in p.moved.items())
        body["spec"]["encryptedData"].update(p.moved)
        if p.hint is not None and one.hint is not None:
            edits.append((one.hint, p.hint))
            body["metadata"]["annotations"][KEY_HINT_ANNOTATION] = p.hint
        froms = sorted({f or "?" for f in p.moved_from.values()})
        lines.append(f"{path}: {p.name}: re-sealed {', '.join(sorted(p.moved))} (was sealed for {', '.join(froms)})")
    if not edits:
        return None
    new_text = replace(text, edits)
    # The edit must say exactly what was meant: a value behind a YAML anchor, alias or tag sits
    # elsewhere in the text than its key, and replacing it there would change something else.
    if _bodies(new_text, path) != expected or _others(new_text, path) != _others(text, path):
        raise SealerError(
            f"{path}: cannot edit its sealed values in place (YAML anchors, aliases or tags on them?); "
            "re-seal it with sealer seal --merge-into"
        )
    return FileChange(path, new_text, lines)


def _bodies(text: str, path: str) -> list[dict[str, Any]] | None:
    from sealer.core.sealed_text import locate

    try:
        return [one.body for one in locate(text, path)]
    except SealerError:
        return None


def _others(text: str, path: str) -> list[Any] | None:
    """The documents of ``text`` with every SealedSecret left out (Lists' items too)."""
    try:
        docs = manifests.parse_stream(text, path)
    except SealerError:
        return None
    out = []
    for doc in docs:
        body = doc.body
        if isinstance(body, dict) and body.get("kind") == "SealedSecret":
            continue
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            body = {
                **body,
                "items": [i for i in body["items"] if not (isinstance(i, dict) and i.get("kind") == "SealedSecret")],
            }
        out.append(body)
    return out


def reencrypt(options: ReencryptOptions, env: Environment) -> None:
    chosen = target_certificate(options, env)
    target, pq, what = chosen.certificate, chosen.pq, chosen.what
    paths = options.paths or chosen.default_paths
    if not paths:
        raise UsageError("give the files or directories to re-encrypt")
    keys = local_keys(options, env)
    if options.from_key == target.fingerprint:
        raise UsageError(f"--from-key {options.from_key} is the target's own key: its items need no moving")
    if options.from_key and options.from_key not in keys:
        raise UsageError(f"--from-key {options.from_key}: none of the private keys given has that fingerprint")
    if pq and target.mlkem_public is None:
        raise SealerError(f"{what}: pq, but its certificate has no ML-KEM-768 public key")
    files, problems = manifest_files(paths)
    changes: list[FileChange] = []
    looked_at = 0
    for path in files:
        try:
            data = read_limited(path, manifests.MAX_INPUT_BYTES, what="manifest")
        except SealerError as e:
            problems.append(str(e))
            continue
        if b"SealedSecret" not in data:
            continue  # cheap: most files of a repository are other manifests
        looked_at += 1
        try:
            change = reencrypt_file(path, data, keys, target, pq=pq, from_key=options.from_key)
        except SealerError as e:
            problems.append(" ".join(str(e).split()))
            continue
        if change is not None:
            changes.append(change)
    if problems:
        for problem in problems:
            env.note(f"error: {problem}")
        raise SealerError(f"could not re-encrypt {len(problems)} file(s) (above); no file was changed")
    for change in changes:
        for line in change.lines:
            (env.write if options.dry_run else env.note)(line + "\n" if options.dry_run else line)
    if options.dry_run:
        env.note(f"{len(changes)} of {looked_at} file(s) with SealedSecrets would change for {what} (dry run)")
        return
    write_all_atomically([(c.path, c.text) for c in changes])
    env.note(f"re-encrypted {len(changes)} of {looked_at} file(s) with SealedSecrets for {what}")

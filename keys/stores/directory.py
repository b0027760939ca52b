"""Keys in a local directory: one key Secret per file, ``<dir>/<name>.yaml``.

Why key Secrets rather than ``.key``/``.crt`` pairs: one file holds the whole key (its name, its
label, both PEMs), in exactly the format the cluster and backups use, so a file can be given to
``sealer unseal --recovery-private-key``, ``kubeseal --recovery-private-key`` or ``kubectl apply``
as is, and relabelling it (``active`` -> ``compromised``) retires it locally too.

Permissions are set at creation and never loosened: the directory is made 0700 and each file is
created 0600 by ``os.open`` (never written first and chmod-ed after, which leaves a window in which
the key is readable). A file appears under its final name only once complete (written to a
temporary name, fsync-ed, then hard-linked, which fails rather than replace an existing file).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

from keys.errors import KeyFormatError, KeyStoreError
from keys.keypair import KeyPair
from keys.secret_format import (
    ACTIVE,
    DEFAULT_PREFIX,
    StoredKey,
    from_secret,
    generate_name,
    to_secret,
    validate_name,
    validate_prefix,
)
from sealer.core import manifests
from sealer.core.errors import InputError

SUFFIX = ".yaml"
MAX_FILE_BYTES = 1024 * 1024
DIR_MODE = 0o700
FILE_MODE = 0o600


class DirectoryKeyStore:
    def __init__(self, path: str, prefix: str = DEFAULT_PREFIX):
        self.path = os.path.expanduser(path)
        self.prefix = validate_prefix(prefix)
        self.description = f"directory {path}"

    # --- reading -----------------------------------------------------------------------------

    def list(self, *, missing_ok: bool = False) -> list[StoredKey]:
        """Every key; ``missing_ok``: a directory that does not exist yet holds none (restore)."""
        try:
            entries = sorted(os.listdir(self.path))
        except FileNotFoundError:
            if missing_ok:
                return []
            raise KeyStoreError(f"{self.description}: no such directory") from None
        except NotADirectoryError:
            raise KeyStoreError(f"{self.description}: not a directory") from None
        except OSError as e:
            raise KeyStoreError(f"{self.description}: cannot read it ({e.strerror or e})") from None
        keys: list[StoredKey] = []
        names: dict[str, str] = {}
        for entry in entries:
            if entry.startswith(".") or not entry.endswith(SUFFIX):
                continue  # temporary files and anything that is not ours
            key = self._read(os.path.join(self.path, entry))
            if key.name in names:
                raise KeyStoreError(f"{self.description}: {entry} and {names[key.name]} both hold key {key.name}")
            names[key.name] = entry
            keys.append(key)
        return keys

    def _read(self, path: str) -> StoredKey:
        try:
            # O_NOFOLLOW: a symlink planted in the directory must not make us read elsewhere.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise KeyStoreError(f"{path}: is a symbolic link; refusing to follow it") from None
            raise KeyStoreError(f"{path}: cannot read it ({e.strerror or e})") from None
        if len(data) > MAX_FILE_BYTES:
            raise KeyStoreError(f"{path}: too large to be a key Secret")
        try:
            docs = manifests.parse_stream(data, path)
        except InputError as e:
            raise KeyFormatError(str(e)) from None
        if len(docs) != 1:
            raise KeyFormatError(f"{path}: expected one key Secret, found {len(docs)} documents")
        return from_secret(docs[0].body, path)

    # --- writing -----------------------------------------------------------------------------

    def add(self, pair: KeyPair, name: str | None = None, status: str | None = ACTIVE) -> str:
        self._ensure_directory()
        existing = {k.name for k in self.list()}  # also proves every existing file still reads
        if name is None:
            name = generate_name(self.prefix)
            while name in existing:
                name = generate_name(self.prefix)
        validate_name(name)
        if name in existing:
            raise KeyStoreError(f"{self.description}: a key named {name} exists already")
        text = manifests.dump_yaml(to_secret(StoredKey(name, pair, status)))
        self._write_new(os.path.join(self.path, name + SUFFIX), text.encode())
        return name

    def _ensure_directory(self) -> None:
        try:
            os.makedirs(self.path, mode=DIR_MODE, exist_ok=True)
            info = os.stat(self.path)
        except OSError as e:
            raise KeyStoreError(f"{self.description}: cannot create it ({e.strerror or e})") from None
        if not stat.S_ISDIR(info.st_mode):
            raise KeyStoreError(f"{self.description}: not a directory")
        if info.st_mode & 0o077:
            # Refuse rather than "fix": the user chose this directory and should see why.
            raise KeyStoreError(
                f"{self.description}: others can access it (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run chmod 700 {self.path} first"
            )

    def _write_new(self, final: str, data: bytes) -> None:
        tmp = os.path.join(self.path, f".{os.path.basename(final)}.{secrets.token_hex(6)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(tmp, flags, FILE_MODE)
        except OSError as e:
            raise KeyStoreError(f"{self.description}: cannot write a key file ({e.strerror or e})") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, final)  # atomic, and unlike rename it never replaces an existing file
            except FileExistsError:
                raise KeyStoreError(f"{final}: exists already; refusing to overwrite it") from None
            except OSError as e:
                raise KeyStoreError(f"{final}: cannot write it ({e.strerror or e})") from None
            _fsync_directory(self.path)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _fsync_directory(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""Reading and writing the user's files: bounded reads, atomic writes, one-line errors."""

from __future__ import annotations

import os
import tempfile

from sealer.core.errors import SealerError


def _why(e: OSError) -> str:
    return (e.strerror or type(e).__name__).lower()


def read_limited(path: str, limit: int, *, error: type[SealerError] = SealerError, what: str = "file") -> bytes:
    """The bytes of ``path`` (``~`` expanded); ``error`` names the path if it cannot be read or is
    larger than ``limit``."""
    try:
        with open(os.path.expanduser(path), "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise error(f"open {path}: {_why(e)}") from None
    if len(data) > limit:
        raise error(f"{path}: too large to be a {what}")
    return data


def write_atomically(path: str, text: str, *, private: bool = False) -> None:
    """Replace ``path`` only once the whole text is on disk, so a failure leaves the old file.
    ``private``: the file is 0600 from its creation (mkstemp's mode), whatever it replaces: key
    material, plaintext a user asked for (`unseal -w`), and `-w` outputs (as kubeseal writes them).
    Otherwise it keeps the mode of the file it replaces (in-place edits), 0600 if new. The temporary
    file is in the target's directory and becomes the target: nothing is left elsewhere."""
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        raise SealerError(f"write {path}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sealer-", dir=os.path.dirname(os.path.abspath(path)))
    except OSError as e:
        raise SealerError(f"write {path}: {_why(e)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if not private:
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o777)
            except FileNotFoundError:
                pass  # mkstemp's 0600, as kubeseal creates files
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise SealerError(f"write {path}: {_why(e)}") from None
        raise


def write_all_atomically(files: list[tuple[str, str]]) -> None:
    """Write several files all or nothing: every new text is on disk under a temporary name (in
    its target's directory, parents created) before the first target is replaced, so a failure
    while writing (disk full, a directory that cannot be made) changes none of them. Each keeps
    the mode of the file it replaces, 0600 if new, as ``write_atomically``."""
    staged: list[tuple[str, str]] = []
    try:
        for path, text in files:
            path = os.path.expanduser(path)
            if os.path.isdir(path):
                raise SealerError(f"write {path}: is a directory")
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".sealer-", dir=os.path.dirname(os.path.abspath(path)))
            except OSError as e:
                raise SealerError(f"write {path}: {_why(e)}") from None
            staged.append((tmp, path))
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                try:
                    os.chmod(tmp, os.stat(path).st_mode & 0o777)
                except FileNotFoundError:
                    pass  # mkstemp's 0600
            except OSError as e:
                raise SealerError(f"write {path}: {_why(e)}") from None
        # Renames within a directory do not fail for want of space: this is as close to one
        # transaction as a file system offers.
        while staged:
            tmp, path = staged[0]
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise SealerError(f"write {path}: {_why(e)}") from None
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

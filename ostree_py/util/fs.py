"""Filesystem helpers every layer shares: the one atomic write, fsync of a
directory, mkdir -p below a base, reading a UTF-8 file, and an OSError's
message as GLib words it."""

import contextlib
import errno
import os

from ostree_py.errors import OstreeError


def strerror(e: OSError) -> str:
    """The message of ``e`` as g_strerror gives it (``str(e)`` when it carries no errno)."""
    return os.strerror(e.errno) if e.errno else str(e)


def write_atomic_to(tmp: str, path: str, data: bytes, mode: int = 0o644, fsync: bool = True,
                    chmod: bool = False) -> None:
    """Write ``data`` to the new file ``tmp``, then rename it to ``path``.

    ``mode`` is the creation mode (the umask applies) unless ``chmod`` sets it
    exactly; ``fsync`` makes the data durable before the rename. On failure
    ``tmp`` is removed and ``path`` is untouched.
    """
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if chmod:
            os.fchmod(fd, mode)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str, data: bytes, mode: int = 0o644, fsync: bool = True, chmod: bool = False) -> None:
    """Replace ``path`` with ``data`` through a temporary file beside it and a rename
    (readers see the old or the new contents, never a part); see write_atomic_to."""
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    write_atomic_to(tmp, path, data, mode, fsync, chmod)


def fsync_dir(path: str) -> None:
    """fsync the directory ``path`` (so the names in it survive a crash)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mkdir_p(base: str, rel: str, mode: int = 0o777) -> None:
    """Create each directory of ``rel`` below ``base`` (glnx_shutil_mkdir_p_at), with
    the reference's errors: ``mkdirat: ...``, ENOTDIR where a file is in the way."""
    path = base
    for part in rel.split("/"):
        if not part or part == ".":
            continue
        path = os.path.join(path, part)
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise OstreeError(f"mkdirat: {os.strerror(errno.ENOTDIR)}") from None
        except OSError as e:
            raise OstreeError(f"mkdirat: {strerror(e)}") from None


def read_utf8_file(path: str) -> str:
    """A whole file as text, refusing invalid UTF-8 (glnx_file_get_contents_utf8_at)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise OstreeError(f"openat({path}): {strerror(e)}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError("Invalid UTF-8") from None
    if "\0" in text:
        raise OstreeError("Invalid UTF-8")
    return text

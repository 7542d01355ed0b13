"""Files of a run folder read and written as untrusted input, and user files read with limits.

A run folder may come from someone else (a classmate's results, a downloaded archive), so nnhw
takes what it finds there as data and nothing more:

- No link is followed and nothing but regular files and folders is opened. Every path inside a
  run folder is walked from the run folder down, one directory entry at a time (openat with
  O_NOFOLLOW); an entry's type is checked with lstat before it is opened, files are opened with
  O_NOFOLLOW | O_NONBLOCK and checked again with fstat. A symbolic link, FIFO, socket or device
  anywhere on the way raises `UnsafeEntry` (an NnhwError: one line naming the entry, exit 2), so
  a FIFO never blocks, a device is never read and a write never lands outside the folder.
  `check_tree` applies the same rule to every entry of a folder at once.
- Every read has a size limit (`LIMITS`), stated in the error when a file exceeds it.
- Writes are atomic: a temporary file `.<name>.<8 hex>.tmp` beside the target, created
  exclusively with mode 0o666 so that the user's umask applies as to any file they write,
  fsynced, then renamed over the target (a link at the target's name is replaced, never
  followed). Missing folders on the way are created (mode 0o777 minus the umask).
- `remove_temporaries` deletes only files named like those temporary files.

`read_user_file` is for a path the user typed (`--config FILE`): the user's own links are
followed, but only a regular file is opened (never a FIFO or device), within a size limit.

Where the platform lacks openat (Windows), the same checks run on paths (lstat, then open).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from nnhw.core.errors import NnhwError

MiB = 1 << 20
# What nnhw reads at most from one file: far above anything nnhw writes (a run.json is a few KB,
# a config.toml under 1 KB, a default deep run's largest table 5 MB, a figure under 1 MB, a
# finished cell under 1 MB), far below what would exhaust a laptop's memory.
LIMITS = {
    "run.json": 16 * MiB,
    "config": 1 * MiB,
    "table": 1024 * MiB,
    "figure": 256 * MiB,
    "cell": 256 * MiB,
}
MAX_ENTRIES = 1_000_000  # entries check_tree visits before it refuses a folder as unreasonable
MAX_DEPTH = 16

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_READ = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY
_OPEN_DIR = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _NONBLOCK | _CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
_AT = (
    {os.open, os.stat, os.mkdir, os.unlink, os.rename} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
    and bool(_NOFOLLOW and _DIRECTORY)
)
# The temporary files of `write` (and of the mkstemp-based writes of earlier versions).
TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{6,16}\.tmp$")


class UnsafeEntry(NnhwError):  # noqa: N818 - reads as what it is: an unsafe entry
    """An entry of a run folder that nnhw will not open: a link, a special file, too large."""


def size_text(n: int) -> str:
    """1536 -> '1.5 KiB', 3 << 20 -> '3 MiB' (binary units, as the limits are set)."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def kind_of(mode: int) -> str:
    """What an lstat mode is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _refuse(path: Path | str, mode: int, wanted: str = "regular files and folders") -> UnsafeEntry:
    return UnsafeEntry(
        f"{path}: is {kind_of(mode)}; nnhw opens only {wanted} in a run folder and follows no "
        "links (a run folder may come from someone else)"
    )


def _too_large(path: Path | str, size: int, limit: int, what: str) -> UnsafeEntry:
    shown = size_text(size) if size_text(size) != size_text(limit) else f"{size} bytes"
    return UnsafeEntry(f"{path}: {shown} is more than nnhw reads for {what} "
                       f"(at most {size_text(limit)})")  # fmt: skip


def _parts(rel: str | PurePosixPath) -> list[str]:
    """The components of a path relative to a run folder (no '..', nothing absolute)."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".")]
    if PurePosixPath(rel).is_absolute() or ".." in parts:
        raise ValueError(f"not a path inside a run folder: {rel!r}")
    return parts


class _Dir:
    """One folder of a run folder, reached without following links: an open descriptor where
    the platform has openat, else its path (checked with lstat on the way down)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    def _name(self, name: str) -> str:
        return name if self.fd is not None else str(self.path / name)

    def _kw(self) -> dict[str, int]:
        return {"dir_fd": self.fd} if self.fd is not None else {}

    def lstat(self, name: str) -> os.stat_result:
        return os.stat(self._name(name), **self._kw(), follow_symlinks=False)

    def sub(self, name: str, create: bool = False) -> _Dir:
        """The folder `name` in this one (created when missing and `create`)."""
        path = self.path / name
        try:
            st = self.lstat(name)
        except FileNotFoundError:
            if not create:
                raise
            with contextlib.suppress(FileExistsError):
                os.mkdir(self._name(name), 0o777, **self._kw())
            st = self.lstat(name)
        if stat.S_ISREG(st.st_mode):
            raise UnsafeEntry(f"{path}: is a regular file where nnhw expects a folder")
        if not stat.S_ISDIR(st.st_mode):
            raise _refuse(path, st.st_mode)
        if self.fd is None:
            return _Dir(path, None)
        fd = os.open(name, _OPEN_DIR, dir_fd=self.fd)
        if not _same(os.fstat(fd), st):  # replaced between lstat and open
            os.close(fd)
            raise UnsafeEntry(f"{path}: changed while nnhw opened it")
        return _Dir(path, fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def open_file(self, name: str, limit: int, what: str) -> tuple[int, int]:
        """(descriptor, size) of the regular file `name`, checked before and after opening."""
        path = self.path / name
        st = self.lstat(name)  # FileNotFoundError propagates: the caller knows what is optional
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, st.st_mode)
        if st.st_size > limit:
            raise _too_large(path, st.st_size, limit, what)
        fd = os.open(self._name(name), _READ, **self._kw())
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode) or not _same(st, st2):
            os.close(fd)
            raise UnsafeEntry(f"{path}: changed while nnhw opened it")
        return fd, st2.st_size

    def read(self, name: str, limit: int, what: str) -> bytes:
        fd, _ = self.open_file(name, limit, what)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)  # a file that grows past the limit while read
        if len(data) > limit:
            raise _too_large(self.path / name, len(data), limit, what)
        return data

    def entries(self) -> list[tuple[str, int]]:
        """(name, lstat mode) of every entry, sorted by name."""
        with os.scandir(self.fd if self.fd is not None else self.path) as it:
            names = [e.name for e in it]
        out = []
        for name in sorted(names):
            with contextlib.suppress(FileNotFoundError):
                out.append((name, self.lstat(name).st_mode))
        return out

    def write(self, name: str, data: bytes) -> None:
        """`data` into `name` atomically (module docstring)."""
        for _ in range(100):
            tmp = f".{name}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(self._name(tmp), _CREATE, 0o666, **self._kw())
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 32 random bits
            raise OSError(errno.EEXIST, "no free temporary name", str(self.path / name))
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if self.fd is not None:
                os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(self._name(tmp), self._name(name))
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(self._name(tmp), **self._kw())
            if isinstance(exc, IsADirectoryError | NotADirectoryError) or (
                isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST)
            ):
                raise UnsafeEntry(f"{self.path / name}: is a folder where nnhw writes a file") \
                    from None  # fmt: skip
            raise

    def unlink(self, name: str) -> None:
        """Remove the regular file `name` (nothing when it is missing)."""
        try:
            st = self.lstat(name)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(self.path / name, st.st_mode)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._name(name), **self._kw())


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@contextlib.contextmanager
def folder(root: Path, rel: str | PurePosixPath = "", create: bool = False) -> Iterator[_Dir]:
    """The folder `rel` of the run folder `root`, every step checked (module docstring).
    FileNotFoundError when a part is missing and not `create`d."""
    root = Path(root)
    try:
        st = os.stat(root, follow_symlinks=False)
    except FileNotFoundError:
        raise
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeEntry(f"{root}: is {kind_of(st.st_mode)}, not a folder; nnhw follows no links "
                          "to or in a run folder (give the folder's own path)")  # fmt: skip
    current = _Dir(root, os.open(root, _OPEN_DIR) if _AT else None)
    try:
        if current.fd is not None and not _same(os.fstat(current.fd), st):
            raise UnsafeEntry(f"{root}: changed while nnhw opened it")
        for part in _parts(rel):
            step = current.sub(part, create=create)
            current.close()
            current = step
        yield current
    finally:
        current.close()


def read(root: Path, rel: str, limit: int, what: str) -> bytes:
    """The bytes of the regular file `rel` in the run folder `root` (FileNotFoundError when
    missing, UnsafeEntry when a link, special file or larger than `limit`)."""
    *dirs, name = _parts(rel)
    with folder(root, "/".join(dirs)) as d:
        return d.read(name, limit, what)


def open_binary(root: Path, rel: str, limit: int, what: str) -> BinaryIO:
    """The regular file `rel` opened for reading (as `read` checks it); the caller closes it."""
    *dirs, name = _parts(rel)
    with folder(root, "/".join(dirs)) as d:
        fd, _ = d.open_file(name, limit, what)
    return os.fdopen(fd, "rb")


def is_file(root: Path, rel: str) -> bool:
    """Whether `rel` is a regular file reached without links (False for anything else)."""
    *dirs, name = _parts(rel)
    try:
        with folder(root, "/".join(dirs)) as d:
            return stat.S_ISREG(d.lstat(name).st_mode)
    except (OSError, UnsafeEntry):
        return False


def write(root: Path, rel: str, data: bytes) -> None:
    """`data` into the file `rel` of the run folder `root`, atomically, folders created."""
    *dirs, name = _parts(rel)
    with folder(root, "/".join(dirs), create=True) as d:
        d.write(name, data)


def write_path(path: Path, data: bytes) -> None:
    """`data` into `path` atomically, as `write` does, for a file outside a run folder: the
    folder is the user's own (links on the way are followed) and is created when missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY | _DIRECTORY | _CLOEXEC) if _AT else None
    d = _Dir(path.parent, fd)
    try:
        d.write(path.name, data)
    finally:
        d.close()


def _checked_entries(root: Path, rel: str) -> list[tuple[str, int]]:
    """(name, mode) of every entry of folder `rel` ([] when it does not exist); UnsafeEntry
    when it holds anything but regular files and folders."""
    try:
        with folder(root, rel) as d:
            entries = d.entries()
    except FileNotFoundError:
        return []
    for name, mode in entries:
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _refuse(Path(root) / rel / name, mode)
    return entries


def files(root: Path, rel: str) -> list[str]:
    """The names of the regular files in folder `rel`, sorted ([] when it does not exist);
    UnsafeEntry when the folder holds a link or special file. Folders are skipped."""
    return [name for name, mode in _checked_entries(root, rel) if stat.S_ISREG(mode)]


def folders(root: Path, rel: str) -> list[str]:
    """The names of the folders in folder `rel` (as `files` checks them), sorted."""
    return [name for name, mode in _checked_entries(root, rel) if stat.S_ISDIR(mode)]


def unlink(root: Path, rel: str) -> None:
    """Remove the regular file `rel` (nothing when missing; UnsafeEntry for anything else)."""
    *dirs, name = _parts(rel)
    try:
        with folder(root, "/".join(dirs)) as d:
            d.unlink(name)
    except FileNotFoundError:
        return


def remove_temporaries(root: Path, rel: str) -> list[str]:
    """Delete the leftover temporary files of interrupted writes in folder `rel` (only regular
    files named like `write`'s temporary files); the names deleted."""
    removed = []
    try:
        with folder(root, rel) as d:
            for name, mode in d.entries():
                if stat.S_ISREG(mode) and TEMPORARY.match(name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(d._name(name), **d._kw())
                    removed.append(name)
    except FileNotFoundError:
        pass
    return removed


def remove_folder(root: Path, rel: str) -> None:
    """Delete folder `rel` of the run folder and everything in it. Links inside are removed,
    never followed (shutil.rmtree's fd-based walk); a link at `rel` itself is refused."""
    try:
        with folder(root, rel):
            pass  # every step a real folder
    except FileNotFoundError:
        return
    shutil.rmtree(Path(root) / rel)


def check_tree(root: Path) -> None:
    """UnsafeEntry naming the first entry under `root` that is not a regular file or folder
    (depth-first, sorted), or when the folder is unreasonably deep or large."""
    root = Path(root)
    seen = 0

    def walk(rel: PurePosixPath, depth: int) -> None:
        nonlocal seen
        if depth > MAX_DEPTH:
            raise UnsafeEntry(f"{root / rel}: more than {MAX_DEPTH} folders deep; not a run folder")
        try:
            with folder(root, rel) as d:
                entries = d.entries()
        except FileNotFoundError:  # removed meanwhile (a run compacting its cells/)
            if rel == PurePosixPath("."):
                raise
            return
        for name, mode in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                raise UnsafeEntry(f"{root}: more than {MAX_ENTRIES} entries; not a run folder")
            if stat.S_ISDIR(mode):
                walk(rel / name, depth + 1)
            elif not stat.S_ISREG(mode):
                raise _refuse(root / rel / name, mode)

    walk(PurePosixPath("."), 0)


def read_user_file(path: Path, limit: int, option: str, what: str) -> bytes:
    """A file the user named (its links followed): a regular file only, at most `limit` bytes.
    Errors are NnhwError lines starting with `option`."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NnhwError(f"{option}: {path} does not exist") from None
    except PermissionError:
        raise NnhwError(f"{option}: {path} is not readable (permission denied)") from None
    except OSError as exc:
        raise NnhwError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise NnhwError(f"{option}: {path} is a directory, not {what}")
    if not stat.S_ISREG(st.st_mode):
        raise NnhwError(f"{option}: {path} is {kind_of(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise NnhwError(
            f"{option}: {path} is {size_text(st.st_size)}; {what} may be at most {size_text(limit)}"
        )
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY)
    except PermissionError:
        raise NnhwError(f"{option}: {path} is not readable (permission denied)") from None
    except OSError as exc:
        raise NnhwError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise NnhwError(f"{option}: {path} changed while nnhw opened it")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise NnhwError(f"{option}: {path} is larger than {size_text(limit)}, the most {what} "
                        "may hold")  # fmt: skip
    return data

"""One private file of ours: trusted only when it and its directory are ours, read with a bound,
replaced atomically. Knows nothing of what the file holds (``cache`` does).

Like OpenSSH's StrictModes: the directory must be owned by us (or root) and writable by nobody
else; the file is opened without following links or waiting for a writer (a FIFO), and used
only when it is a regular file of ours that nobody else can write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from .._base.errors import CacheUnusable

MAX_SIZE = 1024 * 1024
PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


class PrivateFile:
    """The file at ``path``: ``read`` and ``replace`` it, ``problem`` says why it is not used."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def problem(self) -> str | None:
        """Why the directory is not ours to use, or None when it is. A directory that does not
        exist yet is fine: ``make_dir`` creates it 0700."""
        directory = self.path.parent
        try:
            info = directory.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"its directory {directory} cannot be read ({error.strerror})"
        if not stat.S_ISDIR(info.st_mode):
            return f"{directory} is not a directory"
        if os.name == "posix" and info.st_uid not in (os.geteuid(), 0):
            return f"its directory {directory} is owned by another user (uid {info.st_uid})"
        if os.name == "posix" and info.st_mode & 0o022:
            return (
                f"its directory {directory} is writable by others "
                f"(mode {stat.S_IMODE(info.st_mode):o}): use a private one"
            )
        return None

    def nothing_kept(self) -> str | None:
        """What the path is when it names no file to keep (``/dev/null`` is a device), or
        None: nothing is ever read from such a path, written to it or put beside it."""
        try:
            mode = os.lstat(self.path).st_mode
        except OSError:
            return None
        kinds = {stat.S_ISCHR: "a device", stat.S_ISBLK: "a device", stat.S_ISFIFO: "a pipe"}
        kinds |= {stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a directory"}
        return next((kind for test, kind in kinds.items() if test(mode)), None)

    def check(self) -> None:
        """``CacheUnusable`` when ``problem`` has something to say."""
        if (problem := self.problem()) is not None:
            raise CacheUnusable(problem)

    def make_dir(self) -> None:
        """Check the directory, and create it (0700) when it does not exist yet."""
        self.check()
        self.path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)

    def read(self) -> bytes:
        """The file's bytes, at most ``MAX_SIZE`` + 1 of them; a file that others can read is
        made private again. Raises ``FileNotFoundError``, another ``OSError``, or
        ``CacheUnusable`` for a file that is not ours (a link, not a regular file, another
        owner, writable by others)."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            descriptor = os.open(self.path, flags | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise CacheUnusable("it is a symbolic link") from None
            raise
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise CacheUnusable("it is not a regular file")
            if os.name == "posix":
                if info.st_uid != os.geteuid():
                    raise CacheUnusable(f"it is owned by another user (uid {info.st_uid})")
                if info.st_mode & 0o022:
                    raise CacheUnusable(
                        f"it is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
                    )
                if info.st_mode & 0o077:
                    with contextlib.suppress(OSError):
                        os.fchmod(descriptor, PRIVATE_FILE)
            data = bytearray()
            while len(data) <= MAX_SIZE and (chunk := os.read(descriptor, 65536)):
                data += chunk
            return bytes(data)
        finally:
            os.close(descriptor)

    def replace(self, data: bytes) -> None:
        """Replace the file atomically: a private temp file beside it, fsync, rename (a reader
        sees the old file or the new one, never a part). Call it under the write lock."""
        self._remove_leftovers()
        descriptor, temp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_dir(self.path.parent)

    def _remove_leftovers(self) -> None:
        """Temp files of a writer that was killed mid-write (we hold the lock: none is live)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

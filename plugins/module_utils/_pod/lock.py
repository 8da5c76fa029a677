# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: one run at a time per pod on the managed host. Not a public API.

Two runs of the same pod that observe, plan and apply at the same time remove each other's
containers by name. The pod managers hold an exclusive flock on a file named after the pod from
before the first read until after the last change; a second run waits for it (up to its
lock_timeout) and then observes what the first one made. The kernel drops the lock when the
holder exits, however it exits, so a killed run leaves nothing to clean up.

A run that leaves the pod absent removes the lock file while it still holds the lock
(release(remove=True)), so that files of removed pods do not pile up. A waiter may then get the
flock on the unlinked inode: after every flock, acquire() checks that the path still names the
inode it locked, and opens and locks the path again when it does not. Two runs therefore never
hold locks on different inodes for one pod: only the holder of the inode the path names may
unlink it, and no one can make a new file there while it does.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

LOCK_DIR = Path("/run/lock/podlab")
_POLL = 0.1


class PodLockTimeout(Exception):
    """Another run held the pod's lock for the whole timeout."""


class PodLock:
    """An exclusive lock on LOCK_DIR/<key>.lock; key holds only characters safe in a file name (checked names)."""

    def __init__(self, key: str, timeout: float, directory: Path = LOCK_DIR) -> None:
        self.path = directory / f"{key}.lock"
        self.timeout = timeout
        self.fd: int | None = None
        self.waited = 0.0

    def holder(self) -> str:
        """The pid the holder wrote, for the message (it may have exited since)."""
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def _open(self) -> tuple[int, bool]:
        """The lock file, made if missing; (fd, writable): a file another user made is locked read-only (flock needs no more)."""
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path.parent, 0o1777)  # shared by root and docker-group users, as /run/lock itself
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), True
        except PermissionError:
            return os.open(self.path, os.O_RDONLY), False

    def __enter__(self) -> PodLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def _names(self, fd: int) -> bool:
        """Whether the path still names the file open on fd (a holder that removed the pod unlinks it)."""
        try:
            on_path = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (held.st_dev, held.st_ino) == (on_path.st_dev, on_path.st_ino)

    def acquire(self) -> PodLock:
        fd, writable = self._open()
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            else:
                if self._names(fd):
                    break
                # locked a file the previous holder unlinked: lock the one the path names now (made if missing)
                os.close(fd)
                fd, writable = self._open()
                continue
            if time.monotonic() - start >= self.timeout:
                holder = self.holder()
                os.close(fd)
                raise PodLockTimeout(f"another run of this pod (pid {holder}) held {self.path} for {self.timeout:g} s; "
                                     "wait for it to end, or raise lock_timeout")
            time.sleep(_POLL)
        self.waited = time.monotonic() - start
        if writable:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self, remove: bool = False) -> None:
        """Drop the lock; remove: unlink the lock file first, while still holding it (the pod is absent)."""
        if self.fd is None:
            return
        if remove:
            # PermissionError: another user's file in the sticky directory; it stays, and every run still locks it
            with contextlib.suppress(FileNotFoundError, PermissionError):
                self.path.unlink()
        # closing drops the flock
        os.close(self.fd)
        self.fd = None

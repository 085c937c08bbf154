"""An exclusive lock on the ledger for one run, taken at once or not at all.

The operating system's own advisory lock on a sibling file (`flock` on POSIX, `msvcrt.locking`
on Windows): it is released when the run ends, and also when the process dies, so a crashed
run never leaves a stale lock behind. The standard library has both calls; the `filelock`
package wrapped the same calls but imported asyncio and logging into every command.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Held(Exception):
    """Another process (or another handle in this one) holds the lock."""


_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, getattr(errno, "EDEADLOCK", errno.EDEADLK)}

if sys.platform == "win32":
    import msvcrt

    def _acquire(descriptor: int) -> None:
        # The first byte of the lock file stands for the whole ledger.
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the `with` block.

    Raises `Held` at once when someone else holds it, and `OSError` when the file cannot be
    opened. The file itself stays: deleting it while another process waits on it would let
    two runs each hold a lock on a different file.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            _acquire(descriptor)
        except OSError as error:
            if error.errno in _BUSY:
                raise Held(str(path)) from None
            raise
        try:
            yield
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)

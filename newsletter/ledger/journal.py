"""The journal: each recipient's step of a running send, appended to a file next to the ledger.

Rewriting the whole ledger after every recipient (temporary file, fsync, rename) would cost
a full write and two fsyncs per reader and grow with the list; this file takes one short
append instead: `sending KEY FINGERPRINT` just before a message is handed over, then
`served ...` or `declined ...` once the server has answered. A send starts with `begin KEY`.

Durability, and why it is batched: each line reaches the operating system with one `write`
before the next step, so a killed or crashed process (kill -9, a cancelled CI job, an
out-of-memory kill) loses nothing. Only a power cut or kernel crash can lose lines the disk
has not stored yet, so the file is fsynced at `begin`, at most every `SYNC_INTERVAL`
seconds while sending, and at the end: one fsync costs a few milliseconds (tens on some CI
disks), as much as handing a message to a nearby relay, and a power cut then repeats at most
a second's worth of messages.

The run that owns the journal folds it into the ledger when it saves; a run that finds a
journal left behind (the previous one was killed) folds it in when it reads the ledger. A
line cut short by the crash is ignored; a journal that cannot be read otherwise counts as lost
(see `progress.py`: the author settles such a send by hand).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SYNC_INTERVAL = 1.0
"""Seconds between fsyncs while a send runs (see the module's docstring for why)."""

BEGIN, SENDING, SERVED, DECLINED = "begin", "sending", "served", "declined"
STEPS = frozenset({SENDING, SERVED, DECLINED})


def journal_path(ledger: Path) -> Path:
    return ledger.with_name(f"{ledger.name}.journal")


class JournalDamaged(Exception):
    """A line in the middle of the journal is not one the program writes."""


@dataclass
class Entries:
    """What the journal holds for one send: its recipients' last step."""

    last_step: dict[str, str] = field(default_factory=dict)

    @property
    def served(self) -> set[str]:
        return {recipient for recipient, step in self.last_step.items() if step == SERVED}

    @property
    def in_doubt(self) -> set[str]:
        return {recipient for recipient, step in self.last_step.items() if step == SENDING}


def read_journal(path: Path) -> dict[str, Entries] | None:
    """Each send's entries, by key; None when there is no journal. JournalDamaged if a line
    other than a last one cut short is not one the program writes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    text = raw.decode("utf-8", "replace")
    lines = text.split("\n")
    # The last element is "" after a complete final line, or a line cut short by a crash.
    complete = lines[:-1]
    sends: dict[str, Entries] = {}
    for line in complete:
        parts = line.split(" ")
        if len(parts) == 2 and parts[0] == BEGIN:
            sends.setdefault(parts[1], Entries())
        elif len(parts) == 3 and parts[0] in STEPS and parts[1] in sends:
            sends[parts[1]].last_step[parts[2]] = parts[0]
        else:
            raise JournalDamaged(line[:80])
    return sends


class Journal:
    """The journal of one running send, open for appending."""

    def __init__(
        self,
        path: Path,
        key: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        self.path = path
        self.key = key
        self._clock = clock
        self._fsync = fsync
        self._descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._append(f"{BEGIN} {key}\n")
        self._sync()
        fsync_folder(path.parent)

    def step(self, step: str, recipient: str) -> None:
        """Record one recipient's step before the send moves on."""
        assert step in STEPS
        self._append(f"{step} {self.key} {recipient}\n")
        if self._clock() - self._synced >= SYNC_INTERVAL:
            self._sync()

    def close(self) -> None:
        if self._descriptor < 0:
            return
        try:
            self._sync()
        finally:
            os.close(self._descriptor)
            self._descriptor = -1

    def _append(self, line: str) -> None:
        data = line.encode("utf-8")
        # One write per line on an O_APPEND descriptor: no buffer in this process to lose.
        while data:
            data = data[os.write(self._descriptor, data) :]

    def _sync(self) -> None:
        self._fsync(self._descriptor)
        self._synced = self._clock()


def remove_journal(path: Path) -> None:
    """Drop a journal whose every send the ledger now holds."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a file's creation, removal or rename in `folder` durable (the journal's and the
    ledger's atomic save alike); Windows cannot open a folder, and needs no such step."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

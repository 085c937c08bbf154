"""The ledger file on disk: read it, lock it for a run, and replace it atomically.

Sending twice and losing a post both start here: the file is written whole (temporary file,
fsync, rename, fsync of the folder) and only under an exclusive lock held in a sibling
`<name>.lock` file, and a damaged file is named and never overwritten. This is the only
place that spells a record's time as text. The layout itself is described in `schema.py`.

The file keeps a stable key order and one field per line, so each run is a small git diff.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from newsletter.errors import LedgerBusy, LedgerError
from newsletter.ledger.entries import RUNS_KEPT, PostRecord, RunRecord, utc
from newsletter.ledger.journal import (
    Journal,
    JournalDamaged,
    fsync_folder,
    journal_path,
    read_journal,
    remove_journal,
)
from newsletter.ledger.lock import Held, exclusive
from newsletter.ledger.progress import InDoubt, Progress
from newsletter.ledger.reached import Reached
from newsletter.ledger.records import DestinationLedger
from newsletter.ledger.schema import LEDGER_VERSION, NewerLedger, SchemaError, read_document
from newsletter.models import Validators


def timestamp(moment: datetime) -> str:
    """The ledger's spelling of a moment: UTC, to the second, with a `Z`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ledger:
    """The whole file: one `DestinationLedger` per destination (its records and the validators
    of the feeds it read), and the recent runs."""

    def __init__(
        self,
        path: Path,
        *,
        destinations: Iterable[DestinationLedger] = (),
        runs: Iterable[RunRecord] = (),
        feeds: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self._feeds = feeds
        self._destinations = {destination.name: destination for destination in destinations}
        self._runs: list[RunRecord] = list(runs)[-RUNS_KEPT:]
        self._journal: Journal | None = None

    @classmethod
    def read(cls, path: Path, *, feeds: tuple[str, ...] = ()) -> Ledger:
        """Read the ledger without locking it; a missing file is an empty ledger.

        `feeds`: with several feeds, their addresses in the file's order, by which each
        feed's ids are kept apart (`DestinationLedger`); () with one feed.
        """
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, feeds=feeds)
        except OSError as error:
            raise _unreadable(path, f"cannot be read ({error.strerror or error})") from None
        try:
            document = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _unreadable(path, "is not UTF-8 text") from None
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            raise _unreadable(path, f"is not valid JSON ({where})") from None
        except RecursionError:
            raise _unreadable(path, "is nested too deeply to be a ledger") from None
        try:
            values = read_document(document)
        except NewerLedger as newer:
            raise LedgerError(
                f"The ledger {path} was written by a newer newsletter (ledger version "
                f"{newer.version}); it was left untouched: upgrade newsletter to read it."
            ) from None
        except SchemaError as error:
            raise _unreadable(path, f"is damaged ({error})") from None
        ledger = cls._from_values(path, values, feeds)
        ledger._fold_journal()
        return ledger

    @classmethod
    @contextmanager
    def locked(cls, path: Path, *, feeds: tuple[str, ...] = ()) -> Iterator[Ledger]:
        """Hold the ledger's lock for a whole run; a second run fails at once (LedgerBusy).

        The lock is a sibling `<name>.lock` file, so the ledger itself is only ever replaced
        whole. Nothing is saved on exit: the caller saves at each step it wants kept.
        """
        lock_path = path.with_name(f"{path.name}.lock")
        with ExitStack() as stack:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(exclusive(lock_path))
            except Held:
                raise LedgerBusy(
                    f"Another newsletter run is using {path}; wait for it to finish and run "
                    "again (this run sent nothing)."
                ) from None
            except OSError as error:
                raise LedgerError(
                    f"Cannot lock the ledger {path} ({error.strerror or error}); check that "
                    "its folder exists and is writable."
                ) from None
            yield cls.read(path, feeds=feeds)

    def save(self) -> None:
        """Replace the file atomically: a crash leaves either the old or the new ledger."""
        text = json.dumps(self._document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
            descriptor, temporary = tempfile.mkstemp(
                dir=folder, prefix=f".{self.path.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(text.encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temporary, mode)
                os.replace(temporary, self.path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary)
                raise
            fsync_folder(folder)
            if self._journal is None:
                # The file now holds every step a journal recorded (or a journal too damaged
                # to read left the sends it held marked unknown).
                remove_journal(self.journal_path)
        except OSError as error:
            raise LedgerError(
                f"Cannot write the ledger {self.path} ({error.strerror or error}); the previous "
                "ledger is unchanged: check that its folder is writable, then run again."
            ) from None

    @property
    def journal_path(self) -> Path:
        """Where a running send records each recipient (ledger/journal.py)."""
        return journal_path(self.path)

    def open_journal(self, key: str) -> Journal:
        """The journal for the send `key`, begun and synced to disk before it is used.

        A journal left by a stopped run was folded in when the ledger was read; it is saved
        into the file first, so the new journal starts empty without losing a step.
        """
        assert self._journal is None, "one send at a time records its recipients"
        if self.journal_path.exists():
            self.save()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = Journal(self.journal_path, key)
        except OSError as error:
            raise LedgerError(
                f"Cannot write the journal {self.journal_path} ({error.strerror or error}); "
                "nothing was sent: check that the ledger's folder is writable, then run again."
            ) from None
        return self._journal

    def close_journal(self) -> None:
        """The send is over; the next save holds its steps and removes the journal."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()

    def destination(self, name: str) -> DestinationLedger:
        if name not in self._destinations:
            self._destinations[name] = DestinationLedger(name, feeds=self._feeds)
        return self._destinations[name]

    def destinations(self) -> tuple[str, ...]:
        """The destinations that have records, sorted."""
        return tuple(
            sorted(
                name
                for name, ledger in self._destinations.items()
                if ledger.records() or ledger.progresses()
            )
        )

    def add_run(self, run: RunRecord) -> None:
        """Remember a run; only the last RUNS_KEPT are kept, so the file stays small."""
        self._runs = [*self._runs, run][-RUNS_KEPT:]

    @property
    def runs(self) -> tuple[RunRecord, ...]:
        return tuple(self._runs)

    def _fold_journal(self) -> None:
        """Take in what a journal left by a stopped run recorded. A send whose journal lines
        are missing, or a journal that cannot be read, leaves that send's progress unknown."""
        try:
            sends = read_journal(self.journal_path)
        except (OSError, JournalDamaged):
            return
        if sends is None:
            return
        for destination in self._destinations.values():
            for key, reached in destination.sends_reaching().items():
                entries = sends.get(key)
                if reached.journal is None or entries is None:
                    continue
                reached.served |= entries.served
                reached.in_doubt = (reached.in_doubt | entries.in_doubt) - reached.served
                reached.journal = None

    @classmethod
    def _from_values(cls, path: Path, values: Mapping[str, Any], feeds: tuple[str, ...]) -> Ledger:
        return cls(
            path,
            feeds=feeds,
            destinations=[
                DestinationLedger(
                    name,
                    [
                        PostRecord(**{**fields, "id": fields["id"] or key})
                        for key, fields in value["posts"].items()
                    ],
                    validators={
                        url: Validators(**fields) for url, fields in (value["feeds"] or {}).items()
                    },
                    progress=[
                        _progress(key, fields) for key, fields in (value["sends"] or {}).items()
                    ],
                    reached={
                        key: _reached(fields) for key, fields in (value["reached"] or {}).items()
                    },
                    feeds=feeds,
                )
                for name, value in values["destinations"].items()
            ],
            runs=[
                RunRecord(
                    **{
                        **fields,
                        "posts": tuple(fields["posts"]),
                        "detail": fields["detail"] or "",
                        "slot": fields["slot"] or "",
                        "issue": fields["issue"] or "",
                    }
                )
                for fields in values["runs"]
            ],
        )

    def _document(self) -> dict[str, Any]:
        sends = any(
            ledger.progresses() or ledger.sends_reaching() for ledger in self._destinations.values()
        )
        destinations = {
            name: _destination_document(destination)
            for name, destination in sorted(self._destinations.items())
            if destination.records() or destination.all_validators() or destination.progresses()
        }
        shared_ids = any(
            "id" in post
            for document in destinations.values()
            for post in document["posts"].values()
        )
        return {
            "version": LEDGER_VERSION if shared_ids else 2 if sends else 1,
            "destinations": destinations,
            "runs": [_run_document(run) for run in self._runs],
        }


def _unreadable(path: Path, problem: str) -> LedgerError:
    return LedgerError(
        f"The ledger {path} {problem}; it was left untouched: fix it by hand or restore the "
        "last good version from git, then run again."
    )


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _destination_document(destination: DestinationLedger) -> dict[str, Any]:
    document: dict[str, Any] = {"posts": _posts_document(destination.records())}
    validators = destination.all_validators()
    if validators:
        document["feeds"] = {
            url: _without_none({"etag": value.etag, "last_modified": value.last_modified})
            for url, value in validators.items()
        }
    if progresses := destination.progresses():
        document["sends"] = {entry.key: _progress_document(entry) for entry in progresses}
    if reaching := destination.sends_reaching():
        document["reached"] = {key: _reached_document(entry) for key, entry in reaching.items()}
    return document


def _posts_document(records: Sequence[PostRecord]) -> dict[str, Any]:
    """The records by id; where feeds share an id, each but the one kept under no feed is
    kept under `"<id> (<feed>)"` and says its id."""
    shared = Counter(record.id for record in records)
    posts: dict[str, Any] = {}
    for record in records:
        fields = _record_document(record)
        key = record.id
        if shared[record.id] > 1 and record.feed is not None:
            key, fields["id"] = record.reference, record.id
        while key in posts:
            # Only an id that is itself spelled "<id> (<feed>)" could get here.
            key += " "
            fields["id"] = record.id
        posts[key] = fields
    return posts


def _progress(key: str, fields: Mapping[str, Any]) -> Progress:
    return Progress(
        key=key,
        began=fields["began"],
        check=fields["check"],
        batches=fields["batches"],
        served=frozenset(fields["served"]),
        in_doubt=tuple(
            InDoubt(doubt["batch"], doubt["at"], tuple(doubt["recipients"]))
            for doubt in fields["in_doubt"]
        ),
    )


def _progress_document(progress: Progress) -> dict[str, Any]:
    return {
        "began": timestamp(progress.began),
        "check": progress.check,
        "batches": progress.batches,
        "served": sorted(progress.served),
        "in_doubt": [
            {"batch": doubt.batch, "at": timestamp(doubt.at), "recipients": list(doubt.recipients)}
            for doubt in progress.in_doubt
        ],
    }


def _reached(fields: Mapping[str, Any]) -> Reached:
    return Reached(
        started=fields["started"],
        served=set(fields["served"] or ()),
        in_doubt=set(fields["in_doubt"] or ()),
        journal=fields["journal"],
    )


def _reached_document(reached: Reached) -> dict[str, Any]:
    return _without_none(
        {
            "started": timestamp(reached.started),
            "served": sorted(reached.served),
            "in_doubt": sorted(reached.in_doubt),
            "journal": reached.journal,
        }
    )


def _record_document(record: PostRecord) -> dict[str, Any]:
    return _without_none(
        {
            "link": record.link,
            "title": record.title,
            "status": str(record.status),
            "at": timestamp(record.at),
            "message_id": record.message_id,
            "idempotency_key": record.idempotency_key,
            "reason": record.reason,
            "feed": record.feed,
        }
    )


def _run_document(run: RunRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "at": timestamp(run.at),
        "command": run.command,
        "destination": run.destination,
        "result": run.result,
        "posts": list(run.posts),
    }
    if run.detail:
        document["detail"] = run.detail
    if run.slot:
        document["slot"] = run.slot
    if run.issue:
        document["issue"] = run.issue
    return document

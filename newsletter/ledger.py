"""The ledger: what each destination has been sent, in one JSON file committed to git.

Sending twice and losing a post both start here (SPEC "What counts as new, and the ledger"):
the file is written atomically and only under an exclusive lock, a corrupt file is never
overwritten, posts are recorded `pending` before the provider is called, and a post is
recognised by its id or its normalised link (`identity.py`) so a blog migration resends
nothing. Records are kept per destination so outbox and test sends never count for the list.

The file keeps a stable key order and one field per line, so each run is a small git diff:

    {"version": 1,
     "feeds": {"<feed url>": {"etag": ..., "last_modified": ...}},
     "destinations": {"<destination>": {"posts": {"<post id>": {"link", "title", "status",
                                                                "at", "message_id"?,
                                                                "idempotency_key"?}}}},
     "runs": [{"at", "command", "destination", "result", "posts", "detail"?}, ...]}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from newsletter.errors import ConfigError, LedgerBusy, LedgerError
from newsletter.identity import link_keys, normalise_link, permalink, post_key
from newsletter.models import Post, Validators

LEDGER_VERSION = 1
RUNS_KEPT = 20


class Status(StrEnum):
    PENDING = "pending"
    """Handed to the provider; no answer recorded yet (a crash leaves it so)."""
    SENT = "sent"
    DRAFTED = "drafted"
    """A draft was created for review at the provider; counts as handled."""
    BASELINE = "baseline"
    """Already published when the newsletter started; recorded so it is never sent."""


@dataclass(frozen=True)
class PostRecord:
    id: str
    link: str
    title: str
    status: Status
    at: str
    """When the status was recorded: ISO-8601 UTC to the second, e.g. 2026-11-19T08:00:00Z."""
    message_id: str | None = None
    idempotency_key: str | None = None

    @property
    def day(self) -> str:
        return self.at[:10]


@dataclass(frozen=True)
class RunRecord:
    at: str
    command: str
    destination: str
    result: str
    posts: tuple[str, ...]
    """The ids of the posts the run sent, drafted, baselined or left pending."""
    detail: str = ""


@dataclass(frozen=True)
class Selection:
    """What `select_new` decided for each post of the feed.

    Every post that is not in `new` is in `skipped` once, with a plain reason; `baseline` is
    the part of `skipped` the first run records as baseline instead of sending.
    """

    new: tuple[Post, ...]
    """Oldest first (undated posts last, in feed order), so a digest reads chronologically."""
    skipped: tuple[tuple[Post, str], ...]
    baseline: tuple[Post, ...]


def timestamp(moment: datetime) -> str:
    """The ledger's spelling of a moment: UTC, to the second, with a `Z`."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


class DestinationLedger:
    """The records of one destination (provider plus its list, audience or domain)."""

    def __init__(self, name: str, records: Iterable[PostRecord] = ()) -> None:
        self.name = name
        self._records: dict[str, PostRecord] = {record.id: record for record in records}
        self._link_owners: dict[str, list[str]] | None = None
        self._before_pending: dict[str, PostRecord | None] = {}

    @property
    def is_first_run(self) -> bool:
        return not self._records

    def records(self) -> tuple[PostRecord, ...]:
        return tuple(self._records[key] for key in sorted(self._records))

    def pending(self) -> tuple[PostRecord, ...]:
        waiting = [record for record in self._records.values() if record.status is Status.PENDING]
        return tuple(sorted(waiting, key=lambda record: (record.at, record.id)))

    def pending_batches(self) -> tuple[tuple[PostRecord, ...], ...]:
        """Pending records grouped by the send they were part of (their idempotency key)."""
        batches: dict[str | None, list[PostRecord]] = {}
        for record in self.pending():
            batches.setdefault(record.idempotency_key, []).append(record)
        return tuple(tuple(batch) for batch in batches.values())

    def match(
        self, post: Post, *, ignored_links: frozenset[str] = frozenset()
    ) -> PostRecord | None:
        """The record of this post: same id, else same normalised link or FeedBurner link.

        A link that several recorded posts share (a feed that links every item to its home
        page) identifies none of them, and neither do `ignored_links`.
        """
        record = self._records.get(post_key(post))
        if record is not None:
            return record
        owners = self._links()
        for link in sorted(link_keys(post) - ignored_links):
            ids = owners.get(link, [])
            if len(ids) == 1:
                return self._records[ids[0]]
        return None

    def mark(
        self,
        posts: Sequence[Post],
        status: Status,
        *,
        at: datetime,
        message_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Record posts under their own id with this status.

        Marking as baseline never overwrites an existing record (a post already sent stays
        sent). Marking as pending remembers the previous record, so `forget` can undo it when
        the provider certainly sent nothing.
        """
        stamp = timestamp(at)
        for post in posts:
            key = post_key(post)
            if not key:
                raise ValueError("a post with neither an id nor a link cannot be recorded")
            previous = self._records.get(key)
            if status is Status.BASELINE and previous is not None:
                continue
            if status is Status.PENDING:
                self._before_pending.setdefault(key, previous)
            else:
                self._before_pending.pop(key, None)
            self._records[key] = PostRecord(
                id=key,
                link=permalink(post),
                title=" ".join(post.title.split()),
                status=status,
                at=stamp,
                message_id=message_id,
                idempotency_key=idempotency_key,
            )
        self._link_owners = None

    def forget(self, posts: Sequence[Post]) -> None:
        """Undo this process's `mark(..., PENDING)` after the provider certainly sent nothing.

        Each such record goes back to what it was before (absent, or sent for a `--force`
        resend). Records left pending by an earlier, interrupted run stay pending: only
        `resolve` settles those.
        """
        for post in posts:
            key = post_key(post)
            if key not in self._before_pending:
                continue
            previous = self._before_pending.pop(key)
            if previous is None:
                self._records.pop(key, None)
            else:
                self._records[key] = previous
        self._link_owners = None

    def resolve(self, reference: str, as_sent: bool, *, at: datetime) -> PostRecord:
        """Settle a post left pending by an interrupted send (`newsletter resolve`).

        `reference` is the post's id or link. As sent, the record becomes `sent`; as unsent,
        the record is removed so the next run sends the post. Returns the settled record.
        """
        record = self._find(reference)
        if record is None:
            raise ConfigError(
                f"No post {reference!r} is recorded for {self.name}; run `newsletter status` "
                "to see the pending posts and their ids."
            )
        if record.status is not Status.PENDING:
            raise ConfigError(
                f"The post {reference!r} is not pending (it is {record.status} since "
                f"{record.day}); only posts left pending by an interrupted send need resolving."
            )
        if as_sent:
            settled = replace(record, status=Status.SENT, at=timestamp(at))
            self._records[record.id] = settled
        else:
            settled = self._records.pop(record.id)
        self._link_owners = None
        return settled

    def _find(self, reference: str) -> PostRecord | None:
        wanted = reference.strip()
        if wanted in self._records:
            return self._records[wanted]
        link = normalise_link(wanted)
        candidates = [
            record
            for record in self._records.values()
            if record.link and normalise_link(record.link) == link
        ]
        pending = [record for record in candidates if record.status is Status.PENDING]
        if len(pending) > 1:
            raise ConfigError(
                f"Several pending posts have the link {reference!r}; resolve each by its id "
                "(shown by `newsletter status`)."
            )
        if pending:
            return pending[0]
        return candidates[0] if candidates else None

    def _links(self) -> dict[str, list[str]]:
        if self._link_owners is None:
            owners: dict[str, list[str]] = {}
            for record in self._records.values():
                if record.link:
                    owners.setdefault(normalise_link(record.link), []).append(record.id)
            self._link_owners = owners
        return self._link_owners


class Ledger:
    """The whole file: feed validators, one `DestinationLedger` per destination, recent runs."""

    def __init__(
        self,
        path: Path,
        *,
        feeds: Mapping[str, Validators] | None = None,
        destinations: Iterable[DestinationLedger] = (),
        runs: Iterable[RunRecord] = (),
    ) -> None:
        self.path = path
        self._feeds: dict[str, Validators] = dict(feeds or {})
        self._destinations = {destination.name: destination for destination in destinations}
        self._runs: list[RunRecord] = list(runs)[-RUNS_KEPT:]

    @classmethod
    def read(cls, path: Path) -> Ledger:
        """Read the ledger without locking it; a missing file is an empty ledger."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path)
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
        return _LedgerReader(path).ledger(document)

    @classmethod
    @contextmanager
    def locked(cls, path: Path) -> Iterator[Ledger]:
        """Hold the ledger's lock for a whole run; a second run fails at once (LedgerBusy).

        The lock is a sibling `<name>.lock` file, so the ledger itself is only ever replaced
        whole. Nothing is saved on exit: the caller saves at each step it wants kept.
        """
        lock_path = path.with_name(f"{path.name}.lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_path), timeout=0)
            lock.acquire()
        except Timeout:
            raise LedgerBusy(
                f"Another newsletter run is using {path}; wait for it to finish and run again "
                "(this run sent nothing)."
            ) from None
        except OSError as error:
            raise LedgerError(
                f"Cannot lock the ledger {path} ({error.strerror or error}); check that its "
                "folder exists and is writable."
            ) from None
        try:
            yield cls.read(path)
        finally:
            lock.release()

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
            _fsync_folder(folder)
        except OSError as error:
            raise LedgerError(
                f"Cannot write the ledger {self.path} ({error.strerror or error}); the previous "
                "ledger is unchanged: check that its folder is writable, then run again."
            ) from None

    def validators(self, feed_url: str) -> Validators:
        return self._feeds.get(feed_url, Validators())

    def remember_validators(self, feed_url: str, validators: Validators) -> None:
        if validators.etag is None and validators.last_modified is None:
            self._feeds.pop(feed_url, None)
        else:
            self._feeds[feed_url] = validators

    def destination(self, name: str) -> DestinationLedger:
        if name not in self._destinations:
            self._destinations[name] = DestinationLedger(name)
        return self._destinations[name]

    def destinations(self) -> tuple[str, ...]:
        """The destinations that have records, sorted."""
        return tuple(
            sorted(name for name, ledger in self._destinations.items() if ledger.records())
        )

    def add_run(self, run: RunRecord) -> None:
        """Remember a run; only the last RUNS_KEPT are kept, so the file stays small."""
        self._runs = [*self._runs, run][-RUNS_KEPT:]

    @property
    def runs(self) -> tuple[RunRecord, ...]:
        return tuple(self._runs)

    def _document(self) -> dict[str, Any]:
        return {
            "version": LEDGER_VERSION,
            "feeds": {
                url: _without_none(
                    {"etag": validators.etag, "last_modified": validators.last_modified}
                )
                for url, validators in self._feeds.items()
            },
            "destinations": {
                name: {"posts": {record.id: _record_document(record) for record in records}}
                for name in self.destinations()
                if (records := self._destinations[name].records())
            },
            "runs": [_run_document(run) for run in self._runs],
        }


def select_new(
    posts: Sequence[Post],
    destination: DestinationLedger,
    *,
    now: datetime,
    first_run_days: int,
    since: date | None = None,
) -> Selection:
    """Decide which posts of the feed are new for this destination (SPEC "What counts as new").

    A post is new when the destination has no record of it (by id or normalised link), it
    is not dated in the future, and, on the destination's first run, it was published on or
    after `since` or, without `since`, within `first_run_days`; older and undated posts on
    the first run go to `baseline`. After the first run an undated post is new like any other.
    """
    now = _utc(now)
    window_start = now - timedelta(days=first_run_days)
    first_run = destination.is_first_run
    shared = _links_of_several_posts(posts)
    new: list[Post] = []
    skipped: list[tuple[Post, str]] = []
    baseline: list[Post] = []
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    for post in posts:
        links = link_keys(post) - shared
        key = post_key(post)
        record = destination.match(post, ignored_links=shared) if key else None
        published = _utc(post.published) if post.published is not None else None
        if not key:
            skipped.append((post, "has neither an id nor a link"))
        elif key in seen_ids or links & seen_links:
            skipped.append((post, "appears twice in the feed"))
        elif record is not None:
            skipped.append((post, _recorded_reason(post, record)))
        elif published is not None and published > now:
            skipped.append((post, f"dated in the future ({published.date().isoformat()})"))
        elif not first_run or _on_or_after(published, since):
            new.append(post)
        elif published is None:
            skipped.append((post, "undated on the first run"))
            baseline.append(post)
        elif since is not None:
            # --since replaces the first-run window, whichever of the two is wider.
            skipped.append((post, f"published before --since {since.isoformat()}"))
            baseline.append(post)
        elif published < window_start:
            days = "1 day" if first_run_days == 1 else f"{first_run_days} days"
            skipped.append((post, f"older than the first-run window ({days})"))
            baseline.append(post)
        else:
            new.append(post)
        seen_ids.add(key)
        seen_links |= links
    return Selection(
        new=tuple(sorted(new, key=_oldest_first)),
        skipped=tuple(skipped),
        baseline=tuple(baseline),
    )


def _on_or_after(published: datetime | None, since: date | None) -> bool:
    return published is not None and since is not None and published.date() >= since


def _recorded_reason(post: Post, record: PostRecord) -> str:
    reasons = {
        Status.SENT: f"already sent on {record.day}",
        Status.DRAFTED: f"already drafted on {record.day}",
        Status.BASELINE: f"recorded as baseline on {record.day} (published before the newsletter)",
        Status.PENDING: (
            f"pending since {record.day}: a send was interrupted (see `newsletter status`)"
        ),
    }
    reason = reasons[record.status]
    if record.id != post_key(post):
        reason += "; matched by its link, its id changed"
    return reason


def _links_of_several_posts(posts: Sequence[Post]) -> frozenset[str]:
    """Links that more than one post of the feed carries: they identify none of them."""
    owners: dict[str, set[str]] = {}
    for post in posts:
        for link in link_keys(post):
            owners.setdefault(link, set()).add(post_key(post))
    return frozenset(link for link, ids in owners.items() if len(ids) > 1)


def _oldest_first(post: Post) -> tuple[bool, datetime]:
    moment = (
        _utc(post.published) if post.published is not None else datetime.max.replace(tzinfo=UTC)
    )
    return (post.published is None, moment)


def _utc(moment: datetime) -> datetime:
    # Feeds without a zone mean UTC far more often than the machine's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; Windows cannot open a folder, and needs no such step."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _unreadable(path: Path, problem: str) -> LedgerError:
    return LedgerError(
        f"The ledger {path} {problem}; it was left untouched: fix it by hand or restore the "
        "last good version from git, then run again."
    )


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _record_document(record: PostRecord) -> dict[str, Any]:
    return _without_none(
        {
            "link": record.link,
            "title": record.title,
            "status": str(record.status),
            "at": record.at,
            "message_id": record.message_id,
            "idempotency_key": record.idempotency_key,
        }
    )


def _run_document(run: RunRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "at": run.at,
        "command": run.command,
        "destination": run.destination,
        "result": run.result,
        "posts": list(run.posts),
    }
    if run.detail:
        document["detail"] = run.detail
    return document


class _LedgerReader:
    """Checks the structure of a parsed ledger, naming the first wrong field it finds."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ledger(self, document: object) -> Ledger:
        # The version comes first: a newer layout is to be upgraded for, not called damaged.
        version = self._object(document, "the top level").get("version")
        if type(version) is int and version > LEDGER_VERSION:
            raise LedgerError(
                f"The ledger {self.path} was written by a newer newsletter (ledger version "
                f"{version}); it was left untouched: upgrade newsletter to read it."
            )
        if type(version) is not int or version < 1:
            raise self._wrong("version", "a whole number from 1 up")
        top = self._object(
            document,
            "the top level",
            required={"version"},
            optional={"feeds", "destinations", "runs"},
        )
        feeds = self._object(top.get("feeds", {}), "feeds")
        destinations = self._object(top.get("destinations", {}), "destinations")
        runs = top.get("runs", [])
        if not isinstance(runs, list):
            raise self._wrong("runs", "a list")
        return Ledger(
            self.path,
            feeds={url: self._validators(value, f"feeds[{url!r}]") for url, value in feeds.items()},
            destinations=[self._destination(name, value) for name, value in destinations.items()],
            runs=[self._run(value, f"runs[{index}]") for index, value in enumerate(runs)],
        )

    def _validators(self, value: object, where: str) -> Validators:
        fields = self._object(value, where, optional={"etag", "last_modified"})
        return Validators(
            etag=self._optional_text(fields, "etag", where),
            last_modified=self._optional_text(fields, "last_modified", where),
        )

    def _destination(self, name: str, value: object) -> DestinationLedger:
        where = f"destinations[{name!r}]"
        fields = self._object(value, where, required={"posts"})
        posts = self._object(fields["posts"], f"{where}.posts")
        return DestinationLedger(
            name,
            [self._record(key, record, f"{where}.posts[{key!r}]") for key, record in posts.items()],
        )

    def _record(self, key: str, value: object, where: str) -> PostRecord:
        fields = self._object(
            value,
            where,
            required={"link", "title", "status", "at"},
            optional={"message_id", "idempotency_key"},
        )
        status = self._text(fields, "status", where)
        if status not in set(Status):
            raise self._wrong(f"{where}.status", f"one of {', '.join(Status)}")
        return PostRecord(
            id=key,
            link=self._text(fields, "link", where),
            title=self._text(fields, "title", where),
            status=Status(status),
            at=self._moment(fields, where),
            message_id=self._optional_text(fields, "message_id", where),
            idempotency_key=self._optional_text(fields, "idempotency_key", where),
        )

    def _run(self, value: object, where: str) -> RunRecord:
        fields = self._object(
            value,
            where,
            required={"at", "command", "destination", "result", "posts"},
            optional={"detail"},
        )
        posts = fields["posts"]
        if not isinstance(posts, list) or not all(isinstance(post, str) for post in posts):
            raise self._wrong(f"{where}.posts", "a list of post ids")
        return RunRecord(
            at=self._moment(fields, where),
            command=self._text(fields, "command", where),
            destination=self._text(fields, "destination", where),
            result=self._text(fields, "result", where),
            posts=tuple(posts),
            detail=self._optional_text(fields, "detail", where) or "",
        )

    def _object(
        self,
        value: object,
        where: str,
        *,
        required: set[str] | None = None,
        optional: set[str] | None = None,
    ) -> dict[str, Any]:
        """A JSON object; with `required`/`optional`, exactly those keys may appear."""
        if not isinstance(value, dict):
            raise self._wrong(where, "an object")
        if required is None and optional is None:
            return value
        missing = sorted((required or set()) - value.keys())
        if missing:
            raise self._wrong(where, f"an object with {missing[0]!r}")
        unknown = sorted(value.keys() - (required or set()) - (optional or set()))
        if unknown:
            raise self._wrong(f"{unknown[0]!r} in {where}", "absent (it is not a ledger field)")
        return value

    def _text(self, fields: Mapping[str, Any], name: str, where: str) -> str:
        value = fields.get(name)
        if not isinstance(value, str):
            raise self._wrong(f"{where}.{name}", "text")
        return value

    def _optional_text(self, fields: Mapping[str, Any], name: str, where: str) -> str | None:
        return None if fields.get(name) is None else self._text(fields, name, where)

    def _moment(self, fields: Mapping[str, Any], where: str) -> str:
        value = self._text(fields, "at", where)
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise self._wrong(f"{where}.at", "an ISO-8601 time like 2026-11-19T08:00:00Z") from None
        return value

    def _wrong(self, where: str, expected: str) -> LedgerError:
        return _unreadable(self.path, f"is damaged ({where} should be {expected})")

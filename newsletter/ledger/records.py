"""The ledger's records, in memory: what one destination has been sent, and how posts match.

This module never touches a file: `store.py` reads and writes the JSON, `schema.py` checks it.
Times here are timezone-aware `datetime`s in UTC; only the store spells them as text.

A post is recognised by its id or its normalised link (`identity.py`), so a blog that changes
guids or permalinks resends nothing (docs/architecture.md). In a newsletter of several feeds
each feed keeps its own ids: two blogs may both number their posts `42`, so how far an id
reaches beyond the post's own feed is `_with_id`'s rule. A link names a record whichever
feed it came from, so a post two feeds carry goes out once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from newsletter.errors import ConfigError
from newsletter.identity import former_keys, fragment_only, link_keys, permalink, post_key
from newsletter.ledger.entries import PostRecord, RecordKey, Settled, Status, utc
from newsletter.ledger.reached import Reached
from newsletter.models import Post, Validators
from newsletter.urls import normalise_link

if TYPE_CHECKING:
    from newsletter.ledger.progress import Progress


class DestinationLedger:
    """The records of one destination (provider plus its list, audience or domain)."""

    def __init__(
        self,
        name: str,
        records: Iterable[PostRecord] = (),
        *,
        validators: Mapping[str, Validators] | None = None,
        progress: Iterable[Progress] = (),
        reached: Mapping[str, Reached] | None = None,
        feeds: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.feeds = feeds
        """With several feeds, their addresses in the file's order (the first is where the
        newsletter's one feed was); () with one feed."""
        self._records: dict[RecordKey, PostRecord] = {}
        self._by_id: dict[str, list[RecordKey]] = {}
        for record in records:
            self._put(record)
        self._validators: dict[str, Validators] = dict(validators or {})
        self._progress: dict[str, Progress] = {entry.key: entry for entry in progress}
        self._link_owners: dict[str, list[RecordKey]] | None = None
        self._before_pending: dict[RecordKey, tuple[RecordKey, PostRecord] | None] = {}
        self._reached: dict[str, Reached] = dict(reached or {})
        self._settled_sends: set[str] = set()

    @property
    def is_first_run(self) -> bool:
        """No record of any kind yet: a baseline, a draft or a pending post counts as a run."""
        return not self._records

    def is_first_run_of(self, feed_url: str) -> bool:
        """Whether one feed of several is on its first run here: no record came from it.

        Records written before the newsletter had several feeds say no feed; they count for
        the first feed.
        """
        return not any(self.feed_of(record) == feed_url for record in self._records.values())

    def records(self) -> tuple[PostRecord, ...]:
        return tuple(self._records[key] for key in sorted(self._records, key=_by_id_first))

    def validators(self, feed_url: str) -> Validators:
        """The ETag and Last-Modified this destination's last complete run of the feed got.

        They are kept per destination: a destination that never read the feed must read it
        whole, even when another one (the outbox, tried first) would get a 304 for it.
        """
        return self._validators.get(feed_url, Validators())

    def remember_validators(self, feed_url: str, validators: Validators) -> None:
        """Keep them for the next conditional request; empty validators forget the feed's."""
        if validators.etag is None and validators.last_modified is None:
            self._validators.pop(feed_url, None)
        else:
            self._validators[feed_url] = validators

    def all_validators(self) -> dict[str, Validators]:
        """Every feed's validators, by feed address."""
        return dict(sorted(self._validators.items()))

    def progress(self, key: str) -> Progress | None:
        """How far the send with this key got, where the provider's records can settle it."""
        return self._progress.get(key)

    def progresses(self) -> tuple[Progress, ...]:
        return tuple(self._progress[key] for key in sorted(self._progress))

    def keep_progress(self, progress: Progress) -> None:
        self._progress[progress.key] = progress

    def drop_progress(self, key: str) -> None:
        """The send is settled (its posts sent, or known not to have gone out)."""
        self._progress.pop(key, None)

    def reached(self, key: str | None) -> Reached | None:
        """Whom the send `key` has reached so far, where its provider reports each recipient."""
        return self._reached.get(key) if key else None

    def track(self, key: str, *, at: datetime, journal: str, fresh: bool) -> Reached:
        """Start recording a send's recipients: a `fresh` send starts from nobody, a retry of
        the same send carries on from its record."""
        reached = self._reached.get(key)
        if reached is None or fresh:
            reached = self._reached[key] = Reached(started=utc(at))
        reached.journal = journal
        return reached

    def sends_reaching(self) -> dict[str, Reached]:
        """Whom each send that still has pending posts reached (what the file keeps)."""
        keys = {record.idempotency_key for record in self.pending()}
        return {key: self._reached[key] for key in sorted(self._reached) if key in keys}

    def pending(self) -> tuple[PostRecord, ...]:
        waiting = [record for record in self._records.values() if record.status is Status.PENDING]
        return tuple(sorted(waiting, key=lambda record: (record.at, record.id)))

    def match(
        self, post: Post, *, ignored_links: frozenset[str] = frozenset()
    ) -> PostRecord | None:
        """The record of this post: same id, else same normalised link or FeedBurner link,
        else the key it had before it was found to be shared (`identity.former_keys`), for a
        post published no later than that record.

        A link that several recorded posts share (a feed that links every item to its home
        page) identifies none of them, and neither do `ignored_links`; a link that matches
        only once fragments are ignored never makes two posts with guids one. How far an id
        reaches beyond the post's own feed: `_with_id`.
        """
        record = self._with_id(post, post_key(post))
        if record is not None:
            return record
        owners = self._links()
        for link in (post.link, post.orig_link or ""):
            normalised = normalise_link(link) if link.strip() else ""
            if not normalised or normalised in ignored_links:
                continue
            keys = owners.get(normalised, [])
            # Several records of one post (its copies in two feeds) still name one post.
            if len({self._records[key].id for key in keys}) == 1:
                candidate = self._pick(keys, post)
                if not fragment_only(post, link, candidate.link, candidate.id):
                    return candidate
        for key in former_keys(post):
            record = self._with_id(post, key)
            if record is not None and (post.published is None or utc(post.published) <= record.at):
                return record
        return None

    def mark(
        self,
        posts: Sequence[Post],
        status: Status,
        *,
        at: datetime,
        message_id: str | None = None,
        idempotency_key: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Record posts under their own id with this status (a skipped post with `reason`).

        Marking as baseline never overwrites an existing record (a post already sent stays
        sent). Marking as pending remembers the previous record, so `forget` can undo it when
        the provider certainly sent nothing.
        """
        moment = utc(at)
        for post in posts:
            post_id = post_key(post)
            if not post_id:
                raise ValueError("a post with neither an id nor a link cannot be recorded")
            previous = self._with_id(post, post_id)
            if status is Status.BASELINE and previous is not None:
                continue  # known already, here or as another feed's copy of the post
            if previous is not None and not self._replaces(previous, post):
                previous = None  # another feed's, or history it may not claim: kept as it is
            key = (post.feed_url, post_id)
            if status is Status.PENDING:
                self._before_pending.setdefault(
                    key, None if previous is None else (previous.key, previous)
                )
            else:
                self._before_pending.pop(key, None)
            if previous is not None:
                # The same post's record, kept until now under no feed or under the feed's
                # former address: one record per post, under its feed's address now.
                self._drop(previous.key)
            self._put(
                PostRecord(
                    id=post_id,
                    link=permalink(post),
                    title=" ".join(post.title.split()),
                    status=status,
                    at=moment,
                    message_id=message_id,
                    idempotency_key=idempotency_key,
                    reason=reason,
                    feed=post.feed_url or None,
                )
            )
        self._changed()

    def forget(self, posts: Sequence[Post]) -> None:
        """Undo this process's `mark(..., PENDING)` after the provider certainly sent nothing.

        Each such record goes back to what it was before (absent, or sent for a `--force`
        resend). Records left pending by an earlier, interrupted run stay pending: only
        `resolve` settles those.
        """
        for post in posts:
            key = (post.feed_url, post_key(post))
            if key not in self._before_pending:
                continue
            previous = self._before_pending.pop(key)
            if key in self._records:
                self._drop(key)
            if previous is not None:
                self._put(previous[1])
        self._changed()

    def resolve(self, reference: str | PostRecord, as_sent: bool, *, at: datetime) -> Settled:
        """Settle a post left pending by an interrupted send (`newsletter resolve`).

        `reference` is the post's id or link, or its pending record. Where the send recorded
        each recipient, only the messages in doubt are settled: as sent they count as served,
        as unsent they are owed again, and the post stays pending until the next send has
        reached everyone else. Otherwise, as sent, the record becomes `sent`; as unsent, the
        record is removed so the next run sends the post to the whole list.
        """
        record = reference if isinstance(reference, PostRecord) else self.pending_record(reference)
        reached = self.reached(record.idempotency_key)
        if reached is not None and reached.known:
            return self._settle_in_doubt(record, reached, as_sent)
        if as_sent:
            settled = replace(record, status=Status.SENT, at=utc(at))
            self._put(settled)
        else:
            settled = self._drop(record.key)
        self._changed()
        key = record.idempotency_key
        if key and not any(r.idempotency_key == key for r in self.pending()):
            # The author settled the whole send: how far it got no longer matters.
            self.drop_progress(key)
        return Settled(settled, in_doubt=None)

    def pending_record(self, reference: str) -> PostRecord:
        """The pending record `reference` (a post's id or link) names, or a ConfigError that
        says why there is none."""
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
        return record

    def _settle_in_doubt(self, record: PostRecord, reached: Reached, as_sent: bool) -> Settled:
        key = record.idempotency_key or ""
        if key in self._settled_sends:
            # Another post of the same email, named in the same command: already settled.
            return Settled(record, in_doubt=0)
        if not reached.in_doubt:
            raise ConfigError(
                f"{record.title!r} has no message in doubt: its interrupted send recorded "
                f"every reader it reached ({len(reached.served)}), and the next "
                "`newsletter send` sends it to the others; there is nothing to resolve."
            )
        count = len(reached.in_doubt)
        reached.settle(delivered=as_sent)
        self._settled_sends.add(key)
        return Settled(record, in_doubt=count)

    def _prune(self) -> None:
        """Drop whom sends reached once no pending post belongs to them any more."""
        keys = {record.idempotency_key for record in self.pending()}
        for key in [key for key in self._reached if key not in keys]:
            del self._reached[key]

    def _find(self, reference: str) -> PostRecord | None:
        wanted = reference.strip()
        by_id = [self._records[key] for key in self._by_id.get(wanted, ())]
        if by_id:
            return _the_one(
                by_id,
                f"Several feeds have a pending post with the id {reference!r}; "
                "resolve each by its link (shown by `newsletter status`).",
            )
        link = normalise_link(wanted)
        candidates = [
            record
            for record in self._records.values()
            if record.link and normalise_link(record.link) == link
        ]
        return _the_one(
            candidates,
            f"Several pending posts have the link {reference!r}; resolve each by its id "
            "(shown by `newsletter status`).",
        )

    def feed_of(self, record: PostRecord) -> str:
        """The feed a record is of, as a run names it: a record of the days of one feed is
        the first feed's ("" with one feed)."""
        return record.feed or (self.feeds[0] if self.feeds else "")

    def _replaces(self, record: PostRecord, post: Post) -> bool:
        """Whether marking `post` may take `record`'s place: a record of the post's own feed,
        or any record in a newsletter of one feed."""
        return not self.feeds or self.feed_of(record) == post.feed_url

    def _with_id(self, post: Post, post_id: str) -> PostRecord | None:
        """The record this id names for `post`.

        A record of the post's own feed (as the run names it: "" with one feed; with several,
        the first also owns the records of the days of one feed) is named by the id alone,
        so an edited title changes nothing. A record of another feed the newsletter reads
        only when its link is the post's too: the same post, carried by both (a blog's main
        and category feeds), while two blogs may both call different posts `42`. Any other
        record (of the days of one feed, or of a feed whose address has changed since) when
        its title is the post's too: a blog that moved keeps its guids and its titles.
        """
        title, links = _plain(post.title), link_keys(post)
        carried = history = None
        for key in self._by_id.get(post_id, ()):
            record = self._records[key]
            if self.feed_of(record) == post.feed_url:
                return record
            if (record.feed or "") in self.feeds:
                if carried is None and normalise_link(record.link) in links:
                    carried = record
            elif history is None and _plain(record.title) == title:
                history = record
        return carried or history

    def _pick(self, keys: Sequence[RecordKey], post: Post) -> PostRecord:
        """Of records of one post, the one of the post's own feed, else the first."""
        own = [key for key in keys if key[0] == post.feed_url]
        return self._records[(own or list(keys))[0]]

    def _changed(self) -> None:
        self._link_owners = None
        self._prune()

    def _put(self, record: PostRecord) -> None:
        if record.key not in self._records:
            self._by_id.setdefault(record.id, []).append(record.key)
        self._records[record.key] = record

    def _drop(self, key: RecordKey) -> PostRecord:
        keys = self._by_id[key[1]]
        keys.remove(key)
        if not keys:
            del self._by_id[key[1]]
        return self._records.pop(key)

    def _links(self) -> dict[str, list[RecordKey]]:
        if self._link_owners is None:
            owners: dict[str, list[RecordKey]] = {}
            for key, record in self._records.items():
                if record.link:
                    owners.setdefault(normalise_link(record.link), []).append(key)
            self._link_owners = owners
        return self._link_owners


def _plain(title: str) -> str:
    return " ".join(title.split()).casefold()


def _by_id_first(key: RecordKey) -> tuple[str, str]:
    return (key[1], key[0])


def _the_one(candidates: Sequence[PostRecord], several_pending: str) -> PostRecord | None:
    """The pending one of the records a reference names, else the first; several pending is
    a ConfigError with `several_pending` as its message."""
    pending = [record for record in candidates if record.status is Status.PENDING]
    if len(pending) > 1:
        raise ConfigError(several_pending)
    if pending:
        return pending[0]
    return candidates[0] if candidates else None

"""Handing emails to the provider so that nothing is sent twice and nothing is lost.

Each email is one unit of work (`Delivery.send`):
  begin  - its posts are recorded `pending` under a deterministic idempotency key, and the
           ledger is saved, before the provider is called;
  commit - the provider accepted it: the posts become `sent` (or `drafted`) with the message id;
  abort  - the provider failed: where it proves nothing went out, the pending marks are
           undone; a failed run is recorded and the ledger saved either way.
A process killed between begin and commit leaves `pending` records. The next send retries
them with the same key where the provider recognises keys and the send is recent enough
(`IDEMPOTENCY_WINDOW`). Where the provider's own records can say what went out (`Settles`:
Postmark, Mailgun), each batch is journalled in the send's `Progress` before its request
(`LedgerJournal`), and the next run settles the batches left in doubt from those records
(`reconcile.py`) and sends to the recipients not yet reached. Where the provider hands over
one message per recipient (`EachRecipient`: SMTP), each step is appended to the ledger's
journal (`RecipientTracker`), and the next run carries on with the readers not reached,
asking the author only about the one message in doubt. Otherwise the next run stops and asks
the author to `newsletter resolve` the posts.
Why each step is saved when it is: docs/architecture.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from newsletter.errors import ConfigError, LedgerError, ProviderError, SafetyRefusal, UnrecordedSend
from newsletter.identity import post_reference
from newsletter.ledger import (
    DestinationLedger,
    Ledger,
    PostRecord,
    Progress,
    RunRecord,
    Status,
)
from newsletter.ledger.progress import CHECK_TEXT
from newsletter.models import Email, Feed, Post, Receipt
from newsletter.providers.base import Drafts, EachRecipient, Settles
from newsletter.providers.idempotency import idempotency_key
from newsletter.recipients import RecipientTracker, in_doubt_sentence

if TYPE_CHECKING:
    from newsletter.providers.base import Provider, Traits

IDEMPOTENCY_WINDOW = timedelta(hours=24)
"""How long providers keep an idempotency key (Resend documents 24 hours; Buttondown does not
say): an interrupted send older than this is never retried automatically."""

Clock = Callable[[], datetime]
Notify = Callable[[str], None]


@dataclass(frozen=True)
class Batch:
    """Posts left pending by one interrupted send, and the key that send used."""

    key: str
    posts: tuple[Post, ...]


class Delivery:
    """Sends a run's emails to one destination, keeping its ledger records true at each step."""

    def __init__(
        self,
        ledger: Ledger,
        provider: Provider,
        *,
        clock: Clock,
        notify: Notify,
        draft: bool = False,
    ) -> None:
        self.ledger = ledger
        self.records: DestinationLedger = ledger.destination(provider.traits.destination)
        self.provider = provider
        self.clock = clock
        self.notify = notify
        self.draft = draft
        self.lock = threading.Lock()
        """Held while the journal writes, since an adapter's batches run on several threads."""
        self.opened: set[str] = set()
        """The keys whose `Progress` this process started (an abort may drop only those)."""
        self.unsettled: list[str] = []
        """Why posts a retry carried on stay pending: messages still in doubt (one sentence
        each), for the run to stop on once every owed reader has been served."""
        self._unsaved: list[Post] = []
        """Posts the provider accepted whose `sent` records are not on disk yet."""

    def send(self, email: Email, posts: Sequence[Post]) -> Receipt:
        """Send one email of a new run: begin, call the provider, commit or abort."""
        key = idempotency_key(self.records.name, email.post_ids, earlier=self._earlier(posts))
        log = self._recipients(key, fresh=True) if self._per_recipient else None
        try:
            self.begin(posts, key)
        except BaseException:
            self._close(log)
            raise
        return self._attempt(email, posts, key, log)

    def send_all(self, emails: Sequence[Email], posts: Sequence[Post]) -> list[Receipt]:
        """Send a new run's emails in order, each with the posts it carries."""
        by_reference = {post_reference(post): post for post in posts}
        return [
            self.send(email, [by_reference[name] for name in email.post_ids]) for email in emails
        ]

    def retry(
        self, batches: Sequence[Batch], render: Callable[[Sequence[Post]], Sequence[Email]]
    ) -> tuple[list[Email], list[Receipt]]:
        """Send again what interrupted sends left pending, each batch with its own key, so a
        provider that already accepted it answers with the original result, and a provider
        that records each recipient carries on with the readers not reached yet."""
        emails: list[Email] = []
        receipts: list[Receipt] = []
        for batch in batches:
            for email in render(batch.posts):
                emails.append(email)
                posts = [post for post in batch.posts if post_reference(post) in email.post_ids]
                log = None
                if self._per_recipient:
                    log = self._recipients(batch.key, fresh=False)
                    self._save_or_close(log)
                receipts.append(self._attempt(email, posts, batch.key, log))
        return emails, receipts

    def begin(self, posts: Sequence[Post], key: str) -> None:
        self.records.mark(posts, Status.PENDING, at=self.clock(), idempotency_key=key)
        if isinstance(self.provider, Settles) and not self.draft:
            # Saved with the pending marks: a run that dies before its first batch then leaves
            # a send with nothing in doubt, which the next run finishes without `resolve`.
            self.open_progress(self.provider, key)
        self.save()

    def open_progress(self, provider: Settles, key: str) -> None:
        """Start the send's `Progress` (whom it reached, which batches are in doubt)."""
        if self.records.progress(key) is None:
            check = provider.fingerprint(CHECK_TEXT)
            self.records.keep_progress(Progress(key, began=self.clock(), check=check))
            self.opened.add(key)

    def commit(self, posts: Sequence[Post], receipt: Receipt, key: str) -> None:
        self.records.drop_progress(key)
        drafted = self.draft or receipt.drafted
        self.records.mark(
            posts,
            Status.DRAFTED if drafted else Status.SENT,
            at=self.clock(),
            message_id=receipt.message_id,
            idempotency_key=key,
        )
        # Not saved here: the next email's `begin`, or the run's final save, writes this too,
        # halving the fsyncs of a per-post run. A crash in between leaves the post `pending`,
        # the safe side: the next run retries with its key or asks for `resolve`.
        self._unsaved.extend(posts)

    def abort(
        self,
        posts: Sequence[Post],
        error: ProviderError | ConfigError,
        key: str = "",
        *,
        went_out: bool = False,
    ) -> None:
        # A configuration problem an adapter finds (a setting it checks late) stops it before
        # any request, like a ProviderError that proves nothing went out.
        if isinstance(error, ConfigError) or not error.maybe_sent:
            self.records.forget(posts)
            if key in self.opened:
                self.records.drop_progress(key)
        elif went_out:
            self._unsaved.extend(posts)
        self.ledger.add_run(
            RunRecord(
                at=self.clock(),
                command="send",
                destination=self.records.name,
                result="failed",
                posts=tuple(post.id for post in posts),
                detail=error.message,
            )
        )
        try:
            self.save()
        except LedgerError as failure:
            if isinstance(error, ProviderError) and error.maybe_sent:
                # The posts are pending on disk since `begin`; only this record is lost.
                raise UnrecordedSend(
                    f"{error.message} The ledger could not record the failed run either: "
                    f"{failure.message}"
                ) from None
            raise

    def _earlier(self, posts: Sequence[Post]) -> list[str]:
        """What the ledger already holds for these posts (a forced resend): each record's
        status, time and message id, so the resend's key differs from the first send's."""
        described = []
        for post in posts:
            record = self.records.match(post)
            if record is not None:
                moment = record.at.isoformat()
                described.append(f"{record.id} {record.status} {moment} {record.message_id or ''}")
        return described

    def save(self) -> None:
        """Save the ledger. Once the provider has accepted an email of this run, a failed
        write must not read as "nothing was sent" (exit 2): it is an UnrecordedSend (exit 1)
        that says the email went out and how to settle its posts."""
        try:
            self.ledger.save()
        except LedgerError as error:
            if self._unsaved:
                raise UnrecordedSend(self._unrecorded_sentence(error)) from None
            raise
        self._unsaved.clear()

    @property
    def _per_recipient(self) -> bool:
        return not self.draft and isinstance(self.provider, EachRecipient)

    def _attempt(
        self, email: Email, posts: Sequence[Post], key: str, log: RecipientTracker | None
    ) -> Receipt:
        self.notify(f"Sending {email.subject!r} through {self.provider.traits.name}")
        try:
            receipt = self._call(email, key, log)
        except (ProviderError, ConfigError) as error:
            self._close(log)
            self.abort(posts, error, key, went_out=log is not None and log.served_now > 0)
            raise
        except LedgerError as error:
            # The journal could not record a step: the send stopped before the next reader.
            if log is None:
                raise
            self._close(log)
            self._save_quietly()
            if log.served_now:
                self._unsaved.extend(posts)
                raise UnrecordedSend(self._unrecorded_sentence(error)) from None
            raise
        except BaseException:
            # Ctrl-C (a cancelled CI job gets SIGINT first) or a bug: the ledger file, which
            # the workflow commits, must hold every recipient the journal recorded.
            if log is not None:
                self._close(log)
                self._save_quietly()
            raise
        self._close(log)
        for rejection in receipt.rejected:
            self.notify(f"Not delivered to {rejection.address}: {rejection.reason}")
        if log is not None and log.reached.in_doubt:
            self.unsettled.append(in_doubt_sentence(posts, log, self.provider.traits.name))
            return receipt
        self.commit(posts, receipt, key)
        return receipt

    def _call(self, email: Email, key: str, log: RecipientTracker | None) -> Receipt:
        if self.draft:
            if not isinstance(self.provider, Drafts):
                raise ConfigError(f"The {self.provider.traits.name} provider has no drafts.")
            return self.provider.create_draft(email, idempotency_key=key)
        if log is not None:
            assert isinstance(self.provider, EachRecipient)
            return self.provider.send_each(email, idempotency_key=key, log=log)
        if isinstance(self.provider, Settles):
            journal = LedgerJournal(self, self.provider, key)
            return self.provider.send_marked(email, idempotency_key=key, journal=journal)
        return self.provider.send(email, idempotency_key=key)

    def _recipients(self, key: str, *, fresh: bool) -> RecipientTracker:
        if self.ledger.journal_path.exists():
            # What an earlier journal recorded goes into the file before a new one starts.
            self.save()
        journal = self.ledger.open_journal(key)
        reached = self.records.track(key, at=self.clock(), journal=journal.path.name, fresh=fresh)
        return RecipientTracker(key, reached, journal)

    def _close(self, log: RecipientTracker | None) -> None:
        if log is None:
            return
        log.reached.journal = None
        self.ledger.close_journal()

    def _save_or_close(self, log: RecipientTracker) -> None:
        try:
            self.save()
        except BaseException:
            self._close(log)
            raise

    def _save_quietly(self) -> None:
        # Should this fail, the journal next to the ledger still holds every step.
        with suppress(LedgerError):
            self.ledger.save()

    def _unrecorded_sentence(self, error: LedgerError) -> str:
        traits = self.provider.traits
        titles = ", ".join(dict.fromkeys(repr(post.title) for post in self._unsaved))
        flags = " ".join(dict.fromkeys(f"--post {post.link or post.id}" for post in self._unsaved))
        if traits.idempotent:
            settle = (
                "run `newsletter send` again within a day: it repeats the request under the "
                f"same key, which {traits.name} recognises, so nobody gets it twice"
            )
        elif traits.per_recipient:
            settle = (
                "run `newsletter send` again: it carries on from the readers the ledger and "
                f"its journal ({self.ledger.journal_path.name}) recorded, and sends nobody a "
                "second copy"
            )
        else:
            settle = (
                f"run `newsletter resolve {flags} --as sent` (never `--as unsent`: that would "
                "mail everyone again)"
            )
        return (
            f"The email went out through {traits.name}, but the ledger could not record it: "
            f"{error.message} The posts are pending: {titles}. Once the ledger can be "
            f"written, {settle}."
        )


class LedgerJournal:
    """An adapter's account of its batches, kept in the send's `Progress` as it goes: each
    batch saved in doubt before its request, settled in memory when answered (the next save,
    or the run's, writes that; a crash before it only leaves the batch to be looked up)."""

    def __init__(self, delivery: Delivery, provider: Settles, key: str) -> None:
        self.delivery = delivery
        self.key = key
        delivery.open_progress(provider, key)

    @property
    def served(self) -> frozenset[str]:
        return self._progress().served

    def posting(self, recipients: Sequence[str]) -> str:
        with self.delivery.lock:
            progress, batch = self._progress().posting(recipients, self.delivery.clock())
            self.delivery.records.keep_progress(progress)
            self.delivery.ledger.save()
        return batch

    def answered(self, batch: str, reached: Sequence[str]) -> None:
        with self.delivery.lock:
            self.delivery.records.keep_progress(self._progress().settled(batch, reached))

    def not_processed(self, batch: str) -> None:
        with self.delivery.lock:
            self.delivery.records.keep_progress(self._progress().settled(batch))

    def _progress(self) -> Progress:
        progress = self.delivery.records.progress(self.key)
        assert progress is not None, "the journal's progress is kept until commit or abort"
        return progress


def refuse_unsafe_retry(
    pending: Sequence[PostRecord],
    traits: Traits,
    *,
    now: datetime,
    records: DestinationLedger | None = None,
) -> None:
    """Stop (SafetyRefusal) where retrying the pending posts could mail the list twice: the
    provider does not recognise keys, or the interrupted send is older than its window. A
    provider that records each recipient carries on wherever that record is whole. Sends
    whose progress the provider's records can settle (`Settles`) are left to `reconcile.py`."""
    if (
        traits.settles
        and records is not None
        and all(records.progress(record.idempotency_key or "") for record in pending)
    ):
        return
    if traits.per_recipient and records is not None:
        unknown = [record for record in pending if not _recorded(records, record)]
        if not unknown:
            return
        listing = ", ".join(f"{record.title!r} ({record.link})" for record in unknown)
        progress = records.reached(unknown[0].idempotency_key)
        why = (
            f"the journal {progress.journal} that recorded them is missing or damaged"
            if progress is not None
            else "it kept no record of them"
        )
        raise SafetyRefusal(
            f"A previous send was interrupted and it is not known which readers it reached "
            f"({why}), so {len(unknown)} post(s) may or may not have reached them: {listing}. "
            "Check the server's log, then run "
            f"`newsletter resolve {_post_flags(unknown)} --as sent` (or `--as unsent` to send "
            "them to everyone again)."
        )
    if not traits.idempotent:
        listing = ", ".join(f"{record.title!r} ({record.link})" for record in pending)
        raise SafetyRefusal(
            f"A previous send was interrupted and {len(pending)} post(s) may or may not have "
            f"reached subscribers: {listing}. Check the provider's dashboard, then run "
            f"`newsletter resolve {_post_flags(pending)} --as sent` (or `--as unsent` to send "
            "them again)."
        )
    stale = [record for record in pending if now - record.at > IDEMPOTENCY_WINDOW]
    if stale:
        raise SafetyRefusal(
            f"A send interrupted more than a day ago left {len(stale)} post(s) pending, and "
            f"{traits.name} only recognises a retried send for about a day, so retrying now "
            "could mail them twice. Check the provider's dashboard, then run "
            f"`newsletter resolve {_post_flags(stale)} --as sent` (or `--as unsent` to send "
            "them again)."
        )


def _recorded(records: DestinationLedger, record: PostRecord) -> bool:
    progress = records.reached(record.idempotency_key)
    return progress is not None and progress.known


def pending_batches(
    pending: Sequence[PostRecord], feed: Feed, records: DestinationLedger
) -> tuple[Batch, ...]:
    """The feed's posts for each pending record, grouped by the send (key) that left them."""
    by_key: dict[str, list[Post]] = {}
    for record in pending:
        # The copy of the feed the record came from first: a post two feeds carry matches
        # the record by its link from either.
        copies = [p for p in feed.posts if records.match(p) == record]
        post = next((p for p in copies if post_reference(p) == record.reference), None)
        post = post or next(iter(copies), None)
        if post is None or not record.idempotency_key:
            raise SafetyRefusal(
                f"{record.title!r} is pending from an interrupted send but is not in the feeds "
                "this run read. If you chose one with --feed, run `newsletter send` without it "
                "to finish that send; if the post has left the feed, run `newsletter resolve "
                f"--post {record.link or record.id} --as sent` or `--as unsent`."
            )
        if post_reference(post) != record.reference:
            # Matched by link, title or another feed's copy: it finishes that record, under
            # its id and feed, leaving none pending.
            post = replace(post, id=record.id, feed_url=records.feed_of(record))
        by_key.setdefault(record.idempotency_key, []).append(post)
    return tuple(Batch(key, tuple(posts)) for key, posts in by_key.items())


def _post_flags(records: Sequence[PostRecord]) -> str:
    return " ".join(f"--post {record.link or record.id}" for record in records)

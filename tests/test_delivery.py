"""Delivery: each email is recorded pending before the provider sees it, then sent or undone.

A provider stand-in reads the ledger file at the moment it is called, which is what a crash
at that moment would leave behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from newsletter.delivery import (
    IDEMPOTENCY_WINDOW,
    Batch,
    Delivery,
    pending_batches,
    refuse_unsafe_retry,
)
from newsletter.errors import ConfigError, LedgerError, ProviderError, SafetyRefusal, UnrecordedSend
from newsletter.ledger import DestinationLedger, Ledger, Status
from newsletter.models import Email, Feed, Post, Receipt, Rejection
from newsletter.providers.base import RecipientLog, Traits, Unsubscribe
from tests.post_helpers import NOW, make_post

TRAITS = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=True)


@dataclass
class LedgerReadingProvider:
    """Answers like a provider, and notes what the ledger file said when it was called."""

    ledger_path: Path
    traits: Traits = TRAITS
    fail_with: ProviderError | ConfigError | None = None
    seen_on_disk: list[dict[str, str]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        document = json.loads(self.ledger_path.read_text())
        posts = document["destinations"]["fake:list"]["posts"]
        self.seen_on_disk.append({key: record["status"] for key, record in posts.items()})
        self.keys.append(idempotency_key)
        if self.fail_with is not None:
            raise self.fail_with
        return Receipt("fake", f"msg-{len(self.keys)}", 2, (Rejection("x@example.org", "bounced"),))

    def send_test(self, email: Email, *, address: str) -> Receipt:
        raise AssertionError("a delivery never sends a test")

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        self.keys.append(idempotency_key)
        return Receipt("fake", "draft-1", 0, drafted=True)

    def close(self) -> None:
        pass


def email_of(*posts: Post) -> Email:
    return Email("Subject", "", "<p/>", "text", post_ids=tuple(post.id for post in posts))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.read(tmp_path / "ledger.json")


def delivery(ledger: Ledger, provider: LedgerReadingProvider, **options: bool) -> Delivery:
    notes: list[str] = []
    return Delivery(ledger, provider, clock=lambda: NOW, notify=notes.append, **options)


def statuses(ledger: Ledger) -> dict[str, Status]:
    return {r.id: r.status for r in ledger.destination("fake:list").records()}


def test_posts_are_pending_on_disk_while_the_provider_has_them(ledger: Ledger) -> None:
    provider = LedgerReadingProvider(ledger.path)
    posts = [make_post(1), make_post(2)]
    receipt = delivery(ledger, provider).send(email_of(*posts), posts)
    assert provider.seen_on_disk == [{post.id: "pending" for post in posts}]
    assert receipt.message_id == "msg-1"
    records = ledger.destination("fake:list").records()
    assert {(r.status, r.message_id, r.idempotency_key) for r in records} == {
        (Status.SENT, "msg-1", provider.keys[0])
    }
    assert all(record.at == NOW for record in records)


def test_a_failure_that_proves_nothing_went_out_undoes_the_pending_marks(ledger: Ledger) -> None:
    provider = LedgerReadingProvider(ledger.path)
    provider.fail_with = ProviderError("Rejected: bad sender.", maybe_sent=False)
    post = make_post(1)
    with pytest.raises(ProviderError):
        delivery(ledger, provider).send(email_of(post), [post])
    on_disk = Ledger.read(ledger.path)
    assert on_disk.destination("fake:list").records() == ()
    (run,) = on_disk.runs
    assert (run.result, run.posts, run.detail) == ("failed", (post.id,), "Rejected: bad sender.")


@pytest.mark.parametrize(
    "error", [ProviderError("Timed out after sending."), ConfigError("The subscribers file ...")]
)
def test_an_uncertain_failure_stays_pending_but_a_setup_error_does_not(
    ledger: Ledger, error: ProviderError | ConfigError
) -> None:
    provider = LedgerReadingProvider(ledger.path, fail_with=error)
    post = make_post(1)
    with pytest.raises(type(error)):
        delivery(ledger, provider).send(email_of(post), [post])
    left = statuses(Ledger.read(ledger.path))
    assert left == ({} if isinstance(error, ConfigError) else {post.id: Status.PENDING})


def test_a_failed_forced_resend_leaves_the_post_sent(ledger: Ledger) -> None:
    post = make_post(1)
    ledger.destination("fake:list").mark([post], Status.SENT, at=NOW - timedelta(days=3))
    provider = LedgerReadingProvider(ledger.path)
    provider.fail_with = ProviderError("Rejected.", maybe_sent=False)
    with pytest.raises(ProviderError):
        delivery(ledger, provider).send(email_of(post), [post])
    (record,) = Ledger.read(ledger.path).destination("fake:list").records()
    assert (record.status, record.at) == (Status.SENT, NOW - timedelta(days=3))


def test_a_draft_is_recorded_as_drafted(ledger: Ledger) -> None:
    provider = LedgerReadingProvider(ledger.path)
    post = make_post(1)
    delivery(ledger, provider, draft=True).send(email_of(post), [post])
    assert statuses(ledger) == {post.id: Status.DRAFTED}


def test_a_retry_reuses_each_batchs_key_and_keeps_its_pending_time(ledger: Ledger) -> None:
    records = ledger.destination("fake:list")
    first, second = make_post(1), make_post(2)
    then = NOW - timedelta(hours=5)
    records.mark([first], Status.PENDING, at=then, idempotency_key="key-a")
    records.mark([second], Status.PENDING, at=then, idempotency_key="key-b")
    ledger.save()
    provider = LedgerReadingProvider(ledger.path)
    feed = Feed("B", "", "", None, (second, first))
    batches = pending_batches(records.pending(), feed, records)
    assert batches == (Batch("key-a", (first,)), Batch("key-b", (second,)))

    emails, receipts = delivery(ledger, provider).retry(batches, lambda posts: [email_of(*posts)])
    assert provider.keys == ["key-a", "key-b"]
    # On disk while the provider had them: still pending from the interrupted run.
    assert provider.seen_on_disk[0] == {first.id: "pending", second.id: "pending"}
    assert [email.post_ids for email in emails] == [(first.id,), (second.id,)]
    assert len(receipts) == 2 and statuses(ledger) == {first.id: "sent", second.id: "sent"}


def test_a_pending_post_gone_from_the_feed_asks_for_resolve() -> None:
    records = DestinationLedger("fake:list")
    records.mark([make_post(1)], Status.PENDING, at=NOW, idempotency_key="k")
    empty = Feed("B", "", "", None, (make_post(2),))
    with pytest.raises(
        SafetyRefusal,
        match=r"not in the feeds this run read.*without it.*newsletter resolve --post",
    ):
        pending_batches(records.pending(), empty, records)


def test_a_retry_is_refused_without_keys_or_after_the_window() -> None:
    records = DestinationLedger("fake:list")
    records.mark([make_post(1)], Status.PENDING, at=NOW, idempotency_key="k")
    pending = records.pending()
    refuse_unsafe_retry(pending, TRAITS, now=NOW + IDEMPOTENCY_WINDOW)
    with pytest.raises(SafetyRefusal, match="more than a day ago"):
        refuse_unsafe_retry(pending, TRAITS, now=NOW + IDEMPOTENCY_WINDOW + timedelta(seconds=1))
    keyless = Traits("smtp", "smtp:host", Unsubscribe("x"), idempotent=False)
    with pytest.raises(SafetyRefusal, match="may or may not have reached subscribers"):
        refuse_unsafe_retry(pending, keyless, now=NOW)


@pytest.mark.parametrize(
    ("age", "retried"),
    [
        (timedelta(hours=23, minutes=59, seconds=59), True),
        (timedelta(hours=24), True),
        (timedelta(hours=24, seconds=1), False),
        (timedelta(hours=25), False),
    ],
)
def test_the_idempotency_window_is_resends_24_hours(age: timedelta, retried: bool) -> None:
    """Pinned at its real value: Resend keeps a key for 24 hours, so a window of days would
    retry a send whose key the provider has already forgotten, and mail the list twice."""
    assert timedelta(hours=24) == IDEMPOTENCY_WINDOW
    records = DestinationLedger("fake:list")
    records.mark([make_post(1)], Status.PENDING, at=NOW, idempotency_key="k")
    if retried:
        refuse_unsafe_retry(records.pending(), TRAITS, now=NOW + age)
    else:
        with pytest.raises(SafetyRefusal, match="more than a day ago"):
            refuse_unsafe_retry(records.pending(), TRAITS, now=NOW + age)


EACH = Traits("each", "each:list", Unsubscribe("x"), per_recipient=True)


@dataclass
class EachReaderProvider:
    """Reports each reader to the log like SMTP does, then stops as `stop_with` says after
    `serve` readers (None: every reader is served)."""

    readers: tuple[str, ...]
    serve: int
    stop_with: BaseException | None = None
    traits: Traits = field(default_factory=lambda: EACH)

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        raise AssertionError("a per-recipient provider is sent through send_each")

    def send_each(self, email: Email, *, idempotency_key: str, log: RecipientLog) -> Receipt:
        served = 0
        for reader in self.readers:
            if not log.owed(reader):
                continue
            if served == self.serve and self.stop_with is not None:
                log.sending(reader)
                raise self.stop_with
            log.sending(reader)
            log.served(reader)
            served += 1
        return Receipt("each", "m-1", served)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        raise AssertionError("a delivery never sends a test")

    def close(self) -> None:
        pass


READERS = ("a@example.net", "b@example.net", "c@example.net")


def test_a_send_interrupted_by_ctrl_c_keeps_whom_it_reached_in_the_ledger_file(
    ledger: Ledger,
) -> None:
    # A cancelled GitHub Actions job gets SIGINT first; the workflow then commits the ledger
    # file only, so what the journal recorded must be in that file.
    provider = EachReaderProvider(READERS, serve=2, stop_with=KeyboardInterrupt())
    post = make_post(1)
    with pytest.raises(KeyboardInterrupt):
        Delivery(ledger, provider, clock=lambda: NOW, notify=lambda line: None).send(
            email_of(post), [post]
        )
    assert not ledger.journal_path.exists()
    records = Ledger.read(ledger.path).destination("each:list")
    (record,) = records.pending()
    progress = records.reached(record.idempotency_key)
    assert progress is not None and progress.known
    assert (len(progress.served), len(progress.in_doubt)) == (2, 1)


def test_a_journal_that_cannot_be_written_after_some_readers_is_not_nothing_sent(
    ledger: Ledger,
) -> None:
    provider = EachReaderProvider(
        READERS, serve=1, stop_with=LedgerError("Cannot write the journal (No space left).")
    )
    post = make_post(1)
    with pytest.raises(UnrecordedSend, match="The email went out through each") as raised:
        Delivery(ledger, provider, clock=lambda: NOW, notify=lambda line: None).send(
            email_of(post), [post]
        )
    assert raised.value.exit_code == 1
    assert "run `newsletter send` again: it carries on from the readers" in raised.value.message


def test_a_per_recipient_send_that_reached_everyone_is_sent_and_leaves_no_trace(
    ledger: Ledger,
) -> None:
    provider = EachReaderProvider(READERS, serve=3)
    post = make_post(1)
    carrier = Delivery(ledger, provider, clock=lambda: NOW, notify=lambda line: None)
    carrier.send(email_of(post), [post])
    carrier.save()
    document = json.loads(ledger.path.read_text())
    assert document["destinations"]["each:list"] == {
        "posts": {post.id: document["destinations"]["each:list"]["posts"][post.id]}
    }
    assert document["destinations"]["each:list"]["posts"][post.id]["status"] == "sent"
    assert not ledger.journal_path.exists()

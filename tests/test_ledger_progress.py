"""Whom a send reached: the journal next to the ledger, its fsync rhythm, and how a run that
finds it left behind takes it in (or, where it was lost, refuses to guess)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from newsletter.delivery import refuse_unsafe_retry
from newsletter.errors import ConfigError, SafetyRefusal
from newsletter.ledger import Ledger, Status
from newsletter.ledger.journal import (
    SENDING,
    SERVED,
    SYNC_INTERVAL,
    Journal,
    JournalDamaged,
    journal_path,
    read_journal,
)
from newsletter.ledger.reached import fingerprint
from newsletter.providers.base import Traits, Unsubscribe
from tests.post_helpers import NOW, make_post

SMTP = Traits("smtp", "smtp:mail", Unsubscribe("x"), per_recipient=True)
KEY = "newsletter-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_journal_is_synced_at_begin_then_at_most_once_a_second(tmp_path: Path) -> None:
    assert SYNC_INTERVAL == 1.0
    clock, syncs = Clock(), []
    journal = Journal(tmp_path / "j", KEY, clock=clock, fsync=syncs.append)
    assert len(syncs) == 1  # the begin line is on disk before any message goes out
    journal.step(SENDING, "aa")
    journal.step(SERVED, "aa")
    clock.now += SYNC_INTERVAL - 0.001
    journal.step(SENDING, "bb")
    assert len(syncs) == 1
    clock.now += 0.001
    journal.step(SERVED, "bb")
    assert len(syncs) == 2
    journal.close()
    assert len(syncs) == 3
    # Every line reached the file at once, synced or not: a killed process loses none.
    assert (tmp_path / "j").read_text() == (
        f"begin {KEY}\nsending {KEY} aa\nserved {KEY} aa\nsending {KEY} bb\nserved {KEY} bb\n"
    )


def test_each_recipients_last_step_counts_and_a_torn_last_line_is_ignored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    path.write_text(
        f"begin {KEY}\nsending {KEY} aa\nserved {KEY} aa\nsending {KEY} bb\n"
        f"declined {KEY} bb\nsending {KEY} cc\nserved {KEY} c"
    )
    (entries,) = read_journal(path).values()  # type: ignore[union-attr]
    assert (entries.served, entries.in_doubt) == ({"aa"}, {"cc"})


def test_a_journal_with_a_strange_line_inside_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_text(f"begin {KEY}\nsent {KEY} aa\nserved {KEY} bb\n")
    with pytest.raises(JournalDamaged):
        read_journal(path)
    assert read_journal(tmp_path / "none") is None


def interrupted_ledger(path: Path) -> Ledger:
    """A ledger saved while an SMTP send ran: its post pending, the send naming its journal;
    then the journal that run wrote before it was killed."""
    ledger = Ledger.read(path)
    records = ledger.destination("smtp:mail")
    records.mark([make_post(1)], Status.PENDING, at=NOW, idempotency_key=KEY)
    ledger.open_journal(KEY)
    records.track(KEY, at=NOW, journal=journal_path(path).name, fresh=True)
    ledger.save()
    ledger.close_journal()  # the file stays, as a killed process leaves it
    return ledger


def test_a_journal_left_by_a_killed_run_is_taken_in_and_then_removed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    interrupted_ledger(path)  # never closed: the process "died" here
    served, doubtful = fingerprint(KEY, "ada@example.net"), fingerprint(KEY, "bob@example.net")
    with journal_path(path).open("a") as journal:
        journal.write(f"sending {KEY} {served}\nserved {KEY} {served}\nsending {KEY} {doubtful}\n")

    with Ledger.locked(path) as ledger:
        records = ledger.destination("smtp:mail")
        progress = records.reached(KEY)
        assert progress is not None and progress.known
        assert (progress.served, progress.in_doubt) == ({served}, {doubtful})
        refuse_unsafe_retry(records.pending(), SMTP, now=NOW, records=records)  # carries on
        ledger.save()
    assert not journal_path(path).exists()
    document = json.loads(path.read_text())
    assert document["destinations"]["smtp:mail"]["reached"] == {
        KEY: {"started": "2026-11-26T08:00:00Z", "served": [served], "in_doubt": [doubtful]}
    }
    # No address is kept, only fingerprints.
    assert "example.net" not in path.read_text()


@pytest.mark.parametrize("journal", ["missing", "damaged"])
def test_a_send_whose_journal_is_lost_is_refused_until_resolved(
    tmp_path: Path, journal: str
) -> None:
    path = tmp_path / "ledger.json"
    interrupted_ledger(path)
    if journal == "missing":
        journal_path(path).unlink()
    else:
        journal_path(path).write_text(f"begin {KEY}\nnonsense\nserved {KEY} aa\n")
    with Ledger.locked(path) as ledger:
        records = ledger.destination("smtp:mail")
        progress = records.reached(KEY)
        assert progress is not None and not progress.known
        with pytest.raises(SafetyRefusal) as refused:
            refuse_unsafe_retry(records.pending(), SMTP, now=NOW, records=records)
        assert "it is not known which readers it reached" in refused.value.message
        assert (
            "ledger.json.journal that recorded them is missing or damaged" in refused.value.message
        )
        assert "newsletter resolve --post https://example.org/posts/1/" in refused.value.message
        # resolve settles the whole post then, as for a provider that records nothing.
        settled = records.resolve("tag:example.org,2026:1", True, at=NOW)
        assert settled.in_doubt is None and settled.record.status is Status.SENT
        ledger.save()
    assert "reached" not in json.loads(path.read_text())["destinations"]["smtp:mail"]


def test_resolve_settles_only_the_message_in_doubt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ledger = interrupted_ledger(path)
    records = ledger.destination("smtp:mail")
    progress = records.reached(KEY)
    assert progress is not None
    progress.journal = None
    progress.served, progress.in_doubt = {"aa"}, {"bb"}

    first = records.resolve("https://example.org/posts/1/", True, at=NOW + timedelta(hours=1))
    assert first.in_doubt == 1
    assert first.record.status is Status.PENDING  # the rest of the list is still owed it
    assert (progress.served, progress.in_doubt) == ({"aa", "bb"}, set())
    # Nothing is left in doubt: resolving again says so instead of guessing.
    fresh = type(records)("smtp:mail", records.records(), reached={KEY: progress})
    with pytest.raises(ConfigError, match="has no message in doubt"):
        fresh.resolve("tag:example.org,2026:1", False, at=NOW)


def test_resolve_as_unsent_makes_the_message_in_doubt_owed_again(tmp_path: Path) -> None:
    ledger = interrupted_ledger(tmp_path / "ledger.json")
    records = ledger.destination("smtp:mail")
    progress = records.reached(KEY)
    assert progress is not None
    progress.journal = None
    progress.served, progress.in_doubt = {"aa"}, {"bb"}
    settled = records.resolve("tag:example.org,2026:1", False, at=NOW)
    assert settled.in_doubt == 1
    assert (progress.served, progress.in_doubt) == ({"aa"}, set())
    assert records.pending()  # sent on by the next run, to "bb" and whoever else is owed


def test_a_fingerprint_is_per_send_and_ignores_the_case_of_the_address() -> None:
    assert fingerprint(KEY, "Ada@Example.net") == fingerprint(KEY, "ada@example.net")
    assert fingerprint(KEY, "ada@example.net") != fingerprint(KEY + "x", "ada@example.net")
    assert len(fingerprint(KEY, "ada@example.net")) == 16


def test_fingerprints_remembered_per_address_are_the_ledgers_keyed_hash() -> None:
    from newsletter.ledger.progress import Fingerprints
    from newsletter.ledger.progress import fingerprint as keyed

    remembered = Fingerprints("secret-1")
    for address in ("ada@example.net", " Ada@Example.NET ", "zoë@bücher.example", ""):
        assert remembered(address) == keyed("secret-1", address)
        assert remembered(address) == keyed("secret-1", address)  # asked again: the same
    assert Fingerprints("secret-2")("ada@example.net") != remembered("ada@example.net")

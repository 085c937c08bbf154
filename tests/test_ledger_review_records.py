"""What the review and the schedule add to the ledger: posts skipped by a closed review, and
the slot a run served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.errors import SafetyRefusal
from newsletter.ledger import Ledger, RunRecord, Status
from newsletter.models import Feed
from newsletter.plan import Limits, Request, decide
from newsletter.status import status_lines, status_of
from tests.post_helpers import NOW, make_post, sent_destination

LIMITS = Limits(first_run_days=7, max_posts=10, flood_limit=10)


def feed(*posts: object) -> Feed:
    return Feed(
        title="Blog",
        link="https://blog.example.org/",
        url="feed.xml",
        language="en",
        posts=posts,  # type: ignore[arg-type]
    )


def test_skipped_posts_and_slots_survive_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    skipped = make_post(2)
    with Ledger.locked(path) as ledger:
        ledger.destination("outbox").mark([skipped], Status.SKIPPED, at=NOW)
        ledger.add_run(
            RunRecord(NOW, "send", "outbox", "sent", ("a",), slot="2026-11-24 08:00 Europe/London")
        )
        ledger.add_run(RunRecord(NOW, "send", "outbox", "nothing new", ()))
        ledger.save()

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["runs"][0]["slot"] == "2026-11-24 08:00 Europe/London"
    assert "slot" not in document["runs"][1], "a run for no slot writes no empty field"
    again = Ledger.read(path)
    assert again.runs[0].slot == "2026-11-24 08:00 Europe/London"
    assert again.runs[1].slot == ""
    (record,) = again.destination("outbox").records()
    assert record.status is Status.SKIPPED


def test_a_skipped_post_is_not_new_and_says_why() -> None:
    sent, skipped, new = make_post(1), make_post(2), make_post(3)
    records = sent_destination(sent)
    records.mark([skipped], Status.SKIPPED, at=NOW)
    plan = decide(feed(sent, skipped, new), records, now=NOW, limits=LIMITS, request=Request())
    assert plan.to_send == (new,)
    (reason,) = [skip.reason for skip in plan.skipped if skip.post == skipped]
    assert "review pull request was closed without merging" in reason
    assert f"newsletter send --post {skipped.link}" in reason


def test_send_post_sends_a_skipped_post_without_force() -> None:
    sent, skipped = make_post(1), make_post(2)
    records = sent_destination(sent)
    records.mark([skipped], Status.SKIPPED, at=NOW)
    request = Request(posts=(skipped.link,))
    plan = decide(feed(sent, skipped), records, now=NOW, limits=LIMITS, request=request)
    assert plan.to_send == (skipped,)
    with pytest.raises(SafetyRefusal, match="already sent"):
        decide(
            feed(sent, skipped),
            records,
            now=NOW,
            limits=LIMITS,
            request=Request(posts=(sent.link,)),
        )


def test_status_lists_skipped_posts_with_the_command_that_sends_them(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    skipped = make_post(2)
    with Ledger.locked(path) as ledger:
        ledger.destination("outbox").mark([make_post(1)], Status.SENT, at=NOW)
        ledger.destination("outbox").mark([skipped], Status.SKIPPED, at=NOW)
        ledger.save()
    lines = status_lines(status_of(Ledger.read(path)))
    (line,) = [line for line in lines if "SKIPPED" in line]
    assert skipped.title in line
    assert f"newsletter send --post {skipped.link}" in line

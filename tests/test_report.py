"""The words of a run: the terminal lines and the Markdown step summary, from one Report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsletter.ledger import Ledger, RunRecord, Status
from newsletter.models import Email, Feed, Post, Receipt, Rejection
from newsletter.plan import Plan
from newsletter.report import Report, markdown_summary
from newsletter.status import status_lines, status_of


def test_step_summary_lists_posts_subject_provider_and_result() -> None:
    post = Post(
        id="1",
        link="https://b.example.org/1/",
        title="Pipes | and <b>tags</b>",
        author=None,
        published=datetime(2026, 11, 20, tzinfo=UTC),
        updated=None,
        html="<p>x</p>",
    )
    feed = Feed("B", "https://b.example.org/", "https://b.example.org/feed", None, (post,))
    plan = Plan(feed, "postmark:broadcast", (post,), (), (), (), False)
    report = Report(
        "send",
        "postmark:broadcast",
        "postmark",
        plan,
        emails=(Email("Weekly", "", "<p/>", "x"),),
        receipts=(Receipt("postmark", "m1", 41, (Rejection("x@example.org", "suppressed"),)),),
        outcome="Sent 1 post(s) in 1 email(s) through postmark.",
    )
    text = markdown_summary(report)
    assert "### newsletter send" in text
    assert "postmark" in text and "Weekly" in text
    assert "**Accepted:** 41, 1 not delivered" in text
    assert "| [Pipes \\| and &lt;b>tags&lt;/b>](https://b.example.org/1/) | 2026-11-20 |" in text
    assert "**Result:** Sent 1 post(s)" in text


def test_status_lists_latest_sends_pending_posts_and_runs(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "ledger.json")
    records = ledger.destination("resend:aud")
    sent = Post("s", "https://b.example.org/s/", "Sent one", None, None, None, "")
    waiting = Post("p", "https://b.example.org/p/", "Pending one", None, None, None, "")
    archive = [
        Post(f"a{n}", f"https://b.example.org/a{n}/", "Old", None, None, None, "") for n in range(9)
    ]
    records.mark([sent], Status.SENT, at=datetime(2026, 1, 6, 7, tzinfo=UTC))
    records.mark(archive, Status.BASELINE, at=datetime(2026, 2, 1, tzinfo=UTC))
    records.mark([waiting], Status.PENDING, at=datetime(2026, 2, 2, 8, 30, tzinfo=UTC))
    ledger.add_run(
        RunRecord(
            datetime(2026, 2, 2, 8, 30, tzinfo=UTC),
            "send",
            "resend:aud",
            "failed",
            ("p",),
            "Timed out.",
        )
    )

    lines = status_lines(status_of(ledger))
    assert lines[0] == f"Ledger: {tmp_path / 'ledger.json'}"
    assert lines[1] == "resend:aud: 9 baseline, 1 pending, 1 sent"
    assert "  2026-01-06  sent     Sent one" in lines  # not pushed out by the later baseline
    pending = next(line for line in lines if "PENDING" in line)
    assert pending.startswith("  PENDING since 2026-02-02T08:30:00Z: Pending one")
    assert "`newsletter resolve --post https://b.example.org/p/ --as sent|unsent`" in pending
    assert lines[-2:] == [
        "Recent runs:",
        "  2026-02-02T08:30:00Z  send     resend:aud           failed  Timed out.",
    ]


def test_an_empty_ledger_says_so(tmp_path: Path) -> None:
    assert status_lines(status_of(Ledger.read(tmp_path / "ledger.json")))[1:] == [
        "No sends recorded yet."
    ]

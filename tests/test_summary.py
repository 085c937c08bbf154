from __future__ import annotations

from datetime import UTC, datetime

from newsletter.models import Email, Feed, Post, Receipt, Rejection
from newsletter.pipeline import Plan, Report
from newsletter.summary import markdown_summary


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
    feed = Feed("B", "https://b.example.org/", "https://b.example.org/feed", None, None, (post,))
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

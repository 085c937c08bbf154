"""The review flow end to end: `newsletter review` and `send --scheduled` against the GitHub
stand-in, whose repository is a bare git remote that the blog's checkout really clones and
pulls. The clock is handed in, so each step happens at a chosen moment around the author's
slot (Tuesdays 08:00 in London; the review opens 24 hours ahead).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.config import Config, load_config
from newsletter.errors import LedgerError, SafetyRefusal
from newsletter.github_errors import GitHubSetupError
from newsletter.ledger import Ledger, Status
from newsletter.models import Email, Receipt
from newsletter.pipeline import SendOptions, send
from newsletter.providers import create
from newsletter.providers.base import Provider, Traits
from newsletter.report import Report
from newsletter.review.command import ReviewOptions, review
from newsletter.review.issue import load_issue
from newsletter.review.publish import BRANCH
from newsletter.status import status_lines, status_of
from tests.cli_harness import FeedPost, rss
from tests.fakes.github import GitHubFake

TOKEN = "ghs_review-flow-DO-NOT-LEAK"
ISSUE = "state/review/issue.json"
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)  # London is on GMT: local time is UTC
SLOT = MONDAY + timedelta(days=1, hours=8)
CONFIG = """\
[feed]
url = "feed.xml"

[newsletter]
from = "Flow Blog <news@blog.example.org>"
first_run_days = 30

[provider]
name = "outbox"
dir = "outbox"

[schedule]
timezone = "Europe/London"
days = ["tuesday"]
time = "08:00"

[review]
mode = "pull-request"
"""


def post(number: int, days_before_monday: float = 2, title: str | None = None) -> FeedPost:
    return FeedPost(
        guid=f"tag:blog.example.org,2026:{number}",
        link=f"https://blog.example.org/{number}/",
        title=title or f"Post number {number}",
        published=MONDAY - timedelta(days=days_before_monday),
    )


def fake_pictures(page: Path) -> list[Path]:
    """Stands in for Chromium: two small files named as screenshot() names them."""
    desktop = page.with_name(f"{page.stem}-desktop.png")
    phone = page.with_name(f"{page.stem}-phone.png")
    desktop.write_bytes(b"\x89PNG desktop " + page.read_bytes()[:20])
    phone.write_bytes(b"\x89PNG phone")
    return [desktop, phone]


@dataclass
class HandedOver:
    """The real outbox provider, noting each email exactly as the send hands it over."""

    inner: Provider
    emails: list[Email] = field(default_factory=list)

    @property
    def traits(self) -> Traits:
        return self.inner.traits

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        self.emails.append(email)
        return self.inner.send(email, idempotency_key=idempotency_key)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        return self.inner.send_test(email, address=address)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        return self.inner.create_draft(email, idempotency_key=idempotency_key)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Blog:
    fake: GitHubFake
    work: Path
    handed_over: list[Email] = field(default_factory=list)

    @property
    def environ(self) -> dict[str, str]:
        return {
            "GITHUB_API_URL": self.fake.url,
            "GITHUB_REPOSITORY": "author/blog",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_SERVER_URL": "https://github.com",
        }

    def config(self) -> Config:
        return load_config(str(self.work / "newsletter.toml"), {})

    def publish_feed(self, *posts: FeedPost) -> None:
        (self.work / "feed.xml").write_bytes(rss(list(posts), title="Flow Blog"))

    def review(self, at: datetime, *, scheduled: bool = True) -> Report:
        return review(
            self.config(),
            ReviewOptions(scheduled=scheduled),
            self.environ,
            lambda line: None,
            pictures=fake_pictures,
            now=lambda: at,
        )

    def scheduled_send(self, at: datetime) -> Report:
        config = self.config()
        provider = HandedOver(create(config, {}))
        report = send(
            config,
            SendOptions(scheduled=True),
            self.environ,
            lambda line: None,
            now=lambda: at,
            provider=provider,
        )
        self.handed_over += provider.emails
        return report

    def pull(self) -> None:
        """What the merge-triggered run's checkout sees: the default branch as it is now."""
        git(self.work, "pull", "--quiet", "--ff-only", "origin", "main")

    def outbox(self) -> list[Path]:
        return sorted((self.work / "outbox").glob("*.eml"))

    def ledger(self) -> Ledger:
        return Ledger.read(self.work / "state" / "ledger.json")


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[Blog]:
    with GitHubFake(tmp_path, token=TOKEN) as fake:
        fake.seed(
            {"newsletter.toml": CONFIG.encode(), ".gitignore": b"/outbox/\n/state/ledger.json\n"}
        )
        work = tmp_path / "work"
        git(tmp_path, "clone", "--quiet", str(fake.remote), str(work))
        yield Blog(fake, work)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Author", "-c", "user.email=author@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def html_part(eml: Path) -> str:
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def the_review(blog: Blog, ref: str = BRANCH):  # type: ignore[no-untyped-def]
    data = blog.fake.file(ref, ISSUE)
    assert data is not None
    return load_issue(data, ISSUE)


# --- the week of one issue --------------------------------------------------------------------


def test_open_update_merge_and_send_exactly_what_was_approved_at_the_slot(blog: Blog) -> None:
    blog.publish_feed(post(1), post(2))

    early = blog.review(MONDAY + timedelta(hours=7))
    assert blog.fake.pulls == {}
    assert "opens 24 h before it" in early.outcome

    opened = blog.review(MONDAY + timedelta(hours=8, minutes=17))
    (pull,) = blog.fake.open_pulls()
    assert f"Opened the review pull request #{pull.number}" in opened.outcome
    first = the_review(blog)
    assert [p.title for p in first.posts] == ["Post number 1", "Post number 2"]
    assert first.slot == "2026-03-10 08:00 Europe/London"
    assert blog.fake.file(BRANCH, "state/review/email-1.html") == first.emails[0].html.encode()
    assert blog.fake.file(BRANCH, "state/review/email-1-phone.png") == b"\x89PNG phone"
    assert "Tuesday 10 March 2026 08:00 GMT (Europe/London)" in pull.title
    assert "email-1-desktop.png?raw=true" in pull.body
    assert first.subject in pull.body.replace("\\", "")
    review_run = blog.ledger().runs[-1]
    assert (review_run.command, review_run.result, review_run.slot) == (
        "review",
        "opened",
        "2026-03-10 08:00 Europe/London",
    )

    # A post published meanwhile: the scheduled run updates the one open review.
    blog.publish_feed(post(1), post(2), post(3, days_before_monday=-0.5))
    updated = blog.review(MONDAY + timedelta(hours=20))
    assert [p.number for p in blog.fake.open_pulls()] == [pull.number]
    assert "Updated the review pull request" in updated.outcome
    assert len(the_review(blog).posts) == 3
    assert len(blog.fake.pulls[pull.number].comments) == 1

    blog.fake.clock = lambda: MONDAY + timedelta(hours=20, minutes=55)
    blog.fake.merge(pull.number)
    blog.pull()
    approved = the_review(blog, "main")

    waiting = blog.scheduled_send(MONDAY + timedelta(hours=21))  # the merge's own run
    assert blog.outbox() == []
    assert "goes out at its slot, Tuesday 10 March 2026 08:00 GMT" in waiting.outcome

    # The feed changes before the slot: the approved issue goes out as it was reviewed.
    blog.publish_feed(post(1, title="Post number 1, edited"), post(4, days_before_monday=-0.8))
    sent = blog.scheduled_send(SLOT + timedelta(minutes=9))
    (eml,) = blog.outbox()
    assert blog.handed_over == list(approved.emails), "every field, byte for byte"
    assert approved.emails[0].html.rstrip("\n") == html_part(eml).rstrip("\n")
    assert "Post number 1, edited" not in html_part(eml)
    assert "exactly as reviewed" in sent.outcome
    assert "after its slot" not in sent.outcome
    records = blog.ledger().destination("outbox")
    assert {r.id for r in records.records() if r.status is Status.SENT} == {
        p.id for p in approved.posts
    }
    assert blog.ledger().runs[-1].slot == "2026-03-10 08:00 Europe/London"

    again = blog.scheduled_send(SLOT + timedelta(hours=3))
    assert len(blog.outbox()) == 1, "the retry line sends nothing twice"
    assert "already gone out" in again.outcome


def test_a_second_review_while_one_is_open_never_opens_a_second_pull_request(blog: Blog) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    blog.publish_feed(post(1), post(2, days_before_monday=-0.2))
    blog.review(MONDAY + timedelta(hours=10), scheduled=False)
    blog.review(MONDAY + timedelta(hours=11))
    assert len(blog.fake.open_pulls()) == 1
    assert len(blog.fake.pulls) == 1
    assert blog.fake.git("rev-list", "--count", f"main..{BRANCH}") == "5", (
        "the branch was started again from main: issue, HTML, text and two pictures"
    )


def test_nothing_is_sent_while_the_review_is_open(blog: Blog) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    report = blog.scheduled_send(SLOT + timedelta(minutes=5))
    assert blog.outbox() == []
    assert "is still open" in report.outcome


def test_closing_the_review_skips_its_posts_which_send_post_still_sends(blog: Blog) -> None:
    blog.publish_feed(post(1), post(2))
    blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    blog.fake.close(pull.number)

    closed = blog.scheduled_send(MONDAY + timedelta(hours=12))  # the close's own run

    assert blog.outbox() == []
    assert f"#{pull.number} was closed without merging" in closed.outcome
    records = blog.ledger().destination("outbox").records()
    assert {r.status for r in records} == {Status.SKIPPED}
    lines = status_lines(status_of(blog.ledger()))
    assert sum("SKIPPED" in line for line in lines) == 2
    # The next review does not bring them back...
    assert "Nothing new to review" in blog.review(MONDAY + timedelta(days=7, hours=9)).outcome
    # ...and the author can still send one by hand.
    by_hand = send(
        blog.config(),
        SendOptions(posts=("https://blog.example.org/2/",)),
        {},
        lambda line: None,
        now=lambda: MONDAY + timedelta(days=7, hours=10),
    )
    assert len(blog.outbox()) == 1
    assert "Sent 1 post(s)" in by_hand.outcome


def test_a_review_merged_after_its_slot_goes_out_and_says_it_was_late(blog: Blog) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    assert "still open" in blog.scheduled_send(SLOT + timedelta(minutes=3)).outcome
    (pull,) = blog.fake.open_pulls()
    blog.fake.clock = lambda: SLOT + timedelta(hours=5, minutes=30)
    blog.fake.merge(pull.number)
    blog.pull()

    late = blog.scheduled_send(SLOT + timedelta(hours=5, minutes=32))

    assert len(blog.outbox()) == 1
    assert "merged 5 h 30 min after its slot" in late.outcome


def test_the_next_weeks_review_is_a_new_pull_request_after_a_merge(blog: Blog) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    (first,) = blog.fake.open_pulls()
    blog.fake.merge(first.number)
    blog.pull()
    blog.scheduled_send(SLOT + timedelta(minutes=1))

    blog.publish_feed(post(1), post(2, days_before_monday=-3))
    too_early = blog.review(SLOT + timedelta(hours=2))
    assert "opens 24 h before it" in too_early.outcome
    blog.review(SLOT + timedelta(days=6, hours=1))
    (second,) = blog.fake.open_pulls()
    assert second.number != first.number
    assert [p.title for p in the_review(blog).posts] == ["Post number 2"]
    assert the_review(blog).slot == "2026-03-17 08:00 Europe/London"


def test_an_approved_issue_waiting_for_its_slot_blocks_a_new_review(blog: Blog) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    blog.fake.merge(pull.number)
    blog.pull()
    blog.publish_feed(post(1), post(2, days_before_monday=-0.5))
    report = blog.review(MONDAY + timedelta(hours=22), scheduled=False)
    assert "waiting to go out" in report.outcome
    assert blog.fake.open_pulls() == []


@pytest.mark.parametrize(
    ("slot_day", "review_run"),
    [
        # The clocks go back on Sunday 25 October 2026 (BST to GMT): the review's cron line,
        # Saturday 08:00 BST, is 25 real hours before the slot, Sunday 08:00 GMT.
        ("sunday", datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        # They go forward on Sunday 29 March 2026: Saturday 08:00 GMT is 23 hours before.
        ("sunday", datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_reviews_own_cron_line_opens_it_in_a_daylight_saving_week(
    blog: Blog, slot_day: str, review_run: datetime
) -> None:
    # init writes the review's line `hours_ahead` before the slot in wall-clock time, as
    # GitHub's zoned cron reads it; the guard must agree, or that week's review opens only
    # at the slot, a day late.
    config = blog.work / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('["tuesday"]', f'["{slot_day}"]'),
        encoding="utf-8",
    )
    published = review_run - timedelta(days=1)
    blog.publish_feed(replace(post(1), published=published))
    opened = blog.review(review_run)
    assert "Opened the review pull request" in opened.outcome
    assert "08:00" in the_review(blog).slot


def test_a_review_run_from_a_terminal_says_to_push_the_ledger_that_records_it(blog: Blog) -> None:
    # The send on the merge trusts only a review the default branch's ledger records.
    blog.publish_feed(post(1))
    by_hand = blog.review(MONDAY + timedelta(hours=9), scheduled=False)
    assert "commit and push state/ledger.json" in by_hand.outcome
    blog.fake.close(blog.fake.open_pulls()[0].number)
    blog.publish_feed(post(1), post(2, days_before_monday=-6.5))
    in_actions = review(
        blog.config(),
        ReviewOptions(scheduled=True),
        {**blog.environ, "GITHUB_ACTIONS": "true"},
        lambda line: None,
        pictures=fake_pictures,
        now=lambda: MONDAY + timedelta(days=7, hours=9),
    )
    assert "Opened the review pull request" in in_actions.outcome
    assert "commit and push" not in in_actions.outcome


# --- refusals ---------------------------------------------------------------------------------


def rewritten(data: bytes, old: str, new: str) -> bytes:
    """The review file with `old` replaced in its email and the digest computed again, as
    someone who read the docs could do by hand: the digest alone cannot tell."""
    document = json.loads(data)
    for part in ("html", "text", "subject"):
        document["emails"][0][part] = document["emails"][0][part].replace(old, new)
    del document["digest"]
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    document["digest"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def test_a_review_file_changed_on_the_branch_before_the_merge_is_refused(blog: Blog) -> None:
    blog.publish_feed(post(1), post(2))
    blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    # Someone pushes a commit to the review branch: the pictures and the HTML file the
    # reviewer looks at still show the issue newsletter rendered.
    git(blog.work, "fetch", "--quiet", "origin")
    git(blog.work, "checkout", "--quiet", BRANCH)
    path = blog.work / ISSUE
    path.write_bytes(rewritten(path.read_bytes(), "Post number 1", "Win a prize"))
    git(blog.work, "commit", "--quiet", "-am", "Tweak the email")
    git(blog.work, "push", "--quiet", "origin", BRANCH)
    git(blog.work, "checkout", "--quiet", "main")
    blog.fake.merge(pull.number)
    blog.pull()
    assert load_issue(path.read_bytes(), ISSUE).subject.startswith("Win a prize")

    with pytest.raises(SafetyRefusal, match="not the one `newsletter review` wrote"):
        blog.scheduled_send(SLOT + timedelta(minutes=2))
    assert blog.outbox() == []
    assert blog.handed_over == []
    assert all(r.status is not Status.SENT for r in blog.ledger().destination("outbox").records())
    # The way out the refusal names: a new review, which the refused file does not block.
    again = blog.review(SLOT + timedelta(minutes=5), scheduled=False)
    assert "Opened the review pull request" in again.outcome
    assert "Win a prize" not in the_review(blog).subject


def test_a_review_file_edited_by_hand_is_refused_and_replaced_by_the_next_review(
    blog: Blog,
) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    blog.fake.merge(pull.number)
    blog.pull()
    path = blog.work / ISSUE
    path.write_text(path.read_text(encoding="utf-8").replace("Post number 1", "Post 1!"))

    with pytest.raises(LedgerError, match="digest no longer matches"):
        blog.scheduled_send(SLOT + timedelta(minutes=2))
    assert blog.outbox() == []
    # The refusal says to run `newsletter review`; that review must not stop on the same file.
    again = blog.review(SLOT + timedelta(minutes=5), scheduled=False)
    assert "Opened the review pull request" in again.outcome
    assert [p.title for p in the_review(blog).posts] == ["Post number 1"]


def test_a_review_file_changed_on_the_default_branch_after_the_merge_is_refused(
    blog: Blog,
) -> None:
    blog.publish_feed(post(1))
    blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    blog.fake.merge(pull.number)
    blog.pull()
    path = blog.work / ISSUE
    path.write_bytes(rewritten(path.read_bytes(), "Post number 1", "Win a prize"))

    with pytest.raises(SafetyRefusal, match="not the one `newsletter review` wrote"):
        blog.scheduled_send(SLOT + timedelta(minutes=2))
    assert blog.outbox() == []


def test_a_repository_that_keeps_actions_from_opening_pull_requests_is_named(blog: Blog) -> None:
    blog.fake.actions_may_open_pull_requests = False
    blog.publish_feed(post(1))
    with pytest.raises(GitHubSetupError, match="Allow GitHub Actions to create and approve"):
        blog.review(MONDAY + timedelta(hours=9))
    assert blog.fake.open_pulls() == []


@pytest.mark.slow
def test_the_command_line_says_the_setting_in_one_sentence_and_exits_2(blog: Blog) -> None:
    blog.fake.actions_may_open_pull_requests = False
    today = datetime.now(UTC)
    blog.publish_feed(replace(post(1), published=today - timedelta(days=1)))
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "review", "--base", "main"],
        cwd=blog.work,
        env={**os.environ, **blog.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "Settings → Actions → General → Workflow permissions" in line
    assert TOKEN not in result.stdout + result.stderr


def test_a_job_without_pull_request_permission_is_told_what_to_add(tmp_path: Path) -> None:
    with GitHubFake(tmp_path, token=TOKEN, permissions={"contents": "write"}) as fake:
        fake.seed({"newsletter.toml": CONFIG.encode()})
        work = tmp_path / "work"
        git(tmp_path, "clone", "--quiet", str(fake.remote), str(work))
        blog = Blog(fake, work)
        blog.publish_feed(post(1))
        with pytest.raises(GitHubSetupError, match="pull-requests: write"):
            blog.review(MONDAY + timedelta(hours=9))


def test_review_needs_review_mode(blog: Blog) -> None:
    (blog.work / "newsletter.toml").write_text(
        CONFIG.replace('mode = "pull-request"', 'mode = "none"'), encoding="utf-8"
    )
    from newsletter.errors import ConfigError

    with pytest.raises(ConfigError, match='mode = "pull-request"'):
        blog.review(MONDAY)


def test_a_flood_is_refused_before_any_pull_request_opens(blog: Blog) -> None:
    blog.publish_feed(*(post(n, days_before_monday=1 + n / 10) for n in range(1, 13)))
    with pytest.raises(SafetyRefusal, match="flood_limit"):
        blog.review(MONDAY + timedelta(hours=9))
    assert blog.fake.pulls == {}
    assert blog.fake.branch_sha(BRANCH) is None


def test_per_post_mode_reviews_one_email_per_post(blog: Blog) -> None:
    config = (blog.work / "newsletter.toml").read_text(encoding="utf-8")
    (blog.work / "newsletter.toml").write_text(
        config.replace("first_run_days = 30", 'first_run_days = 30\nmode = "per-post"'),
        encoding="utf-8",
    )
    blog.publish_feed(post(1), post(2))
    blog.review(MONDAY + timedelta(hours=9))
    issue = the_review(blog)
    assert [email.post_ids for email in issue.emails] == [(p.id,) for p in issue.posts]
    for number in (1, 2):
        assert blog.fake.file(BRANCH, f"state/review/email-{number}.txt") is not None
    (pull,) = blog.fake.open_pulls()
    assert "Email 2 of 2" in pull.body
    blog.fake.clock = lambda: MONDAY + timedelta(hours=10)
    blog.fake.merge(pull.number)
    blog.pull()
    blog.scheduled_send(SLOT)
    assert len(blog.outbox()) == 2


def test_the_token_appears_nowhere_the_review_writes(blog: Blog) -> None:
    blog.publish_feed(post(1), post(2))
    opened = blog.review(MONDAY + timedelta(hours=9))
    (pull,) = blog.fake.open_pulls()
    blog.fake.merge(pull.number)
    blog.pull()
    sent = blog.scheduled_send(SLOT)
    written = [
        opened.outcome,
        sent.outcome,
        pull.title,
        pull.body,
        *pull.comments,
        (blog.work / "state" / "ledger.json").read_text(encoding="utf-8"),
        blog.fake.git("log", "--format=%an %ae %s %b", "main"),
        *(
            path.read_text(encoding="utf-8")
            for path in (blog.work / "state" / "review").iterdir()
            if path.suffix in (".json", ".html", ".txt")
        ),
    ]
    assert all(TOKEN not in text for text in written)
    requests = [r for r in blog.fake.requests if TOKEN in r.body.decode("utf-8", "replace")]
    assert requests == [], "the token travels in the Authorization header only"

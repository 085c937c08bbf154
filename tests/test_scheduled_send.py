"""`send --scheduled` with a [schedule] and no review: the slot gate in front of a real send
to the outbox, at chosen moments. Tuesdays 08:00 in New York (UTC-5 in winter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError, ProviderError
from newsletter.ledger import Ledger
from newsletter.models import Email, Receipt
from newsletter.pipeline import SendOptions, send
from newsletter.providers import create
from newsletter.providers.base import Provider, Traits
from newsletter.report import Report
from tests.cli_harness import FeedPost, rss

SLOT = datetime(2026, 2, 10, 13, 0, tzinfo=UTC)  # Tuesday 08:00 EST
SCHEDULE = {"timezone": "America/New_York", "days": ["tuesday"], "time": "08:00"}


def post(number: int, hours_before_slot: float) -> FeedPost:
    return FeedPost(
        guid=f"tag:blog.example.org,2026:{number}",
        link=f"https://blog.example.org/{number}/",
        title=f"Post number {number}",
        published=SLOT - timedelta(hours=hours_before_slot),
    )


@dataclass
class FailingOnce:
    """The outbox, except that the first send fails before anything goes out."""

    inner: Provider
    failures: int = 1
    calls: list[str] = field(default_factory=list)

    @property
    def traits(self) -> Traits:
        return self.inner.traits

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        self.calls.append(email.subject)
        if self.failures:
            self.failures -= 1
            raise ProviderError("the provider is down", maybe_sent=False)
        return self.inner.send(email, idempotency_key=idempotency_key)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        raise AssertionError("not used")

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        raise AssertionError("not used")

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    (tmp_path / "feed.xml").write_bytes(rss([post(1, 30), post(2, 20)]))
    return tmp_path


def config(blog: Path, schedule: dict[str, object] | None = SCHEDULE) -> Config:
    raw: dict[str, object] = {
        "feed": {"url": "feed.xml"},
        "newsletter": {"from": "Blog <news@blog.example.org>", "first_run_days": 7},
        "provider": {"name": "outbox", "dir": "outbox"},
    }
    if schedule is not None:
        raw["schedule"] = schedule
    return parse_config(raw, path=blog / "newsletter.toml")


def scheduled(blog: Path, at: datetime, **seams: object) -> Report:
    return send(
        config(blog),
        SendOptions(scheduled=True),
        {},
        lambda line: None,
        now=lambda: at,
        **seams,  # type: ignore[arg-type]
    )


def sent(blog: Path) -> int:
    return len(list((blog / "outbox").glob("*.eml")))


def test_a_run_before_the_slot_sends_nothing_and_says_when(blog: Path) -> None:
    report = scheduled(blog, SLOT - timedelta(hours=1))  # 07:00 in New York, 12:00 UTC
    assert sent(blog) == 0
    assert "Tuesday 10 February 2026 08:00 EST (America/New_York)" in report.outcome
    assert not (blog / "state" / "ledger.json").exists(), "the ledger is not written"


def test_the_first_run_at_the_slot_sends_and_records_the_slot(blog: Path) -> None:
    report = scheduled(blog, SLOT + timedelta(minutes=4))
    assert sent(blog) == 1
    assert "Sent 2 post(s)" in report.outcome
    assert "This was the slot Tuesday 10 February 2026 08:00 EST" in report.outcome
    assert "after it" not in report.outcome, "a few minutes late is not worth a word"
    (run,) = Ledger.read(blog / "state" / "ledger.json").runs
    assert run.slot == "2026-02-10 08:00 America/New_York"


def test_a_second_run_of_the_slot_sends_nothing_even_if_a_post_appeared(blog: Path) -> None:
    scheduled(blog, SLOT + timedelta(minutes=4))
    (blog / "feed.xml").write_bytes(rss([post(1, 30), post(2, 20), post(3, -1)]))
    again = scheduled(blog, SLOT + timedelta(hours=3))
    assert sent(blog) == 1
    assert "already gone out" in again.outcome
    assert "Tuesday 17 February 2026 08:00 EST" in again.outcome
    next_week = scheduled(blog, SLOT + timedelta(days=7, minutes=1))
    assert sent(blog) == 2
    assert "Sent 1 post(s)" in next_week.outcome


def test_a_late_run_still_sends_and_says_how_late(blog: Path) -> None:
    report = scheduled(blog, SLOT + timedelta(hours=5, minutes=20))
    assert sent(blog) == 1
    assert "GitHub started this run 5 h 20 min after it" in report.outcome


def test_nothing_new_at_the_slot_serves_it(blog: Path) -> None:
    (blog / "feed.xml").write_bytes(rss([]))
    first = scheduled(blog, SLOT + timedelta(minutes=2))
    assert "Nothing new" in first.outcome or "nothing" in first.outcome.lower()
    (blog / "feed.xml").write_bytes(rss([post(1, -1)]))
    later = scheduled(blog, SLOT + timedelta(hours=2))
    assert sent(blog) == 0
    assert "already gone out" in later.outcome


def test_a_failed_send_leaves_the_slot_open_for_the_retry_line(blog: Path) -> None:
    flaky = FailingOnce(create(config(blog), {}))
    with pytest.raises(ProviderError):
        scheduled(blog, SLOT + timedelta(minutes=2), provider=flaky)
    assert sent(blog) == 0
    retry = scheduled(blog, SLOT + timedelta(hours=3), provider=flaky)
    assert sent(blog) == 1
    assert "Sent 2 post(s)" in retry.outcome


def test_without_a_schedule_every_scheduled_run_sends(blog: Path) -> None:
    report = send(
        config(blog, schedule=None),
        SendOptions(scheduled=True),
        {},
        lambda line: None,
        now=lambda: SLOT - timedelta(hours=10),
    )
    assert sent(blog) == 1
    assert "slot" not in report.outcome


def test_a_manual_send_ignores_the_schedule(blog: Path) -> None:
    send(config(blog), SendOptions(), {}, lambda line: None, now=lambda: SLOT - timedelta(hours=10))
    assert sent(blog) == 1


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (SendOptions(scheduled=True, dry_run=True), "--dry-run"),
        (SendOptions(scheduled=True, posts=("x",)), "--post"),
        (SendOptions(scheduled=True, test_to="a@example.org"), "--test-to"),
        (SendOptions(scheduled=True, force=True), "--force"),
    ],
)
def test_scheduled_does_not_mix_with_a_persons_options(
    blog: Path, options: SendOptions, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        send(config(blog), options, {}, lambda line: None, now=lambda: SLOT)
    assert sent(blog) == 0

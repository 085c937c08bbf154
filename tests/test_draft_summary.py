"""`send --draft` (the workflow form's Draft box): the run creates a draft at Buttondown, sends
nothing to the list, and its summary names the draft and links the provider's drafts page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.config import parse_config
from newsletter.ledger import Ledger, Status
from newsletter.pipeline import SendOptions, send
from newsletter.providers import create
from newsletter.report import markdown_summary
from tests.cli_harness import FeedPost, rss
from tests.fakes.buttondown import ButtondownFake
from tests.fakes.helpers import SECRET, SleepRecorder

NOW = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[ButtondownFake]:
    with ButtondownFake(SECRET) as server:
        yield server


def test_a_draft_is_created_recorded_and_linked(tmp_path: Path, fake: ButtondownFake) -> None:
    post = FeedPost("tag:b,2026:1", "https://blog.example.org/1/", "First", NOW - timedelta(1))
    (tmp_path / "feed.xml").write_bytes(rss([post]))
    config = parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "Blog <news@blog.example.org>"},
            "provider": {"name": "buttondown", "base_url": fake.url},
        },
        path=tmp_path / "newsletter.toml",
    )
    environ = {"BUTTONDOWN_API_KEY": SECRET}
    provider = create(config, environ, sleep=SleepRecorder())

    report = send(
        config,
        SendOptions(draft=True),
        environ,
        lambda line: None,
        now=lambda: NOW,
        provider=provider,
    )

    (draft,) = fake.emails.values()
    assert draft["status"] == "draft", "nothing goes to subscribers"
    summary = markdown_summary(report)
    assert f"**Draft:** `{draft['id']}`" in summary
    assert "[buttondown's drafts](https://buttondown.com/emails)" in summary
    assert "Accepted" not in summary
    assert "check the draft at https://buttondown.com/emails" in report.outcome
    (record,) = Ledger.read(tmp_path / "state" / "ledger.json").destination("buttondown").records()
    assert record.status is Status.DRAFTED
    assert SECRET not in summary + report.outcome

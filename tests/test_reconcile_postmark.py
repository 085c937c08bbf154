"""Postmark: batches left in doubt are settled from Postmark's own records.

Each message carries `Metadata` naming its batch; a batch whose answer never came (a timeout
after Postmark accepted it, a 5xx, a killed run) is recorded in the ledger before its request,
and the next run (or `resolve` without `--as`) finds it with the outbound message search:
found is sent, not found once the search can be trusted is sent now, and in between the posts
stay pending with a sentence that says when to look again. The stand-in's search follows
Postmark's documented query and answer, and refuses malformed queries.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError, ProviderError, SafetyRefusal
from newsletter.pipeline import SendOptions
from newsletter.providers import create
from tests.fakes.helpers import (
    ONE_POST,
    SECRET,
    SleepRecorder,
    eventually,
    write_one_post_feed,
    write_subscribers,
)
from tests.fakes.postmark import PostmarkFake
from tests.fakes.server import Reply, Request

T0 = datetime.now(UTC).replace(microsecond=0)
SECRETS = {"POSTMARK_SERVER_TOKEN": SECRET}
DESTINATION = "postmark:broadcast"


def blog(folder: Path, fake: PostmarkFake, readers: int, **provider: Any) -> Config:
    write_one_post_feed(folder)
    addresses = [f"reader{n}@example.net" for n in range(readers)]
    path = write_subscribers(folder, addresses)
    return parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "B <n@b.example.org>"},
            "provider": {
                "name": "postmark",
                "base_url": fake.url,
                "subscribers": str(path),
                **provider,
            },
        },
        path=folder / "newsletter.toml",
    )


def send(settings: Config, at: datetime, notes: list[str] | None = None) -> pipeline.Report:
    adapter = create(settings, SECRETS, sleep=SleepRecorder())
    lines = notes if notes is not None else []
    return pipeline.send(
        settings, SendOptions(), SECRETS, lines.append, provider=adapter, now=lambda: at
    )


def resolve(settings: Config, at: datetime) -> pipeline.Report:
    adapter = create(settings, SECRETS, sleep=SleepRecorder())
    return pipeline.resolve(settings, (), None, lambda line: None, provider=adapter, now=lambda: at)


def fail_batch(fake: PostmarkFake, number: int, *, processed: bool) -> None:
    """Answer batch `number` with a 503, after accepting it (`processed`) or not."""
    handle, seen = fake.handle, []

    def failing(request: Request) -> Reply:
        if request.path == "/email/batch":
            seen.append(request)
            if len(seen) == number:
                if processed:
                    handle(request)
                return Reply(503, {"ErrorCode": 0, "Message": "Service unavailable"})
        return handle(request)

    fake.handle = failing  # type: ignore[method-assign]


def received(fake: PostmarkFake) -> Counter[str]:
    return Counter(m["To"].rsplit("<", 1)[-1].rstrip(">") for m in fake.sent)


def ledger(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "state" / "ledger.json").read_text())
    return document


def status(folder: Path) -> str:
    return str(ledger(folder)["destinations"][DESTINATION]["posts"]["id-1"]["status"])


def batch_posts(fake: PostmarkFake) -> list[Any]:
    return [r for r in fake.requests if r.path == "/email/batch"]


# --- marking -----------------------------------------------------------------------------------


def test_every_message_names_its_send_and_batch(tmp_path: Path) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 700, concurrency=1)
        send(settings, T0)
    batches = {m["Metadata"]["newsletter_batch"] for m in fake.sent}
    sends = {m["Metadata"]["newsletter_send"] for m in fake.sent}
    assert len(fake.sent) == 700 and len(batches) == 2 and len(sends) == 1
    [key] = sends
    assert all(batch.startswith(f"{key}-") and len(batch) <= 80 for batch in batches)
    assert status(tmp_path) == "sent"
    assert "sends" not in ledger(tmp_path)["destinations"][DESTINATION], "settled: nothing kept"
    assert ledger(tmp_path)["version"] == 1


def test_a_send_postmark_refused_message_by_message_keeps_nothing_pending(tmp_path: Path) -> None:
    """Every message refused one by one: nothing went out, so neither the posts nor the
    send's progress stay in the ledger, and the next run simply sends."""
    readers = tuple(f"reader{n}@example.net" for n in range(3))
    with PostmarkFake(SECRET, unreachable=readers) as fake:
        settings = blog(tmp_path, fake, 3)
        with pytest.raises(ProviderError) as raised:
            send(settings, T0)
    assert raised.value.maybe_sent is False
    assert DESTINATION not in ledger(tmp_path)["destinations"]


# --- the next run settles ---------------------------------------------------------------------


def test_a_batch_accepted_but_answered_too_late_is_found_and_not_sent_again(
    tmp_path: Path,
) -> None:
    with PostmarkFake(SECRET, latency=0.6, slow_paths=("/email/batch",)) as fake:
        slow = blog(tmp_path, fake, 700, timeout=0.2, concurrency=1)
        with pytest.raises(ProviderError, match="not sent again"):
            send(slow, T0)
        fake.latency = 0
        settings = blog(tmp_path, fake, 700, concurrency=1)  # the next runs wait as long as usual
        eventually(lambda: len(fake.sent) == 500)
        assert status(tmp_path) == "pending"
        kept = ledger(tmp_path)["destinations"][DESTINATION]["sends"]
        [progress] = kept.values()
        assert len(progress["in_doubt"]) == 1, "the first batch's answer never came"
        assert ledger(tmp_path)["version"] == 2

        notes: list[str] = []
        report = send(settings, T0 + timedelta(minutes=20), notes)

    assert report.outcome.startswith("Finished the interrupted send")
    assert status(tmp_path) == "sent"
    assert set(received(fake).values()) == {1}
    assert len(received(fake)) == 700, "the second batch went out in the second run"
    assert any("reached 500 recipient(s); 200 more" in note for note in notes)
    searches = [r for r in fake.requests if r.path == "/messages/outbound"]
    assert searches and all(r.query["count"] == ["500"] for r in searches)


def test_a_batch_that_never_arrived_is_sent_once_the_search_can_be_trusted(
    tmp_path: Path,
) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 700, concurrency=1)
        fake.fail_next(503, {"ErrorCode": 0, "Message": "Service unavailable"}, path="/email/batch")
        with pytest.raises(ProviderError):
            send(settings, T0)
        assert len(batch_posts(fake)) == 1 and not fake.sent

        with pytest.raises(SafetyRefusal) as early:
            send(settings, T0 + timedelta(minutes=5))
        assert len(batch_posts(fake)) == 1, "nothing is sent while the search may lag"
        message = early.value.message
        assert "0 of the 500 recipients" in message
        assert f"again after {(T0 + timedelta(minutes=15)):%H:%M} UTC" in message
        assert f"newsletter resolve --post {ONE_POST} --as sent" in message
        assert status(tmp_path) == "pending"

        send(settings, T0 + timedelta(minutes=16))

    assert status(tmp_path) == "sent"
    assert len(received(fake)) == 700 and set(received(fake).values()) == {1}


def test_a_late_indexed_batch_is_found_on_a_later_run(tmp_path: Path) -> None:
    """Postmark accepted the batch but does not list it yet: the run that looks too early
    sends nothing; once it is listed, nothing is sent again."""
    with PostmarkFake(SECRET, latency=0.6, slow_paths=("/email/batch",)) as fake:
        slow = blog(tmp_path, fake, 3, timeout=0.2)
        fake.searchable = False
        with pytest.raises(ProviderError):
            send(slow, T0)
        fake.latency = 0
        settings = blog(tmp_path, fake, 3)  # the next runs wait as long as usual
        eventually(lambda: len(fake.unindexed) == 3)
        with pytest.raises(SafetyRefusal, match="may take a few minutes to list"):
            send(settings, T0 + timedelta(minutes=2))
        fake.index()
        send(settings, T0 + timedelta(minutes=3))
    assert status(tmp_path) == "sent"
    assert len(batch_posts(fake)) == 1
    assert set(received(fake).values()) == {1}


@pytest.mark.parametrize(
    ("age", "settles"), [(timedelta(days=7), True), (timedelta(days=7, seconds=1), False)]
)
def test_retention_is_pinned_at_seven_days(tmp_path: Path, age: timedelta, settles: bool) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        if settles:
            send(settings, T0 + age)
            assert status(tmp_path) == "sent" and len(fake.sent) == 2
        else:
            with pytest.raises(SafetyRefusal) as late:
                send(settings, T0 + age)
            assert not fake.sent
            assert "deleted records that old" in late.value.message
            assert "Postmark's dashboard" in late.value.message
            assert f"newsletter resolve --post {ONE_POST} --as sent" in late.value.message
            assert status(tmp_path) == "pending"


@pytest.mark.parametrize(
    ("age", "settles"),
    [(timedelta(minutes=15), True), (timedelta(minutes=14, seconds=59), False)],
)
def test_the_search_lag_is_pinned_at_fifteen_minutes(
    tmp_path: Path, age: timedelta, settles: bool
) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        if settles:
            send(settings, T0 + age)
            assert len(fake.sent) == 2
        else:
            with pytest.raises(SafetyRefusal, match="may take a few minutes"):
                send(settings, T0 + age)
            assert not fake.sent


def test_a_changed_token_cannot_match_the_recorded_recipients(tmp_path: Path) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        fake.token = "a-new-token"
        adapter = create(settings, {"POSTMARK_SERVER_TOKEN": "a-new-token"}, sleep=SleepRecorder())
        with pytest.raises(SafetyRefusal, match="key changed since"):
            pipeline.send(
                settings,
                SendOptions(),
                {},
                lambda line: None,
                provider=adapter,
                now=lambda: T0 + timedelta(hours=1),
            )
    assert not fake.sent


def test_the_ledger_never_holds_a_readers_address(tmp_path: Path) -> None:
    with PostmarkFake(SECRET, latency=0.6, slow_paths=("/email/batch",)) as fake:
        slow = blog(tmp_path, fake, 20, timeout=0.2)
        with pytest.raises(ProviderError):
            send(slow, T0)
    text = (tmp_path / "state" / "ledger.json").read_text()
    assert "example.net" not in text and "reader" not in text
    [progress] = ledger(tmp_path)["destinations"][DESTINATION]["sends"].values()
    assert len(progress["in_doubt"][0]["recipients"]) == 20


# --- resolve without --as ---------------------------------------------------------------------


def test_resolve_looks_the_batch_up_and_marks_the_post_sent(tmp_path: Path) -> None:
    with PostmarkFake(SECRET, latency=0.6, slow_paths=("/email/batch",)) as fake:
        slow = blog(tmp_path, fake, 3, timeout=0.2)
        with pytest.raises(ProviderError):
            send(slow, T0)
        fake.latency = 0
        settings = blog(tmp_path, fake, 3)  # the next runs wait as long as usual
        eventually(lambda: len(fake.outbound) == 3)
        report = resolve(settings, T0 + timedelta(minutes=1))
        assert "reached everyone on the list: marked sent" in report.outcome
        assert status(tmp_path) == "sent"
        send(settings, T0 + timedelta(minutes=2))
    assert len(batch_posts(fake)) == 1


def test_resolve_marks_unsent_what_reached_nobody(tmp_path: Path) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 3)
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        report = resolve(settings, T0 + timedelta(minutes=30))
        assert "reached nobody: marked unsent" in report.outcome
        assert "id-1" not in ledger(tmp_path)["destinations"].get(DESTINATION, {}).get("posts", {})
        send(settings, T0 + timedelta(minutes=31))
    assert status(tmp_path) == "sent"
    assert set(received(fake).values()) == {1} and len(received(fake)) == 3


@pytest.mark.parametrize("processed", [False, True])
def test_resolve_settles_a_batch_whose_answer_was_a_5xx(tmp_path: Path, processed: bool) -> None:
    """The second of two batches got a 503: either Postmark never took it (the next send goes
    to its 200 readers only) or it did and answered badly (everyone has it: marked sent)."""
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 700, concurrency=1)
        fail_batch(fake, 2, processed=processed)
        with pytest.raises(ProviderError, match="1 of 2 batches"):
            send(settings, T0)
        assert len(received(fake)) == (700 if processed else 500)

        report = resolve(settings, T0 + timedelta(minutes=20))

        if processed:
            assert "reached everyone on the list: marked sent" in report.outcome
            assert status(tmp_path) == "sent"
        else:
            assert "reached 500 recipient(s) and not the other 200" in report.outcome
            assert status(tmp_path) == "pending"
        send(settings, T0 + timedelta(minutes=21))
    assert status(tmp_path) == "sent"
    assert len(received(fake)) == 700 and set(received(fake).values()) == {1}


def test_a_search_that_cannot_be_read_leaves_the_post_pending_and_says_so(
    tmp_path: Path,
) -> None:
    """Postmark's message search keeps failing: the next send sends nothing again and says
    that the records could not be read, what Postmark answered, and how to settle by hand."""
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 700, concurrency=1)
        fail_batch(fake, 2, processed=False)
        with pytest.raises(ProviderError, match="1 of 2 batches"):
            send(settings, T0)
        fake.fail_next(
            500,
            {"ErrorCode": 0, "Message": "Internal Server Error"},
            times=20,
            path="/messages/outbound",
        )
        with pytest.raises(SafetyRefusal) as refused:
            send(settings, T0 + timedelta(minutes=20))
        assert len(batch_posts(fake)) == 2, "nothing was posted again"
        with pytest.raises(SafetyRefusal, match="could not be read"):
            resolve(settings, T0 + timedelta(minutes=20))
    message = refused.value.message
    assert "Postmark's records of the interrupted send" in message
    assert "could not be read" in message and "HTTP 500" in message
    assert "nothing was sent again" in message
    assert f"newsletter resolve --post {ONE_POST} --as sent" in message
    assert status(tmp_path) == "pending"
    assert len(received(fake)) == 500


def test_resolve_says_when_to_look_again(tmp_path: Path) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        with pytest.raises(SafetyRefusal, match="again after"):
            resolve(settings, T0 + timedelta(minutes=1))
    assert status(tmp_path) == "pending"


def test_resolve_without_as_needs_a_provider_with_records(tmp_path: Path) -> None:
    write_one_post_feed(tmp_path)
    settings = parse_config(
        {"feed": {"url": "feed.xml"}, "provider": {"name": "outbox"}},
        path=tmp_path / "newsletter.toml",
    )
    with pytest.raises(ConfigError, match="resolve needs --as"):
        pipeline.resolve(settings, (), None, lambda line: None)


# --- the stand-in's search is Postmark's ------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"offset": "0"},
        {"count": "10"},
        {"count": "501", "offset": "0"},
        {"count": "500", "offset": "9501"},
        {"count": "ten", "offset": "0"},
        {"count": "10", "offset": "0", "metadata_a": "1", "metadata_b": "2"},
        {"count": "10", "offset": "0", "metadata-newsletter_batch": "x"},
        {"count": "10", "offset": "0", "status": "delivered"},
    ],
)
def test_the_search_stand_in_refuses_what_postmark_refuses(query: dict[str, str]) -> None:
    with PostmarkFake(SECRET) as fake:
        answer = httpx.get(
            f"{fake.url}/messages/outbound",
            params=query,
            headers={"X-Postmark-Server-Token": SECRET, "Accept": "application/json"},
        )
    assert answer.status_code == 422
    assert set(answer.json()) == {"ErrorCode", "Message"}


def test_the_search_stand_in_answers_in_postmarks_shape(tmp_path: Path) -> None:
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 3)
        send(settings, T0)
        batch = fake.sent[0]["Metadata"]["newsletter_batch"]
        headers = {"X-Postmark-Server-Token": SECRET, "Accept": "application/json"}
        answer = httpx.get(
            f"{fake.url}/messages/outbound",
            params={"count": "2", "offset": "0", "metadata_newsletter_batch": batch},
            headers=headers,
        ).json()
        nothing = httpx.get(
            f"{fake.url}/messages/outbound",
            params={"count": "2", "offset": "0", "metadata_newsletter_batch": "other"},
            headers=headers,
        ).json()
        refused = httpx.get(
            f"{fake.url}/messages/outbound",
            params={"count": "2", "offset": "0"},
            headers={"X-Postmark-Server-Token": "wrong", "Accept": "application/json"},
        )
    assert answer["TotalCount"] == 3 and len(answer["Messages"]) == 2
    message = answer["Messages"][0]
    assert {"MessageID", "To", "Recipients", "Metadata", "Status", "MessageStream"} <= set(message)
    assert message["To"][0]["Email"] in message["Recipients"]
    assert nothing == {"TotalCount": 0, "Messages": []}
    assert refused.status_code == 401


class DiesBeforeItsFirstBatch:
    """The real Postmark adapter, in a process that dies (as under `kill -9`) once it is
    handed the email, before any batch's request: what it leaves on disk is kept."""

    def __init__(self, real: Any, ledger_path: Path) -> None:
        self.real = real
        self.traits = real.traits
        self.vendor = real.vendor
        self.ledger_path = ledger_path
        self.left_on_disk = b""

    def send_marked(self, email: Any, *, idempotency_key: str, journal: Any) -> Any:
        self.left_on_disk = self.ledger_path.read_bytes()
        raise KeyboardInterrupt

    def send(self, email: Any, *, idempotency_key: str) -> Any:
        raise AssertionError("a provider that settles is sent through send_marked")

    def send_test(self, email: Any, *, address: str) -> Any:
        return self.real.send_test(email, address=address)

    def fingerprint(self, address: str) -> str:
        return str(self.real.fingerprint(address))

    def look_up(self, batch: Any, *, now: datetime) -> Any:
        return self.real.look_up(batch, now=now)

    def owed(self, served: frozenset[str]) -> int:
        return int(self.real.owed(served))

    def verify(self) -> tuple[str, ...]:
        return tuple(self.real.verify())

    def close(self) -> None:
        self.real.close()


def test_a_run_killed_before_its_first_batch_is_finished_by_the_next_without_resolve(
    tmp_path: Path,
) -> None:
    """The send's record is on disk from the moment its posts are pending, so a run that dies
    before its first request leaves nothing in doubt: the next send sends to everyone, once,
    with no `resolve`."""
    with PostmarkFake(SECRET) as fake:
        settings = blog(tmp_path, fake, 700, concurrency=1)
        path = tmp_path / "state" / "ledger.json"
        dying = DiesBeforeItsFirstBatch(create(settings, SECRETS, sleep=SleepRecorder()), path)
        with pytest.raises(KeyboardInterrupt):
            pipeline.send(
                settings, SendOptions(), SECRETS, lambda line: None, provider=dying, now=lambda: T0
            )
        path.write_bytes(dying.left_on_disk)
        assert status(tmp_path) == "pending" and not batch_posts(fake)

        notes: list[str] = []
        send(settings, T0 + timedelta(minutes=1), notes)

    assert status(tmp_path) == "sent"
    assert len(received(fake)) == 700 and set(received(fake).values()) == {1}
    assert any("reached 0 recipient(s); 700 more" in note for note in notes)


def test_resolve_settles_two_feeds_posts_that_share_an_id(tmp_path: Path) -> None:
    """Two feeds both have a post 42 in the email: settling the send from Postmark's records
    settles each by its record, never asking which 42 the author meant (nobody named one)."""
    published = T0 - timedelta(hours=2)
    for name, title in (("blog.xml", "Tomatoes"), ("radio.xml", "Episode 42")):
        (tmp_path / name).write_text(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            f"<link>https://{name}.example.org/</link><item><title>{title}</title>"
            f"<link>https://{name}.example.org/42/</link>"
            '<guid isPermaLink="false">42</guid>'
            f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            "<description>Words.</description></item></channel></rss>",
            encoding="utf-8",
        )
    with PostmarkFake(SECRET) as fake:
        path = write_subscribers(tmp_path, ["reader1@example.net", "reader2@example.net"])
        settings = parse_config(
            {
                "feed": [{"url": "blog.xml"}, {"url": "radio.xml"}],
                "newsletter": {"from": "B <n@b.example.org>"},
                "provider": {"name": "postmark", "base_url": fake.url, "subscribers": str(path)},
            },
            path=tmp_path / "newsletter.toml",
        )
        fake.fail_next(
            500, {"ErrorCode": 0, "Message": "Internal Server Error"}, path="/email/batch"
        )
        with pytest.raises(ProviderError):
            send(settings, T0)
        posts = ledger(tmp_path)["destinations"][DESTINATION]["posts"]
        assert [post["status"] for post in posts.values()] == ["pending", "pending"]
        report = resolve(settings, T0 + timedelta(minutes=30))
        assert "reached nobody: marked unsent" in report.outcome
        assert not ledger(tmp_path)["destinations"].get(DESTINATION, {}).get("posts")
        send(settings, T0 + timedelta(minutes=31))
    assert set(received(fake).values()) == {1} and len(received(fake)) == 2
    posts = ledger(tmp_path)["destinations"][DESTINATION]["posts"]
    assert sorted(post["title"] for post in posts.values()) == ["Episode 42", "Tomatoes"]

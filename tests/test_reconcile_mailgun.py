"""Mailgun: batches left in doubt are settled from Mailgun's own events.

Each request carries `v:` variables naming its send and its batch, which Mailgun returns with
every event; a batch whose answer never came is looked up among the `accepted` events of the
minutes it was sent in. Mailgun lists events late (it advises trusting them once half an hour
old) and keeps them a day on its free plan, so absence counts only between those two; presence
counts at once. The stand-in's events API follows Mailgun's documented query, answer and
paging, and refuses malformed queries.
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
from newsletter.errors import ProviderError, SafetyRefusal
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
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Reply, Request

DOMAIN = "mg.example.org"
LIST = "news@mg.example.org"
T0 = datetime.now(UTC).replace(microsecond=0)
SECRETS = {"MAILGUN_API_KEY": SECRET}


def fake_at(moment: datetime, **kwargs: Any) -> MailgunFake:
    fake = MailgunFake(SECRET, DOMAIN, **kwargs)
    fake.clock = moment.timestamp
    return fake


def blog(folder: Path, fake: MailgunFake, readers: int = 0, **provider: Any) -> Config:
    write_one_post_feed(folder)
    options: dict[str, Any] = {"name": "mailgun", "base_url": fake.url, "domain": DOMAIN}
    if readers:
        addresses = [f"reader{n}@example.net" for n in range(readers)]
        options["subscribers"] = str(write_subscribers(folder, addresses))
    return parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "B <n@b.example.org>"},
            "provider": {**options, **provider},
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


def destination(settings: Config) -> str:
    audience = "subscribers" if settings.provider.options.get("subscribers") else LIST
    return f"mailgun:{DOMAIN}:{audience}"


def status(folder: Path, settings: Config) -> str:
    document = json.loads((folder / "state" / "ledger.json").read_text())
    return str(document["destinations"][destination(settings)]["posts"]["id-1"]["status"])


def received(fake: MailgunFake) -> Counter[str]:
    """Messages each reader got (a batch's `to` lists each once)."""
    return Counter(
        to.rsplit("<", 1)[-1].rstrip(">")
        for message in fake.messages
        for name, value in message
        if name == "to"
        for to in value.split(", ")
    )


def fail_request(fake: MailgunFake, number: int, *, processed: bool) -> None:
    """Answer message request `number` with a 503, after accepting it (`processed`) or not."""
    handle, seen = fake.handle, []

    def failing(request: Request) -> Reply:
        if request.method == "POST":
            seen.append(request)
            if len(seen) == number:
                if processed:
                    handle(request)
                return Reply(503, {"message": "Service Unavailable"})
        return handle(request)

    fake.handle = failing  # type: ignore[method-assign]


def test_every_request_names_its_send_and_batch(tmp_path: Path) -> None:
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 1500, concurrency=1)
        send(settings, T0)
    marks = [{k: v for k, v in m if k.startswith("v:")} for m in fake.messages]
    assert len(marks) == 2
    assert len({m["v:newsletter_batch"] for m in marks}) == 2
    assert len({m["v:newsletter_send"] for m in marks}) == 1
    assert not any(name == "o:tag" for m in fake.messages for name, _ in m)
    assert status(tmp_path, settings) == "sent"


def test_a_batch_accepted_but_answered_too_late_is_found_at_once(tmp_path: Path) -> None:
    with fake_at(T0, latency=0.6, slow_paths=(f"/v3/{DOMAIN}/messages",)) as fake:
        slow = blog(tmp_path, fake, 1500, timeout=0.2, concurrency=1)
        with pytest.raises(ProviderError, match="not sent again"):
            send(slow, T0)
        fake.latency = 0
        settings = blog(tmp_path, fake, 1500, concurrency=1)  # the next runs wait as long as usual
        eventually(lambda: len(fake.events) == 1000)
        assert status(tmp_path, settings) == "pending"

        notes: list[str] = []
        send(settings, T0 + timedelta(minutes=2), notes)

    assert status(tmp_path, settings) == "sent"
    assert len(received(fake)) == 1500 and set(received(fake).values()) == {1}
    assert any("reached 1000 recipient(s); 500 more" in note for note in notes)
    queries = [r for r in fake.requests if r.path.startswith(f"/v3/{DOMAIN}/events")]
    first = queries[0].query
    assert first["event"] == ["accepted"] and first["ascending"] == ["yes"]
    assert first["limit"] == ["300"] and "tags" not in first
    assert len(queries) >= 5, "1,000 events are read 300 to a page, to the empty one"


@pytest.mark.parametrize(
    ("after", "settles"),
    [(timedelta(minutes=45), True), (timedelta(minutes=44, seconds=59), False)],
)
def test_absence_counts_only_once_mailguns_events_have_settled(
    tmp_path: Path, after: timedelta, settles: bool
) -> None:
    """The batch never reached Mailgun; its absence from the events proves that only once
    the events of its minutes (up to 15 after it) are half an hour old."""
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 1500, concurrency=1)
        fail_request(fake, 2, processed=False)
        with pytest.raises(ProviderError, match="1 of 2 batches"):
            send(settings, T0)
        if settles:
            send(settings, T0 + after)
            assert status(tmp_path, settings) == "sent"
            assert len(received(fake)) == 1500 and set(received(fake).values()) == {1}
        else:
            with pytest.raises(SafetyRefusal) as early:
                send(settings, T0 + after)
            message = early.value.message
            assert "0 of the 500 recipients" in message
            assert "up to half an hour" in message
            assert f"again after {T0 + timedelta(minutes=45):%H:%M} UTC" in message
            assert len(received(fake)) == 1000


def test_events_listed_late_are_found_on_a_later_run(tmp_path: Path) -> None:
    with fake_at(T0, latency=0.6, slow_paths=(f"/v3/{DOMAIN}/messages",)) as fake:
        slow = blog(tmp_path, fake, 3, timeout=0.2)
        fake.listed = False
        with pytest.raises(ProviderError):
            send(slow, T0)
        fake.latency = 0
        settings = blog(tmp_path, fake, 3)  # the next runs wait as long as usual
        eventually(lambda: len(fake.held) == 3)
        with pytest.raises(SafetyRefusal, match="half an hour"):
            send(settings, T0 + timedelta(minutes=10))
        fake.catch_up()
        send(settings, T0 + timedelta(minutes=11))
    assert status(tmp_path, settings) == "sent"
    assert len(fake.messages) == 1


def test_a_key_that_may_not_read_events_leaves_the_post_pending_and_says_so(
    tmp_path: Path,
) -> None:
    """A domain sending key sends but may not list events (401): the next send sends nothing
    again, and says which key Mailgun refused and how to settle the send by hand."""
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 1500, concurrency=1)
        fail_request(fake, 2, processed=False)
        with pytest.raises(ProviderError, match="1 of 2 batches"):
            send(settings, T0)
        fake.fail_next(401, "Forbidden", times=2, path=f"/v3/{DOMAIN}/events")
        with pytest.raises(SafetyRefusal) as refused:
            send(settings, T0 + timedelta(hours=1))
        with pytest.raises(SafetyRefusal, match="could not be read"):
            resolve(settings, T0 + timedelta(hours=1))
        posts = [r for r in fake.requests if r.path == f"/v3/{DOMAIN}/messages"]
        assert len(posts) == 2, "nothing was posted again"
    message = refused.value.message
    assert "Mailgun's records of the interrupted send" in message
    assert "could not be read" in message and "HTTP 401" in message
    assert "$MAILGUN_API_KEY" in message and "read events" in message
    assert "nothing was sent again" in message
    assert f"newsletter resolve --post {ONE_POST} --as sent" in message
    assert SECRET not in message
    assert status(tmp_path, settings) == "pending"
    assert len(received(fake)) == 1000


@pytest.mark.parametrize(
    ("age", "settles"), [(timedelta(days=1), True), (timedelta(days=1, seconds=1), False)]
)
def test_past_a_day_absence_proves_nothing(tmp_path: Path, age: timedelta, settles: bool) -> None:
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(503, {"message": "Service Unavailable"}, path=f"/v3/{DOMAIN}/messages")
        with pytest.raises(ProviderError):
            send(settings, T0)
        if settles:
            send(settings, T0 + age)
            assert status(tmp_path, settings) == "sent" and len(fake.messages) == 1
        else:
            with pytest.raises(SafetyRefusal) as late:
                send(settings, T0 + age)
            assert "deleted events that old" in late.value.message
            assert f"newsletter resolve --post {ONE_POST} --as sent" in late.value.message
            assert not fake.messages


@pytest.mark.parametrize("processed", [False, True])
def test_a_mailing_list_send_is_settled_by_any_event_of_its_batch(
    tmp_path: Path, processed: bool
) -> None:
    members = ["ann@example.net", "bob@example.net"]
    with fake_at(T0, lists={LIST: members}) as fake:
        settings = blog(tmp_path, fake, list_address=LIST)
        fail_request(fake, 1, processed=processed)
        with pytest.raises(ProviderError):
            send(settings, T0)
        report = resolve(settings, T0 + timedelta(hours=1))
        if processed:
            assert "reached everyone on the list: marked sent" in report.outcome
        else:
            assert "reached nobody: marked unsent" in report.outcome
        send(settings, T0 + timedelta(hours=1, minutes=1))
    assert status(tmp_path, settings) == "sent"
    assert len(fake.messages) == 1
    assert sorted(e["recipient"] for e in fake.events) == members


def test_a_next_page_on_another_server_is_not_followed(tmp_path: Path) -> None:
    """The events answer's paging links are followed only on Mailgun's own host, since each
    request carries the key."""
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 2)
        fake.fail_next(503, {"message": "Service Unavailable"}, path=f"/v3/{DOMAIN}/messages")
        with pytest.raises(ProviderError):
            send(settings, T0)
        fake.events.append({"event": "accepted", "timestamp": T0.timestamp(), "recipient": "x"})
        original = fake.handle

        def elsewhere(request: Request) -> Reply:
            reply = original(request)
            if request.path.startswith(f"/v3/{DOMAIN}/events"):
                reply.body["paging"]["next"] = "https://collector.example/v3/events/next"
            return reply

        fake.handle = elsewhere  # type: ignore[method-assign]
        with pytest.raises(SafetyRefusal, match="another server"):
            send(settings, T0 + timedelta(hours=1))
    assert not fake.messages
    assert status(tmp_path, settings) == "pending"


@pytest.mark.parametrize(
    "query",
    [
        {"begin": "1767600000", "limit": "300"},
        {"begin": "yesterday", "ascending": "yes"},
        {"begin": "1767600000", "ascending": "maybe"},
        {"begin": "1767600000", "ascending": "yes", "limit": "301"},
        {"begin": "1767600000", "ascending": "yes", "limit": "0"},
        {"begin": "1767600000", "ascending": "yes", "user-variables": "{}"},
    ],
)
def test_the_events_stand_in_refuses_what_mailgun_refuses(query: dict[str, str]) -> None:
    with MailgunFake(SECRET, DOMAIN) as fake:
        answer = httpx.get(f"{fake.url}/v3/{DOMAIN}/events", params=query, auth=("api", SECRET))
    assert answer.status_code == 400
    assert set(answer.json()) == {"message"}


def test_the_events_stand_in_pages_in_mailguns_shape(tmp_path: Path) -> None:
    with fake_at(T0) as fake:
        settings = blog(tmp_path, fake, 5)
        send(settings, T0)
        query = {
            "event": "accepted",
            "begin": str(int(T0.timestamp()) - 60),
            "end": str(int(T0.timestamp()) + 60),
            "ascending": "yes",
            "limit": "3",
        }
        first = httpx.get(f"{fake.url}/v3/{DOMAIN}/events", params=query, auth=("api", SECRET))
        page = first.json()
        second = httpx.get(page["paging"]["next"], auth=("api", SECRET)).json()
        last = httpx.get(second["paging"]["next"], auth=("api", SECRET)).json()
        refused = httpx.get(f"{fake.url}/v3/{DOMAIN}/events", params=query, auth=("api", "x"))
    assert [len(page["items"]), len(second["items"]), len(last["items"])] == [3, 2, 0]
    event = page["items"][0]
    assert {"event", "timestamp", "recipient", "user-variables", "message", "tags"} <= set(event)
    assert event["user-variables"]["newsletter_send"]
    assert set(page["paging"]) == {"first", "last", "next", "previous"}
    assert refused.status_code == 401

"""Resend adapter against a loopback fake of its broadcasts and emails API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter.errors import ProviderError
from newsletter.providers import create, traits_for
from newsletter.providers.base import Provider
from tests.fakes.helpers import SECRET, SleepRecorder, provider_config, sample_email
from tests.fakes.resend import ResendFake
from tests.fakes.server import Reply

AUDIENCE = "78261eea-8f8b-4381-83c6-79fa7120f1cf"


@pytest.fixture
def fake() -> Iterator[ResendFake]:
    with ResendFake(SECRET, segments=(AUDIENCE,)) as server:
        yield server


def provider(
    tmp_path: Path, fake: ResendFake, key: str = SECRET, audience: str = AUDIENCE
) -> Provider:
    config = provider_config(tmp_path, "resend", base_url=fake.url, audience_id=audience)
    return create(config, {"RESEND_API_KEY": key}, sleep=SleepRecorder())


def test_send_creates_a_broadcast_then_sends_it(tmp_path: Path, fake: ResendFake) -> None:
    receipt = provider(tmp_path, fake).send(sample_email(), idempotency_key="newsletter-abc")
    lookup, created, sent = fake.requests
    assert lookup.method == "GET"
    assert created.path == "/broadcasts"
    assert created.header("authorization") == f"Bearer {SECRET}"
    assert created.header("idempotency-key")
    body = created.json()
    assert body["segment_id"] == AUDIENCE
    assert body["reply_to"] == ["author@example.org"]
    assert body["preview_text"] == "Why excerpts matter"
    assert "send" not in body
    assert sent.path == f"/broadcasts/{receipt.message_id}/send"
    assert fake.broadcasts[receipt.message_id]["status"] == "queued"


def test_a_retried_send_does_not_create_a_second_broadcast(
    tmp_path: Path, fake: ResendFake
) -> None:
    adapter = provider(tmp_path, fake)
    first = adapter.send(sample_email(), idempotency_key="newsletter-abc")
    second = adapter.send(sample_email(), idempotency_key="newsletter-abc")
    assert first.message_id == second.message_id
    assert len(fake.broadcasts) == 1


def test_a_send_that_failed_after_creating_sends_the_existing_draft(
    tmp_path: Path, fake: ResendFake
) -> None:
    adapter = provider(tmp_path, fake)
    busy = {"statusCode": 500, "name": "application_error", "message": "busy"}
    fake.fail_next(500, busy, times=4, path="/broadcasts/bc-00000001/send")
    with pytest.raises(ProviderError):
        adapter.send(sample_email(), idempotency_key="newsletter-abc")
    [draft] = fake.broadcasts.values()
    assert draft["status"] == "draft"
    receipt = adapter.send(sample_email(), idempotency_key="newsletter-abc")
    assert receipt.message_id == draft["id"]
    assert draft["status"] == "queued"
    assert len(fake.broadcasts) == 1


def test_the_earlier_broadcast_is_found_past_the_first_page(
    tmp_path: Path, fake: ResendFake
) -> None:
    adapter = provider(tmp_path, fake)
    first = adapter.send(sample_email(), idempotency_key="newsletter-abc")
    for number in range(150):  # newer broadcasts push it off the first page of 100
        adapter.create_draft(sample_email(), idempotency_key=f"newsletter-other-{number}")
    again = adapter.send(sample_email(), idempotency_key="newsletter-abc")
    assert again.message_id == first.message_id
    pages = [r for r in fake.requests if r.method == "GET" and r.path == "/broadcasts"]
    assert pages[-1].query.get("after")
    assert all(r.query.get("limit") == ["100"] for r in pages)


def test_draft_is_left_unsent(tmp_path: Path, fake: ResendFake) -> None:
    receipt = provider(tmp_path, fake).create_draft(sample_email(), idempotency_key="newsletter-d")
    assert receipt.drafted
    assert fake.broadcasts[receipt.message_id]["status"] == "draft"
    assert not any(r.path.endswith("/send") for r in fake.requests)


def test_test_send_is_one_email_to_one_address(tmp_path: Path, fake: ResendFake) -> None:
    provider(tmp_path, fake).send_test(sample_email(subject="[Test] Hi"), address="me@example.org")
    [request] = fake.requests
    assert request.path == "/emails"
    [email] = fake.emails
    assert email["to"] == ["me@example.org"]
    assert email["reply_to"] == "author@example.org"
    assert fake.broadcasts == {}


def test_missing_and_invalid_keys_name_the_variable(tmp_path: Path, fake: ResendFake) -> None:
    with pytest.raises(ProviderError, match=r"HTTP 403: API key is invalid.*\$RESEND_API_KEY"):
        provider(tmp_path, fake, key="re_wrong").send(sample_email(), idempotency_key="k")


def test_unknown_audience_is_reported(tmp_path: Path, fake: ResendFake) -> None:
    with pytest.raises(ProviderError, match="Segment not found"):
        provider(tmp_path, fake, audience="nope").send(sample_email(), idempotency_key="k")


def test_422_shows_resends_message(tmp_path: Path, fake: ResendFake) -> None:
    with pytest.raises(ProviderError, match="Missing `from` field"):
        provider(tmp_path, fake).send(sample_email(sender=""), idempotency_key="k")


def test_rate_limit_honours_retry_after(tmp_path: Path, fake: ResendFake) -> None:
    fake.fail_next(
        429,
        {"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests"},
        {"retry-after": "1"},
    )
    sleep = SleepRecorder()
    config = provider_config(tmp_path, "resend", base_url=fake.url, audience_id=AUDIENCE)
    create(config, {"RESEND_API_KEY": SECRET}, sleep=sleep).send(
        sample_email(), idempotency_key="k"
    )
    assert sleep.pauses == [1.0]
    assert len(fake.broadcasts) == 1


def test_traits(tmp_path: Path) -> None:
    traits = traits_for(provider_config(tmp_path, "resend", audience_id=AUDIENCE))
    assert traits.destination == f"resend:{AUDIENCE}"
    assert traits.unsubscribe.url == "{{{RESEND_UNSUBSCRIBE_URL}}}"
    assert traits.idempotent and traits.drafts


@pytest.mark.parametrize(
    "body",
    [
        {"audience_id": AUDIENCE, "from": "a@example.org", "subject": "s"},
        {"segment_id": AUDIENCE, "from": "a@example.org", "subject": "s", "reply_to": "r@x.org"},
        {"segment_id": AUDIENCE, "from": "a@example.org"},
    ],
)
def test_the_fake_refuses_what_the_spec_refuses(fake: ResendFake, body: dict[str, str]) -> None:
    """CreateBroadcastOptions: segment_id, from and subject required; reply_to an array."""
    import httpx

    answer = httpx.post(
        f"{fake.url}/broadcasts", json=body, headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert answer.status_code == 422
    assert not fake.broadcasts


# --- on httpx.MockTransport: each step of a send keeps its own key across a repeat -----------


def test_each_step_is_repeated_under_its_own_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    failed: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = f"{request.method} {request.url.path}"
        if request.method == "POST" and step not in failed:
            failed.add(step)
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "has_more": False, "data": []})
        return httpx.Response(200, json={"id": "b_1"})

    config = provider_config(tmp_path, "resend", audience_id=AUDIENCE)
    adapter = create(
        config,
        {"RESEND_API_KEY": SECRET},
        transport=httpx.MockTransport(answer),
        sleep=SleepRecorder(),
    )
    receipt = adapter.send(sample_email(), idempotency_key="newsletter-k1")
    assert receipt.message_id == "b_1"
    posts = [(r.url.path, r.headers["idempotency-key"]) for r in seen if r.method == "POST"]
    assert posts == [
        ("/broadcasts", "newsletter-k1-create"),
        ("/broadcasts", "newsletter-k1-create"),
        ("/broadcasts/b_1/send", "newsletter-k1-send"),
        ("/broadcasts/b_1/send", "newsletter-k1-send"),
    ]


# --- messages that point the right way, and the test send's unsubscribe link ------------------


def test_an_unverified_sender_domain_is_not_blamed_on_the_key(tmp_path: Path) -> None:
    fake = ResendFake(SECRET, segments=(AUDIENCE,), verified_domains=("other.org",))
    with fake, pytest.raises(ProviderError) as raised:
        provider(tmp_path, fake).send(sample_email(), idempotency_key="k")
    message = raised.value.message
    assert "example.org domain is not verified" in message
    assert "[newsletter] from" in message and "https://resend.com/domains" in message
    assert "RESEND_API_KEY" not in message
    assert raised.value.maybe_sent is False


@pytest.mark.parametrize("quota", ["daily", "monthly"])
def test_a_spent_quota_is_not_retried_and_says_so(
    tmp_path: Path, fake: ResendFake, quota: str
) -> None:
    body = {
        "statusCode": 429,
        "name": f"{quota}_quota_exceeded",
        "message": f"You have reached your {quota} email sending quota.",
    }
    fake.fail_next(429, body, {"retry-after": "1"}, times=4)
    sleep = SleepRecorder()
    config = provider_config(tmp_path, "resend", base_url=fake.url, audience_id=AUDIENCE)
    adapter = create(config, {"RESEND_API_KEY": SECRET}, sleep=sleep)
    with pytest.raises(ProviderError) as raised:
        adapter.send(sample_email(), idempotency_key="k")
    assert sleep.pauses == []
    assert len(fake.requests) == 1, "a spent quota is asked once, not four times"
    message = raised.value.message
    assert f"{quota} sending quota" in message and "used up" in message
    assert "status page" not in message
    assert raised.value.maybe_sent is False


def test_a_lost_answer_to_send_is_settled_by_the_broadcasts_status(
    tmp_path: Path, fake: ResendFake
) -> None:
    """The first /send went through but its answer was lost; the repeat is refused as
    already sent. That is success, not "fix what it names"."""
    original = fake.handle
    calls: list[str] = []

    def lose_first_send_answer(request: Any) -> Any:
        reply = original(request)
        if request.path.endswith("/send") and not calls:
            calls.append(request.path)
            return Reply(503, {"statusCode": 503, "name": "application_error", "message": "x"})
        return reply

    fake.handle = lose_first_send_answer  # type: ignore[method-assign]
    receipt = provider(tmp_path, fake).send(sample_email(), idempotency_key="newsletter-lost")
    [broadcast] = fake.broadcasts.values()
    assert broadcast["status"] == "queued"
    assert receipt.message_id == broadcast["id"]
    sends = [r for r in fake.requests if r.path.endswith("/send")]
    assert len(sends) == 2


def test_a_refused_repeat_says_what_to_check_not_what_to_fix(tmp_path: Path) -> None:
    """When the broadcast's status cannot be read either, the sentence points at Resend's
    dashboard and `resolve`, since the first try may have gone through."""
    attempts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(f"{request.method} {request.url.path}")
        if request.method == "GET" and request.url.path == "/broadcasts":
            return httpx.Response(200, json={"object": "list", "has_more": False, "data": []})
        if request.method == "GET":
            return httpx.Response(404, json={"statusCode": 404, "name": "not_found"})
        if request.url.path == "/broadcasts":
            return httpx.Response(201, json={"id": "b_1"})
        if len([a for a in attempts if a.endswith("/send")]) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        error = {"statusCode": 422, "name": "validation_error", "message": "Already sent."}
        return httpx.Response(422, json=error)

    config = provider_config(tmp_path, "resend", audience_id=AUDIENCE)
    adapter = create(
        config,
        {"RESEND_API_KEY": SECRET},
        transport=httpx.MockTransport(answer),
        sleep=SleepRecorder(),
    )
    with pytest.raises(ProviderError) as raised:
        adapter.send(sample_email(), idempotency_key="newsletter-k1")
    message = raised.value.message
    assert "fix what it names" not in message
    assert "may well have gone through" in message and "dashboard" in message
    assert "newsletter resolve" in message
    assert raised.value.maybe_sent is True


def test_a_sent_broadcast_wins_over_a_stray_draft_of_the_same_name(
    tmp_path: Path, fake: ResendFake
) -> None:
    """A create repeated after a lost answer can leave two broadcasts with the send's name;
    the next run must report the sent one, never send the draft as well."""
    adapter = provider(tmp_path, fake)
    sent = adapter.send(sample_email(), idempotency_key="newsletter-twice")
    stray = adapter.create_draft(sample_email(), idempotency_key="newsletter-other")
    fake.broadcasts[stray.message_id]["name"] = fake.broadcasts[sent.message_id]["name"]
    again = adapter.send(sample_email(), idempotency_key="newsletter-twice")
    assert again.message_id == sent.message_id
    assert fake.broadcasts[stray.message_id]["status"] == "draft"


def test_the_test_sends_unsubscribe_link_is_not_a_dead_placeholder(
    tmp_path: Path, fake: ResendFake
) -> None:
    """`/emails` does not fill Resend's broadcast placeholder, so the test send carries a
    working mailto: to the sender that says what it stands in for."""
    email = sample_email(
        subject="[Test] Hi",
        html='<p>Hi</p><a href="{{{RESEND_UNSUBSCRIBE_URL}}}">Unsubscribe</a>',
        text="Hi\n\nUnsubscribe: {{{RESEND_UNSUBSCRIBE_URL}}}\n",
    )
    provider(tmp_path, fake).send_test(email, address="me@example.org")
    [sent] = fake.emails
    assert "RESEND_UNSUBSCRIBE_URL" not in sent["html"] + sent["text"]
    link = "mailto:news@example.org?subject=Unsubscribe%20%28test%20send"
    assert f'href="{link}' in sent["html"]
    assert f"Unsubscribe: {link}" in sent["text"]
    # the real send keeps the placeholder for Resend to fill
    provider(tmp_path, fake).send(email, idempotency_key="newsletter-real")
    [broadcast] = fake.broadcasts.values()
    assert "{{{RESEND_UNSUBSCRIBE_URL}}}" in broadcast["html"]

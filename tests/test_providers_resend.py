"""Resend adapter against a loopback fake of its broadcasts and emails API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.errors import ProviderError
from newsletter.providers import create, traits_for
from newsletter.providers.base import Provider
from tests.fakes.helpers import SECRET, SleepRecorder, provider_config, sample_email
from tests.fakes.resend import ResendFake

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

"""Buttondown adapter against a loopback fake of its documented email API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.providers import create
from newsletter.providers.base import Provider
from tests.fakes.buttondown import ButtondownFake
from tests.fakes.helpers import SECRET, SleepRecorder, provider_config, sample_email


@pytest.fixture
def fake() -> Iterator[ButtondownFake]:
    with ButtondownFake(SECRET) as server:
        yield server


def provider(tmp_path: Path, fake: ButtondownFake, key: str = SECRET) -> Provider:
    config = provider_config(tmp_path, "buttondown", base_url=fake.url)
    return create(config, {"BUTTONDOWN_API_KEY": key}, sleep=SleepRecorder())


def test_send_creates_an_email_that_goes_out(tmp_path: Path, fake: ButtondownFake) -> None:
    receipt = provider(tmp_path, fake).send(sample_email(), idempotency_key="newsletter-k1")
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/v1/emails"
    assert request.header("authorization") == f"Token {SECRET}"
    assert request.header("x-idempotency-key") == "newsletter-k1"
    body = request.json()
    assert body["status"] == "about_to_send"
    assert body["subject"] == "Cutting at the break"
    assert body["body"].startswith("<!-- buttondown-editor-mode: fancy -->\n<!doctype html>")
    assert receipt.message_id == fake.emails[receipt.message_id]["id"]
    assert fake.emails[receipt.message_id]["status"] == "sent"
    assert not receipt.drafted


def test_a_retried_send_with_the_same_key_is_recognised(
    tmp_path: Path, fake: ButtondownFake
) -> None:
    adapter = provider(tmp_path, fake)
    first = adapter.send(sample_email(), idempotency_key="newsletter-same")
    second = adapter.send(sample_email(), idempotency_key="newsletter-same")
    assert first.message_id == second.message_id
    assert len(fake.emails) == 1


def test_draft_is_a_draft_with_its_own_key(tmp_path: Path, fake: ButtondownFake) -> None:
    adapter = provider(tmp_path, fake)
    draft = adapter.create_draft(sample_email(), idempotency_key="newsletter-k2")
    assert draft.drafted
    assert fake.emails[draft.message_id]["status"] == "draft"
    # A later real send of the same posts must not be answered with the draft's replay.
    sent = adapter.send(sample_email(), idempotency_key="newsletter-k2")
    assert sent.message_id != draft.message_id
    assert fake.requests[0].header("x-buttondown-live-dangerously") is None


def test_test_send_is_a_draft_sent_to_one_address(tmp_path: Path, fake: ButtondownFake) -> None:
    receipt = provider(tmp_path, fake).send_test(
        sample_email(subject="[Test] Cutting"), address="me@example.org"
    )
    create_request, send_draft = fake.requests
    assert create_request.json()["status"] == "draft"
    assert create_request.header("x-idempotency-key") is None
    assert send_draft.path == f"/v1/emails/{receipt.message_id}/send-draft"
    assert send_draft.json() == {"recipients": ["me@example.org"]}
    assert fake.draft_sends == [(receipt.message_id, ["me@example.org"])]
    assert all(e["status"] == "draft" for e in fake.emails.values())


def test_rate_limit_is_waited_out(tmp_path: Path, fake: ButtondownFake) -> None:
    fake.fail_next(429, {"detail": "Request was throttled."}, {"Retry-After": "3"})
    sleep = SleepRecorder()
    config = provider_config(tmp_path, "buttondown", base_url=fake.url)
    adapter = create(config, {"BUTTONDOWN_API_KEY": SECRET}, sleep=sleep)
    adapter.send(sample_email(), idempotency_key="newsletter-k3")
    assert sleep.pauses == [3.0]
    assert len(fake.emails) == 1


def test_wrong_key_says_which_variable(tmp_path: Path, fake: ButtondownFake) -> None:
    with pytest.raises(ProviderError, match=r"\$BUTTONDOWN_API_KEY") as caught:
        provider(tmp_path, fake, key="wrong-key").send(sample_email(), idempotency_key="k")
    assert "wrong-key" not in str(caught.value)


def test_validation_error_shows_buttondown_message(tmp_path: Path, fake: ButtondownFake) -> None:
    with pytest.raises(ProviderError, match="HTTP 422: subject: String should have at most 2000"):
        provider(tmp_path, fake).send(sample_email(subject="x" * 2001), idempotency_key="k")
    assert fake.emails == {}


def test_html_is_never_mistaken_for_front_matter(tmp_path: Path, fake: ButtondownFake) -> None:
    provider(tmp_path, fake).send(sample_email(html="---\n<p>rule</p>"), idempotency_key="k")
    assert len(fake.emails) == 1


def test_missing_key_is_a_config_error(tmp_path: Path, fake: ButtondownFake) -> None:
    config = provider_config(tmp_path, "buttondown", base_url=fake.url)
    with pytest.raises(ConfigError, match=r"\$BUTTONDOWN_API_KEY"):
        create(config, {})


# --- on httpx.MockTransport: what the adapter repeats, and what it never does ----------------


def mocked(tmp_path: Path, answer: Callable[[httpx.Request], httpx.Response]) -> Provider:
    config = provider_config(tmp_path, "buttondown")
    return create(
        config,
        {"BUTTONDOWN_API_KEY": SECRET},
        transport=httpx.MockTransport(answer),
        sleep=SleepRecorder(),
    )


def test_a_send_lost_in_transit_is_repeated_under_the_same_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(201, json={"id": "em_1"})

    receipt = mocked(tmp_path, answer).send(sample_email(), idempotency_key="newsletter-k1")
    assert receipt.message_id == "em_1"
    assert [r.headers["x-idempotency-key"] for r in seen] == ["newsletter-k1"] * 2
    assert all(r.headers["x-buttondown-live-dangerously"] == "true" for r in seen)


def test_a_test_send_without_a_key_is_not_repeated(tmp_path: Path) -> None:
    """`send-draft` carries no idempotency key, so a lost answer is not sent again: the
    author would otherwise get the test email twice."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/v1/emails":
            return httpx.Response(201, json={"id": "em_1"})
        return httpx.Response(502, text="Bad gateway")

    with pytest.raises(ProviderError) as caught:
        mocked(tmp_path, answer).send_test(sample_email(), address="me@example.org")
    assert seen == ["/v1/emails", "/v1/emails/em_1/send-draft"]
    assert caught.value.maybe_sent is True


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_a_base_url_copied_from_the_spec_is_not_doubled(
    tmp_path: Path, fake: ButtondownFake, suffix: str
) -> None:
    """Buttondown's spec names its server https://api.buttondown.com/v1; a base_url copied
    from it must reach /v1/emails, not /v1/v1/emails."""
    config = provider_config(tmp_path, "buttondown", base_url=fake.url + suffix)
    adapter = create(config, {"BUTTONDOWN_API_KEY": SECRET}, sleep=SleepRecorder())
    receipt = adapter.send(sample_email(), idempotency_key="newsletter-v1")
    assert [request.path for request in fake.requests] == ["/v1/emails"]
    assert receipt.message_id in fake.emails

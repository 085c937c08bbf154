"""Mailgun adapter against a loopback fake of POST /v3/<domain>/messages."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.providers import create, traits_for
from newsletter.providers.base import Provider
from tests.fakes.helpers import (
    SECRET,
    SleepRecorder,
    eventually,
    provider_config,
    sample_email,
    write_subscribers,
)
from tests.fakes.mailgun import MailgunFake

DOMAIN = "mg.example.org"


@pytest.fixture
def fake() -> Iterator[MailgunFake]:
    with MailgunFake(SECRET, DOMAIN) as server:
        yield server


def provider(tmp_path: Path, fake: MailgunFake, sleep: Any = None, **options: Any) -> Provider:
    config = provider_config(tmp_path, "mailgun", base_url=fake.url, domain=DOMAIN, **options)
    return create(config, {"MAILGUN_API_KEY": SECRET}, sleep=sleep or SleepRecorder())


def fields(message: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in message if key == name]


def test_list_send_is_one_multipart_message_to_the_list(tmp_path: Path, fake: MailgunFake) -> None:
    receipt = provider(tmp_path, fake, list_address="news@mg.example.org").send(
        sample_email(), idempotency_key="k"
    )
    [request] = fake.requests
    assert request.path == f"/v3/{DOMAIN}/messages"
    assert request.content_type == "multipart/form-data"
    expected = "Basic " + base64.b64encode(f"api:{SECRET}".encode()).decode()
    assert request.header("authorization") == expected
    [message] = fake.messages
    assert fields(message, "to") == ["news@mg.example.org"]
    assert fields(message, "from") == ["Example Blog <news@example.org>"]
    assert fields(message, "h:Reply-To") == ["author@example.org"]
    assert fields(message, "text") and fields(message, "html")
    assert "recipient-variables" not in dict(message)
    assert receipt.message_id and receipt.message_id.endswith(f"@{DOMAIN}>")


def test_subscribers_go_in_batches_of_at_most_1000_with_recipient_variables(
    tmp_path: Path, fake: MailgunFake
) -> None:
    addresses = [f"reader{i}@example.net" for i in range(2345)]
    path = write_subscribers(tmp_path, [*addresses, "not-an-address", addresses[0]])
    receipt = provider(tmp_path, fake, subscribers=str(path)).send(
        sample_email(), idempotency_key="k"
    )
    sizes = sorted(len(fields(m, "to")) for m in fake.messages)
    assert sizes == [345, 1000, 1000]
    for message in fake.messages:
        variables = json.loads(fields(message, "recipient-variables")[0])
        assert len(variables) == len(fields(message, "to"))
    sent = sorted(v for m in fake.messages for v in fields(m, "to"))
    assert len(sent) == len(set(sent)) == 2345
    assert receipt.accepted == 2345
    assert {r.address for r in receipt.rejected} == {"not-an-address", addresses[0]}


def test_eu_region_uses_the_eu_host(tmp_path: Path) -> None:
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(str(request.url.copy_with(path="/")))
        return httpx.Response(200, json={"id": "<1@mg>", "message": "Queued. Thank you."})

    config = provider_config(
        tmp_path, "mailgun", domain=DOMAIN, region="eu", list_address="news@mg.example.org"
    )
    adapter = create(config, {"MAILGUN_API_KEY": SECRET}, transport=httpx.MockTransport(answer))
    adapter.send(sample_email(), idempotency_key="k")
    adapter.close()
    assert hosts == ["https://api.eu.mailgun.net/"]


def test_a_batch_answered_after_the_timeout_is_posted_exactly_once(tmp_path: Path) -> None:
    """Mailgun has no idempotency key: a batch it may have accepted is never posted again,
    since each repeat is another copy to up to 1,000 subscribers."""
    addresses = [f"reader{i}@example.net" for i in range(1500)]
    path = write_subscribers(tmp_path, addresses)
    # The answer comes well after the read timeout; the timeout itself leaves room for a
    # loaded machine to connect and upload, so only the read can time out.
    with MailgunFake(SECRET, DOMAIN, latency=4.0) as slow:
        config = provider_config(
            tmp_path,
            "mailgun",
            base_url=slow.url,
            domain=DOMAIN,
            subscribers=str(path),
            timeout=1.5,
        )
        sleep = SleepRecorder()
        adapter = create(config, {"MAILGUN_API_KEY": SECRET}, sleep=sleep)
        with pytest.raises(ProviderError) as caught:
            adapter.send(sample_email(), idempotency_key="k")
        adapter.close()
        eventually(lambda: len(slow.messages) == 2)  # the fake finishes accepting them
    assert caught.value.maybe_sent is True
    assert sleep.pauses == []
    batches = [tuple(fields(message, "to")) for message in slow.messages]
    assert len(slow.requests) == len(batches) == 2
    assert len(set(batches)) == 2  # one request per batch, none repeated


def test_test_send_goes_to_one_address(tmp_path: Path, fake: MailgunFake) -> None:
    provider(tmp_path, fake, list_address="news@mg.example.org").send_test(
        sample_email(subject="[Test] Hi"), address="me@example.org"
    )
    [message] = fake.messages
    assert fields(message, "to") == ["me@example.org"]
    assert fields(message, "subject") == ["[Test] Hi"]


def test_try_again_after_message_sets_the_pause(tmp_path: Path, fake: MailgunFake) -> None:
    fake.fail_next(
        429,
        {
            "message": "Domain mg.example.org is not allowed to send: "
            "account-requests-per-sec limit exceeded, try again after 2 seconds"
        },
    )
    sleep = SleepRecorder()
    provider(tmp_path, fake, sleep, list_address="news@mg.example.org").send(
        sample_email(), idempotency_key="k"
    )
    assert sleep.pauses == [2.0]
    assert len(fake.messages) == 1


@pytest.mark.parametrize(("seconds", "waited"), [(120, True), (121, False)])
def test_mailguns_own_pause_is_capped_at_two_minutes(
    tmp_path: Path, fake: MailgunFake, seconds: int, waited: bool
) -> None:
    """The cap on a pause the provider asks for, pinned at its value through Mailgun's
    wording: two minutes are waited, a second more fails the run at once."""
    wording = f"account-requests-per-sec limit exceeded, try again after {seconds} seconds"
    fake.fail_next(429, {"message": f"Domain {DOMAIN} is not allowed to send: {wording}"})
    sleep = SleepRecorder()
    adapter = provider(tmp_path, fake, sleep, list_address="news@mg.example.org")
    if waited:
        adapter.send(sample_email(), idempotency_key="k")
        assert (sleep.pauses, len(fake.messages)) == ([120.0], 1)
    else:
        with pytest.raises(ProviderError, match="asks to wait 121 seconds") as raised:
            adapter.send(sample_email(), idempotency_key="k")
        assert (sleep.pauses, len(fake.requests)) == ([], 1)
        assert raised.value.maybe_sent is False


def test_wrong_key_is_reported_with_the_variable(tmp_path: Path, fake: MailgunFake) -> None:
    config = provider_config(
        tmp_path, "mailgun", base_url=fake.url, domain=DOMAIN, list_address="news@mg.example.org"
    )
    adapter = create(config, {"MAILGUN_API_KEY": "key-wrong"})
    with pytest.raises(ProviderError, match=r"HTTP 401: Forbidden.*\$MAILGUN_API_KEY"):
        adapter.send(sample_email(), idempotency_key="k")


def test_mailguns_own_400_message_is_shown(tmp_path: Path, fake: MailgunFake) -> None:
    with pytest.raises(ProviderError, match="from parameter is missing"):
        provider(tmp_path, fake, list_address="news@mg.example.org").send(
            sample_email(sender=""), idempotency_key="k"
        )


def test_unknown_domain_is_a_clear_404(tmp_path: Path, fake: MailgunFake) -> None:
    config = provider_config(
        tmp_path,
        "mailgun",
        base_url=fake.url,
        domain="other.example.org",
        list_address="news@other.example.org",
    )
    with pytest.raises(ProviderError, match="Domain not found"):
        create(config, {"MAILGUN_API_KEY": SECRET}).send(sample_email(), idempotency_key="k")


def test_traits_pick_the_list_placeholder_and_a_portable_destination(tmp_path: Path) -> None:
    listed = traits_for(
        provider_config(
            tmp_path, "mailgun", domain=DOMAIN, list_address="Blog <news@mg.example.org>"
        )
    )
    assert listed.unsubscribe.url == "%mailing_list_unsubscribe_url%"
    assert listed.destination == f"mailgun:{DOMAIN}:news@mg.example.org"
    csv = traits_for(provider_config(tmp_path, "mailgun", domain=DOMAIN, subscribers="s.csv"))
    assert csv.unsubscribe.url == "%unsubscribe_url%"
    assert csv.destination == f"mailgun:{DOMAIN}:subscribers"
    assert csv.unsubscribe.list_unsubscribe is None


def test_list_and_subscribers_together_is_a_config_error(tmp_path: Path) -> None:
    config = provider_config(
        tmp_path, "mailgun", domain=DOMAIN, subscribers="s.csv", list_address="news@mg.example.org"
    )
    with pytest.raises(ConfigError, match="not both"):
        traits_for(config)


def test_a_list_send_answered_by_a_server_error_is_not_sent_again(tmp_path: Path) -> None:
    """One message to a mailing list reaches every member: a 5xx after it may already have."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(500, json={"message": "Internal error"})

    config = provider_config(tmp_path, "mailgun", domain=DOMAIN, list_address="news@mg.example.org")
    adapter = create(
        config,
        {"MAILGUN_API_KEY": SECRET},
        transport=httpx.MockTransport(answer),
        sleep=SleepRecorder(),
    )
    with pytest.raises(ProviderError, match="Internal error") as caught:
        adapter.send(sample_email(), idempotency_key="k")
    assert seen == [f"/v3/{DOMAIN}/messages"]
    assert caught.value.maybe_sent is True

"""Postmark adapter against a loopback fake of /email and /email/batch."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from newsletter.errors import ProviderError
from newsletter.providers import create, traits_for
from newsletter.providers.base import Provider
from newsletter.providers.postmark import PostmarkProvider
from newsletter.providers.postmark_batches import batch_body, split_batches
from newsletter.providers.subscribers import Subscriber
from tests.fakes.helpers import (
    SECRET,
    SleepRecorder,
    eventually,
    provider_config,
    sample_email,
    write_one_post_feed,
    write_subscribers,
)
from tests.fakes.postmark import PostmarkFake


@pytest.fixture
def fake() -> Iterator[PostmarkFake]:
    with PostmarkFake(SECRET, suppressed=("gone@example.net",)) as server:
        yield server


def provider(tmp_path: Path, fake: PostmarkFake, addresses: list[str], **options: Any) -> Provider:
    path = write_subscribers(tmp_path, addresses)
    config = provider_config(
        tmp_path, "postmark", base_url=fake.url, subscribers=str(path), **options
    )
    return create(config, {"POSTMARK_SERVER_TOKEN": SECRET}, sleep=SleepRecorder())


def test_batches_of_at_most_500_pascalcase_messages(tmp_path: Path, fake: PostmarkFake) -> None:
    addresses = [f"reader{i}@example.net" for i in range(1203)]
    receipt = provider(tmp_path, fake, addresses).send(sample_email(), idempotency_key="k")
    assert sorted(fake.batch_sizes) == [203, 500, 500]
    assert receipt.accepted == 1203
    request = fake.requests[0]
    assert request.path == "/email/batch"
    assert request.header("x-postmark-server-token") == SECRET
    message = fake.sent[0]
    assert message["MessageStream"] == "broadcast"
    assert message["From"] == "Example Blog <news@example.org>"
    assert message["ReplyTo"] == "author@example.org"
    assert message["To"].startswith("Reader ")
    assert {"HtmlBody", "TextBody", "Subject"} <= set(message)
    assert {m["To"].rsplit("<")[1].rstrip(">") for m in fake.sent} == set(addresses)


def test_custom_headers_go_in_the_headers_list(tmp_path: Path, fake: PostmarkFake) -> None:
    email = sample_email(headers={"X-Campaign": "weekly"})
    provider(tmp_path, fake, ["a@example.net"]).send(email, idempotency_key="k")
    assert fake.sent[0]["Headers"] == [{"Name": "X-Campaign", "Value": "weekly"}]


def test_suppressed_recipients_are_reported_not_failed(tmp_path: Path, fake: PostmarkFake) -> None:
    receipt = provider(tmp_path, fake, ["a@example.net", "gone@example.net", "b@example.net"]).send(
        sample_email(), idempotency_key="k"
    )
    assert receipt.accepted == 2
    [rejection] = receipt.rejected
    assert rejection.address == "gone@example.net"
    assert "406" in rejection.reason and "inactive" in rejection.reason


def test_everyone_suppressed_is_not_a_failure(tmp_path: Path, fake: PostmarkFake) -> None:
    receipt = provider(tmp_path, fake, ["gone@example.net"]).send(
        sample_email(), idempotency_key="k"
    )
    assert receipt.accepted == 0
    assert len(receipt.rejected) == 1


def test_nothing_accepted_for_a_setup_reason_fails(tmp_path: Path, fake: PostmarkFake) -> None:
    adapter = provider(tmp_path, fake, ["a@example.net"], message_stream="newsletter")
    with pytest.raises(ProviderError, match="ErrorCode 1235"):
        adapter.send(sample_email(), idempotency_key="k")


def test_test_send_uses_the_single_email_endpoint(tmp_path: Path, fake: PostmarkFake) -> None:
    receipt = provider(tmp_path, fake, ["a@example.net"]).send_test(
        sample_email(subject="[Test] Hi"), address="me@example.org"
    )
    [request] = fake.requests
    assert request.path == "/email"
    assert fake.sent[0]["To"] == "me@example.org"
    assert receipt.message_id


def test_test_send_to_a_suppressed_address_shows_postmarks_message(
    tmp_path: Path, fake: PostmarkFake
) -> None:
    with pytest.raises(ProviderError, match="marked as inactive"):
        provider(tmp_path, fake, ["a@example.net"]).send_test(
            sample_email(), address="gone@example.net"
        )


def test_wrong_token_names_the_variable(tmp_path: Path, fake: PostmarkFake) -> None:
    path = write_subscribers(tmp_path, ["a@example.net"])
    config = provider_config(tmp_path, "postmark", base_url=fake.url, subscribers=str(path))
    adapter = create(config, {"POSTMARK_SERVER_TOKEN": "wrong"})
    with pytest.raises(ProviderError, match=r"key in \$POSTMARK_SERVER_TOKEN was refused"):
        adapter.send(sample_email(), idempotency_key="k")


def test_a_server_error_is_not_posted_again(tmp_path: Path, fake: PostmarkFake) -> None:
    """A 5xx may come after Postmark sent the batch, and Postmark has no idempotency key, so
    the batch stays in doubt instead of going out a second time."""
    fake.fail_next(500, {"ErrorCode": 500, "Message": "Internal Server Error"})
    with pytest.raises(ProviderError, match="Internal Server Error") as caught:
        provider(tmp_path, fake, ["a@example.net"]).send(sample_email(), idempotency_key="k")
    assert caught.value.maybe_sent is True
    assert len(fake.requests) == 1


def test_a_batch_answered_after_the_timeout_is_posted_exactly_once(tmp_path: Path) -> None:
    addresses = [f"reader{i}@example.net" for i in range(700)]
    with PostmarkFake(SECRET, latency=0.6) as slow:
        sleep = SleepRecorder()
        adapter = create(
            provider_config(
                tmp_path,
                "postmark",
                base_url=slow.url,
                subscribers=str(write_subscribers(tmp_path, addresses)),
                timeout=0.2,
            ),
            {"POSTMARK_SERVER_TOKEN": SECRET},
            sleep=sleep,
        )
        with pytest.raises(ProviderError, match="not sent again") as caught:
            adapter.send(sample_email(), idempotency_key="k")
        adapter.close()
        eventually(lambda: len(slow.batch_sizes) == 2)  # the fake finishes accepting them
    assert caught.value.maybe_sent is True
    assert sleep.pauses == []
    assert sorted(slow.batch_sizes) == [200, 500]
    assert len(slow.requests) == 2  # one request per batch, none repeated
    assert len({m["To"] for m in slow.sent}) == 700


def test_traits(tmp_path: Path) -> None:
    traits = traits_for(provider_config(tmp_path, "postmark"))
    assert traits.destination == "postmark:broadcast"
    assert traits.unsubscribe.url == "{{{ pm:unsubscribe }}}"
    assert traits.unsubscribe.list_unsubscribe is None


AWKWARD_NAMES = [
    'Ada "The Countess" Lovelace',
    "O'Brien, Pat",
    "Zoë Ünïcødé 山田",
    "back\\slash and\ttab",
]
AWKWARD_EMAIL = sample_email(
    subject='Quotes " and \\ and unicode: café — 日本',
    html='<p class="x">Line\u2028separator, </script>, \\ "quoted"</p>',
    text="Tabs\tand\nnewlines, café\n",
    headers={"Reply-To": "author@example.org", "X-Note": 'a "b" \\ c'},
)


def test_spliced_batch_is_exactly_one_full_message_per_subscriber(
    tmp_path: Path, fake: PostmarkFake
) -> None:
    adapter = cast(PostmarkProvider, provider(tmp_path, fake, ["a@example.net"]))
    batch = [Subscriber(f"r{i}@example.net", name) for i, name in enumerate(AWKWARD_NAMES)]
    batch.append(Subscriber("zoë@bücher.example", ""))
    body = batch_body(adapter._shared_fields(AWKWARD_EMAIL), batch)
    expected = [adapter._message(AWKWARD_EMAIL, s.to_header) for s in batch]
    assert json.loads(body) == expected
    assert json.loads(batch_body(adapter._shared_fields(AWKWARD_EMAIL), [])) == []


def test_the_fake_receives_every_field_for_awkward_names(
    tmp_path: Path, fake: PostmarkFake
) -> None:
    path = tmp_path / "subscribers.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name"])
        writer.writerows([f"r{i}@example.net", name] for i, name in enumerate(AWKWARD_NAMES))
    config = provider_config(tmp_path, "postmark", base_url=fake.url, subscribers=str(path))
    adapter = cast(PostmarkProvider, create(config, {"POSTMARK_SERVER_TOKEN": SECRET}))
    receipt = adapter.send(AWKWARD_EMAIL, idempotency_key="k")
    assert receipt.accepted == len(AWKWARD_NAMES)
    [request] = fake.requests
    assert request.header("content-type") == "application/json"
    subscribers = adapter.subscribers.load().subscribers
    unmarked = [{k: v for k, v in m.items() if k != "Metadata"} for m in fake.sent]
    assert unmarked == [adapter._message(AWKWARD_EMAIL, s.to_header) for s in subscribers]
    assert {m["Metadata"]["newsletter_send"] for m in fake.sent} == {"k"}


def test_the_list_is_read_once_per_run(tmp_path: Path, fake: PostmarkFake) -> None:
    adapter = provider(tmp_path, fake, ["a@example.net", "b@example.net"])
    adapter.send(sample_email(), idempotency_key="first")
    (tmp_path / "subscribers.csv").unlink()
    receipt = adapter.send(sample_email(subject="Second"), idempotency_key="second")
    assert receipt.accepted == 2
    assert [m["Subject"] for m in fake.sent].count("Second") == 2


@pytest.mark.slow
def test_a_missing_subscribers_file_leaves_nothing_pending(tmp_path: Path) -> None:
    """Found before any request, so nothing went out: the next run must not ask to resolve."""
    from tests.test_providers_secrets import run_send

    with PostmarkFake(SECRET) as fake:
        settings = f'name = "postmark"\nbase_url = "{fake.url}"\nsubscribers = "subscribers.csv"\n'
        missing = run_send(tmp_path, settings, {"POSTMARK_SERVER_TOKEN": SECRET})
        assert missing.returncode == 2, missing.stderr
        assert "subscribers.csv does not exist" in missing.stderr
        assert "pending" not in (tmp_path / "state" / "ledger.json").read_text()

        (tmp_path / "subscribers.csv").write_text("email\nreader@example.org\n", encoding="utf-8")
        fixed = run_send(tmp_path, settings, {"POSTMARK_SERVER_TOKEN": SECRET})
        assert fixed.returncode == 0, fixed.stderr
        assert [message["To"] for message in fake.sent] == ["reader@example.org"]


def test_every_message_refused_proves_nothing_went_out(tmp_path: Path, fake: PostmarkFake) -> None:
    """Postmark answered each message with an error, so no subscriber got it: the posts need
    no `resolve` (a wrong stream or sender is fixed and the run repeated)."""
    adapter = provider(tmp_path, fake, ["a@example.net"], message_stream="newsletter")
    with pytest.raises(ProviderError) as raised:
        adapter.send(sample_email(), idempotency_key="k")
    assert raised.value.maybe_sent is False


def test_batches_also_stay_under_postmarks_50_mb(tmp_path: Path, fake: PostmarkFake) -> None:
    """A digest near Gmail's 102 KB limit is ~120 KB of JSON per message: 500 of them would be
    ~60 MB, over Postmark's 50 MB per batch, and the whole batch would be refused."""
    paragraph = '<p class="x" style="margin:0">' + "word " * 40 + "</p>"
    html = "<html><body>" + paragraph * (100_000 // len(paragraph)) + "</body></html>"
    email = sample_email(html=html, text="word " * 3000)
    addresses = [f"reader{i}@example.net" for i in range(500)]
    receipt = provider(tmp_path, fake, addresses).send(email, idempotency_key="k")
    assert receipt.accepted == 500
    assert len(fake.batch_sizes) >= 2
    assert all(len(r.body) <= 50 * 1000 * 1000 for r in fake.requests)


def test_split_batches_measures_the_bodies_exactly() -> None:
    from itertools import pairwise

    shared = b'"Subject":"x"}'
    people = [Subscriber(f"r{i}@example.net", "Zoë" * (i % 3)) for i in range(9)]
    for limit in range(60, 400, 7):
        batches = split_batches(shared, people, max_bytes=limit)
        assert [s for b in batches for s in b] == people
        for batch in batches:
            assert len(batch) == 1 or len(batch_body(shared, batch)) <= limit
        for first, second in pairwise(batches):
            assert len(batch_body(shared, [*first, second[0]])) > limit


# --- on httpx.MockTransport -------------------------------------------------------------------


def test_a_failure_after_a_first_batch_says_how_much_went_out(tmp_path: Path) -> None:
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)
        seen.append(len(messages))
        if len(seen) == 2:
            return httpx.Response(503, json={"ErrorCode": 0, "Message": "Service unavailable"})
        return httpx.Response(
            200, json=[{"MessageID": f"m{i}", "ErrorCode": 0} for i in range(len(messages))]
        )

    path = write_subscribers(tmp_path, [f"r{i}@example.net" for i in range(600)])
    config = provider_config(tmp_path, "postmark", subscribers=str(path), concurrency=1)
    adapter = create(
        config,
        {"POSTMARK_SERVER_TOKEN": SECRET},
        transport=httpx.MockTransport(answer),
        sleep=SleepRecorder(),
    )
    with pytest.raises(ProviderError, match="1 of 2 batches had been sent") as caught:
        adapter.send(sample_email(), idempotency_key="k")
    assert seen == [500, 100]  # the failed batch was not posted again
    assert caught.value.maybe_sent is True


def test_a_batch_with_one_non_406_failure_still_records_the_posts_sent(tmp_path: Path) -> None:
    """Two readers got the email and one was refused (ErrorCode 300): the posts are sent, the
    refusal is reported, and the next run mails nobody again."""
    from newsletter import pipeline
    from newsletter.config import parse_config

    write_one_post_feed(tmp_path)
    path = write_subscribers(tmp_path, ["a@example.net", "bad@example.net", "b@example.net"])
    lines: list[str] = []
    with PostmarkFake(SECRET, unreachable=("bad@example.net",)) as fake:
        settings = parse_config(
            {
                "feed": {"url": "feed.xml"},
                "newsletter": {"from": "B <n@b.example.org>"},
                "provider": {"name": "postmark", "base_url": fake.url, "subscribers": str(path)},
            },
            path=tmp_path / "newsletter.toml",
        )
        secrets = {"POSTMARK_SERVER_TOKEN": SECRET}
        for _ in range(2):
            adapter = create(settings, secrets, sleep=SleepRecorder())
            pipeline.send(settings, pipeline.SendOptions(), secrets, lines.append, provider=adapter)
        batches = [request for request in fake.requests if request.path == "/email/batch"]
        assert len(batches) == 1, "the second run sent nothing"
        assert sorted(m["To"].split("<")[1].rstrip(">") for m in fake.sent) == [
            "a@example.net",
            "b@example.net",
        ]
    ledger = json.loads((tmp_path / "state" / "ledger.json").read_text(encoding="utf-8"))
    assert ledger["destinations"]["postmark:broadcast"]["posts"]["id-1"]["status"] == "sent"
    assert any("bad@example.net" in line and "ErrorCode 300" in line for line in lines)

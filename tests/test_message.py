from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.errors import ProviderError
from newsletter.message import build_message, sender_domain
from newsletter.models import Email
from newsletter.providers.base import Drafts, Traits, Unsubscribe
from newsletter.providers.outbox import OutboxProvider, slugify

EMAIL = Email(
    subject="Café notes: “quotes” & more",
    preheader="A look inside",
    html="<html><body><p>Hello ☕</p></body></html>",
    text="Hello ☕",
    headers={
        "Reply-To": "me@example.org",
        "List-Unsubscribe": "<mailto:n@example.org?subject=unsubscribe>",
    },
    sender="Blog <news@blog.example.org>",
    post_ids=("a",),
    language="fr",
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_message_is_multipart_alternative_with_text_first_and_every_header() -> None:
    message = parse(bytes(build_message(EMAIL, to="reader@example.org")))
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # clients show the last part they understand
    assert message["Subject"] == EMAIL.subject
    assert message["From"] == EMAIL.sender
    assert message["To"] == "reader@example.org"
    assert message["Reply-To"] == "me@example.org"
    assert message["List-Unsubscribe"] == "<mailto:n@example.org?subject=unsubscribe>"
    assert message["Content-Language"] == "fr"
    assert message["Date"] is not None
    assert message["Message-ID"].endswith("@blog.example.org>")
    html = message.get_body(("html",))
    assert html is not None and "Hello ☕" in html.get_content()


def test_sender_domain_falls_back_for_odd_senders() -> None:
    assert sender_domain("Blog <news@blog.example.org>") == "blog.example.org"
    assert sender_domain("nobody") == "localhost"


def test_outbox_writes_one_eml_per_email_without_clobbering(tmp_path: Path) -> None:
    traits = Traits("outbox", "outbox", Unsubscribe("mailto:x"))
    outbox = OutboxProvider(traits, tmp_path / "out")
    first = outbox.send(EMAIL, idempotency_key="k")
    outbox.send(EMAIL, idempotency_key="k")
    test = outbox.send_test(EMAIL, address="me@example.org")
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 3
    assert first.accepted == 1 and first.message_id
    assert sum("-test-" in f.name for f in files) == 0  # the subject carries no [Test] here
    assert parse(files[0].read_bytes())["Subject"] == EMAIL.subject
    assert test.provider == "outbox"
    assert not isinstance(outbox, Drafts)  # `send --draft` is refused before it is built


def test_outbox_folder_that_cannot_be_written_is_a_provider_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    outbox = OutboxProvider(Traits("outbox", "outbox", Unsubscribe("mailto:x")), blocker / "out")
    with pytest.raises(ProviderError, match="Cannot write to the outbox folder"):
        outbox.send(EMAIL, idempotency_key="k")


def test_slugify_keeps_file_names_short_and_plain() -> None:
    assert slugify("Hello, World! ☕ Part 2") == "hello-world-part-2"
    assert slugify("☕☕") == "email"
    assert len(slugify("x" * 200)) == 50


def test_outbox_write_failure_proves_nothing_went_out(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    outbox = OutboxProvider(Traits("outbox", "outbox", Unsubscribe("mailto:x")), blocker / "out")
    with pytest.raises(ProviderError) as failed:
        outbox.send(EMAIL, idempotency_key="k")
    assert failed.value.maybe_sent is False

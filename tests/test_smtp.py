"""SMTP adapter against a real aiosmtpd server on loopback."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.message import build_message
from newsletter.providers import create, traits_for
from newsletter.providers.base import Drafts, Provider
from newsletter.providers.smtp import PreparedEmail
from newsletter.providers.subscribers import Subscriber
from tests.fakes.helpers import SECRET, provider_config, sample_email, write_subscribers

aiosmtpd = pytest.importorskip(
    "aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'"
)
from tests.smtp_servers import LOGIN, Mailbox, free_port, serving  # noqa: E402


@pytest.fixture
def server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with serving(mailbox, password=SECRET) as port:
        yield mailbox, port


@pytest.fixture
def utf8_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with serving(mailbox, password=SECRET, enable_SMTPUTF8=True) as port:
        yield mailbox, port


def provider(
    tmp_path: Path,
    port: int,
    addresses: list[str],
    environ: dict[str, str] | None = None,
    **options: Any,
) -> Provider:
    path = write_subscribers(tmp_path, addresses)
    config = provider_config(
        tmp_path,
        "smtp",
        host="127.0.0.1",
        port=port,
        subscribers=str(path),
        **{"security": "none", **options},
    )
    return create(config, environ or {})


def test_one_message_per_subscriber(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    mailbox, port = server
    addresses = ["a@example.net", "b@example.net", "c@example.net"]
    receipt = provider(tmp_path, port, [*addresses, "bad@", "A@example.net"]).send(
        sample_email(), idempotency_key="k"
    )
    assert receipt.accepted == 3
    assert [rcpt for _, rcpt, _ in mailbox.envelopes] == [[a] for a in addresses]
    _, _, first = mailbox.envelopes[0]
    assert first["To"] == "Reader 0 <a@example.net>"
    assert first["Subject"] == "Cutting at the break"
    assert first["Reply-To"] == "author@example.org"
    assert {mailbox.envelopes[0][0]} == {"news@example.org"}
    assert {r.address for r in receipt.rejected} == {"bad@", "A@example.net"}


def test_a_refused_recipient_is_reported_and_the_rest_still_go(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    mailbox, port = server
    receipt = provider(
        tmp_path, port, ["a@example.net", "x@refused.example.net", "b@example.net"]
    ).send(sample_email(), idempotency_key="k")
    assert receipt.accepted == 2
    [rejection] = receipt.rejected
    assert rejection.address == "x@refused.example.net"
    assert "550" in rejection.reason
    assert len(mailbox.envelopes) == 2


def test_login_with_the_password_from_the_environment(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    mailbox, port = server
    adapter = provider(tmp_path, port, ["a@example.net"], {"SMTP_PASSWORD": SECRET}, username=LOGIN)
    adapter.send(sample_email(), idempotency_key="k")
    assert len(mailbox.envelopes) == 1


def test_a_wrong_password_names_the_variable_not_the_password(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    _, port = server
    adapter = provider(
        tmp_path, port, ["a@example.net"], {"SMTP_PASSWORD": "hunter2-wrong"}, username=LOGIN
    )
    with pytest.raises(ProviderError, match=r"\$SMTP_PASSWORD") as caught:
        adapter.send(sample_email(), idempotency_key="k")
    assert "hunter2-wrong" not in str(caught.value)


def test_username_without_password_is_a_config_error(tmp_path: Path) -> None:
    config = provider_config(tmp_path, "smtp", host="127.0.0.1", username="author")
    with pytest.raises(ConfigError, match=r"\$SMTP_PASSWORD"):
        create(config, {})


def test_starttls_against_a_server_without_it_is_explained(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    mailbox, port = server
    adapter = provider(tmp_path, port, ["a@example.net"], security="starttls")
    with pytest.raises(ProviderError, match="does not offer STARTTLS"):
        adapter.send(sample_email(), idempotency_key="k")
    assert mailbox.envelopes == []


def test_nobody_listening_is_a_provider_error(tmp_path: Path) -> None:
    adapter = provider(tmp_path, free_port(), ["a@example.net"])
    with pytest.raises(ProviderError, match=r"Cannot connect to the SMTP server 127\.0\.0\.1"):
        adapter.send(sample_email(), idempotency_key="k")


def test_test_send_goes_to_one_address_only(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    mailbox, port = server
    provider(tmp_path, port, ["a@example.net", "b@example.net"]).send_test(
        sample_email(subject="[Test] Hi"), address="me@example.org"
    )
    [(_, rcpt, message)] = mailbox.envelopes
    assert rcpt == ["me@example.org"]
    assert message["Subject"] == "[Test] Hi"


def test_no_drafts(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    _, port = server
    adapter = provider(tmp_path, port, ["a@example.net"])
    assert not isinstance(adapter, Drafts)
    assert adapter.traits.drafts is False  # so `send --draft` is refused before it is built


def test_unsubscribe_traits(tmp_path: Path) -> None:
    page = traits_for(
        provider_config(
            tmp_path,
            "smtp",
            host="mail.example.org",
            unsubscribe_url="https://example.org/unsubscribe",
        )
    )
    assert page.destination == "smtp:mail.example.org"
    assert page.unsubscribe.list_unsubscribe == "<https://example.org/unsubscribe>"
    # One page for everyone cannot tell who is leaving (RFC 8058 §3.1): no one-click.
    assert not page.unsubscribe.one_click
    fallback = traits_for(provider_config(tmp_path, "smtp", host="mail.example.org"))
    assert fallback.unsubscribe.url == "mailto:news@example.org?subject=unsubscribe"
    assert not fallback.unsubscribe.one_click


AWKWARD_NAMES = ['Ada "The Countess" Lovelace', "O'Brien, Pat", "Zoë Ünïcødé 山田"]
UNSUBSCRIBE = {
    "Reply-To": "author@example.org",
    "List-Unsubscribe": "<https://example.org/unsubscribe>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def write_named(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "subscribers.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("email", "name"), *rows])
    return path


def as_send_message_wrote_it(message: Message) -> bytes:
    """What smtplib's send_message put on the wire before copies were prepared once."""
    out = io.BytesIO()
    BytesGenerator(out).flatten(message, linesep="\r\n")
    return out.getvalue()


def split(raw: bytes) -> tuple[dict[str, str], bytes]:
    """The headers but the two that differ by design, and the body; the random MIME
    boundary is made the same so the two serialisations can be compared byte for byte."""
    boundary = message_from_bytes(raw).get_boundary()
    assert boundary
    head, _, body = raw.replace(boundary.encode(), b"BOUNDARY").partition(b"\r\n\r\n")
    parsed = message_from_bytes(head + b"\r\n\r\n")
    return {k: v for k, v in parsed.items() if k not in ("Message-ID", "Date")}, body


@pytest.mark.parametrize("name", ["", *AWKWARD_NAMES, "A Very Long Name " * 8])
def test_a_prepared_copy_is_the_message_send_message_wrote(name: str) -> None:
    email = sample_email(headers=UNSUBSCRIBE)
    to = f'"{name}" <reader@example.net>' if name else "reader@example.net"
    message_id, raw = PreparedEmail(email).copy_for(to, "reader@example.net")
    old = as_send_message_wrote_it(build_message(email, to=to))
    assert split(raw) == split(old)
    assert message_from_bytes(raw)["Message-ID"] == message_id


def test_each_copy_is_the_whole_email_with_its_own_to_and_message_id(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    mailbox, port = server
    rows = [(f"r{i}@example.net", name) for i, name in enumerate(AWKWARD_NAMES)]
    config = provider_config(
        tmp_path,
        "smtp",
        host="127.0.0.1",
        port=port,
        security="none",
        subscribers=str(write_named(tmp_path, rows)),
    )
    email = sample_email(headers=UNSUBSCRIBE)
    receipt = create(config, {}).send(email, idempotency_key="k")
    assert receipt.accepted == len(rows)
    ids = {message["Message-ID"] for _, _, message in mailbox.envelopes}
    assert len(ids) == len(rows) and receipt.message_id in ids
    for (_, rcpt, message), (address, name) in zip(mailbox.envelopes, rows, strict=True):
        assert rcpt == [address]
        before = build_message(email, to=Subscriber(address, name).to_header)
        assert message["To"] == message_from_bytes(as_send_message_wrote_it(before))["To"]
        assert message.get_all("To") == [message["To"]]
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.get_payload()
        # On the wire, lines end in CRLF and each part in a line break.
        for part, content in ((text, email.text), (html, email.html)):
            assert part.get_payload(decode=True).decode().replace("\r\n", "\n") in (
                content,
                content + "\n",
            )
        assert "UNSUB" in email.html
        assert message["List-Unsubscribe"] == "<https://example.org/unsubscribe>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Content-Language"] == "en"


def test_an_address_beyond_ascii_goes_out_with_smtputf8(
    tmp_path: Path, utf8_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = utf8_server
    receipt = provider(tmp_path, port, ["zoë@example.net", "a@example.net"]).send(
        sample_email(), idempotency_key="k"
    )
    assert receipt.accepted == 2
    [(_, first, _), (_, second, _)] = mailbox.envelopes
    assert (first, second) == (["zoë@example.net"], ["a@example.net"])
    assert '\r\nTo: "Reader 0" <zoë@example.net>\r\n'.encode() in b"\r\n" + mailbox.raw[0]


def test_an_ascii_punycode_address_needs_no_smtputf8(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    mailbox, port = server  # a server without SMTPUTF8
    receipt = provider(tmp_path, port, ["user@xn--mnchen-3ya.de"]).send(
        sample_email(), idempotency_key="k"
    )
    assert (receipt.accepted, receipt.rejected) == (1, ())
    [(_, recipients, _)] = mailbox.envelopes
    assert recipients == ["user@xn--mnchen-3ya.de"]


class GrumpyGoodbye(Mailbox):
    """Accepts every message, then answers QUIT with an error instead of 221."""

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return "554 goodbye is not supported"


def test_an_odd_answer_to_quit_after_sending_does_not_fail_the_send(tmp_path: Path) -> None:
    mailbox = GrumpyGoodbye()
    with serving(mailbox) as port:
        adapter = provider(tmp_path, port, ["a@example.org", "b@example.org"])
        receipt = adapter.send(sample_email(), idempotency_key="k")
    assert receipt.accepted == 2
    assert len(mailbox.envelopes) == 2

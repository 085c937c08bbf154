"""SMTP adapter against a real aiosmtpd server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.providers import create, traits_for
from newsletter.providers.base import Provider
from tests.fakes.helpers import SECRET, provider_config, sample_email, write_subscribers

aiosmtpd = pytest.importorskip(
    "aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'"
)
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402


class Mailbox:
    """Collects every message; refuses recipients at `refused.example.net`."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], Message]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example.net"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == b"author"
        and data.password == SECRET.encode()
    )
    # handled=False makes aiosmtpd answer a refusal with its standard 535 reply.
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


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
    adapter = provider(
        tmp_path, port, ["a@example.net"], {"SMTP_PASSWORD": SECRET}, username="author"
    )
    adapter.send(sample_email(), idempotency_key="k")
    assert len(mailbox.envelopes) == 1


def test_a_wrong_password_names_the_variable_not_the_password(
    tmp_path: Path, server: tuple[Mailbox, int]
) -> None:
    _, port = server
    adapter = provider(
        tmp_path, port, ["a@example.net"], {"SMTP_PASSWORD": "hunter2-wrong"}, username="author"
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
    with pytest.raises(ConfigError, match="no drafts"):
        provider(tmp_path, port, ["a@example.net"]).create_draft(
            sample_email(), idempotency_key="k"
        )


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
    assert page.unsubscribe.one_click
    fallback = traits_for(provider_config(tmp_path, "smtp", host="mail.example.org"))
    assert fallback.unsubscribe.url == "mailto:news@example.org?subject=unsubscribe"
    assert not fallback.unsubscribe.one_click

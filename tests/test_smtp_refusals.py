"""SMTP: what each kind of server answer does to a send, against real aiosmtpd servers.

A permanent refusal (5xx) is that reader's rejection; a temporary one (4xx) stops the send
with the rest still owed; nobody accepting is a failure that proves nothing went out; the
message is in doubt only between its data and the server's answer, which is waited for
far longer than the per-command timeout.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import ConfigError, ProviderError
from newsletter.providers import create
from newsletter.providers.base import Provider
from newsletter.providers.smtp import DATA_ANSWER_TIMEOUT, SmtpProvider
from tests.fakes.helpers import SECRET, provider_config, sample_email, write_subscribers

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import (
    LOGIN,
    EchoesLogin,
    HangsUpAfterData,
    HoldsAnswer,
    Mailbox,
    RateLimited,
    RefusesEveryMessage,
    RefusesEveryone,
    serving,
)

READERS = [f"reader{n}@example.net" for n in range(1, 6)]


@dataclass
class StepLog:
    """A RecipientLog that keeps every step, and treats `served`/`doubtful` as done before."""

    done: set[str] = field(default_factory=set)
    doubtful: set[str] = field(default_factory=set)
    steps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def served_before(self) -> int:
        return len(self.done)

    def owed(self, address: str) -> bool:
        return address not in self.done and address not in self.doubtful

    def sending(self, address: str) -> None:
        self.steps.append(("sending", address))

    def served(self, address: str) -> None:
        self.steps.append(("served", address))

    def declined(self, address: str) -> None:
        self.steps.append(("declined", address))

    def last(self) -> dict[str, str]:
        return {address: step for step, address in self.steps}


def adapter(
    tmp_path: Path, port: int, readers: list[str] = READERS, **options: Any
) -> SmtpProvider:
    environ = options.pop("environ", {})
    path = write_subscribers(tmp_path, readers)
    config = provider_config(
        tmp_path,
        "smtp",
        host="127.0.0.1",
        port=port,
        subscribers=str(path),
        **{"security": "none", **options},
    )
    provider: Provider = create(config, environ)
    assert isinstance(provider, SmtpProvider)
    return provider


def test_the_wait_for_the_answer_after_data_is_ten_minutes() -> None:
    assert DATA_ANSWER_TIMEOUT == 600


def test_a_slow_answer_after_the_data_is_waited_for(tmp_path: Path) -> None:
    # The server answers a second after the data; the per-command timeout is a fifth of that.
    slow = HoldsAnswer(which=1, delay=1.0)
    with serving(slow) as port:
        log = StepLog()
        receipt = adapter(tmp_path, port, READERS[:2], timeout=0.2).send_each(
            sample_email(), idempotency_key="k", log=log
        )
    assert receipt.accepted == 2
    assert log.last() == {READERS[0]: "served", READERS[1]: "served"}
    assert slow.received == {READERS[0]: 1, READERS[1]: 1}


def test_every_step_is_reported_in_order(tmp_path: Path) -> None:
    mailbox = Mailbox()
    readers = [READERS[0], "x@refused.example.net", READERS[1]]
    with serving(mailbox) as port:
        log = StepLog()
        receipt = adapter(tmp_path, port, readers).send_each(
            sample_email(), idempotency_key="k", log=log
        )
    # The refused reader never reached DATA: nothing was handed over, nothing is in doubt.
    assert log.steps == [
        ("sending", READERS[0]),
        ("served", READERS[0]),
        ("sending", READERS[1]),
        ("served", READERS[1]),
    ]
    assert receipt.accepted == 2
    assert [(r.address, r.reason[:3]) for r in receipt.rejected] == [
        ("x@refused.example.net", "550")
    ]


def test_readers_served_before_or_in_doubt_are_not_sent_to(tmp_path: Path) -> None:
    mailbox = Mailbox()
    with serving(mailbox) as port:
        log = StepLog(done={READERS[0], READERS[2]}, doubtful={READERS[3]})
        receipt = adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=log)
    assert mailbox.received == {READERS[1]: 1, READERS[4]: 1}
    assert receipt.accepted == 2


@pytest.mark.parametrize(
    ("server", "reply"),
    [(RefusesEveryone(), "550 5.7.1 Relaying denied"), (RefusesEveryMessage(), "554 5.7.1")],
)
def test_nobody_accepting_fails_and_proves_nothing_went_out(
    tmp_path: Path, server: Mailbox, reply: str
) -> None:
    with serving(server) as port:
        log = StepLog()
        with pytest.raises(ProviderError) as raised:
            adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=log)
    error = raised.value
    assert error.maybe_sent is False
    assert "refused the email for every reader it was offered (5 of 5" in error.message
    assert reply in error.message
    assert "nothing was sent" in error.message
    if "Relaying" in reply:
        assert "provider.username and $SMTP_PASSWORD" in error.message
    assert "served" not in {step for step, _ in log.steps}


def test_a_carried_on_send_whose_last_readers_all_refuse_is_still_a_send(tmp_path: Path) -> None:
    # Earlier runs reached two readers; the three left are refused for good: the post went
    # out, so it is recorded as sent, with the refusals reported.
    with serving(RefusesEveryone()) as port:
        log = StepLog(done={READERS[0], READERS[1]})
        receipt = adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=log)
    assert receipt.accepted == 0
    assert [r.address for r in receipt.rejected] == READERS[2:]


@pytest.mark.parametrize(
    "reply", ["451 4.7.1 Rate limit exceeded, try later", "452 4.5.3 Too many recipients"]
)
def test_a_temporary_refusal_stops_the_send_with_the_rest_owed(tmp_path: Path, reply: str) -> None:
    server = RateLimited(allowed=2, reply=reply)
    with serving(server) as port:
        log = StepLog()
        with pytest.raises(ProviderError) as raised:
            adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=log)
    error = raised.value
    assert error.maybe_sent is True
    assert server.received == {READERS[0]: 1, READERS[1]: 1}
    assert log.last() == {READERS[0]: "served", READERS[1]: "served"}
    assert f"stopped at {READERS[2]}, after 2 reader(s) got the email" in error.message
    assert reply[:3] in error.message
    assert "The other 3 reader(s) are still owed the email" in error.message
    assert "the next `newsletter send` carries on with them" in error.message


def test_a_temporary_refusal_before_anyone_got_it_says_nothing_was_sent(tmp_path: Path) -> None:
    with serving(RateLimited(allowed=0)) as port, pytest.raises(ProviderError) as raised:
        adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=StepLog())
    assert raised.value.maybe_sent is False
    assert "Nothing was sent." in raised.value.message


def test_a_connection_lost_after_the_data_leaves_that_one_message_in_doubt(
    tmp_path: Path,
) -> None:
    server = HangsUpAfterData(which=3)
    with serving(server) as port:
        log = StepLog()
        with pytest.raises(ProviderError) as raised:
            adapter(tmp_path, port).send_each(sample_email(), idempotency_key="k", log=log)
    error = raised.value
    assert error.maybe_sent is True
    assert log.last() == {READERS[0]: "served", READERS[1]: "served", READERS[2]: "sending"}
    assert f"The message to {READERS[2]} is in doubt" in error.message
    assert "still owed it, then asks you about that one" in error.message


def test_a_password_the_server_echoes_is_never_repeated(tmp_path: Path) -> None:
    with serving(EchoesLogin(), password=SECRET, auth_exclude_mechanism=["LOGIN"]) as port:
        smtp = adapter(tmp_path, port, username=LOGIN, environ={"SMTP_PASSWORD": SECRET + "\n"})
        with pytest.raises(ProviderError) as raised:
            smtp.send(sample_email(), idempotency_key="k")
    message = raised.value.message
    assert "refused the login for author (535 5.7.8 Bad credentials: you sent AUTH PLAIN" in message
    assert "[redacted]" in message
    for form in smtp.connection.scrub.forms:
        assert form not in message
    assert SECRET not in message


def test_the_scrubber_knows_every_form_a_login_sends() -> None:
    import base64

    from newsletter.providers.smtp_connection import Scrubber

    scrub = Scrubber("author", "pa55-wörd")
    said = " ".join(
        [
            "pa55-wörd",
            base64.b64encode("pa55-wörd".encode()).decode(),
            base64.b64encode("\0author\0pa55-wörd".encode()).decode(),
            base64.b64encode("author\0pa55-wörd".encode()).decode(),
        ]
    )
    assert scrub(said) == " ".join(["[redacted]"] * 4)


def test_a_trailing_newline_in_the_password_is_not_part_of_it(tmp_path: Path) -> None:
    mailbox = Mailbox()
    with serving(mailbox, password=SECRET) as port:
        smtp = adapter(
            tmp_path, port, READERS[:1], username=LOGIN, environ={"SMTP_PASSWORD": SECRET + "\r\n"}
        )
        assert smtp.send(sample_email(), idempotency_key="k").accepted == 1


@pytest.mark.parametrize("password", ["pässword", "tab\there"])
def test_a_password_smtp_cannot_send_is_a_config_error_before_any_connection(
    tmp_path: Path, password: str
) -> None:
    # No server at all: the refusal must come before connecting.
    with pytest.raises(ConfigError, match=r"\$SMTP_PASSWORD contains a character beyond") as raised:
        adapter(tmp_path, 9, username=LOGIN, environ={"SMTP_PASSWORD": password})
    assert password not in raised.value.message


def test_a_login_against_a_server_without_auth_says_so(tmp_path: Path) -> None:
    mailbox = Mailbox()
    with serving(mailbox) as port:  # no authenticator: no AUTH in EHLO
        smtp = adapter(tmp_path, port, username=LOGIN, environ={"SMTP_PASSWORD": SECRET})
        with pytest.raises(ProviderError) as raised:
            smtp.send(sample_email(), idempotency_key="k")
    message = raised.value.message
    assert "does not offer SMTP AUTH, so it cannot log in as author" in message
    assert 'set provider.security to "starttls"' in message
    assert "STARTTLS;" not in message and "does not offer STARTTLS" not in message
    assert raised.value.maybe_sent is False
    assert mailbox.envelopes == []


def test_no_tls_context_is_made_for_a_plain_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("security = none needs no TLS context")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    mailbox = Mailbox()
    with serving(mailbox) as port:
        assert adapter(tmp_path, port, READERS[:2]).send(sample_email(), idempotency_key="k")
    assert len(mailbox.envelopes) == 2

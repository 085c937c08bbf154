"""Plain SMTP: one connection, one message per subscriber from the subscribers file.

Each subscriber gets their own message (their address alone in To), sent over a single
connection that is opened with `starttls` (default), implicit `ssl`, or `none` (a local relay);
each copy is built from parts prepared once per email (`smtp_message.py`).

Every reader is one SMTP transaction (MAIL, RCPT, DATA), reported step by step to a
`RecipientLog`, so the ledger knows whom an interrupted send reached (docs/providers.md#smtp):
- a permanent refusal (5xx) is that reader's rejection, and the send goes on;
- a temporary one (4xx: a rate limit, a full queue) stops the send with the rest still owed
  the email, which the next run carries on with;
- the message is in doubt only between the end of its DATA and the server's answer, and that
  answer is waited for as long as RFC 5321 §4.5.3.2 says (ten minutes): giving up early is
  how a reader gets a message twice;
- a send that nobody accepted fails (exit 1) and records nothing as sent.
Whatever the server says goes through `Scrubber` first, since a server may echo the login.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from pathlib import Path

from newsletter import checks
from newsletter.errors import ConfigError, ProviderError
from newsletter.models import Email, Receipt, Rejection
from newsletter.providers.base import (
    SUBSCRIBERS,
    TIMEOUT,
    Option,
    ProviderSpec,
    RecipientLog,
    Setup,
    Traits,
)
from newsletter.providers.smtp_connection import (
    PASSWORD_ENV,
    PORTS,
    SmtpConnection,
    SmtpSettings,
)
from newsletter.providers.smtp_message import (
    PreparedEmail,
    UnsubscribeLink,
    check_unsubscribe_url,
    unsubscribe,
    unsubscribe_link,
)
from newsletter.providers.subscribers import Subscriber, SubscribersFile

DATA_ANSWER_TIMEOUT = 600.0
"""Seconds to wait for the server's answer after a message's data (RFC 5321 §4.5.3.2)."""


class Stop(Exception):
    """The send cannot go on: the server asked to come back later or the connection is
    lost. `in_doubt` says whether the message then being handed over may have arrived."""

    def __init__(self, why: str, *, in_doubt: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.in_doubt = in_doubt


class EveryoneOwed:
    """The log of a send that keeps no record (a plain `send`): everyone is owed it."""

    served_before = 0

    def owed(self, address: str) -> bool:
        return True

    def sending(self, address: str) -> None:
        """Nothing to record."""

    def served(self, address: str) -> None:
        """Nothing to record."""

    def declined(self, address: str) -> None:
        """Nothing to record."""


class SmtpProvider:
    def __init__(
        self,
        traits: Traits,
        settings: SmtpSettings,
        *,
        subscribers_path: Path,
        link: UnsubscribeLink | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.traits = traits
        self.settings = settings
        self.subscribers = SubscribersFile(subscribers_path)
        self.link = link
        self.connection = SmtpConnection(settings, tls_context=tls_context)

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        return self.send_each(email, idempotency_key=idempotency_key, log=EveryoneOwed())

    def send_each(self, email: Email, *, idempotency_key: str, log: RecipientLog) -> Receipt:
        listing = self.subscribers.load()
        everyone = listing.subscribers
        owed = [subscriber for subscriber in everyone if log.owed(subscriber.email)]
        prepared = PreparedEmail(email, self.link)
        rejected = list(listing.skipped)
        refused: list[Rejection] = []
        accepted = 0
        first_id: str | None = None
        if owed:
            with self.connection.session() as connection:
                for done, subscriber in enumerate(owed):
                    try:
                        message_id, refusal = self._deliver(connection, prepared, subscriber, log)
                    except Stop as stop:
                        raise self._stopped(stop, subscriber, owed[done:], accepted, log) from None
                    if refusal is not None:
                        refused.append(Rejection(subscriber.email, refusal))
                        continue
                    accepted += 1
                    first_id = first_id or message_id
        if refused and not accepted and not log.served_before:
            raise self._nobody_accepted(refused, len(owed))
        return Receipt(
            provider="smtp",
            message_id=first_id,
            accepted=accepted,
            rejected=tuple(rejected + refused),
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        reader = Subscriber(address)
        with self.connection.session() as connection:
            try:
                message_id, refusal = self._deliver(
                    connection, PreparedEmail(email, self.link), reader, EveryoneOwed()
                )
            except Stop as stop:
                raise ProviderError(
                    f"The test email to {address} did not go through: {stop.why}.",
                    maybe_sent=stop.in_doubt,
                ) from None
        if refusal:
            raise ProviderError(f"The SMTP server refused the test address {address}: {refusal}.")
        return Receipt(provider="smtp", message_id=message_id, accepted=1)

    def close(self) -> None:
        """Each send opens and closes its own connection; nothing stays open."""

    # --- one reader ------------------------------------------------------------------------

    def _deliver(
        self,
        connection: smtplib.SMTP,
        prepared: PreparedEmail,
        subscriber: Subscriber,
        log: RecipientLog,
    ) -> tuple[str, str | None]:
        """One transaction: the copy's Message-ID, and why the server refused it (None when
        it took it). Raises Stop when the send cannot go on."""
        address = subscriber.email
        # As smtplib's send_message: an address beyond ASCII needs the server's SMTPUTF8,
        # and then the headers travel as raw UTF-8.
        international = not (prepared.sender + address).isascii()
        options: list[str] = []
        if international:
            if not connection.has_extn("smtputf8"):
                return "", f"{address} needs SMTPUTF8, which the server does not offer"
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        message_id, data = prepared.copy_for(subscriber.to_header, address, utf8=international)
        try:
            code, reply = connection.mail(prepared.sender, options)
            if code >= 500:
                raise Stop(
                    f"the server refused the sender {prepared.sender} "
                    f"({self._said(code, reply)}); check newsletter.from is an address this "
                    "server may send as"
                )
            refusal = self._refusal(connection, code, reply, "MAIL")
            if refusal is None:
                code, reply = connection.rcpt(address)
                refusal = self._refusal(connection, code, reply, "RCPT")
            if refusal is None:
                code, reply = connection.docmd("DATA")
                refusal = self._refusal(connection, code, reply, "DATA", expected=354)
        except (OSError, smtplib.SMTPException) as error:
            raise Stop(f"the connection was lost ({self.connection.describe(error)})") from None
        if refusal is not None:
            return message_id, refusal
        log.sending(address)
        code, reply = self._hand_over(connection, data)
        if 200 <= code < 300:
            log.served(address)
            return message_id, None
        log.declined(address)
        if code < 500:
            raise Stop(
                f"the server deferred the message ({self._said(code, reply)}); try again later"
            )
        return message_id, self._said(code, reply)

    def _refusal(
        self,
        connection: smtplib.SMTP,
        code: int,
        reply: bytes,
        step: str,
        *,
        expected: int | None = None,
    ) -> str | None:
        """None when `step` went through; a 5xx is this reader's refusal (the transaction is
        reset for the next reader), and anything else stops the send."""
        if (code == expected) if expected is not None else 200 <= code < 300:
            return None
        if 500 <= code < 600:
            connection.rset()
            return self._said(code, reply)
        raise Stop(
            f"the server deferred the message at {step} ({self._said(code, reply)}); try "
            "again later"
        )

    def _hand_over(self, connection: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
        """Send the dot-stuffed message and wait for the server's answer; the message is in
        doubt from the first byte until that answer."""
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            connection.send(data + b".\r\n")
            assert connection.sock is not None
            connection.sock.settimeout(DATA_ANSWER_TIMEOUT)
            try:
                return connection.getreply()
            finally:
                connection.sock.settimeout(self.settings.timeout)
        except (OSError, smtplib.SMTPException, AttributeError) as error:
            raise Stop(
                "the connection was lost while the server took the message "
                f"({self.connection.describe(error)})",
                in_doubt=True,
            ) from None

    def _said(self, code: int, reply: bytes) -> str:
        return self.connection.reply(code, reply)

    # --- the run's outcome -----------------------------------------------------------------

    def _stopped(
        self,
        stop: Stop,
        subscriber: Subscriber,
        remaining: list[Subscriber],
        accepted: int,
        log: RecipientLog,
    ) -> ProviderError:
        served = accepted + log.served_before
        owed = len(remaining) - (1 if stop.in_doubt else 0)
        if stop.in_doubt:
            doubt = (
                f" The message to {subscriber.email} is in doubt: the next `newsletter send` "
                f"sends the email to the {owed} reader(s) still owed it, then asks you about "
                "that one."
            )
        elif served:
            doubt = (
                f" The other {owed} reader(s) are still owed the email, and the next "
                "`newsletter send` carries on with them."
            )
        else:
            doubt = " Nothing was sent."
        return ProviderError(
            f"The send through the SMTP server {self.settings.host} stopped at "
            f"{subscriber.email}, after {served} reader(s) got the email: {stop.why}.{doubt}",
            maybe_sent=accepted > 0 or stop.in_doubt,
        )

    def _nobody_accepted(self, refused: list[Rejection], tried: int) -> ProviderError:
        first = refused[0].reason
        hint = ""
        if "relay" in first.lower():
            hint = (
                " A server that refuses to relay usually wants a login: set provider.username "
                f"and ${PASSWORD_ENV}."
            )
        return ProviderError(
            f"The SMTP server {self.settings.host} refused the email for every reader it was "
            f"offered ({len(refused)} of {tried}; the first: {first}), so nothing was sent and "
            f"the posts stay unsent.{hint}",
            maybe_sent=False,
        )

    # --- the connection --------------------------------------------------------------------


def _create(setup: Setup) -> SmtpProvider:
    username = setup.option("username")
    password = _password(setup.environ)
    if username and not password:
        raise ConfigError(
            f"provider.username is set but ${PASSWORD_ENV} is empty; export the SMTP "
            "password in that variable (never in newsletter.toml)."
        )
    if password and not username:
        raise ConfigError(
            f"${PASSWORD_ENV} is set but provider.username is not; add the SMTP login "
            "name to [provider] in newsletter.toml."
        )
    security = setup.option("security")
    settings = SmtpSettings(
        host=setup.option("host"),
        port=setup.option("port") or PORTS[security],
        security=security,
        username=username,
        password=password,
        timeout=setup.option("timeout"),
    )
    return SmtpProvider(
        setup.traits(),
        settings,
        subscribers_path=setup.option("subscribers"),
        link=unsubscribe_link(setup),
    )


def _password(environ: Mapping[str, str]) -> str | None:
    """The password, without the line break a file or a pasted secret often ends with;
    checked before any connection, since Python's SMTP login can only send ASCII."""
    password = environ.get(PASSWORD_ENV, "").strip("\r\n")
    if not password:
        return None
    if not password.isascii() or not password.isprintable():
        raise ConfigError(
            f"${PASSWORD_ENV} contains a character beyond plain ASCII (or a control "
            "character), which an SMTP login cannot send; copy the password again, or "
            "choose one of ASCII letters, digits and punctuation at your mail host."
        )
    return password


PROVIDER = ProviderSpec(
    name="smtp",
    credential_env=PASSWORD_ENV,
    options={
        "host": Option(checks.nonempty_string),
        "port": Option(checks.int_range(1, 65535)),
        "security": Option(checks.choice(*PORTS), default="starttls"),
        "username": Option(checks.nonempty_string),
        "subscribers": SUBSCRIBERS,
        "timeout": TIMEOUT,
        "unsubscribe_url": Option(checks.http_url),
    },
    required=("host",),
    destination=lambda setup: f"smtp:{setup.option('host')}",
    unsubscribe=unsubscribe,
    build=_create,
    per_recipient=True,
    check=check_unsubscribe_url,
)

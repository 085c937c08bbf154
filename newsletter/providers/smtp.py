"""Plain SMTP: one connection, one message per subscriber from the subscribers file.

Each subscriber gets their own message (their address alone in To), sent over a single
connection that is opened with `starttls` (default), implicit `ssl`, or `none` (a local relay).
A recipient the server refuses is reported and the run goes on; losing the connection, or
the server refusing the login or the sender, stops the run.

The MIME message is built and serialised once per email (quoted-printable encoding a 40 kB
digest costs milliseconds); each subscriber's copy is only its own To and Message-ID headers
in front of those bytes.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import make_msgid, parseaddr
from pathlib import Path

from newsletter import checks
from newsletter.errors import ConfigError, ProviderError
from newsletter.message import build_message, sender_domain
from newsletter.models import Email, Receipt, Rejection
from newsletter.providers.base import (
    SUBSCRIBERS,
    TIMEOUT,
    Option,
    ProviderSpec,
    Setup,
    Traits,
    Unsubscribe,
    mailto_sender,
)
from newsletter.providers.subscribers import SubscribersFile

PASSWORD_ENV = "SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password
SMTPUTF8 = SMTP.clone(utf8=True)
PORTS = {"starttls": 587, "ssl": 465, "none": 25}
"""`provider.security`'s choices, and the port each uses when `provider.port` is not set."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    """`starttls`, `ssl` or `none`."""
    username: str | None
    password: str | None
    timeout: float

    def __repr__(self) -> str:
        # The dataclass default would print the password in any traceback or debug log.
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r})"
        )


class SmtpProvider:
    def __init__(
        self,
        traits: Traits,
        settings: SmtpSettings,
        *,
        subscribers_path: Path,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.traits = traits
        self.settings = settings
        self.subscribers = SubscribersFile(subscribers_path)
        self.tls_context = tls_context or ssl.create_default_context()

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        listing = self.subscribers.load()
        prepared = PreparedEmail(email)
        rejected = list(listing.skipped)
        accepted = 0
        first_id: str | None = None
        with self._session() as connection:
            for subscriber in listing.subscribers:
                message_id, refusal = self._deliver(
                    connection, prepared, subscriber.to_header, subscriber.email
                )
                if refusal:
                    rejected.append(Rejection(subscriber.email, refusal))
                    continue
                accepted += 1
                first_id = first_id or message_id
        return Receipt(
            provider="smtp", message_id=first_id, accepted=accepted, rejected=tuple(rejected)
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        with self._session() as connection:
            message_id, refusal = self._deliver(connection, PreparedEmail(email), address, address)
        if refusal:
            raise ProviderError(f"The SMTP server refused the test address {address}: {refusal}.")
        return Receipt(provider="smtp", message_id=message_id, accepted=1)

    def close(self) -> None:
        """Each send opens and closes its own connection; nothing stays open."""

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        connection = self._connect()
        try:
            yield connection
        finally:
            # Every message is handed over by now (or an error is already on its way): a
            # server that answers QUIT with something other than 221, or hangs up first,
            # changes nothing about what was sent, so it must not fail the run.
            with suppress(smtplib.SMTPException, OSError):
                connection.quit()
            connection.close()

    def _connect(self) -> smtplib.SMTP:
        """Connect and log in; every failure here is before any message, so nothing went out."""
        s = self.settings
        where = f"the SMTP server {s.host}:{s.port}"
        try:
            if s.security == "ssl":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=self.tls_context
                )
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                if s.security == "starttls":
                    connection.starttls(context=self.tls_context)
                if s.username and s.password:
                    connection.login(s.username, s.password)
            except BaseException:
                connection.close()
                raise
        except smtplib.SMTPAuthenticationError as error:
            raise ProviderError(
                f"{where} refused the login for {s.username} ({_reply(error)}); check "
                f"provider.username and the password in ${PASSWORD_ENV}.",
                maybe_sent=False,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise ProviderError(
                f'{where} does not offer STARTTLS; set provider.security to "ssl" (usually '
                'port 465) or, for a local relay only, "none".',
                maybe_sent=False,
            ) from None
        except ssl.SSLError as error:
            raise ProviderError(
                f"The TLS handshake with {where} failed ({error.reason or error}); check "
                "provider.port and provider.security.",
                maybe_sent=False,
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(
                f"Cannot connect to {where} ({_describe(error)}); check provider.host, "
                "provider.port and provider.security.",
                maybe_sent=False,
            ) from None
        return connection

    def _deliver(
        self, connection: smtplib.SMTP, prepared: PreparedEmail, to: str, address: str
    ) -> tuple[str, str | None]:
        """Send `to`'s copy; return its Message-ID and why the server refused it, or None."""
        # As smtplib's send_message: an address beyond ASCII needs the server's SMTPUTF8,
        # and then the headers travel as raw UTF-8.
        international = not (prepared.sender + address).isascii()
        message_id, message = prepared.copy_for(to, utf8=international)
        return message_id, self._refusal(
            connection, prepared.sender, message, address, international=international
        )

    def _refusal(
        self,
        connection: smtplib.SMTP,
        sender: str,
        message: bytes,
        address: str,
        *,
        international: bool,
    ) -> str | None:
        """Send one message; return why the server refused this recipient, or None."""
        try:
            options: tuple[str, ...] = ()
            if international:
                connection.ehlo_or_helo_if_needed()
                if not connection.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError(
                        f"{address} needs SMTPUTF8, which the server does not offer"
                    )
                options = ("SMTPUTF8", "BODY=8BITMIME")
            refused = connection.sendmail(sender, [address], message, options)
        except smtplib.SMTPRecipientsRefused as error:
            return "; ".join(_reply_text(code, text) for code, text in error.recipients.values())
        except smtplib.SMTPSenderRefused as error:
            raise ProviderError(
                f"The SMTP server refused the sender {sender} ({_reply(error)}); check "
                "newsletter.from is an address this server may send as."
            ) from None
        except smtplib.SMTPDataError as error:
            if 500 <= error.smtp_code < 600:
                return _reply(error)
            raise ProviderError(
                f"The SMTP server deferred a message ({_reply(error)}); try again later."
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(
                f"Lost the connection to the SMTP server {self.settings.host} "
                f"({_describe(error)}); the posts stay pending, check which subscribers got the "
                "email before running `newsletter resolve`."
            ) from None
        if refused:
            return "; ".join(_reply_text(code, text) for code, text in refused.values())
        return None


class PreparedEmail:
    """One email serialised once; `copy_for` adds a recipient's own To and Message-ID."""

    def __init__(self, email: Email) -> None:
        self.sender = parseaddr(email.sender)[1]
        self._domain = sender_domain(email.sender)
        self._message = build_message(email, to="")
        del self._message["To"]
        del self._message["Message-ID"]
        self._serialised: dict[bool, bytes] = {}

    def copy_for(self, to: str, *, utf8: bool = False) -> tuple[str, bytes]:
        """The Message-ID and the bytes of `to`'s copy, as smtplib's send_message writes it."""
        policy = SMTPUTF8 if utf8 else SMTP
        serialised = self._serialised.get(utf8)
        if serialised is None:
            serialised = self._serialised[utf8] = self._message.as_bytes(policy=policy)
        message_id = make_msgid(domain=self._domain)
        own = _header(policy, "To", to) + _header(policy, "Message-ID", message_id)
        return message_id, own + serialised


def _header(policy: EmailPolicy[EmailMessage], name: str, value: str) -> bytes:
    """One header line as the generator would fold it (names quoted, RFC 2047 as needed)."""
    return policy.fold_binary(name, policy.header_store_parse(name, value)[1])


def _reply(error: smtplib.SMTPResponseException) -> str:
    return _reply_text(error.smtp_code, error.smtp_error)


def _reply_text(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error)
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _create(setup: Setup) -> SmtpProvider:
    username = setup.option("username")
    password = setup.environ.get(PASSWORD_ENV) or None
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
    return SmtpProvider(setup.traits(), settings, subscribers_path=setup.option("subscribers"))


def _unsubscribe(setup: Setup) -> Unsubscribe:
    """Plain SMTP has no list service: link to the author's own unsubscribe page when there is
    one (https allows RFC 8058 one-click), else a mailto: the author handles by hand."""
    url: str | None = setup.option("unsubscribe_url")
    if not url:
        return mailto_sender(setup)
    return Unsubscribe(url=url, list_unsubscribe=f"<{url}>", one_click=url.startswith("https://"))


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
    unsubscribe=_unsubscribe,
    build=_create,
)

"""The SMTP connection: connect with the configured security, log in, and word what the
server says, with the password taken out of it (a server may echo the login)."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from newsletter.errors import ProviderError

PASSWORD_ENV = "SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password
PORTS = {"starttls": 587, "ssl": 465, "none": 25}
"""`provider.security`'s choices, and the port each uses when `provider.port` is not set."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    """`starttls`, `ssl` or `none`."""
    username: str | None
    password: str | None = field(repr=False)
    timeout: float

    def __repr__(self) -> str:
        # The dataclass default would print the password in any traceback or debug log.
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r})"
        )


class Scrubber:
    """Takes the password out of a server's words, in every form a login sends it: as
    typed, Base64 on its own (AUTH LOGIN) and Base64 with the user name (AUTH PLAIN)."""

    def __init__(self, username: str | None, password: str | None) -> None:
        forms = set()
        if password:
            forms.add(password)
            encoded = password.encode()
            forms.add(base64.b64encode(encoded).decode())
            for user in {username or "", ""}:
                plain = b"\0" + user.encode() + b"\0" + encoded
                forms.add(base64.b64encode(plain).decode())
                forms.add(base64.b64encode(plain[1:]).decode())
        self.forms = sorted(forms, key=len, reverse=True)
        """Longest first, so a longer form is never half-replaced by a shorter one."""

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, "[redacted]")
        return text


def _no_delay(connection: smtplib.SMTP) -> None:
    """Send each message's last bytes at once. A message is one large write whose tail is a
    partial TCP segment; Nagle's algorithm holds that tail until the server acknowledges the
    rest, which a server delaying its ACKs does only after ~40 ms: a stall per reader."""
    if connection.sock is not None:
        with suppress(OSError):
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class SmtpConnection:
    """Opens sessions with the SMTP server of `settings`; one per send."""

    def __init__(
        self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self._tls_context = tls_context
        self.scrub = Scrubber(settings.username, settings.password)

    @contextmanager
    def session(self) -> Iterator[smtplib.SMTP]:
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

    def _context(self) -> ssl.SSLContext:
        # Built only for a TLS connection: it loads the system's certificates (~40 ms).
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _connect(self) -> smtplib.SMTP:
        """Connect and log in; every failure here is before any message, so nothing went out."""
        s = self.settings
        where = f"the SMTP server {s.host}:{s.port}"
        try:
            if s.security == "ssl":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=self._context()
                )
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                _no_delay(connection)
                connection.ehlo_or_helo_if_needed()
                if s.security == "starttls":
                    if not connection.has_extn("starttls"):
                        raise ProviderError(
                            f'{where} does not offer STARTTLS; set provider.security to "ssl" '
                            '(usually port 465) or, for a local relay only, "none".',
                            maybe_sent=False,
                        )
                    connection.starttls(context=self._context())
                    connection.ehlo()
                if s.username and s.password:
                    self._login(connection, where)
            except BaseException:
                connection.close()
                raise
        except ssl.SSLError as error:
            raise ProviderError(
                f"The TLS handshake with {where} failed ({error.reason or error}); check "
                "provider.port and provider.security.",
                maybe_sent=False,
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(
                f"Cannot connect to {where} ({self.describe(error)}); check provider.host, "
                "provider.port and provider.security.",
                maybe_sent=False,
            ) from None
        return connection

    def _login(self, connection: smtplib.SMTP, where: str) -> None:
        s = self.settings
        assert s.username and s.password
        if not connection.has_extn("auth"):
            advice = (
                'many servers offer it only over TLS: set provider.security to "starttls" '
                '(or "ssl")'
                if s.security == "none"
                else "check provider.host and provider.port"
            )
            raise ProviderError(
                f"{where} does not offer SMTP AUTH, so it cannot log in as {s.username}; "
                f"{advice}, or, for a relay that needs no login, remove provider.username "
                f"and ${PASSWORD_ENV}.",
                maybe_sent=False,
            )
        try:
            connection.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as error:
            raise ProviderError(
                f"{where} refused the login for {s.username} "
                f"({self.reply(error.smtp_code, error.smtp_error)}); check provider.username "
                f"and the password in ${PASSWORD_ENV}.",
                maybe_sent=False,
            ) from None

    def reply(self, code: int, text: bytes | str) -> str:
        message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return self.scrub(f"{code} {' '.join(message.split())}")

    def describe(self, error: BaseException) -> str:
        if isinstance(error, smtplib.SMTPResponseException):
            return self.reply(error.smtp_code, error.smtp_error)
        if isinstance(error, TimeoutError):
            return "no answer in time"
        return self.scrub(getattr(error, "strerror", None) or str(error) or type(error).__name__)

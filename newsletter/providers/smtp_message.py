"""Each SMTP reader's copy of an email, built from parts prepared once per email.

A copy differs from the next only in its `To` and `Message-ID` and, with a per-reader
unsubscribe link, in that link (the `List-Unsubscribe` header and the body's link). So the
MIME message is serialised once, and each copy is its own few header lines in front of the
shared bytes: quoted-printable encoding a 40 kB digest costs milliseconds, a copy's headers
microseconds. Header lines are written directly where they are plain ASCII that needs no
folding (nearly every address), and through `email.policy` otherwise.

With a per-reader link, both parts are quoted-printable: that encoding works line by line,
so the lines holding the link are the only ones encoded again for each reader, and every
copy is byte for byte what the email package would write for that reader's own message.
The bytes are dot-stuffed once too (RFC 5321 §4.5.2), ready for the DATA command.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from email import quoprimime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import make_msgid, parseaddr
from urllib.parse import quote

from markupsafe import escape

from newsletter.errors import ConfigError
from newsletter.headers import smtp_policy
from newsletter.message import build_message, pop_header, sender_domain
from newsletter.models import Email
from newsletter.providers.base import Setup, Unsubscribe, mailto_sender

SECRET_ENV = "UNSUBSCRIBE_SECRET"  # noqa: S105 - the variable's name, not a secret
MIN_SECRET_LENGTH = 16
"""Shorter secrets are refused: the signature is all that stops forged unsubscribe links."""
MAX_LINK_LENGTH = 900
"""An unsubscribe link must fit one header line (998 characters) with its address and token."""
ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
_MAX_LINE = 78
"""RFC 5322's recommended line length; email.policy folds at it too."""
_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")
_TEXT_MARKER, _HTML_MARKER = "NEWSLETTERTEXTPARTBODY", "NEWSLETTERHTMLPARTBODY"
"""What the parts hold while the shared headers and MIME structure are serialised."""


@dataclass(frozen=True)
class UnsubscribeLink:
    """`provider.unsubscribe_url` with `{email}` and `{token}`: each reader's own link, signed
    so that the page it opens can tell who is leaving and that nobody forged the address.

    The token is HMAC-SHA256 over the address exactly as `{email}` carries it (before URL
    encoding), keyed with $UNSUBSCRIBE_SECRET, written as 64 lowercase hex digits.
    """

    template: str
    secret: bytes

    def url_for(self, address: str) -> str:
        token = hmac.new(self.secret, address.encode("utf-8"), hashlib.sha256).hexdigest()
        return self.template.replace("{email}", quote(address, safe="@")).replace("{token}", token)

    @property
    def one_click(self) -> bool:
        """RFC 8058 one-click needs an https link (and one that names the reader: this one)."""
        return self.template.startswith("https://")


def unsubscribe_link(setup: Setup) -> UnsubscribeLink | None:
    """Each reader's signed unsubscribe link, when `unsubscribe_url` is a template."""
    template: str | None = setup.option("unsubscribe_url")
    if not template or not _is_template(template):
        return None
    secret = setup.environ.get(SECRET_ENV, "").strip("\r\n")
    if not secret:
        raise ConfigError(
            f"provider.unsubscribe_url has {{email}} and {{token}}, but ${SECRET_ENV} is not "
            "set; export a long random secret in it (for example the output of `python -c "
            '"import secrets; print(secrets.token_hex(32))"`), the same one your unsubscribe '
            "page checks the token with."
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"${SECRET_ENV} is shorter than {MIN_SECRET_LENGTH} characters, short enough to "
            "guess and forge unsubscribe links with; use a long random one (for example "
            '`python -c "import secrets; print(secrets.token_hex(32))"`).'
        )
    return UnsubscribeLink(template, secret.encode("utf-8"))


def _is_template(url: str) -> bool:
    return "{email}" in url or "{token}" in url


def check_unsubscribe_url(setup: Setup) -> None:
    """A template names the reader and signs it, or it is no template at all."""
    url: str | None = setup.option("unsubscribe_url")
    if not url or not _is_template(url):
        return
    if "{email}" not in url or "{token}" not in url:
        missing = "{token}" if "{email}" in url else "{email}"
        raise ConfigError(
            f"provider.unsubscribe_url has no {missing}: a per-reader link needs both "
            "{email} (who is leaving) and {token} (the signature that proves the link was "
            "not forged), e.g. https://example.org/unsubscribe?email={email}&token={token}."
        )
    if len(url) > MAX_LINK_LENGTH:
        raise ConfigError(
            f"provider.unsubscribe_url is {len(url)} characters long; keep it under "
            f"{MAX_LINK_LENGTH}, so each reader's link fits one header line."
        )


def unsubscribe(setup: Setup) -> Unsubscribe:
    """Plain SMTP has no list service. A template with {email} and {token} gives each reader
    a signed link of their own, set by the adapter per copy (the body shows the template until
    then); a plain URL is the author's own page, for everyone; without one, a mailto: the
    author handles by hand. One-click (RFC 8058 `List-Unsubscribe-Post`) needs a link that
    names the reader (§3.1) over https, so only a template can offer it."""
    url: str | None = setup.option("unsubscribe_url")
    if not url:
        return mailto_sender(setup)
    if _is_template(url):
        # List-Unsubscribe (and Post) are each reader's own: the adapter writes them.
        return Unsubscribe(url=url)
    return Unsubscribe(url=url, list_unsubscribe=f"<{url}>")


class PreparedEmail:
    """One email serialised once; `copy_for` gives a reader's copy, ready for DATA."""

    def __init__(self, email: Email, link: UnsubscribeLink | None = None) -> None:
        self.sender = parseaddr(email.sender)[1]
        self._domain = sender_domain(email.sender)
        self._link = link
        headers = dict(email.headers)
        # Written by `copy_for` as they are: email.policy would turn a link longer than a
        # line into RFC 2047 encoded words, which no mail client reads as a link.
        self._list_unsubscribe = pop_header(headers, "List-Unsubscribe")
        self._one_click = pop_header(headers, "List-Unsubscribe-Post") is not None
        self._email = replace(email, headers=headers)
        self._pieces: dict[bool, list[bytes | _LinkLine]] = {}

    def copy_for(self, to: str, address: str, *, utf8: bool = False) -> tuple[str, bytes]:
        """The Message-ID and the dot-stuffed bytes of the copy for `to` (whose address is
        `address`): its own headers, then the shared headers and body."""
        # headers.py folded the subject and List-Id itself; this policy writes them as they are.
        policy = smtp_policy(utf8=utf8)
        pieces = self._pieces.get(utf8)
        if pieces is None:
            pieces = self._pieces[utf8] = self._prepare(policy)
        message_id = make_msgid(domain=self._domain)
        own = [header_line(policy, "To", to), header_line(policy, "Message-ID", message_id)]
        url = self._link.url_for(address) if self._link else ""
        if self._link:
            own.append(raw_header_line(policy, "List-Unsubscribe", f"<{url}>"))
            if self._link.one_click:
                own.append(ONE_CLICK)
        elif self._list_unsubscribe is not None:
            own.append(raw_header_line(policy, "List-Unsubscribe", self._list_unsubscribe))
            # RFC 8058 one-click only ever goes with an https link (never a mailto:).
            if self._one_click and self._list_unsubscribe.startswith("<https://"):
                own.append(ONE_CLICK)
        body = (piece if isinstance(piece, bytes) else piece.encode(url) for piece in pieces)
        return message_id, b"".join([*own, *body])

    def _prepare(self, policy: EmailPolicy[EmailMessage]) -> list[bytes | _LinkLine]:
        if self._link is None:
            message = _shared_message(self._email, cte=None)
            return [_dot_stuff(message.as_bytes(policy=policy))]
        # Each part's body is a marker at first; the serialised skeleton is cut at the
        # markers and the bodies, encoded here line by line, go in their place.
        template = self._link.template
        parts = {
            _TEXT_MARKER: _QuotedLines(self._email.text, template, html=False),
            _HTML_MARKER: _QuotedLines(self._email.html, str(escape(template)), html=True),
        }
        markers = replace(self._email, text=f"{_TEXT_MARKER}\n", html=f"{_HTML_MARKER}\n")
        skeleton = _shared_message(markers, cte="quoted-printable").as_bytes(policy=policy)
        pieces: list[bytes | _LinkLine] = []
        for marker, lines in parts.items():
            before, skeleton = skeleton.split(marker.encode() + b"\r\n", 1)
            pieces.append(_dot_stuff(before))
            pieces += lines.pieces
        pieces.append(_dot_stuff(skeleton))
        return [piece for piece in pieces if piece]


def _shared_message(email: Email, *, cte: str | None) -> EmailMessage:
    message = build_message(email, to="", cte=cte)
    del message["To"]
    del message["Message-ID"]
    return message


@dataclass(frozen=True)
class _LinkLine:
    """A body line that holds the unsubscribe link: encoded again for each reader."""

    raw: bytes
    placeholder: bytes
    html: bool

    def encode(self, url: str) -> bytes:
        value = str(escape(url)) if self.html else url
        line = self.raw.replace(self.placeholder, value.encode("utf-8"))
        return _dot_stuff(_quoted_printable(line))


class _QuotedLines:
    """A part's text, quoted-printable, as constant runs of lines and `_LinkLine`s."""

    def __init__(self, text: str, placeholder: str, *, html: bool) -> None:
        self.pieces: list[bytes | _LinkLine] = []
        run: list[bytes] = []
        marker = placeholder.encode("utf-8")
        # As the email package splits a part's text before encoding it.
        lines = text.encode("utf-8").splitlines()
        for line in lines:
            if marker in line:
                self._flush(run)
                self.pieces.append(_LinkLine(line, marker, html=html))
            else:
                run.append(line)
        self._flush(run)
        if not lines:
            self.pieces.append(b"\r\n")  # the email package's encoding of an empty part

    def _flush(self, run: list[bytes]) -> None:
        if run:
            self.pieces.append(_dot_stuff(_quoted_printable(b"\n".join(run))))
            run.clear()


def _quoted_printable(lines: bytes) -> bytes:
    """Lines (without their last newline) as the email package encodes a body: each line on
    its own (soft breaks at 78), then CRLF line ends as the SMTP policy writes them."""
    encoded = quoprimime.body_encode((lines + b"\n").decode("latin-1"), _MAX_LINE)
    return encoded.replace("\n", "\r\n").encode("ascii")


def _dot_stuff(data: bytes) -> bytes:
    """RFC 5321 §4.5.2: a line starting with a dot gets one more (pieces start lines)."""
    return _DOT_AT_LINE_START.sub(b"..", data)


def raw_header_line(policy: EmailPolicy[EmailMessage], name: str, value: str) -> bytes:
    """A header whose value must stay as it is (a `<URL>` list), however long: RFC 5322
    allows 998 characters on a line, and the configured URL is checked to fit."""
    if value.isascii() and value.isprintable():
        return f"{name}: {value}\r\n".encode("ascii")
    return header_line(policy, name, value)


def header_line(policy: EmailPolicy[EmailMessage], name: str, value: str) -> bytes:
    """One header line as the email package would write it. Plain ASCII that fits on a line
    is written as it is; anything else (a name beyond ASCII, a long line) is folded by the
    policy, which parses it first (tens of microseconds, so only where it changes something)."""
    line = f"{name}: {value}"
    if len(line) <= _MAX_LINE and line.isascii() and line.isprintable() and "=?" not in value:
        return line.encode("ascii") + b"\r\n"
    return policy.fold_binary(name, policy.header_store_parse(name, value)[1])

"""Turn an `Email` into an RFC 5322 multipart/alternative message (text first, then HTML).

Used by the outbox, SMTP and `preview`'s `.eml`; the HTTP providers send the parts as fields.
The headers a feed writes (the subject, the blog's name in `List-Id`) are encoded and folded
by `headers.py`, never by the email package (see there for why).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from newsletter.header_text import sender_domain as sender_domain
from newsletter.headers import VERBATIM, folded, folded_mailbox, one_line
from newsletter.models import Email


def build_message(
    email: Email, *, to: str, message_id: str | None = None, cte: str | None = None
) -> EmailMessage:
    """`cte` forces the parts' transfer encoding (SMTP's per-reader links want
    quoted-printable); by default the email package picks the shortest."""
    message = EmailMessage(policy=VERBATIM)
    message["Subject"] = folded("Subject", email.subject)
    message["From"] = email.sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain(email.sender))
    message["MIME-Version"] = "1.0"
    for name, value in email.headers.items():
        # Each extra header is one line by contract; a stray break must not become a header.
        line = one_line(value)
        message[name] = _list_id(line) if name.lower() == "list-id" else line
    message.set_content(email.text, subtype="plain", charset="utf-8", cte=cte)
    message.add_alternative(email.html, subtype="html", charset="utf-8", cte=cte)
    if email.language:
        # After set_content, which clears every Content-* header it finds.
        message["Content-Language"] = email.language
    return message


def _list_id(value: str) -> str:
    display, identifier = parseaddr(value)
    if not identifier or not value.rstrip().endswith(">"):
        return value
    return folded_mailbox("List-Id", display, identifier)


def pop_header(headers: dict[str, str], name: str) -> str | None:
    """Take one email header out, case-insensitively: JSON APIs carry some headers (such as
    Reply-To) as fields of their own, and the rest in a generic header list."""
    for key in list(headers):
        if key.lower() == name.lower():
            return headers.pop(key)
    return None

"""Header text that needs nothing of the email package: a value as one clean line, and the
sender's domain.

Rendering an email needs these two and nothing else of headers.py and message.py, which load
the email package's policies to build messages; a dry run builds none.
"""

from __future__ import annotations

import unicodedata
from email.utils import parseaddr


def one_line(text: str) -> str:
    """`text` as one line of header text: every run of whitespace (including CR, LF, NEL,
    U+2028 and U+2029) one space, and other control characters removed."""
    visible = "".join(
        character
        for character in text
        if character.isspace() or unicodedata.category(character) != "Cc"
    )
    return " ".join(visible.split())


def sender_domain(sender: str) -> str:
    """The domain of the From address, so Message-IDs look like the sender's own."""
    address = parseaddr(sender)[1]
    local, at, domain = address.rpartition("@")
    return domain if at and local and domain else "localhost"

"""Header values that carry exactly the text they were given, on every supported Python.

A post's title becomes the `Subject` and the blog's name the `List-Id`, so a feed writes
them. The standard library's own folding cannot be trusted with that text on every Python
the project supports (docs/architecture.md, "Headers"): before 3.11.10 and 3.12.5 a title
written as an RFC 2047 encoded-word that hides a CR/LF (`=?utf-8?q?Hi=0D=0AReply-To:...?=`)
is decoded and then written out as real line breaks, adding headers and a body
(CVE-2024-6923); before 3.13 a long non-ASCII subject can lose the space between two words
where a fold falls between two encoded-words, which decoders remove.

So these values are cleaned of control characters (`one_line`), encoded and folded here
(`folded`), and handed to the email package as finished lines that its policies write out
unchanged (`VerbatimPolicy`). Python's folding never sees them, whatever its version.
"""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import TYPE_CHECKING, Any

from newsletter.header_text import one_line as one_line

if TYPE_CHECKING:
    _Policy = EmailPolicy[EmailMessage]
else:  # typeshed makes the policy generic in its message class; the runtime class is not
    _Policy = EmailPolicy

LINE_LIMIT = 78
"""RFC 5322's recommended line length, which every line of a folded header keeps to."""
WORD_LIMIT = 75
"""RFC 2047: an encoded-word is at most 75 characters long."""
_PREFIX = "=?utf-8?b?"
_SUFFIX = "?="
_ENCODED_WORD_LOOKALIKE = "=?"
_ZERO_WIDTH_SPACE = "\u200b"
_PLAIN_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
"""Words RFC 5322 lets a display name hold without quotes."""


def needs_encoding(text: str) -> bool:
    """Whether `text` must travel as encoded-words: it is not plain printable ASCII, a word
    is too long to fold, or it holds `=?`, which a mail app would take for an encoded-word
    and decode instead of showing."""
    if not text.isascii() or _ENCODED_WORD_LOOKALIKE in text:
        return True
    if any(not " " <= character <= "~" for character in text):
        return True
    return any(len(word) > WORD_LIMIT for word in text.split(" "))


class Folded(str):
    """A header value already encoded and folded here: `VerbatimPolicy` stores it as it is."""

    __slots__ = ()


def folded(name: str, text: str) -> Folded:
    """The value of header `name` carrying exactly `text` (cleaned by `one_line`): plain
    words folded at spaces when that is safe, else UTF-8 encoded-words, one per line."""
    text = one_line(text)
    room = LINE_LIMIT - len(name) - len(": ")
    lines = encoded_words(text, room) if needs_encoding(text) else _fold_words(text, room)
    return Folded("\n ".join(lines))


def folded_mailbox(name: str, display: str, address: str) -> Folded:
    """`Display <address>` (a `List-Id`, say) whose display name carries exactly `display`:
    as plain words, quoted when it holds RFC 5322 specials, else as encoded-words."""
    display = one_line(display)
    room = LINE_LIMIT - len(name) - len(": ")
    if needs_encoding(display):
        lines = encoded_words(display, room)
    elif _PLAIN_PHRASE.fullmatch(display):
        lines = _fold_words(display, room)
    else:
        quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines = _fold_words(quoted, room)
    end = f"<{address}>"
    if lines == [""]:
        lines = [end]
    elif len(lines[-1]) + 1 + len(end) <= (room if len(lines) == 1 else LINE_LIMIT - 1):
        lines[-1] += " " + end
    else:
        lines.append(end)
    return Folded("\n ".join(lines))


def encoded_words(text: str, first_room: int = WORD_LIMIT) -> list[str]:
    """`text` as base64 UTF-8 encoded-words, each whole characters and at most
    `WORD_LIMIT` long (the first at most `first_room`). A decoder joins adjacent
    encoded-words without the folding space between them, so the words carry every space
    of the text themselves."""
    words: list[str] = []
    chunk = ""
    room = min(first_room, WORD_LIMIT)
    for character in text:
        if _encoded_length(chunk + character) > room and chunk:
            words.append(_encode(chunk))
            chunk = ""
            room = WORD_LIMIT
        chunk += character
    if chunk or not words:
        words.append(_encode(chunk))
    return words


def api_subject(subject: str) -> str:
    """A subject for a provider's JSON API, which builds the header itself: an encoded-word
    look-alike in the text is broken with a zero-width space, so that the provider encodes
    it and the reader's mail app shows the characters instead of decoding them."""
    return one_line(subject).replace(_ENCODED_WORD_LOOKALIKE, "=" + _ZERO_WIDTH_SPACE + "?")


class VerbatimPolicy(_Policy):
    """The email package's default policy, except that a `Folded` value is stored as the
    finished header lines it is, and written out as they are (`refold_source="none"`: a
    `List-Id` whose identifier is longer than a line must not be refolded either). Other
    headers are parsed and folded as usual. Serialise with `smtp_policy()`, not `SMTP`."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, Folded):
            return (name, str(value))
        return super().header_store_parse(name, value)


VERBATIM = VerbatimPolicy(refold_source="none")


def smtp_policy(*, utf8: bool = False) -> VerbatimPolicy:
    """`email.policy.SMTP` (or `SMTPUTF8`) that keeps `Folded` headers as they are."""
    return VERBATIM.clone(linesep="\r\n", utf8=utf8)


def _fold_words(text: str, room: int) -> list[str]:
    # A fold is a line break put before an existing space: unfolding removes only the
    # break, so the space stays.
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and len(candidate) > room:
            lines.append(line)
            line = word
            room = LINE_LIMIT - 1
        else:
            line = candidate
    lines.append(line)
    return lines


def _encoded_length(chunk: str) -> int:
    size = len(chunk.encode("utf-8"))
    return len(_PREFIX) + 4 * ((size + 2) // 3) + len(_SUFFIX)


def _encode(chunk: str) -> str:
    return _PREFIX + base64.b64encode(chunk.encode("utf-8")).decode("ascii") + _SUFFIX

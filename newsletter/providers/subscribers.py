"""Read the author's subscribers file: CSV with a header row, an `email` column, optional `name`.

Used by the providers that have no list of their own (SMTP, Postmark, Mailgun without a
mailing list). Addresses are checked for syntax only (`addresses.py`: no DNS, the run must
work offline and on CI); bad and duplicate rows are reported back and never sent to. A file
that cannot be used at all is a ProviderSetupError: it is found inside a send, after the
posts were marked `pending`, and must not leave them there, since nothing went out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formataddr, quote
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.addresses import check_address, plain_address
from newsletter.errors import ProviderSetupError
from newsletter.models import Rejection

if TYPE_CHECKING:
    import _csv

_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
"""What makes `email.utils.formataddr` put an ASCII name in quotes (its own `specialsre`)."""


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str = ""

    @cached_property
    def to_header(self) -> str:
        """`Name <address>` with the name quoted/encoded as needed, or the bare address.

        Worked out once per subscriber (every email of a run and every batch reuses it)."""
        if not self.name:
            return self.email
        if self.email.isascii():
            if self.name.isascii() and _SPECIALS.search(self.name) is None:
                # What formataddr returns for such a name, without its encode checks and
                # escaping (nothing to escape: both characters it escapes are specials).
                return f"{self.name} <{self.email}>"
            return formataddr((self.name, self.email))
        # formataddr refuses an address beyond ASCII; such mail goes out with SMTPUTF8,
        # where the name may be UTF-8 as well, so quoting it is enough.
        return f'"{quote(self.name)}" <{self.email}>'


@dataclass(frozen=True)
class SubscriberList:
    subscribers: tuple[Subscriber, ...]
    skipped: tuple[Rejection, ...]
    """Rows that were not valid addresses, or repeated an earlier address."""


class SubscribersFile:
    """The subscribers file of one run: read and checked at the first send, then reused.

    Checking costs ~1 µs per plain ASCII address and ~40 µs for others, and a per-post run
    sends several emails to the same list; an edit to the file mid-run would only make the
    emails of one run disagree.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._listing: SubscriberList | None = None

    def load(self) -> SubscriberList:
        if self._listing is None:
            self._listing = load_subscribers(self.path)
        return self._listing


def load_subscribers(path: Path, *, key: str = "provider.subscribers") -> SubscriberList:
    """Parse the file at `path`; `key` names the setting in errors so the author can fix it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProviderSetupError(
            f"The subscribers file {path} does not exist; create it (CSV with an 'email' "
            f"column) or point {key} at it."
        ) from None
    except UnicodeDecodeError:
        raise ProviderSetupError(
            f"The subscribers file {path} is not UTF-8 text; save it as UTF-8."
        ) from None
    except OSError as error:
        raise ProviderSetupError(
            f"Cannot read the subscribers file {path} ({error.strerror})."
        ) from None
    return parse_subscribers(text, source=str(path))


def parse_subscribers(text: str, *, source: str) -> SubscriberList:
    # strict: a quote opened and never closed is an error, not the rest of the file read
    # into one field (every later subscriber silently dropped).
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = _rows(reader, source)
    header = next(rows, None) or []
    # By position, as a dict of the header's names would be: a name repeated means its last
    # column, and only the header's columns count (cells past them are ignored).
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    if "email" not in columns:
        raise ProviderSetupError(
            f"The subscribers file {source} has no 'email' column; its first row must be a "
            "header such as: email,name"
        )
    email_column, name_column = columns["email"], columns.get("name")
    # A row without an address is reported when it has something else in the header's
    # columns (once per distinct name, as a dict of the row would hold it).
    counted = tuple({name: index for index, name in enumerate(header)}.values())
    subscribers: list[Subscriber] = []
    skipped: list[Rejection] = []
    seen: set[str] = set()
    for row in rows:
        line = reader.line_num
        raw = row[email_column].strip() if email_column < len(row) else ""
        if not raw:
            if any(row[index].strip() for index in counted if index < len(row)):
                skipped.append(Rejection(address="", reason=f"line {line}: no email address"))
            continue
        address = plain_address(raw)  # the common case, without building a CheckedAddress
        if address is None:
            checked = check_address(raw)
            if checked.problem is not None:
                skipped.append(Rejection(address=raw, reason=f"line {line}: {checked.problem}"))
                continue
            address = checked.address
        folded = address.lower()
        if folded in seen:
            skipped.append(Rejection(address=address, reason=f"line {line}: duplicate address"))
            continue
        seen.add(folded)
        name = ""
        if name_column is not None and name_column < len(row):
            name = " ".join(row[name_column].split())
        subscribers.append(Subscriber(address, name))
    if not subscribers:
        raise ProviderSetupError(
            f"The subscribers file {source} has no valid address to send to; add at least one "
            "row with an email address."
        )
    return SubscriberList(subscribers=tuple(subscribers), skipped=tuple(skipped))


def _rows(reader: _csv.Reader, source: str) -> Iterator[list[str]]:
    """The header row (even a blank one, which names no column), then each row that is not
    blank, as csv.DictReader gives them; malformed CSV names the line after the last good row."""
    start = 1
    try:
        yield next(reader, [])
        start = reader.line_num + 1
        for row in reader:
            if row:
                yield row
                start = reader.line_num + 1
    except csv.Error as error:
        raise ProviderSetupError(
            f"The subscribers file {source} is not valid CSV from line {start} on ({error}); "
            "check the quotes there: a field that starts with a double quote must end with "
            "one, and a double quote inside a field is written twice."
        ) from None

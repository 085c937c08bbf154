"""Whom a send that hands over one message per reader (SMTP) has reached, step by step.

`Delivery` gives such a provider a `RecipientTracker` as its `RecipientLog`: each step is
appended to the ledger's journal (`ledger/journal.py`) before the provider moves on to the
next reader, and kept in the send's `Reached` record (`ledger/reached.py`), so an interrupted
send leaves only the message being handed over in doubt (docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from newsletter.errors import LedgerError
from newsletter.ledger.journal import DECLINED, SENDING, SERVED, Journal
from newsletter.ledger.reached import Reached
from newsletter.ledger.reached import fingerprint as reader_fingerprint
from newsletter.models import Post


class RecipientTracker:
    """The `RecipientLog` a per-recipient provider reports to: each step goes to the journal
    (on disk before the provider moves on) and into the send's progress in the ledger."""

    def __init__(self, key: str, reached: Reached, journal: Journal) -> None:
        self.key = key
        self.reached = reached
        self.journal = journal
        self.served_before = len(reached.served)
        self.served_now = 0
        self.in_doubt_addresses: list[str] = []
        """Addresses from the subscribers file whose message an earlier run left in doubt."""

    def owed(self, address: str) -> bool:
        recipient = reader_fingerprint(self.key, address)
        if recipient in self.reached.in_doubt:
            self.in_doubt_addresses.append(address)
            return False
        return recipient not in self.reached.served

    def sending(self, address: str) -> None:
        recipient = reader_fingerprint(self.key, address)
        self._step(SENDING, recipient)
        self.reached.sending(recipient)

    def served(self, address: str) -> None:
        recipient = reader_fingerprint(self.key, address)
        self._step(SERVED, recipient)
        self.reached.served_one(recipient)
        self.served_now += 1

    def declined(self, address: str) -> None:
        recipient = reader_fingerprint(self.key, address)
        self._step(DECLINED, recipient)
        self.reached.declined(recipient)

    def _step(self, step: str, recipient: str) -> None:
        try:
            self.journal.step(step, recipient)
        except OSError as error:
            raise LedgerError(
                f"Cannot write the journal {self.journal.path} ({error.strerror or error}); "
                "the send stopped before the next reader."
            ) from None


def in_doubt_sentence(posts: Sequence[Post], log: RecipientTracker, provider: str) -> str:
    titles = ", ".join(repr(post.title) for post in posts)
    flags = " ".join(f"--post {post.link or post.id}" for post in posts)
    doubtful = len(log.reached.in_doubt)
    who = ", ".join(log.in_doubt_addresses) or "a reader no longer in the subscribers file"
    return (
        f"The run that sent {titles} stopped while handing the message to {who} to "
        f"{provider}, so it may or may not have arrived ({doubtful} message(s) in doubt); "
        f"this run sent it to the {log.served_now} reader(s) still owed it. Ask them or check "
        f"the server's log, then run `newsletter resolve {flags} --as sent` if it arrived, or "
        "`--as unsent` to send it to them."
    )

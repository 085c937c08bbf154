"""Whom a send has reached so far, for providers that hand over one message per recipient (SMTP).

An SMTP send to 60 readers is 60 separate hand-overs. Recording each one as it happens means
that a run stopped half-way (killed, cancelled, a server asking to come back later) leaves
at most the one message that was being handed over in doubt, instead of the whole list: the
next run sends to the readers not yet served and asks the author about that one message only.

Per send (its idempotency key) the ledger keeps, under `reached` (batches of a provider whose
own records can settle them are kept apart, in `progress.py`):
- `served`: the recipients whose server accepted the message;
- `in_doubt`: recipients whose message went out but whose answer never came;
- `journal`: while the send runs, the journal file (`journal.py`) that holds its later steps.
  A ledger still naming a journal after the run is over lost that file, so what the send
  reached is unknown and only the author can settle it (`newsletter resolve`).

Recipients are kept as fingerprints, never as addresses: the ledger is committed to git,
often in a public repository. A fingerprint is 64 bits of SHA-256 over the send's key and the
lower-cased address: distinct for any realistic list (two of ten million addresses collide
with odds of about 1 in 370,000), and different for every send, so fingerprints cannot be
matched across sends or ledgers. Anyone holding the ledger and a guessed address can still
test that guess against a send in progress; nothing is kept once the send is settled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


def fingerprint(key: str, address: str) -> str:
    """The recipient as the ledger records it for the send `key`: 16 hex digits."""
    return hashlib.sha256(f"{key}\x00{address.lower()}".encode()).hexdigest()[:16]


@dataclass
class Reached:
    """What one send (one idempotency key) has reached; mutable, updated per recipient."""

    started: datetime
    served: set[str] = field(default_factory=set)
    in_doubt: set[str] = field(default_factory=set)
    journal: str | None = None
    """The journal file's name while the send runs (or when that file was lost)."""

    @property
    def known(self) -> bool:
        """Whether `served` and `in_doubt` are the whole story (no journal left unread)."""
        return self.journal is None

    def sending(self, recipient: str) -> None:
        self.in_doubt.add(recipient)

    def served_one(self, recipient: str) -> None:
        self.in_doubt.discard(recipient)
        self.served.add(recipient)

    def declined(self, recipient: str) -> None:
        """The server answered and did not take the message: nothing went out to them."""
        self.in_doubt.discard(recipient)

    def settle(self, *, delivered: bool) -> None:
        """The author's word on the messages in doubt (`newsletter resolve`)."""
        if delivered:
            self.served |= self.in_doubt
        self.in_doubt.clear()

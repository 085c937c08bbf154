"""How far a send got while its posts are `pending`: whom it reached, which batches are in doubt.

Kept for providers whose own records can later say what went out (Postmark's message search,
Mailgun's events; docs/providers.md#settling-interrupted-sends). Each batch is recorded in
doubt before its request is made, with the id the provider will carry in the message, and
settled when the provider answers; after an interruption, the batches still in doubt are
looked up, and the send goes on to the recipients it has not reached.

Recipients are never written as addresses: the ledger is committed to git, often in a public
repository, so each one is a fingerprint (`fingerprint`, a keyed hash) that only the holder of
the provider's secret can make or check.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from newsletter.ledger.entries import utc

CHECK_TEXT = "newsletter fingerprint check"
"""Fingerprinted along with the recipients: a send whose check no longer matches was
fingerprinted with another secret (the key was changed), so its recipients cannot be told."""


def fingerprint(secret: str, address: str) -> str:
    """A recipient as the ledger knows it: 64 bits of HMAC-SHA256 of the lower-cased address
    (no two addresses of one list collide in practice; nobody without the secret can test an
    address against it)."""
    digest = hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


class Fingerprints:
    """`fingerprint` with one secret, keyed once and remembered for each address: a send asks
    for every subscriber's (the journal of each batch, the list owed, each email of a
    per-post run), and a run may send to the same 10,000 several times. Safe to share
    between threads (a copy of the keyed hash is taken under its own lock)."""

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._known: dict[str, str] = {}

    def __call__(self, address: str) -> str:
        known = self._known.get(address)
        if known is None:
            digest = self._keyed.copy()
            digest.update(address.strip().lower().encode())
            known = self._known[address] = digest.hexdigest()[:16]
        return known


def batch_id(key: str, began: datetime, number: int) -> str:
    """The id batch `number` of the send with `key`, begun at `began`, carries.

    The start of the send is in it: a send of the same posts that starts over (after
    `resolve --as unsent`) has the same key, and must never find this one's batches. All ids
    of one key have the same length (numbers below 10,000), so an adapter can size a batch
    before its id is handed out.
    """
    return f"{key}-{utc(began):%Y%m%d%H%M%S}-{number:04d}"


@dataclass(frozen=True)
class InDoubt:
    """A batch whose request was made and not (yet) answered."""

    batch: str
    """The id the provider's records carry (Postmark `Metadata`, Mailgun `v:` variables)."""
    at: datetime
    """When its request was made (UTC, to the second)."""
    recipients: tuple[str, ...]
    """Fingerprints of the batch's recipients."""


@dataclass(frozen=True)
class Progress:
    """One send (its idempotency key), from its first batch until its posts are settled."""

    key: str
    began: datetime
    check: str
    """`CHECK_TEXT` fingerprinted with the secret that made the recipients' fingerprints."""
    batches: int = 0
    """How many batch ids were handed out, so a resumed send never reuses one."""
    served: frozenset[str] = field(default_factory=frozenset)
    """Recipients the send reached, or that need it no more (a suppressed address)."""
    in_doubt: tuple[InDoubt, ...] = ()

    def posting(self, recipients: Iterable[str], at: datetime) -> tuple[Progress, str]:
        """The progress with one more batch in doubt, and that batch's id."""
        number = self.batches + 1
        batch = batch_id(self.key, self.began, number)
        doubt = InDoubt(batch, utc(at), tuple(recipients))
        return replace(self, batches=number, in_doubt=(*self.in_doubt, doubt)), batch

    def settled(self, batch: str, reached: Iterable[str] = ()) -> Progress:
        """The batch is no longer in doubt; `reached` are the recipients it got to."""
        return replace(
            self,
            served=self.served | frozenset(reached),
            in_doubt=tuple(doubt for doubt in self.in_doubt if doubt.batch != batch),
        )

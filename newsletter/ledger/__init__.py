"""The ledger: what each destination has been sent, in one JSON file committed to git.

Where a change goes:
- `entries.py`: a post's record, a run's record, the statuses.
- `records.py`: one destination's records in memory (how a post is matched, pending, forget,
  resolve).
- `store.py`: the file (read, lock, atomic save) and the one spelling of a time as text.
- `schema.py`: the file's layout, as a description the reader checks a file against.
- `progress.py`: how far a send got while its posts are pending (batches in doubt, whom it
  reached), for providers whose records can settle it.

Which posts are new is decided elsewhere, in `newsletter/plan.py`. Records are kept per
destination, so outbox and test sends never count for the list (docs/architecture.md).
"""

from newsletter.ledger.entries import (
    REVIEW_CLOSED,
    RUNS_KEPT,
    PostRecord,
    RunRecord,
    Settled,
    Status,
)
from newsletter.ledger.progress import InDoubt, Progress, fingerprint
from newsletter.ledger.records import DestinationLedger
from newsletter.ledger.schema import LEDGER_VERSION
from newsletter.ledger.store import Ledger, timestamp

__all__ = [
    "LEDGER_VERSION",
    "REVIEW_CLOSED",
    "RUNS_KEPT",
    "DestinationLedger",
    "InDoubt",
    "Ledger",
    "PostRecord",
    "Progress",
    "RunRecord",
    "Settled",
    "Status",
    "fingerprint",
    "timestamp",
]

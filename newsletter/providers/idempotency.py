"""Idempotency keys: the same send to the same destination gives the same key, and a forced
resend of posts already sent gives a new one.

A run interrupted after the provider accepted the email leaves its posts `pending` with the
key in the ledger; the next run sends again under that stored key, and providers that honour
keys (Buttondown's `X-Idempotency-Key`, Resend's `Idempotency-Key`) answer with the original
result instead of mailing the list twice.

The key is derived, not random, so that a ledger lost before it was committed (a CI job
killed between the send and its commit) still gives the next run the same key for the same
first send. A forced resend (`send --post URL --force`) is a new email by definition: what
the ledger held for its posts before it (their status, when, and the provider's message id)
goes into the key, so it never matches the first send, while a retry of that resend uses the
key recorded with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_PREFIX = "newsletter-"


def idempotency_key(
    destination: str, post_ids: Iterable[str], *, earlier: Iterable[str] = ()
) -> str:
    """A short key (well under Buttondown's 200 and Resend's 256 character limits).

    `earlier` describes the records the posts already had (nothing, for a first send). Post
    order is ignored: the same set of posts is the same send however it was sorted.
    """
    digest = hashlib.sha256()
    digest.update(destination.encode())
    for post_id in sorted(set(post_ids)):
        # A separator that cannot occur inside an id keeps ("ab", "c") apart from ("a", "bc").
        digest.update(b"\x00" + post_id.encode())
    for record in sorted(set(earlier)):
        digest.update(b"\x01" + record.encode())
    return _PREFIX + digest.hexdigest()[:40]


def step_key(key: str, step: str) -> str:
    """A distinct key for another request of the same send (e.g. a draft, or a second call),
    so the provider never answers one request with the stored result of another."""
    return f"{key}-{step}"

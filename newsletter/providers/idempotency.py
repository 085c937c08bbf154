"""Deterministic idempotency keys: the same posts to the same destination give the same key.

A run interrupted after the provider accepted the email leaves its posts `pending`; the next
run sends again with the same key, and providers that honour keys (Buttondown's
`X-Idempotency-Key`, Resend's `Idempotency-Key`) answer with the original result instead of
mailing the list twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_PREFIX = "newsletter-"


def idempotency_key(destination: str, post_ids: Iterable[str]) -> str:
    """A short key (well under Buttondown's 200 and Resend's 256 character limits).

    Post order is ignored: the same set of posts is the same send however it was sorted.
    """
    digest = hashlib.sha256()
    digest.update(destination.encode())
    for post_id in sorted(set(post_ids)):
        # A separator that cannot occur inside an id keeps ("ab", "c") apart from ("a", "bc").
        digest.update(b"\x00" + post_id.encode())
    return _PREFIX + digest.hexdigest()[:40]


def step_key(key: str, step: str) -> str:
    """A distinct key for another request of the same send (e.g. a draft, or a second call),
    so the provider never answers one request with the stored result of another."""
    return f"{key}-{step}"

"""The one small interface every mail provider adapter implements.

The pipeline only ever talks to `Provider`; each adapter holds just its vendor's request and
response shapes (the shared HTTP behaviour lives in `providers/http.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from newsletter.models import Email, Receipt


@dataclass(frozen=True)
class Unsubscribe:
    """How the email lets a reader leave the list, as this provider wants it written."""

    url: str
    """What goes in the body link's href: the provider's own placeholder (e.g. Postmark's
    `{{{ pm:unsubscribe }}}`), which the provider replaces per recipient, or a plain URL."""
    list_unsubscribe: str | None = None
    """The `List-Unsubscribe` header value to set ourselves, or None where the provider adds
    `List-Unsubscribe` and `List-Unsubscribe-Post` itself."""
    one_click: bool = False
    """Whether to also set `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058,
    only valid with an https URL in List-Unsubscribe)."""


@dataclass(frozen=True)
class Traits:
    """What a provider can do; known from configuration alone (no secret needed), so that
    `preview` can render exactly what `send` would."""

    name: str
    destination: str
    """The ledger key: provider plus its list/audience/domain, so that sends to one list never
    count for another (SPEC "A ledger per destination")."""
    unsubscribe: Unsubscribe
    idempotent: bool = False
    """Retries with the same key are recognised by the provider (Buttondown, Resend)."""
    drafts: bool = False
    """`send --draft` is possible (Buttondown, Resend)."""


class Provider(Protocol):
    traits: Traits

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        """Send to the whole list. Raises ProviderError with one plain sentence on failure."""
        ...

    def send_test(self, email: Email, *, address: str) -> Receipt:
        """Send to one address only (the subject already carries the `[Test] ` prefix)."""
        ...

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        """Create a draft for review; ConfigError where the provider has no drafts."""
        ...

    def close(self) -> None: ...

"""Resend: a broadcast to an audience (segment), Bearer auth, created and then sent.

`POST /broadcasts` with `segment_id` creates it (a draft unless sent), `POST
/broadcasts/{id}/send` sends it; Resend fills `{{{RESEND_UNSUBSCRIBE_URL}}}` and manages
the unsubscribes. Broadcasts have no header field, so only Reply-To (its own field) is kept.
A test goes to one address through `POST /emails`, as Resend has no broadcast test endpoint.

Resend documents `Idempotency-Key` for `/emails`; we send it on the broadcast calls too, and
do not rely on it there: each broadcast is named after its key, and a send first looks for a
broadcast with that name, so a retried run sends the existing broadcast (or reports it sent)
instead of creating a second one. A forced resend has a key of its own
(`providers/idempotency.py`), so it never finds the first send's broadcast.
"""

from __future__ import annotations

import html
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from newsletter import checks
from newsletter.errors import ProviderError
from newsletter.headers import api_subject
from newsletter.message import pop_header
from newsletter.models import Email, Receipt
from newsletter.providers.base import (
    HTTP_OPTIONS,
    Api,
    Option,
    ProviderSpec,
    Traits,
    message_field,
    placeholder,
)
from newsletter.providers.idempotency import step_key

if TYPE_CHECKING:
    from newsletter.providers.api import ApiClient

_NAME_LIMIT = 80


class ResendProvider:
    def __init__(self, traits: Traits, http: ApiClient, *, audience_id: str) -> None:
        self.traits = traits
        self.http = http
        self.audience_id = audience_id

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        existing = self._find_broadcast(idempotency_key)
        if existing is not None and existing.get("status") != "draft":
            return Receipt(provider="resend", message_id=str(existing["id"]), accepted=1)
        if existing is not None:
            broadcast_id = str(existing["id"])
        else:
            create_key = step_key(idempotency_key, "create")
            broadcast_id = self._create(email, key=idempotency_key, idempotency=create_key)
        try:
            self.http.request(
                "POST",
                f"/broadcasts/{broadcast_id}/send",
                json={},
                headers={"Idempotency-Key": step_key(idempotency_key, "send")},
            )
        except ProviderError as error:
            # The answer to a first try was lost and the repeat refused: a broadcast is sent
            # once, so Resend's own record of it says whether that first try went through.
            if not error.maybe_sent or self._status(broadcast_id) in (None, "draft"):
                raise
        return Receipt(provider="resend", message_id=broadcast_id, accepted=1)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        key = step_key(idempotency_key, "draft")
        broadcast_id = self._create(email, key=key, idempotency=key)
        return Receipt(provider="resend", message_id=broadcast_id, accepted=0, drafted=True)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        headers = dict(email.headers)
        reply_to = pop_header(headers, "Reply-To")
        stand_in = test_unsubscribe_link(email.sender)
        body: dict[str, Any] = {
            "from": email.sender,
            "to": [address],
            "subject": api_subject(email.subject),
            "html": email.html.replace(UNSUBSCRIBE_PLACEHOLDER, html.escape(stand_in)),
            "text": email.text.replace(UNSUBSCRIBE_PLACEHOLDER, stand_in),
        }
        if reply_to:
            body["reply_to"] = reply_to
        if headers:
            body["headers"] = headers
        answer = self.http.json(self.http.request("POST", "/emails", json=body))
        return Receipt(provider="resend", message_id=_id(answer), accepted=1)

    def close(self) -> None:
        self.http.close()

    def _create(self, email: Email, *, key: str, idempotency: str) -> str:
        reply_to = pop_header(dict(email.headers), "Reply-To")
        body: dict[str, Any] = {
            "segment_id": self.audience_id,
            "from": email.sender,
            "subject": api_subject(email.subject),
            "name": broadcast_name(api_subject(email.subject), key),
            "html": email.html,
            "text": email.text,
        }
        if email.preheader:
            body["preview_text"] = email.preheader
        if reply_to:
            body["reply_to"] = [reply_to]
        response = self.http.request(
            "POST", "/broadcasts", json=body, headers={"Idempotency-Key": idempotency}
        )
        return _id(self.http.json(response))

    def _find_broadcast(self, key: str) -> dict[str, Any] | None:
        """The broadcast an earlier, interrupted try of this send created, if any: one that
        went out, else a draft.

        Newest first, a page of 100 at a time (the spec's maximum), following `has_more`:
        the retry window is a day, so it is among the newest unless the account creates
        hundreds of broadcasts a day, which the page bound allows for. A sent one wins over
        a draft: a create repeated after a lost answer may have left a second, unsent draft
        of the same name, which must never be sent as well.
        """
        marker = f"({key})"
        params = {"limit": "100"}
        draft: dict[str, Any] | None = None
        for _ in range(_PAGES_SEARCHED):
            answer = self.http.json(self.http.request("GET", "/broadcasts", params=params))
            listing = answer.get("data") if isinstance(answer, dict) else None
            page = [b for b in listing if isinstance(b, dict)] if isinstance(listing, list) else []
            for broadcast in page:
                if not str(broadcast.get("name", "")).endswith(marker):
                    continue
                if broadcast.get("status") != "draft":
                    return broadcast
                draft = draft or broadcast
            if not page or not (isinstance(answer, dict) and answer.get("has_more") is True):
                break
            params = {"limit": "100", "after": str(page[-1].get("id", ""))}
        return draft

    def _status(self, broadcast_id: str) -> str | None:
        """The broadcast's status as Resend records it, or None when it cannot be read."""
        try:
            answer = self.http.json(self.http.request("GET", f"/broadcasts/{broadcast_id}"))
        except ProviderError:
            return None
        status = answer.get("status") if isinstance(answer, dict) else None
        return status if isinstance(status, str) else None


_PAGES_SEARCHED = 10
UNSUBSCRIBE_PLACEHOLDER = "{{{RESEND_UNSUBSCRIBE_URL}}}"
QUOTAS = {
    "daily_quota_exceeded": "daily",
    "monthly_quota_exceeded": "monthly",
}


def test_unsubscribe_link(sender: str) -> str:
    """What a test send's unsubscribe link points at instead of the placeholder.

    A test goes through `/emails`, which leaves `{{{RESEND_UNSUBSCRIBE_URL}}}` as literal
    text (Resend fills it in broadcasts only), and making a one-off audience just to
    test would create contacts in the author's account. A `mailto:` to the sender works
    when clicked and says plainly what it stands in for.
    """
    address = parseaddr(sender)[1]
    subject = quote("Unsubscribe (test send: the real email carries Resend's own link)")
    return f"mailto:{address}?subject={subject}"


def explain(status: int, body: Any) -> str | None:
    """Resend's refusals that do not mean what their status usually does."""
    name = body.get("name") if isinstance(body, dict) else None
    message = " ".join(str(body.get("message", "")).split()) if isinstance(body, dict) else ""
    said = f" ({name}: {message})" if message else ""
    if status == 429 and name in QUOTAS:
        return (
            f"Resend's {QUOTAS[name]} sending quota for this account is used up{said}, so "
            "nothing was sent; run again once it resets, or raise it under Settings, Usage "
            "in Resend's dashboard."
        )
    if status == 403 and name not in (None, "invalid_api_key", "restricted_api_key"):
        # A valid key, but a sender domain Resend has not verified (or a test account that
        # may only write to its owner).
        return (
            f"Resend refused the sender{said}: the key works, but the domain of "
            "[newsletter] from is not verified at Resend; verify it under Domains in "
            "Resend's dashboard (https://resend.com/domains), or set from to an address on "
            "a verified domain in newsletter.toml."
        )
    return None


def spent(body: Any) -> bool:
    """A 429 that names a used-up quota rather than the per-second rate."""
    return isinstance(body, dict) and body.get("name") in QUOTAS


def broadcast_name(subject: str, key: str) -> str:
    """The name shown in Resend's dashboard: readable, and carrying the send's key."""
    return f"{subject[:_NAME_LIMIT]} ({key})"


def _id(answer: Any) -> str:
    found = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(found, str) and found:
        return found
    raise ProviderError(
        "Resend accepted the request but its answer has no id; check base_url points at "
        "https://api.resend.com."
    )


PROVIDER = ProviderSpec(
    name="resend",
    credential_env="RESEND_API_KEY",
    options={**HTTP_OPTIONS, "audience_id": Option(checks.nonempty_string)},
    required=("audience_id",),
    api=Api(
        vendor="Resend",
        base_url="https://api.resend.com",
        auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
        idempotency_header="Idempotency-Key",
        # {"statusCode": 422, "name": "validation_error", "message": "..."}
        error_message=message_field("message"),
        explain=explain,
        spent=spent,
    ),
    destination=lambda setup: f"resend:{setup.option('audience_id')}",
    unsubscribe=placeholder(UNSUBSCRIBE_PLACEHOLDER),
    drafts=True,
    drafts_page="https://resend.com/broadcasts",
    build=lambda setup: ResendProvider(
        setup.traits(), setup.client(), audience_id=setup.option("audience_id")
    ),
)

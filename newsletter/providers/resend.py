"""Resend: a broadcast to an audience (segment), Bearer auth, created and then sent.

`POST /broadcasts` with `segment_id` creates it (a draft unless sent), `POST
/broadcasts/{id}/send` sends it; Resend fills `{{{RESEND_UNSUBSCRIBE_URL}}}` and manages
the unsubscribes. Broadcasts have no header field, so only Reply-To (its own field) is kept.
A test goes to one address through `POST /emails`, as Resend has no broadcast test endpoint.

Resend documents `Idempotency-Key` for `/emails`; we send it on the broadcast calls too, and
do not rely on it there: each broadcast is named after its key, and a send first looks for a
broadcast with that name, so a retried run sends the existing broadcast (or reports it sent)
instead of creating a second one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsletter import checks
from newsletter.errors import ProviderError
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
        self.http.request(
            "POST",
            f"/broadcasts/{broadcast_id}/send",
            json={},
            headers={"Idempotency-Key": step_key(idempotency_key, "send")},
        )
        return Receipt(provider="resend", message_id=broadcast_id, accepted=1)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        key = step_key(idempotency_key, "draft")
        broadcast_id = self._create(email, key=key, idempotency=key)
        return Receipt(provider="resend", message_id=broadcast_id, accepted=0, drafted=True)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        headers = dict(email.headers)
        reply_to = pop_header(headers, "Reply-To")
        body: dict[str, Any] = {
            "from": email.sender,
            "to": [address],
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
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
            "subject": email.subject,
            "name": broadcast_name(email.subject, key),
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
        """The broadcast an earlier, interrupted try of this send created, if any.

        Newest first, a page of 100 at a time (the spec's maximum), following `has_more`:
        the retry window is a day, so it is among the newest unless the account creates
        hundreds of broadcasts a day, which the page bound allows for.
        """
        marker = f"({key})"
        params = {"limit": "100"}
        for _ in range(_PAGES_SEARCHED):
            answer = self.http.json(self.http.request("GET", "/broadcasts", params=params))
            listing = answer.get("data") if isinstance(answer, dict) else None
            page = [b for b in listing if isinstance(b, dict)] if isinstance(listing, list) else []
            for broadcast in page:
                if str(broadcast.get("name", "")).endswith(marker):
                    return broadcast
            if not page or not (isinstance(answer, dict) and answer.get("has_more") is True):
                return None
            params = {"limit": "100", "after": str(page[-1].get("id", ""))}
        return None


_PAGES_SEARCHED = 10


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


SPEC = ProviderSpec(
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
    ),
    destination=lambda setup: f"resend:{setup.option('audience_id')}",
    unsubscribe=placeholder("{{{RESEND_UNSUBSCRIBE_URL}}}"),
    drafts=True,
    drafts_page="https://resend.com/broadcasts",
    build=lambda setup: ResendProvider(
        setup.traits(), setup.client(), audience_id=setup.option("audience_id")
    ),
)

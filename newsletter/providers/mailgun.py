"""Mailgun: multipart form data to `POST /v3/<domain>/messages`, Basic auth `api:<key>`.

Either one message to a Mailgun mailing list address (Mailgun fans it out), or the
subscribers file in batches of at most 1,000 `to` recipients with `recipient-variables`,
which makes Mailgun send each recipient their own copy instead of one email showing
everyone's address. Custom headers travel as `h:<Name>` fields.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsletter.errors import ConfigError
from newsletter.models import Email, Receipt
from newsletter.providers.base import Traits
from newsletter.providers.http import HttpClient
from newsletter.providers.subscribers import Subscriber, SubscribersFile

MAX_RECIPIENTS = 1000


class MailgunProvider:
    def __init__(
        self,
        traits: Traits,
        http: HttpClient,
        *,
        domain: str,
        list_address: str | None,
        subscribers_path: Path | None,
    ) -> None:
        self.traits = traits
        self.http = http
        self.domain = domain
        self.list_address = list_address
        self.subscribers = SubscribersFile(subscribers_path) if subscribers_path else None

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        if self.list_address:
            message_id = self._post(email, [("to", self.list_address)])
            return Receipt(provider="mailgun", message_id=message_id, accepted=1)
        assert self.subscribers is not None
        listing = self.subscribers.load()
        batches = [
            listing.subscribers[start : start + MAX_RECIPIENTS]
            for start in range(0, len(listing.subscribers), MAX_RECIPIENTS)
        ]
        ids = self.http.map_concurrently(
            lambda batch: self._post(email, _batch_fields(batch)), batches
        )
        return Receipt(
            provider="mailgun",
            message_id=ids[0] if ids else None,
            accepted=len(listing.subscribers),
            rejected=listing.skipped,
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        message_id = self._post(email, [("to", address)])
        return Receipt(provider="mailgun", message_id=message_id, accepted=1)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        raise ConfigError("Mailgun has no drafts; --draft works with Buttondown and Resend.")

    def close(self) -> None:
        self.http.close()

    def _post(self, email: Email, recipients: Sequence[tuple[str, str]]) -> str | None:
        fields = [
            ("from", email.sender),
            *recipients,
            ("subject", email.subject),
            ("text", email.text),
            ("html", email.html),
            *((f"h:{name}", value) for name, value in email.headers.items()),
        ]
        response = self.http.request("POST", f"/v3/{self.domain}/messages", form=fields)
        answer: Any = self.http.json(response)
        return answer.get("id") if isinstance(answer, dict) else None


def _batch_fields(batch: Sequence[Subscriber]) -> list[tuple[str, str]]:
    variables = {s.email: {"name": s.name} for s in batch}
    return [
        *(("to", s.to_header) for s in batch),
        ("recipient-variables", json.dumps(variables, ensure_ascii=False)),
    ]

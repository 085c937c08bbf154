"""Mailgun: multipart form data to `POST /v3/<domain>/messages`, Basic auth `api:<key>`.

Either one message to a Mailgun mailing list address (Mailgun fans it out), or the
subscribers file in batches of at most 1,000 `to` recipients with `recipient-variables`,
which makes Mailgun send each recipient their own copy instead of one email showing
everyone's address. Custom headers travel as `h:<Name>` fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter import checks
from newsletter.errors import ConfigError
from newsletter.models import Email, Receipt
from newsletter.providers.base import (
    HTTP_OPTIONS,
    SUBSCRIBERS,
    Api,
    Option,
    ProviderSpec,
    Setup,
    Traits,
    Unsubscribe,
    message_field,
)
from newsletter.providers.subscribers import Subscriber, SubscribersFile

if TYPE_CHECKING:
    from newsletter.providers.api import ApiClient

MAX_RECIPIENTS = 1000
REGIONS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}
_WAIT = re.compile(r"try again after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


class MailgunProvider:
    def __init__(
        self,
        traits: Traits,
        http: ApiClient,
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


def wait_hint(message: str) -> float | None:
    """Mailgun's 429 says "... try again after N seconds" in its message, not Retry-After."""
    found = _WAIT.search(message)
    return float(found.group(1)) if found else None


def _check(setup: Setup) -> None:
    options = setup.config.provider.options
    if options.get("list_address") and options.get("subscribers"):
        raise ConfigError(
            "The mailgun provider takes either provider.list_address (a Mailgun mailing "
            "list) or provider.subscribers (a CSV file), not both; remove one."
        )


def _destination(setup: Setup) -> str:
    list_address = setup.option("list_address")
    audience = parseaddr(list_address)[1] if list_address else "subscribers"
    return f"mailgun:{setup.option('domain')}:{audience}"


def _unsubscribe(setup: Setup) -> Unsubscribe:
    # With the domain's unsubscribe tracking on, Mailgun substitutes these variables and
    # adds List-Unsubscribe and List-Unsubscribe-Post itself.
    if setup.option("list_address"):
        return Unsubscribe(url="%mailing_list_unsubscribe_url%")
    return Unsubscribe(url="%unsubscribe_url%")


def _create(setup: Setup) -> MailgunProvider:
    list_address = setup.option("list_address")
    return MailgunProvider(
        setup.traits(),
        setup.client(),
        domain=setup.option("domain"),
        list_address=list_address,
        subscribers_path=None if list_address else setup.option("subscribers"),
    )


SPEC = ProviderSpec(
    name="mailgun",
    credential_env="MAILGUN_API_KEY",
    options={
        **HTTP_OPTIONS,
        "domain": Option(checks.nonempty_string),
        "list_address": Option(checks.mailbox),
        "subscribers": SUBSCRIBERS,
        "region": Option(checks.choice(*REGIONS)),
    },
    required=("domain",),
    check=_check,
    api=Api(
        vendor="Mailgun",
        base_url=REGIONS["us"],
        regions=REGIONS,
        basic_user="api",
        # {"message": "..."}, or the bare JSON string "Forbidden"
        error_message=message_field("message"),
        wait_hint=wait_hint,
    ),
    destination=_destination,
    unsubscribe=_unsubscribe,
    build=_create,
)

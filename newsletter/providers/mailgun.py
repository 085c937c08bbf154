"""Mailgun: multipart form data to `POST /v3/<domain>/messages`, Basic auth `api:<key>`.

Either one message to a Mailgun mailing list address (Mailgun fans it out), or the
subscribers file in batches of at most 1,000 `to` recipients with `recipient-variables`,
which makes Mailgun send each recipient their own copy instead of one email showing
everyone's address. Custom headers travel as `h:<Name>` fields.

Every request carries `v:` variables naming its send and its batch, which Mailgun returns
with each of its events: a batch left in doubt (a timeout, a 5xx, a killed run) is found
again among the `accepted` events of the minutes it was sent in (`look_up`), and the send
finished for the recipients it did not reach (docs/providers.md#settling-interrupted-sends).
No tag is used for this: an account has a limited number of tags and drops those past it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter import checks
from newsletter.errors import ConfigError, ProviderError, ProviderSetupError
from newsletter.headers import api_subject
from newsletter.ledger.progress import InDoubt
from newsletter.models import Email, Receipt
from newsletter.providers.base import (
    HTTP_OPTIONS,
    SUBSCRIBERS,
    Api,
    Finding,
    Journal,
    Option,
    ProviderSpec,
    Setup,
    Traits,
    Unrecorded,
    Unsubscribe,
    message_field,
    timely_finding,
)
from newsletter.providers.subscribers import Subscriber, SubscribersFile

if TYPE_CHECKING:
    from newsletter.providers.api import ApiClient

MAX_RECIPIENTS = 1000
MARK_SEND = "newsletter_send"
MARK_BATCH = "newsletter_batch"
EVENTS_PAGE = 300
EVENTS_PAGES = 200
"""Pages of events read at most for one batch (60,000 events of the account's, sent within
the batch's minutes); past that the look-up gives up rather than run on."""
EARLY = timedelta(minutes=1)
LATE = timedelta(minutes=15)
"""The events searched are those from a minute before a batch's request to fifteen minutes
after: Mailgun logs `accepted` when it takes the request, before it answers."""
SETTLING = timedelta(minutes=30)
"""Mailgun's events reach its store by several paths and can appear late, inserted among
events already listed; it advises trusting a page only once its events are older than a
threshold, giving half an hour as an example (Mailgun's "Event Polling" documentation)."""
RETENTION = timedelta(days=1)
"""Mailgun keeps events for a day on its free plan (longer on paid ones): past it, a missing
event proves nothing."""
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
        self.vendor = http.provider
        self.domain = domain
        self.list_address = list_address
        self.subscribers = SubscribersFile(subscribers_path) if subscribers_path else None

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        journal = Unrecorded(idempotency_key, datetime.now(UTC))
        return self.send_marked(email, idempotency_key=idempotency_key, journal=journal)

    def send_marked(self, email: Email, *, idempotency_key: str, journal: Journal) -> Receipt:
        served = journal.served
        if self.list_address:
            if self.fingerprint(self.list_address) in served:
                return Receipt(provider="mailgun", message_id=None, accepted=0)
            to = [("to", self.list_address)]
            message_id = self._marked(email, to, [self.list_address], idempotency_key, journal)
            return Receipt(provider="mailgun", message_id=message_id, accepted=1)
        assert self.subscribers is not None
        listing = self.subscribers.load()
        owed = [s for s in listing.subscribers if self.fingerprint(s.email) not in served]
        batches = [
            owed[start : start + MAX_RECIPIENTS] for start in range(0, len(owed), MAX_RECIPIENTS)
        ]
        ids = self.http.map_concurrently(
            lambda batch: self._marked(
                email, _batch_fields(batch), [s.email for s in batch], idempotency_key, journal
            ),
            batches,
        )
        return Receipt(
            provider="mailgun",
            message_id=ids[0] if ids else None,
            accepted=len(owed),
            rejected=listing.skipped,
        )

    def verify(self) -> tuple[str, ...]:
        """The domain's unsubscribe tracking must be on: only then does Mailgun replace
        `%unsubscribe_url%` (or `%mailing_list_unsubscribe_url%`) and add List-Unsubscribe."""
        response = self.http.request(
            "GET", f"/v3/domains/{self.domain}/tracking", allow=(401, 403, 404)
        )
        where = (
            f"Mailgun's dashboard: Sending, Domain settings, {self.domain}, Tracking, Unsubscribes"
        )
        if response.status_code in (401, 403):
            # A domain sending key may send but not read the domain's settings.
            return (
                f"Could not check that Mailgun's unsubscribe tracking is on for {self.domain} "
                f"(the key may not read domain settings): make sure it is ({where}), or "
                "readers get no working unsubscribe link.",
            )
        if response.status_code == 404:
            raise ProviderSetupError(
                f"Mailgun has no domain {self.domain!r} for this key in this region; check "
                "provider.domain and provider.region in newsletter.toml."
            )
        answer: Any = self.http.json(response)
        tracking = answer.get("tracking") if isinstance(answer, dict) else None
        unsubscribe = tracking.get("unsubscribe") if isinstance(tracking, dict) else None
        active = unsubscribe.get("active") if isinstance(unsubscribe, dict) else None
        if active is not True:
            variable = _unsubscribe_variable(bool(self.list_address))
            raise ProviderSetupError(
                f"Mailgun's unsubscribe tracking is off for {self.domain}, so {variable} "
                "would reach readers as text and Mailgun would add no List-Unsubscribe "
                f"headers; turn it on ({where}) and run again."
            )
        return ()

    def fingerprint(self, address: str) -> str:
        return self.http.fingerprint(address)

    def owed(self, served: frozenset[str]) -> int:
        if self.list_address:
            return 0 if self.fingerprint(self.list_address) in served else 1
        assert self.subscribers is not None
        listing = self.subscribers.load()
        return sum(1 for s in listing.subscribers if self.fingerprint(s.email) not in served)

    def look_up(self, batch: InDoubt, *, now: datetime) -> Finding:
        """The batch's `accepted` events, among those of the minutes it was sent in."""
        begin, end = batch.at - EARLY, batch.at + LATE
        url = f"/v3/{self.domain}/events"
        params: dict[str, str] | None = {
            "event": "accepted",
            "begin": str(int(begin.timestamp())),
            "end": str(int(end.timestamp())),
            "ascending": "yes",
            "limit": str(EVENTS_PAGE),
        }
        found: set[str] = set()
        for _ in range(EVENTS_PAGES):
            response = self.http.request("GET", url, params=params, allow=(401, 403))
            if response.status_code in (401, 403):
                # A domain sending key may send but not list the domain's events.
                raise ProviderError(
                    f"Mailgun refused to list {self.domain}'s events with HTTP "
                    f"{response.status_code}: the key in ${self.http.secret_env} may send but "
                    "not read events (a domain sending key cannot); to let newsletter settle "
                    "interrupted sends itself, use a Mailgun API key that may read events"
                )
            answer = self.http.json(response)
            items = answer.get("items") if isinstance(answer, dict) else None
            paging = answer.get("paging") if isinstance(answer, dict) else None
            if not isinstance(items, list) or not isinstance(paging, dict):
                raise ProviderError(
                    "Mailgun answered its events query with an unexpected body (no items and "
                    "paging); check base_url points at Mailgun's API."
                )
            if not items:
                break
            for item in items:
                found.update(self._reached(item, batch.batch))
            following = paging.get("next")
            if not isinstance(following, str) or not self.http.same_origin(following):
                raise ProviderError(
                    "Mailgun's events answer points its next page at another server; check "
                    "base_url, since the key is only ever sent to Mailgun's API."
                )
            url, params = following, None
        else:
            return Finding(
                frozenset(found),
                conclusive=False,
                reason=(
                    f"and the account logged more than {EVENTS_PAGE * EVENTS_PAGES} events "
                    "around it, more than newsletter reads"
                ),
            )
        return timely_finding(
            found,
            now=now,
            listed_by=end + SETTLING,
            too_soon="and Mailgun's events can take up to half an hour to be listed",
            kept_until=batch.at + RETENTION,
            too_old=(
                "and Mailgun may have deleted events that old (it keeps them a day on its "
                "free plan, up to 30 on others)"
            ),
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        message_id = self._post(email, [("to", address)])
        return Receipt(provider="mailgun", message_id=message_id, accepted=1)

    def close(self) -> None:
        self.http.close()

    def _marked(
        self,
        email: Email,
        recipients: Sequence[tuple[str, str]],
        addresses: Sequence[str],
        key: str,
        journal: Journal,
    ) -> str | None:
        """One request, journalled: in doubt before it is made, settled once answered."""
        fingerprints = [self.fingerprint(address) for address in addresses]
        batch = journal.posting(fingerprints)
        marks = [(f"v:{MARK_SEND}", key), (f"v:{MARK_BATCH}", batch)]
        try:
            message_id = self._post(email, [*recipients, *marks])
        except ProviderError as error:
            if not error.maybe_sent:
                journal.not_processed(batch)
            raise
        journal.answered(batch, fingerprints)
        return message_id

    def _reached(self, event: Any, batch: str) -> set[str]:
        """The recipient an `accepted` event of this batch was for (for a mailing list, the
        list itself: one event of the batch means Mailgun took the send)."""
        if not isinstance(event, dict) or event.get("event") != "accepted":
            return set()
        variables = event.get("user-variables")
        if not isinstance(variables, dict) or variables.get(MARK_BATCH) != batch:
            return set()
        if self.list_address:
            return {self.fingerprint(self.list_address)}
        recipient = event.get("recipient")
        return {self.fingerprint(recipient)} if isinstance(recipient, str) else set()

    def _post(self, email: Email, recipients: Sequence[tuple[str, str]]) -> str | None:
        fields = [
            ("from", email.sender),
            *recipients,
            ("subject", api_subject(email.subject)),
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
    # adds List-Unsubscribe and List-Unsubscribe-Post itself (checked by `verify`).
    return Unsubscribe(url=_unsubscribe_variable(bool(setup.option("list_address"))))


def _unsubscribe_variable(to_a_list: bool) -> str:
    return "%mailing_list_unsubscribe_url%" if to_a_list else "%unsubscribe_url%"


def _create(setup: Setup) -> MailgunProvider:
    list_address = setup.option("list_address")
    return MailgunProvider(
        setup.traits(),
        setup.client(),
        domain=setup.option("domain"),
        list_address=list_address,
        subscribers_path=None if list_address else setup.option("subscribers"),
    )


PROVIDER = ProviderSpec(
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
    settles=True,
    verifies=True,
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

"""Postmark: PascalCase JSON to `/email/batch`, at most 500 messages and 50 MB per request.

Postmark has no subscriber lists, so the subscribers file is cut into batches, one message
per subscriber, each on the configured broadcast `MessageStream` (Postmark then adds its own
RFC 8058 unsubscribe headers and fills `{{{ pm:unsubscribe }}}`). A batch answers 200 with
one result per message; each result's `ErrorCode` is read: 0 is accepted, 406 is a
suppressed (inactive) recipient, anything else a per-message failure. Both are reported as
rejections. The run fails only when nothing at all was accepted and at least one failure was
not a suppression: that points at the setup (sender signature, stream), not at the list, and
proves nothing went out.

A batch carries a full copy of the email in every message (a 40 kB digest to 10,000
subscribers is ~500 MB of JSON), so the fields every message shares are encoded once per
send and each batch body is spliced together as bytes around the recipients' `To` and the
batch's marks (`postmark_batches.py`). Each batch's fingerprints and `To`s are prepared by
the sending thread while the connections wait for Postmark's answers.

Every message carries `Metadata` naming its send and its batch, so that a batch left in
doubt (a timeout, a 5xx, a killed run) can be found again with Postmark's outbound message
search (`look_up`), and the send finished for the subscribers it did not reach
(docs/providers.md#settling-interrupted-sends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter import checks
from newsletter.errors import ProviderError, ProviderSetupError
from newsletter.headers import api_subject
from newsletter.ledger.progress import InDoubt, batch_id
from newsletter.message import pop_header
from newsletter.models import Email, Receipt, Rejection
from newsletter.providers.base import (
    HTTP_OPTIONS,
    SUBSCRIBERS,
    Api,
    Finding,
    Journal,
    Option,
    ProviderSpec,
    Traits,
    Unrecorded,
    message_field,
    placeholder,
    timely_finding,
)
from newsletter.providers.postmark_batches import (
    MARK_BATCH,
    encode_json,
    encode_text,
    iter_batches,
    marks,
    spliced_body,
)
from newsletter.providers.subscribers import Subscriber, SubscribersFile

if TYPE_CHECKING:
    from newsletter.providers.api import ApiClient

INACTIVE_RECIPIENT = 406
SEARCH_PAGE = 500
SEARCH_LIMIT = 10_000
"""The message search returns at most 500 messages a page, and no further than the
10,000th (count + offset)."""
SEARCH_LAG = timedelta(minutes=15)
"""Postmark documents no delay before an accepted message can be searched for; until this
long after a batch, a message missing from the search may simply not be listed yet."""
RETENTION = timedelta(days=7)
"""Postmark keeps messages 45 days by default, and an account can lower that to 7: a batch
older than this may be missing because its records were deleted."""


@dataclass(frozen=True)
class _Batch:
    subscribers: Sequence[Subscriber]
    fingerprints: list[str]
    tos: list[bytes]
    """Each subscriber's `To` as JSON."""


@dataclass
class _BatchOutcome:
    accepted: list[str] = field(default_factory=list)
    """Postmark's MessageID of each accepted message."""
    suppressed: list[Rejection] = field(default_factory=list)
    failed: list[Rejection] = field(default_factory=list)


class PostmarkProvider:
    def __init__(
        self, traits: Traits, http: ApiClient, *, message_stream: str, subscribers_path: Path
    ) -> None:
        self.traits = traits
        self.http = http
        self.vendor = http.provider
        self.message_stream = message_stream
        self.subscribers = SubscribersFile(subscribers_path)

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        journal = Unrecorded(idempotency_key, datetime.now(UTC))
        return self.send_marked(email, idempotency_key=idempotency_key, journal=journal)

    def send_marked(self, email: Email, *, idempotency_key: str, journal: Journal) -> Receipt:
        listing = self.subscribers.load()
        served = journal.served
        # A send that has reached nobody yet (nearly every send) owes the whole list; only
        # one resumed after an interruption needs every subscriber's fingerprint up front.
        owed: Sequence[Subscriber] = listing.subscribers
        if served:
            owed = [s for s in owed if self.fingerprint(s.email) not in served]
        shared = self._shared_fields(email)
        widest = marks(idempotency_key, batch_id(idempotency_key, datetime.now(UTC), 1))
        # Prepared by this thread while the connections' threads wait for Postmark's answers:
        # work done on theirs would delay each connection's next request.
        batches = (self._prepare(batch) for batch in iter_batches(shared, owed, marks=widest))
        outcomes = self.http.map_concurrently(
            lambda batch: self._send_batch(shared, batch, idempotency_key, journal), batches
        )
        accepted = [ok for outcome in outcomes for ok in outcome.accepted]
        suppressed = [r for outcome in outcomes for r in outcome.suppressed]
        failed = [r for outcome in outcomes for r in outcome.failed]
        if not accepted and failed:
            # Every message came back with its own refusal, so no subscriber got the email:
            # the posts need no `resolve`, fixing the setup and running again is enough.
            raise ProviderError(
                f"Postmark accepted none of the {len(owed)} messages; the first "
                f"refusal was {failed[0].reason.rstrip('.')}. Fix what it names and try again.",
                maybe_sent=False,
            )
        return Receipt(
            provider="postmark",
            message_id=accepted[0] if accepted else None,
            accepted=len(accepted),
            rejected=(*listing.skipped, *suppressed, *failed),
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        response = self.http.request("POST", "/email", json=self._message(email, address))
        answer: Any = self.http.json(response)
        code = answer.get("ErrorCode", 0) if isinstance(answer, dict) else 0
        if code:
            raise ProviderError(
                f"Postmark did not send the test email (ErrorCode {code}: "
                f"{answer.get('Message', '')}); fix what it names and try again."
            )
        message_id = answer.get("MessageID") if isinstance(answer, dict) else None
        return Receipt(provider="postmark", message_id=message_id, accepted=1)

    def close(self) -> None:
        self.http.close()

    def verify(self) -> tuple[str, ...]:
        """The configured stream must be a Broadcasts stream whose unsubscribes Postmark
        handles: only then does Postmark fill `{{{ pm:unsubscribe }}}` and add the RFC 8058
        headers, and only a Broadcasts stream may carry newsletters under its policy."""
        stream = self.message_stream
        response = self.http.request("GET", f"/message-streams/{stream}", allow=(404, 422))
        answer: Any = self.http.json(response)
        where = "Postmark's dashboard: your server, Message Streams"
        if response.status_code != 200 or not isinstance(answer, dict):
            raise ProviderSetupError(
                f"Postmark has no message stream {stream!r} on the server this token belongs "
                f"to; set provider.message_stream in newsletter.toml to the ID of a Broadcasts "
                f"stream ({where})."
            )
        kind = answer.get("MessageStreamType")
        if kind != "Broadcasts":
            raise ProviderSetupError(
                f"Postmark's message stream {stream!r} is a {kind} stream, which adds no "
                "unsubscribe link or List-Unsubscribe headers, and Postmark keeps newsletters "
                f"to Broadcasts streams; create one ({where}, Create message stream, "
                "Broadcasts) and set provider.message_stream to its ID in newsletter.toml."
            )
        management = answer.get("SubscriptionManagementConfiguration")
        handling = (
            management.get("UnsubscribeHandlingType") if isinstance(management, dict) else None
        )
        if handling not in (None, "Postmark"):
            raise ProviderSetupError(
                f"Postmark's message stream {stream!r} leaves unsubscribes to you (its "
                f"unsubscribe handling is {handling}), so Postmark would neither fill the "
                "email's unsubscribe link nor add List-Unsubscribe headers; set it back to "
                f"Postmark's own handling in the stream's settings ({where}, {stream}, "
                "Settings)."
            )
        return ()

    def fingerprint(self, address: str) -> str:
        return self.http.fingerprint(address)

    def owed(self, served: frozenset[str]) -> int:
        listing = self.subscribers.load()
        return sum(1 for s in listing.subscribers if self.fingerprint(s.email) not in served)

    def look_up(self, batch: InDoubt, *, now: datetime) -> Finding:
        """The batch's messages in Postmark's outbound message search, by their metadata."""
        found: set[str] = set()
        offset = 0
        while offset + SEARCH_PAGE <= SEARCH_LIMIT:
            params = {
                "count": str(SEARCH_PAGE),
                "offset": str(offset),
                f"metadata_{MARK_BATCH}": batch.batch,
            }
            answer = self.http.json(self.http.request("GET", "/messages/outbound", params=params))
            messages = answer.get("Messages") if isinstance(answer, dict) else None
            total = answer.get("TotalCount") if isinstance(answer, dict) else None
            if not isinstance(messages, list) or not isinstance(total, int):
                raise ProviderError(
                    "Postmark answered its message search with an unexpected body (no "
                    "TotalCount and Messages); check base_url points at "
                    "https://api.postmarkapp.com."
                )
            for message in messages:
                found.update(self.fingerprint(a) for a in _recipients(message, batch.batch))
            offset += len(messages)
            if not messages or offset >= total:
                break
        return timely_finding(
            found,
            now=now,
            listed_by=batch.at + SEARCH_LAG,
            too_soon="and Postmark may take a few minutes to list a message it accepted",
            kept_until=batch.at + RETENTION,
            too_old=(
                "and Postmark may have deleted records that old (it keeps them 7 to 365 "
                "days, as the account is set)"
            ),
        )

    def _prepare(self, batch: Sequence[Subscriber]) -> _Batch:
        return _Batch(
            batch,
            [self.fingerprint(subscriber.email) for subscriber in batch],
            [encode_text(subscriber.to_header) for subscriber in batch],
        )

    def _send_batch(
        self, shared: bytes, prepared: _Batch, key: str, journal: Journal
    ) -> _BatchOutcome:
        batch, fingerprints = prepared.subscribers, prepared.fingerprints
        batch_mark = journal.posting(fingerprints)
        body = spliced_body(shared, prepared.tos, marks=marks(key, batch_mark))
        try:
            response = self.http.request("POST", "/email/batch", content=body)
        except ProviderError as error:
            if not error.maybe_sent:
                journal.not_processed(batch_mark)
            raise
        answer: Any = self.http.json(response)
        if not isinstance(answer, list) or len(answer) != len(batch):
            raise ProviderError(
                "Postmark answered the batch with an unexpected body (not one result per "
                "message); check base_url points at https://api.postmarkapp.com."
            )
        outcome = _BatchOutcome()
        reached: list[str] = []
        for subscriber, mark, result in zip(batch, fingerprints, answer, strict=True):
            code = result.get("ErrorCode", 0) if isinstance(result, dict) else -1
            message = str(result.get("Message", "")) if isinstance(result, dict) else ""
            if code == 0:
                outcome.accepted.append(str(result.get("MessageID", "")))
                reached.append(mark)
            elif code == INACTIVE_RECIPIENT:
                reason = f"suppressed by Postmark (ErrorCode 406: {message})"
                outcome.suppressed.append(Rejection(subscriber.email, reason))
                reached.append(mark)  # Postmark will refuse it again: nothing owed
            else:
                reason = f"Postmark ErrorCode {code}: {message}"
                outcome.failed.append(Rejection(subscriber.email, reason))
        journal.answered(batch_mark, reached)
        return outcome

    def _message(self, email: Email, to: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "From": email.sender,
            "To": to,
            "Subject": api_subject(email.subject),
            "HtmlBody": email.html,
            "TextBody": email.text,
            "MessageStream": self.message_stream,
        }
        headers = dict(email.headers)
        reply_to = pop_header(headers, "Reply-To")
        if reply_to:
            message["ReplyTo"] = reply_to
        if headers:
            message["Headers"] = [{"Name": name, "Value": value} for name, value in headers.items()]
        return message

    def _shared_fields(self, email: Email) -> bytes:
        """Every field but `To`, encoded once: the members of a JSON object without its `{`."""
        shared = self._message(email, "")
        del shared["To"]
        return encode_json(shared)[1:]


def _recipients(message: Any, batch: str) -> list[str]:
    """The addresses of one message the search returned, if it belongs to the batch (the
    search was filtered by it; a proxy that ignored the filter must not count others)."""
    if not isinstance(message, dict):
        return []
    metadata = message.get("Metadata")
    if not isinstance(metadata, dict) or metadata.get(MARK_BATCH) != batch:
        return []
    listed = message.get("Recipients")
    if isinstance(listed, list):
        return [parseaddr(str(address))[1] for address in listed]
    to = message.get("To")
    if isinstance(to, list):
        return [str(entry.get("Email", "")) for entry in to if isinstance(entry, dict)]
    return []


PROVIDER = ProviderSpec(
    name="postmark",
    credential_env="POSTMARK_SERVER_TOKEN",
    options={
        **HTTP_OPTIONS,
        "message_stream": Option(checks.nonempty_string, default="broadcast"),
        "subscribers": SUBSCRIBERS,
    },
    api=Api(
        vendor="Postmark",
        base_url="https://api.postmarkapp.com",
        auth_headers=lambda secret: {
            "X-Postmark-Server-Token": secret,
            "Accept": "application/json",
        },
        # {"ErrorCode": 10, "Message": "..."}
        error_message=message_field("Message"),
    ),
    settles=True,
    verifies=True,
    destination=lambda setup: f"postmark:{setup.option('message_stream')}",
    # Broadcast streams get Postmark's own RFC 8058 headers, which cannot be overridden.
    unsubscribe=placeholder("{{{ pm:unsubscribe }}}"),
    build=lambda setup: PostmarkProvider(
        setup.traits(),
        setup.client(),
        message_stream=setup.option("message_stream"),
        subscribers_path=setup.option("subscribers"),
    ),
)

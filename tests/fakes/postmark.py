"""Postmark's email API as documented (postmarkapp.com/developer, the official postmark.js):
sending, single and in batches, and the outbound message search that finds what was sent."""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.server import FakeApi, Reply, Request

MAX_BATCH = 500
# "up to 500 messages and 50 MB" per /email/batch request; read as decimal megabytes, the
# stricter reading, so an adapter that passes here passes either way.
MAX_BATCH_BYTES = 50 * 1000 * 1000
MAX_RECIPIENTS = 50
MAX_SEARCH_COUNT = 500
MAX_SEARCH_DEPTH = 10_000
SEARCH_FILTERS = {
    "count",
    "offset",
    "recipient",
    "fromemail",
    "tag",
    "status",
    "todate",
    "fromdate",
    "subject",
    "messagestream",
}
MESSAGE_FIELDS = {
    "From",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Tag",
    "HtmlBody",
    "TextBody",
    "ReplyTo",
    "Headers",
    "TrackOpens",
    "TrackLinks",
    "Metadata",
    "Attachments",
    "MessageStream",
}


class PostmarkFake(FakeApi):
    def __init__(
        self,
        token: str,
        *,
        streams: tuple[str, ...] = ("outbound", "broadcast"),
        suppressed: tuple[str, ...] = (),
        unreachable: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.streams = set(streams)
        self.suppressed = {a.lower() for a in suppressed}
        self.unreachable = {a.lower() for a in unreachable}
        self.stream_types = {"outbound": "Transactional", "inbound": "Inbound"}
        """Each stream's MessageStreamType; any other stream is a Broadcasts stream."""
        self.unsubscribe_handling: dict[str, str] = {}
        """A stream's UnsubscribeHandlingType, where not Postmark's own (Broadcasts)."""
        """Addresses Postmark refuses one by one with an error other than 406."""
        self.sent: list[dict[str, Any]] = []
        self.outbound: list[dict[str, Any]] = []
        """What the message search lists, oldest first."""
        self.searchable = True
        """False: accepted messages do not reach the search until `index()`, as with a lag."""
        self.unindexed: list[dict[str, Any]] = []
        self.batch_sizes: list[int] = []
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        if request.header("x-postmark-server-token") != self.token:
            return Reply(
                401,
                {
                    "ErrorCode": 10,
                    "Message": "The Server Token you provided in the "
                    "X-Postmark-Server-Token request header was invalid.",
                },
            )
        if request.method == "GET" and "application/json" in (request.header("accept") or ""):
            if request.path == "/messages/outbound":
                return self._search(request.query)
            if request.path.startswith("/message-streams/"):
                return self._stream(request.path.removeprefix("/message-streams/"))
            return Reply(404, {"ErrorCode": 404, "Message": "Not found"})
        if request.content_type != "application/json" or "application/json" not in (
            request.header("accept") or ""
        ):
            return Reply(
                422,
                {
                    "ErrorCode": 409,
                    "Message": "JSON required: send Accept and "
                    "Content-Type headers of application/json.",
                },
            )
        try:
            body = request.json()
        except ValueError:
            return Reply(422, {"ErrorCode": 402, "Message": "Invalid JSON"})
        if request.method == "POST" and request.path == "/email":
            result = self._message(body)
            return Reply(200 if result["ErrorCode"] == 0 else 422, result)
        if request.method == "POST" and request.path == "/email/batch":
            if len(request.body) > MAX_BATCH_BYTES:
                # Postmark does not document the exact answer; a whole-request refusal.
                return Reply(
                    413,
                    {
                        "ErrorCode": 300,
                        "Message": f"Batch too large ({len(request.body)} bytes); "
                        "the limit is 50 MB.",
                    },
                )
            if not isinstance(body, list):
                return Reply(422, {"ErrorCode": 402, "Message": "Invalid JSON: expected an array"})
            if len(body) > MAX_BATCH:
                return Reply(
                    422,
                    {
                        "ErrorCode": 410,
                        "Message": "Too many batch messages "
                        f"({len(body)}); the limit is {MAX_BATCH}.",
                    },
                )
            answers = [self._message(message) for message in body]
            # Counted once every message is stored, so a test waiting on the count sees them all.
            self.batch_sizes.append(len(body))
            return Reply(200, answers)
        return Reply(404, {"ErrorCode": 404, "Message": "Not found"})

    def _message(self, message: Any) -> dict[str, Any]:
        problem = self._problem(message)
        if problem:
            return {"ErrorCode": problem[0], "Message": problem[1]}
        to = message["To"]
        address = to.rsplit("<", 1)[-1].rstrip(">").strip().lower()
        if address in self.suppressed:
            return {
                "ErrorCode": 406,
                "Message": f"You tried to send to recipient(s) that have "
                f"been marked as inactive. Found inactive addresses: {address}.",
            }
        if address in self.unreachable:
            return {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{address}'."}
        self.sent.append(message)
        message_id = f"0a129aee-e1cd-480d-b08d-{next(self._ids):012d}"
        summary = _summary(message, message_id, address)
        (self.outbound if self.searchable else self.unindexed).append(summary)
        return {
            "To": to,
            "SubmittedAt": "2026-01-05T09:00:00Z",
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }

    def _stream(self, stream: str) -> Reply:
        """GET /message-streams/{id}: the stream's type and who handles its unsubscribes."""
        if stream not in self.streams:
            return Reply(
                422,
                {"ErrorCode": 1226, "Message": f"The message stream '{stream}' was not found."},
            )
        kind = self.stream_types.get(stream, "Broadcasts")
        handling = self.unsubscribe_handling.get(
            stream, "Postmark" if kind == "Broadcasts" else "None"
        )
        return Reply(
            200,
            {
                "ID": stream,
                "ServerID": 123456,
                "Name": stream.title(),
                "Description": None,
                "MessageStreamType": kind,
                "CreatedAt": "2026-01-01T00:00:00-05:00",
                "UpdatedAt": None,
                "ArchivedAt": None,
                "ExpectedPurgeDate": None,
                "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": handling},
            },
        )

    def index(self) -> None:
        """The search catches up with what was accepted."""
        with self._lock:
            self.outbound += self.unindexed
            self.unindexed = []
            self.searchable = True

    def _search(self, query: dict[str, list[str]]) -> Reply:
        """GET /messages/outbound: `count` (1-500) and `offset` required, count + offset at
        most 10,000, one metadata_ filter at most, newest first."""
        if any(len(values) != 1 for values in query.values()):
            return _invalid("each query parameter may be given once")
        params = {name: values[0] for name, values in query.items()}
        unknown = sorted(
            name
            for name in params
            if name not in SEARCH_FILTERS and not name.startswith("metadata_")
        )
        if unknown:
            return _invalid(f"unknown query parameter {unknown[0]!r}")
        try:
            count, offset = int(params["count"]), int(params["offset"])
        except KeyError:
            return _invalid("count and offset are required")
        except ValueError:
            return _invalid("count and offset must be whole numbers")
        if not 1 <= count <= MAX_SEARCH_COUNT or offset < 0 or count + offset > MAX_SEARCH_DEPTH:
            return _invalid("count must be 1 to 500, and count + offset at most 10,000")
        metadata = {
            k.removeprefix("metadata_"): v for k, v in params.items() if k.startswith("metadata_")
        }
        if len(metadata) > 1:
            return _invalid("only one metadata field can be searched at a time")
        if "status" in params and params["status"] not in ("queued", "sent", "processed"):
            return _invalid("status must be queued, sent or processed")
        matches = [
            m
            for m in reversed(self.outbound)
            if all(m["Metadata"].get(name) == value for name, value in metadata.items())
            and params.get("recipient", "").lower() in ("", *m["Recipients"])
            and params.get("messagestream", m["MessageStream"]) == m["MessageStream"]
        ]
        return Reply(
            200, {"TotalCount": len(matches), "Messages": matches[offset : offset + count]}
        )

    def _problem(self, message: Any) -> tuple[int, str] | None:
        if not isinstance(message, dict):
            return 402, "Invalid JSON: each message must be an object"
        unknown = sorted(set(message) - MESSAGE_FIELDS)
        if unknown:
            return 402, f"Invalid JSON: unknown field {unknown[0]}"
        for required in ("From", "To", "Subject"):
            if not message.get(required):
                return 300, f"Invalid email request: {required} is required"
        if not (message.get("HtmlBody") or message.get("TextBody")):
            return 300, "Provide either email TextBody or HtmlBody or both."
        if len(str(message["To"]).split(",")) > MAX_RECIPIENTS:
            return 300, "Maximum of 50 recipients per message"
        stream = message.get("MessageStream", "outbound")
        if stream not in self.streams:
            return 1235, f"The message stream for the provided 'ID' ({stream}) was not found."
        headers = message.get("Headers", [])
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and set(h) == {"Name", "Value"} for h in headers
        ):
            return 300, "Invalid 'Headers' value: expected a list of {Name, Value}"
        metadata = message.get("Metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            return 300, "Invalid 'Metadata' value: expected an object of string values"
        if len({name.lower() for name in metadata}) != len(metadata):
            return 300, "Invalid 'Metadata' value: a field name appears twice"
        return None


def _summary(message: dict[str, Any], message_id: str, address: str) -> dict[str, Any]:
    """A sent message as the search lists it (no bodies: those are in /details)."""
    name = message["To"].rsplit("<", 1)[0].strip().strip('"') if "<" in message["To"] else ""
    return {
        "Tag": message.get("Tag", ""),
        "MessageID": message_id,
        "MessageStream": message.get("MessageStream", "outbound"),
        "To": [{"Email": address, "Name": name or None}],
        "Cc": [],
        "Bcc": [],
        "Recipients": [address],
        "ReceivedAt": "2026-01-05T04:00:00-05:00",
        "From": message["From"],
        "Subject": message["Subject"],
        "Attachments": [],
        "Status": "Sent",
        "TrackOpens": False,
        "TrackLinks": "None",
        "Metadata": dict(message.get("Metadata", {})),
        "Sandboxed": False,
    }


def _invalid(problem: str) -> Reply:
    return Reply(422, {"ErrorCode": 300, "Message": f"Invalid search request: {problem}."})

"""Mailgun's messages and events APIs as documented (Mailgun OpenAPI 3.0.0: POST
/v3/{domain}/messages, GET /v3/{domain_name}/events; documentation.mailgun.com's events
pages for the filters, the time range and the paging)."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from tests.fakes.server import FakeApi, Reply, Request

MAX_RECIPIENTS = 1000
MAX_EVENTS_LIMIT = 300
EVENT_FILTERS = {
    "event",
    "list",
    "attachment",
    "from",
    "message-id",
    "subject",
    "to",
    "size",
    "recipient",
    "recipients",
    "tags",
    "severity",
}
EVENT_QUERY = {"begin", "end", "ascending", "limit", *EVENT_FILTERS}


class MailgunFake(FakeApi):
    def __init__(
        self,
        api_key: str,
        domain: str,
        *,
        lists: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.domain = domain
        self.lists = lists or {}
        """Mailing list addresses and their members, whom Mailgun sends a list's message to."""
        self.messages: list[list[tuple[str, str]]] = []
        self.unsubscribe_tracking = True
        """The domain's unsubscribe tracking (Mailgun fills %unsubscribe_url% only when on)."""
        self.events: list[dict[str, Any]] = []
        """What the events API lists, oldest first."""
        self.clock: Callable[[], float] = time.time
        """When an event happens (seconds since the epoch)."""
        self.listed = True
        """False: new events are held back (`catch_up()` lists them), as Mailgun's lag."""
        self.held: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def catch_up(self) -> None:
        with self._lock:
            self.events += self.held
            self.events.sort(key=lambda event: event["timestamp"])
            self.held = []
            self.listed = True

    def handle(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.header("authorization") != expected:
            return Reply(401, "Forbidden")
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[:2] == ["v3", "domains"]:
            return self._tracking(parts[2:])
        if request.method == "GET" and len(parts) in (3, 4) and parts[0] == "v3":
            if parts[2] != "events":
                return Reply(404, {"message": "Not Found"})
            if parts[1] != self.domain:
                return Reply(404, {"message": f"Domain not found: {parts[1]}"})
            if len(parts) == 4:
                return self._page(parts[3])
            return self._events(request.query)
        if (
            request.method != "POST"
            or len(parts) != 3
            or parts[0] != "v3"
            or parts[2] != "messages"
        ):
            return Reply(404, {"message": "Not Found"})
        if parts[1] != self.domain:
            return Reply(404, {"message": f"Domain not found: {parts[1]}"})
        if request.content_type != "multipart/form-data":
            return Reply(400, {"message": "Content-Type must be multipart/form-data"})
        fields = request.form()
        values: dict[str, list[str]] = {}
        for name, value in fields:
            values.setdefault(name, []).append(value)
        for required in ("from", "to", "subject"):
            if not any(v.strip() for v in values.get(required, [])):
                return Reply(400, {"message": f"{required} parameter is missing"})
        if not any(values.get(body) for body in ("text", "html", "amp-html", "template")):
            return Reply(
                400,
                {
                    "message": "Need at least one of 'text', 'html', 'amp-html' or "
                    "'template' parameters specified"
                },
            )
        recipients = [a.strip() for to in values["to"] for a in _split(to) if a.strip()]
        if len(recipients) > MAX_RECIPIENTS:
            return Reply(400, {"message": "Too many recipients: the maximum is 1000 per message"})
        if "recipient-variables" in values:
            try:
                variables = json.loads(values["recipient-variables"][0])
            except ValueError:
                return Reply(400, {"message": "recipient-variables parameter is not a valid JSON"})
            if not isinstance(variables, dict):
                return Reply(400, {"message": "recipient-variables parameter is not a valid JSON"})
        options = sum(len(n) + len(v) for n, v in fields if n[:2] in ("o:", "h:", "v:", "t:"))
        if options > 16 * 1024:
            return Reply(
                400,
                {
                    "message": "Send options (parameters starting with o:, h:, or v:) "
                    "are limited to 16KB total"
                },
            )
        self.messages.append(fields)
        message_id = f"2026{next(self._ids):06d}.1@{self.domain}"
        self._accepted(values, recipients, message_id)
        return Reply(200, {"id": f"<{message_id}>", "message": "Queued. Thank you."})

    def _accepted(
        self, values: dict[str, list[str]], recipients: list[str], message_id: str
    ) -> None:
        """One `accepted` event per recipient (a list's message: per member of the list)."""
        variables = {name[2:]: value[0] for name, value in values.items() if name.startswith("v:")}
        addresses = [address for _, address in getaddresses(recipients)]
        for address in addresses:
            for recipient in self.lists.get(address.lower(), [address]):
                event = {
                    "event": "accepted",
                    "id": f"ev-{next(self._ids):08d}",
                    "timestamp": self.clock(),
                    "log-level": "info",
                    "method": "http",
                    "recipient": recipient,
                    "recipient-domain": recipient.rsplit("@", 1)[-1],
                    "tags": values.get("o:tag", []),
                    "user-variables": dict(variables),
                    "flags": {"is-authenticated": True, "is-test-mode": False},
                    "envelope": {"sender": values["from"][0], "targets": recipient},
                    "message": {
                        "headers": {
                            "to": ", ".join(values["to"]),
                            "message-id": message_id,
                            "from": values["from"][0],
                            "subject": values["subject"][0],
                        },
                        "attachments": [],
                        "size": 1024,
                    },
                }
                (self.events if self.listed else self.held).append(event)

    def _tracking(self, rest: list[str]) -> Reply:
        """GET /v3/domains/{name}/tracking: whether open, click and unsubscribe tracking are
        active for the domain."""
        if len(rest) != 2 or rest[1] != "tracking":
            return Reply(404, {"message": "Not Found"})
        if rest[0] != self.domain:
            return Reply(404, {"message": "Domain not found"})
        return Reply(
            200,
            {
                "tracking": {
                    "open": {"active": False},
                    "click": {"active": False},
                    "unsubscribe": {
                        "active": self.unsubscribe_tracking,
                        "html_footer": "",
                        "text_footer": "",
                    },
                    "web_scheme": "https",
                }
            },
        )

    def _events(self, query: dict[str, list[str]]) -> Reply:
        """GET /v3/{domain}/events: the first page of what the query selects."""
        if any(len(values) != 1 for values in query.values()):
            return _bad("each parameter may be given once")
        params = {name: values[0] for name, values in query.items()}
        unknown = sorted(set(params) - EVENT_QUERY)
        if unknown:
            return _bad(f"'{unknown[0]}' is not a valid parameter")
        try:
            begin = _moment(params["begin"]) if "begin" in params else None
            end = _moment(params["end"]) if "end" in params else None
        except ValueError:
            return _bad("begin and end must be epoch seconds or RFC 2822 dates")
        ascending = params.get("ascending")
        if ascending not in (None, "yes", "no"):
            return _bad("ascending must be yes or no")
        if end is None and ascending is None:
            return _bad("ascending is required when the range has no end")
        limit_text = params.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_EVENTS_LIMIT:
            return _bad("limit must be between 1 and 300")
        filters = {name: value for name, value in params.items() if name in EVENT_FILTERS}
        token = base64.urlsafe_b64encode(
            json.dumps(
                {
                    "begin": begin,
                    "end": end,
                    "ascending": ascending == "yes",
                    "limit": int(limit_text),
                    "filters": filters,
                    "position": 0,
                }
            ).encode()
        ).decode()
        return self._page(token)

    def _page(self, token: str) -> Reply:
        """One page of a query; the token carries the query and where the page starts."""
        try:
            query = json.loads(base64.urlsafe_b64decode(token.encode()))
        except ValueError:
            return Reply(404, {"message": "Not Found"})
        selected = [
            event
            for event in self.events
            if (query["begin"] is None or event["timestamp"] >= query["begin"])
            and (query["end"] is None or event["timestamp"] < query["end"])
            and all(_matches(event, name, value) for name, value in query["filters"].items())
        ]
        if not query["ascending"]:
            selected.reverse()
        start = query["position"]
        items = selected[start : start + query["limit"]]
        base = f"{self.url}/v3/{self.domain}/events/"

        def at(position: int) -> str:
            moved = {**query, "position": max(0, position)}
            return base + base64.urlsafe_b64encode(json.dumps(moved).encode()).decode()

        paging = {
            "first": at(0),
            "last": at(max(0, len(selected) - query["limit"])),
            "next": at(start + len(items)),
            "previous": at(start - query["limit"]),
        }
        return Reply(200, {"items": items, "paging": paging})


def _split(to: str) -> list[str]:
    """Mailgun's `to` holds one or more comma-separated addresses (names may be quoted)."""
    out, current, quoted = [], "", False
    for char in to:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            out.append(current)
            current = ""
        else:
            current += char
    out.append(current)
    return out


def _moment(text: str) -> float:
    """Epoch seconds, or an RFC 2822 date, as the events API takes both."""
    try:
        return float(text)
    except ValueError:
        moment = parsedate_to_datetime(text)
        if moment.tzinfo is None:
            raise ValueError(text) from None
        return moment.timestamp()


def _matches(event: dict[str, Any], name: str, expression: str) -> bool:
    """A filter's expression: one value, or several joined by OR (all the adapter needs)."""
    wanted = {part.strip().strip('"') for part in expression.split(" OR ")}
    if name == "event":
        return event["event"] in wanted
    if name == "recipient":
        return event.get("recipient", "").lower() in {w.lower() for w in wanted}
    if name == "tags":
        return bool(wanted & set(event.get("tags", [])))
    if name == "message-id":
        return event["message"]["headers"]["message-id"] in wanted
    return False


def _bad(problem: str) -> Reply:
    return Reply(400, {"message": f"Invalid request: {problem}"})

"""Resend's broadcast and email API as documented (resend-openapi v1.5.0, resend-python)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.server import FakeApi, Reply, Request

BROADCAST_FIELDS = {
    "name",
    "segment_id",
    "audience_id",
    "from",
    "subject",
    "reply_to",
    "preview_text",
    "html",
    "text",
    "topic_id",
    "send",
    "scheduled_at",
}
EMAIL_FIELDS = {
    "from",
    "to",
    "subject",
    "bcc",
    "cc",
    "reply_to",
    "html",
    "text",
    "template",
    "headers",
    "scheduled_at",
    "attachments",
    "tags",
    "topic_id",
}
_SEND = re.compile(r"^/broadcasts/([^/]+)/send$")
_ONE = re.compile(r"^/broadcasts/([^/]+)$")


class ResendFake(FakeApi):
    def __init__(
        self,
        api_key: str,
        segments: tuple[str, ...] = (),
        *,
        verified_domains: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.segments = set(segments)
        self.verified_domains = verified_domains
        """None: every sender domain is verified."""
        self.broadcasts: dict[str, dict[str, Any]] = {}
        self.emails: list[dict[str, Any]] = []
        self._email_replays: dict[str, tuple[Any, Reply]] = {}
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        authorization = request.header("authorization")
        if not authorization:
            return _error(401, "missing_api_key", "Missing API key in the authorization header")
        if authorization != f"Bearer {self.api_key}":
            return _error(403, "invalid_api_key", "API key is invalid")
        if request.method == "GET" and request.path == "/broadcasts":
            return self._list(request)
        one = _ONE.match(request.path)
        if request.method == "GET" and one:
            found = self.broadcasts.get(one.group(1))
            return Reply(200, found) if found else _error(404, "not_found", "Broadcast not found")
        if request.method != "POST":
            return _error(405, "method_not_allowed", "Method not allowed")
        if request.content_type != "application/json":
            return _error(400, "validation_error", "Content-Type must be application/json")
        body = request.json()
        if request.path == "/broadcasts":
            return self._create_broadcast(body)
        match = _SEND.match(request.path)
        if match:
            problem = _check(body, {"scheduled_at"}, ())
            return problem or self._send_broadcast(match.group(1))
        if request.path == "/emails":
            return self._send_email(body, request.header("idempotency-key"))
        return _error(404, "not_found", "The requested endpoint does not exist.")

    def _list(self, request: Request) -> Reply:
        """GET /broadcasts as the spec pages it: newest first, `limit` 1-100, `after` cursor."""
        limit_text = request.query.get("limit", ["20"])[0]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            return _error(422, "validation_error", "limit must be between 1 and 100")
        listing = sorted(self.broadcasts.values(), key=lambda b: b["created_at"], reverse=True)
        after = request.query.get("after", [None])[0]
        if after is not None:
            ids = [b["id"] for b in listing]
            if after not in ids:
                return _error(422, "validation_error", "after is not a broadcast id")
            listing = listing[ids.index(after) + 1 :]
        page = listing[: int(limit_text)]
        return Reply(
            200,
            {
                "object": "list",
                "has_more": len(listing) > len(page),
                "data": [
                    {k: b[k] for k in ("id", "name", "segment_id", "status", "created_at")}
                    for b in page
                ],
            },
        )

    def _create_broadcast(self, body: Any) -> Reply:
        # CreateBroadcastOptions: `segment_id` is required (`audience_id` is deprecated).
        problem = _check(body, BROADCAST_FIELDS, ("from", "subject", "segment_id"))
        if problem:
            return problem
        for name in ("name", "from", "subject", "preview_text", "html", "text", "segment_id"):
            if name in body and not isinstance(body[name], str):
                return _error(422, "validation_error", f"`{name}` must be a string.")
        reply_to = body.get("reply_to", [])
        if not isinstance(reply_to, list) or not all(isinstance(a, str) for a in reply_to):
            return _error(422, "validation_error", "`reply_to` must be an array of strings.")
        unverified = self._unverified(body["from"])
        if unverified:
            return unverified
        segment = body["segment_id"]
        if segment not in self.segments:
            return _error(404, "not_found", "Segment not found")
        broadcast_id = f"bc-{next(self._ids):08d}"
        self.broadcasts[broadcast_id] = {
            **body,
            "id": broadcast_id,
            "segment_id": segment,
            "status": "draft",
            "created_at": broadcast_id,
        }
        return Reply(201, {"id": broadcast_id, "object": "broadcast"})

    def _send_broadcast(self, broadcast_id: str) -> Reply:
        broadcast = self.broadcasts.get(broadcast_id)
        if broadcast is None:
            return _error(404, "not_found", "Broadcast not found")
        if broadcast["status"] != "draft":
            return _error(422, "validation_error", "This broadcast has already been sent.")
        broadcast["status"] = "queued"
        return Reply(200, {"id": broadcast_id})

    def _send_email(self, body: Any, key: str | None) -> Reply:
        if key is not None:
            if len(key) > 256:
                return _error(400, "invalid_idempotency_key", "Idempotency key is too long.")
            if key in self._email_replays:
                payload, reply = self._email_replays[key]
                if payload != body:
                    return _error(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload.",
                    )
                return reply
        problem = _check(body, EMAIL_FIELDS, ("from", "to", "subject"))
        if problem:
            return problem
        unverified = self._unverified(body["from"])
        if unverified:
            return unverified
        to = body["to"] if isinstance(body["to"], list) else [body["to"]]
        if len(to) > 50:
            return _error(422, "validation_error", "The `to` field must have at most 50 items.")
        self.emails.append(body)
        reply = Reply(200, {"id": f"em-{next(self._ids):08d}"})
        if key is not None:
            self._email_replays[key] = (body, reply)
        return reply

    def _unverified(self, sender: Any) -> Reply | None:
        """Resend's answer to a sender on a domain it has not verified: a 403 that is not
        about the key."""
        domain = str(sender).rsplit("@", 1)[-1].rstrip(">").strip().lower()
        if self.verified_domains is None or domain in self.verified_domains:
            return None
        return _error(
            403,
            "validation_error",
            f"The {domain} domain is not verified. Please, add and verify your domain on "
            "https://resend.com/domains",
        )


def _check(body: Any, allowed: set[str], required: tuple[str, ...]) -> Reply | None:
    if not isinstance(body, dict):
        return _error(422, "validation_error", "The request body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        return _error(422, "validation_error", f"Unknown field `{unknown[0]}`.")
    for field in required:
        if not body.get(field):
            return _error(422, "missing_required_field", f"Missing `{field}` field.")
    return None


def _error(status: int, name: str, message: str) -> Reply:
    return Reply(status, {"statusCode": status, "name": name, "message": message})

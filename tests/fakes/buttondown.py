"""Buttondown's email API as documented (docs.buttondown.com, openapi.json, API 2026-04-01)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.server import FakeApi, Reply, Request

EMAIL_INPUT_FIELDS = {
    "attachments",
    "publish_date",
    "subject",
    "slug",
    "description",
    "canonical_url",
    "image",
    "body",
    "archival_mode",
    "email_type",
    "status",
    "metadata",
    "secondary_id",
    "filters",
    "template",
    "commenting_mode",
    "related_email_ids",
    "featured",
    "should_trigger_pay_per_email_billing",
}
STATUSES = {"draft", "about_to_send", "scheduled", "managed_by_rss", "imported", "transactional"}
SEND_DRAFT_FIELDS = {"subscribers", "recipients"}
_SEND_DRAFT = re.compile(r"^/v1/emails/([^/]+)/send-draft$")


class ButtondownFake(FakeApi):
    def __init__(self, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.emails: dict[str, dict[str, Any]] = {}
        self.draft_sends: list[tuple[str, list[str]]] = []
        self._replays: dict[str, Reply] = {}
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        if request.header("authorization") != f"Token {self.api_key}":
            return Reply(401, {"code": "authentication_invalid", "detail": "Invalid token."})
        key = request.header("x-idempotency-key")
        if key is not None:
            if not 0 < len(key) <= 200:
                return Reply(
                    400,
                    {
                        "code": "idempotency_key_invalid",
                        "detail": "Idempotency keys must be 1 to 200 characters.",
                    },
                )
            if key in self._replays:
                return self._replays[key]
        reply = self._route(request)
        if key is not None and reply.status < 500:
            self._replays[key] = reply
        return reply

    def _route(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == "/v1/emails":
            return self._create(request)
        match = _SEND_DRAFT.match(request.path)
        if request.method == "POST" and match:
            return self._send_draft(match.group(1), request)
        return Reply(404, {"detail": "Not found."})

    def _create(self, request: Request) -> Reply:
        body = _json_object(request)
        if isinstance(body, Reply):
            return body
        extra = sorted(set(body) - EMAIL_INPUT_FIELDS)
        if extra:
            return _validation(extra[0], "extra_forbidden", "Extra inputs are not permitted")
        if not isinstance(body.get("subject"), str):
            return _validation("subject", "missing", "Field required")
        if len(body["subject"]) > 2000:
            return _validation(
                "subject", "string_too_long", "String should have at most 2000 characters"
            )
        status = body.get("status", "about_to_send")
        if status not in STATUSES:
            return Reply(400, {"code": "status_invalid", "detail": f"Invalid status {status}."})
        version = request.header("x-api-version") or "2026-04-01"
        if (
            status == "about_to_send"
            and version >= "2026-04-01"
            and request.header("x-buttondown-live-dangerously") != "true"
        ):
            return Reply(
                400,
                {
                    "code": "sending_requires_confirmation",
                    "detail": "Sending an email through the API requires the "
                    "X-Buttondown-Live-Dangerously header.",
                },
            )
        if body.get("body", "").lstrip().startswith("---"):
            return Reply(
                400,
                {
                    "code": "body_contains_frontmatter",
                    "detail": "The body appears to contain front matter.",
                },
            )
        email_id = f"em_{next(self._ids):026d}"
        email = {
            "id": email_id,
            "subject": body["subject"],
            "body": body.get("body", ""),
            "status": "sent" if status == "about_to_send" else status,
            "description": body.get("description", ""),
            "creation_date": "2026-01-05T09:00:00Z",
        }
        self.emails[email_id] = email
        return Reply(201, email)

    def _send_draft(self, email_id: str, request: Request) -> Reply:
        email = self.emails.get(email_id)
        if email is None:
            return Reply(404, {"detail": "Not found."})
        body = _json_object(request)
        if isinstance(body, Reply):
            return body
        extra = sorted(set(body) - SEND_DRAFT_FIELDS)
        if extra:
            return _validation(extra[0], "extra_forbidden", "Extra inputs are not permitted")
        recipients = body.get("recipients") or []
        if not recipients and not body.get("subscribers"):
            return Reply(400, {"detail": "Provide recipients or subscribers."})
        self.draft_sends.append((email_id, list(recipients)))
        return Reply(200, None)


def _json_object(request: Request) -> dict[str, Any] | Reply:
    if request.content_type != "application/json":
        return Reply(415, {"detail": "Unsupported media type; send application/json."})
    try:
        body = request.json()
    except ValueError:
        return Reply(400, {"detail": "JSON parse error."})
    if not isinstance(body, dict):
        return _validation("payload", "model_attributes_type", "Input should be an object")
    return body


def _validation(field: str, kind: str, message: str) -> Reply:
    return Reply(
        422, {"detail": [{"type": kind, "loc": ["body", "payload", field], "msg": message}]}
    )

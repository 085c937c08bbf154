"""Mailgun's messages API as documented (Mailgun OpenAPI 3.0.0, POST /v3/{domain}/messages)."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from tests.fakes.server import FakeApi, Reply, Request

MAX_RECIPIENTS = 1000


class MailgunFake(FakeApi):
    def __init__(self, api_key: str, domain: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.domain = domain
        self.messages: list[list[tuple[str, str]]] = []
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.header("authorization") != expected:
            return Reply(401, "Forbidden")
        parts = request.path.strip("/").split("/")
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
        return Reply(
            200,
            {"id": f"<2026{next(self._ids):06d}.1@{self.domain}>", "message": "Queued. Thank you."},
        )


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

"""Buttondown: the list lives at Buttondown, so a send is one email object it mails to all.

Documented contract (docs.buttondown.com, openapi.json): `POST /v1/emails` with
`Authorization: Token <key>`; `status` is `about_to_send` (the API's default, which sends!)
or `draft`; creating `about_to_send` on API version 2026-04-01+ needs the
`X-Buttondown-Live-Dangerously` header; `X-Idempotency-Key` replays the original answer; a
test goes out as a draft plus `POST /v1/emails/{id}/send-draft {"recipients": [...]}`.
The API has no sender, reply-to or header fields: those are the newsletter's own settings
at Buttondown, which also adds List-Unsubscribe on every real send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsletter.errors import ProviderError, ProviderSetupError
from newsletter.headers import api_subject
from newsletter.models import Email, Receipt
from newsletter.providers.base import HTTP_OPTIONS, Api, ProviderSpec, Traits, placeholder
from newsletter.providers.idempotency import step_key

if TYPE_CHECKING:
    from newsletter.providers.api import ApiClient

API_VERSION = "2026-04-01"
# The body is our finished HTML; the comment stops Buttondown guessing it is Markdown.
HTML_MODE = "<!-- buttondown-editor-mode: fancy -->\n"


class ButtondownProvider:
    def __init__(self, traits: Traits, http: ApiClient) -> None:
        self.traits = traits
        self.http = http

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        created = self._create(
            email,
            status="about_to_send",
            idempotency_key=idempotency_key,
            extra_headers={"X-Buttondown-Live-Dangerously": "true"},
        )
        return Receipt(provider="buttondown", message_id=_email_id(created), accepted=1)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        created = self._create(
            email, status="draft", idempotency_key=step_key(idempotency_key, "draft")
        )
        return Receipt(
            provider="buttondown", message_id=_email_id(created), accepted=0, drafted=True
        )

    def send_test(self, email: Email, *, address: str) -> Receipt:
        draft_id = _email_id(self._create(email, status="draft", idempotency_key=None))
        self.http.request(
            "POST", f"/v1/emails/{draft_id}/send-draft", json={"recipients": [address]}
        )
        return Receipt(provider="buttondown", message_id=draft_id, accepted=1)

    def close(self) -> None:
        self.http.close()

    def _create(
        self,
        email: Email,
        *,
        status: str,
        idempotency_key: str | None,
        extra_headers: dict[str, str] | None = None,
    ) -> Any:
        if not email.subject.strip():
            raise ProviderSetupError("Buttondown needs a subject; check newsletter.subject.")
        headers = dict(extra_headers or {})
        if idempotency_key:
            headers["X-Idempotency-Key"] = idempotency_key
        body = {
            "subject": api_subject(email.subject),
            "body": HTML_MODE + email.html,
            "status": status,
        }
        if email.preheader:
            body["description"] = email.preheader
        response = self.http.request("POST", "/v1/emails", json=body, headers=headers)
        return self.http.json(response)


def _email_id(created: Any) -> str:
    email_id = created.get("id") if isinstance(created, dict) else None
    if isinstance(email_id, str) and email_id:
        return email_id
    raise ProviderError(
        "Buttondown accepted the request but its answer has no email id; check base_url "
        "points at https://api.buttondown.com."
    )


def error_message(body: Any) -> str:
    """Buttondown answers `{"detail": "..."}`, or for a 422 a list of `{loc, msg}` items."""
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        return "; ".join(_validation_item(item) for item in detail)
    return detail if isinstance(detail, str) else ""


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []) if part not in ("body", "payload"))
    message = str(item.get("msg", ""))
    return f"{where}: {message}" if where else message


PROVIDER = ProviderSpec(
    name="buttondown",
    credential_env="BUTTONDOWN_API_KEY",
    options=HTTP_OPTIONS,
    api=Api(
        vendor="Buttondown",
        base_url="https://api.buttondown.com",
        auth_headers=lambda secret: {
            "Authorization": f"Token {secret}",
            "X-API-Version": API_VERSION,
        },
        idempotency_header="X-Idempotency-Key",
        error_message=error_message,
        # Buttondown's spec names its server https://api.buttondown.com/v1.
        path_prefix="/v1",
    ),
    destination=lambda setup: "buttondown",
    # Buttondown adds List-Unsubscribe itself on every real send.
    unsubscribe=placeholder("{{ unsubscribe_url }}"),
    drafts=True,
    drafts_page="https://buttondown.com/emails",
    build=lambda setup: ButtondownProvider(setup.traits(), setup.client()),
)

"""One contract, every HTTP provider: the same scenarios through each adapter, on
`httpx.MockTransport` stand-ins that answer in the vendor's documented shapes.

Success; a refused key (401); a rejected email (422); a rate limit, then success; a failure
that may have been processed (repeated only under an idempotency key, otherwise reported as
maybe sent after exactly one request); and the key never in any error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter.errors import ProviderError
from newsletter.providers import PROVIDER_NAMES, create, spec_for
from newsletter.providers.base import Drafts, Provider
from tests.fakes.helpers import (
    SECRET,
    SleepRecorder,
    provider_config,
    sample_email,
    write_subscribers,
)

Answer = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class Vendor:
    name: str
    options: dict[str, Any]
    ok: Answer
    """The vendor's success answer to each request of a send."""
    error: Callable[[int, str], Any]
    """The vendor's error body for a status and a message."""
    idempotency_header: str | None = None

    @property
    def variable(self) -> str:
        variable = spec_for(self.name).credential_env
        assert variable is not None
        return variable


def buttondown_ok(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == f"Token {SECRET}"
    assert (request.method, request.url.path) == ("POST", "/v1/emails")
    return httpx.Response(201, json={"id": "em_1", "status": json.loads(request.content)["status"]})


def mailgun_ok(request: httpx.Request) -> httpx.Response:
    token = base64.b64encode(f"api:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {token}"
    assert (request.method, request.url.path) == ("POST", "/v3/mg.example.org/messages")
    assert request.headers["content-type"].startswith("multipart/form-data")
    return httpx.Response(200, json={"id": "<1@mg.example.org>", "message": "Queued. Thank you."})


def postmark_ok(request: httpx.Request) -> httpx.Response:
    assert request.headers["x-postmark-server-token"] == SECRET
    assert (request.method, request.url.path) == ("POST", "/email/batch")
    messages = json.loads(request.content)
    return httpx.Response(
        200,
        json=[
            {"To": m["To"], "MessageID": f"id-{i}", "ErrorCode": 0, "Message": "OK"}
            for i, m in enumerate(messages)
        ],
    )


def resend_ok(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    if request.method == "GET" and request.url.path == "/broadcasts":
        return httpx.Response(200, json={"object": "list", "has_more": False, "data": []})
    if request.method == "POST" and request.url.path == "/broadcasts":
        return httpx.Response(201, json={"id": "b_1"})
    assert (request.method, request.url.path) == ("POST", "/broadcasts/b_1/send")
    return httpx.Response(200, json={"id": "b_1"})


VENDORS = [
    Vendor(
        "buttondown",
        {},
        buttondown_ok,
        lambda status, message: {"code": "error", "detail": message},
        idempotency_header="X-Idempotency-Key",
    ),
    Vendor(
        "mailgun",
        {"domain": "mg.example.org"},
        mailgun_ok,
        lambda status, message: {"message": message},
    ),
    Vendor(
        "postmark",
        {},
        postmark_ok,
        lambda status, message: {"ErrorCode": 300, "Message": message},
    ),
    Vendor(
        "resend",
        {"audience_id": "aud-1"},
        resend_ok,
        lambda status, message: {"statusCode": status, "name": "error", "message": message},
        idempotency_header="Idempotency-Key",
    ),
]


@pytest.fixture(params=VENDORS, ids=lambda vendor: vendor.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param  # type: ignore[no-any-return]


class Script:
    """Answers like the vendor, except that the first POST gets `first` (a reply, or an
    exception to raise) and any further POSTs `then`."""

    def __init__(self, vendor: Vendor, first: Answer, then: Answer | None = None) -> None:
        self.vendor = vendor
        self.first = first
        self.then = then or vendor.ok
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "POST":
            return self.vendor.ok(request)
        return (self.first if len(self.posts) == 1 else self.then)(request)

    @property
    def posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def adapter(tmp_path: Path, vendor: Vendor, script: Script, sleep: SleepRecorder) -> Provider:
    options = dict(vendor.options)
    if "subscribers" in spec_for(vendor.name).options:
        options["subscribers"] = str(write_subscribers(tmp_path, ["ada@example.net"]))
    return create(
        provider_config(tmp_path, vendor.name, **options),
        {vendor.variable: SECRET},
        transport=httpx.MockTransport(script),
        sleep=sleep,
    )


def send(tmp_path: Path, vendor: Vendor, script: Script, sleep: SleepRecorder | None = None) -> Any:
    provider = adapter(tmp_path, vendor, script, sleep or SleepRecorder())
    try:
        return provider.send(sample_email(), idempotency_key="newsletter-k1")
    finally:
        provider.close()


def reply(vendor: Vendor, status: int, message: str, **headers: str) -> Answer:
    return lambda request: httpx.Response(
        status, json=vendor.error(status, message), headers=headers
    )


def failure(kind: type[httpx.TransportError]) -> Answer:
    def raise_it(request: httpx.Request) -> httpx.Response:
        raise kind("scripted", request=request)

    return raise_it


def test_success(tmp_path: Path, vendor: Vendor) -> None:
    script = Script(vendor, vendor.ok)
    receipt = send(tmp_path, vendor, script)
    assert receipt.provider == vendor.name
    assert receipt.accepted >= 1
    assert receipt.message_id


def test_a_refused_key_names_the_variable_never_the_key(tmp_path: Path, vendor: Vendor) -> None:
    script = Script(vendor, reply(vendor, 401, f"The key {SECRET} is not valid"))
    with pytest.raises(ProviderError) as caught:
        send(tmp_path, vendor, script)
    message = caught.value.message
    assert f"${vendor.variable}" in message
    assert "is not valid" in message  # the vendor's own words, quoted
    assert SECRET not in message
    assert caught.value.maybe_sent is False
    assert len(script.posts) == 1


def test_a_rejected_email_quotes_the_vendor(tmp_path: Path, vendor: Vendor) -> None:
    script = Script(vendor, reply(vendor, 422, "The From address is not verified"))
    with pytest.raises(ProviderError, match="The From address is not verified") as caught:
        send(tmp_path, vendor, script)
    assert caught.value.maybe_sent is False
    assert len(script.posts) == 1


def test_a_rate_limit_is_waited_out_then_sent(tmp_path: Path, vendor: Vendor) -> None:
    script = Script(vendor, reply(vendor, 429, "Too many requests", **{"Retry-After": "3"}))
    sleep = SleepRecorder()
    receipt = send(tmp_path, vendor, script, sleep)
    assert receipt.accepted >= 1
    assert sleep.pauses == [3.0]
    assert len(script.posts) == len({r.url.path for r in script.posts}) + 1


@pytest.mark.parametrize(
    "ambiguous",
    [
        pytest.param(failure(httpx.ReadTimeout), id="read-timeout"),
        pytest.param(failure(httpx.RemoteProtocolError), id="dropped-mid-answer"),
        pytest.param(None, id="503"),
    ],
)
def test_a_failure_that_may_have_been_processed(
    tmp_path: Path, vendor: Vendor, ambiguous: Answer | None
) -> None:
    script = Script(vendor, ambiguous or reply(vendor, 503, "Service unavailable"))
    sleep = SleepRecorder()
    if vendor.idempotency_header is None:
        with pytest.raises(ProviderError) as caught:
            send(tmp_path, vendor, script, sleep)
        assert caught.value.maybe_sent is True
        assert "newsletter resolve" in caught.value.message
        assert len(script.posts) == 1  # never a second copy to the same subscribers
        assert sleep.pauses == []
        return
    receipt = send(tmp_path, vendor, script, sleep)
    assert receipt.accepted >= 1
    first, again = script.posts[0], script.posts[1]
    assert first.url == again.url
    assert first.headers[vendor.idempotency_header] == again.headers[vendor.idempotency_header]
    assert len(sleep.pauses) == 1


def test_an_unending_failure_is_reported_as_maybe_sent(tmp_path: Path, vendor: Vendor) -> None:
    script = Script(vendor, failure(httpx.ReadTimeout), then=failure(httpx.ReadTimeout))
    with pytest.raises(ProviderError, match="did not answer in time") as caught:
        send(tmp_path, vendor, script)
    assert caught.value.maybe_sent is True
    assert len(script.posts) == (4 if vendor.idempotency_header else 1)


def test_the_key_echoed_in_any_error_is_redacted(tmp_path: Path, vendor: Vendor) -> None:
    api = spec_for(vendor.name).api
    assert api is not None
    # The key as written, and as it travels: Mailgun's Basic auth sends it in Base64.
    forms = [SECRET]
    if api.basic_user is not None:
        forms.append(base64.b64encode(f"{api.basic_user}:{SECRET}".encode()).decode())
    echo = " / ".join(forms)
    for status in (400, 401, 404, 422, 500, 503):
        script = Script(
            vendor,
            reply(vendor, status, f"bad credentials: {echo}"),
            then=reply(vendor, status, f"still {echo}"),
        )
        with pytest.raises(ProviderError) as caught:
            send(tmp_path, vendor, script)
        for form in forms:
            assert form not in caught.value.message
        assert caught.value.message.count("[redacted]") == len(forms)


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_a_spec_promises_drafts_exactly_when_its_adapter_keeps_them(
    tmp_path: Path, name: str
) -> None:
    options: dict[str, Any] = {
        "smtp": {"host": "mail.example.org"},
        "mailgun": {"domain": "mg.example.org"},
        "resend": {"audience_id": "aud-1"},
    }.get(name, {})
    spec = spec_for(name)
    environ = {spec.credential_env: SECRET} if spec.credential_env and spec.api else {}
    provider = create(provider_config(tmp_path, name, **options), environ)
    assert isinstance(provider, Drafts) is spec.drafts is provider.traits.drafts
    assert provider.traits.idempotent is spec.idempotent
    provider.close()


def test_a_subject_holding_an_encoded_word_is_never_decoded_by_a_mail_app(
    tmp_path: Path, vendor: Vendor
) -> None:
    # The provider writes the Subject header itself; a look-alike sent as it is would be
    # decoded by the reader's mail app into "Hello", a line break and a fake Reply-To.
    subject = "=?utf-8?q?Hello=0D=0AReply-To=3A_attacker=40evil.example?="
    script = Script(vendor, vendor.ok)
    provider = adapter(tmp_path, vendor, script, SleepRecorder())
    try:
        provider.send(sample_email(subject=subject), idempotency_key="newsletter-k1")
    finally:
        provider.close()
    bodies = [request.content.decode("utf-8") for request in script.posts]
    carrying = [body for body in bodies if "Reply-To=3A_attacker" in body]
    assert carrying, "the subject's characters still go out"
    for body in carrying:
        assert "=?utf-8?q?" not in body
        assert "=\u200b?utf-8?q?" in body or "=\\u200b?utf-8?q?" in body

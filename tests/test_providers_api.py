"""The API client every HTTP provider shares: what is retried, how long it waits, what the
author is told, and how many batches went out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from newsletter.errors import ProviderError
from newsletter.http import RetryPolicy, retry_after
from newsletter.providers import buttondown, mailgun, postmark, resend
from newsletter.providers.api import ApiClient
from newsletter.providers.base import Api
from tests.fakes.helpers import SECRET, SleepRecorder
from tests.fakes.server import FakeApi, Reply, Request


class EchoApi(FakeApi):
    """Answers 200 with the request count; scripted failures come first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.in_flight = 0
        self.most_in_flight = 0
        self._count = threading.Lock()

    def handle(self, request: Request) -> Reply:
        return Reply(200, {"seen": len(self.requests)})


class SlowCountingApi(EchoApi):
    def _answer(self, request: Request) -> Reply:
        with self._count:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.02)
            return super()._answer(request)
        finally:
            with self._count:
                self.in_flight -= 1


@pytest.fixture
def api() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


def acme_message(body: Any) -> str:
    """Acme answers in Buttondown's shapes, or Mailgun's for a rate limit."""
    return buttondown.error_message(body) or mailgun.PROVIDER.api.error_message(body)  # type: ignore[union-attr]


ACME = Api(
    vendor="Acme",
    base_url="https://api.acme.example",
    auth_headers=lambda secret: {"Authorization": f"Token {secret}"},
    error_message=acme_message,
    idempotency_header="Acme-Key",
    wait_hint=mailgun.wait_hint,
)


def client(url: str, sleep: SleepRecorder, **kwargs: Any) -> ApiClient:
    options: dict[str, Any] = {"timeout": 30.0, "concurrency": 4, **kwargs}
    return ApiClient(
        ACME,
        secret=SECRET,
        secret_env="ACME_KEY",
        base_url=url,
        user_agent="tests",
        sleep=sleep,
        **options,
    )


def test_5xx_is_retried_with_growing_capped_backoff(api: EchoApi) -> None:
    api.fail_next(503, {"message": "busy"}, times=3)
    sleep = SleepRecorder()
    http = client(api.url, sleep, retry=RetryPolicy(attempts=4, base_delay=1, max_delay=2.5))
    assert http.request("GET", "/x").json() == {"seen": 4}
    assert len(sleep.pauses) == 3
    first, second, third = sleep.pauses
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 1.25 <= third <= 2.5  # capped at max_delay, jitter keeps at least half


def test_429_waits_exactly_as_retry_after_says(api: EchoApi) -> None:
    api.fail_next(429, {"detail": "slow down"}, {"Retry-After": "7"})
    sleep = SleepRecorder()
    client(api.url, sleep).request("POST", "/x", json={})
    assert sleep.pauses == [7.0]


def test_mailgun_try_again_after_message_is_honoured(api: EchoApi) -> None:
    api.fail_next(
        429,
        {
            "message": "Domain example.com is not allowed to send: "
            "account-requests-per-sec limit exceeded, try again after 12 seconds"
        },
    )
    sleep = SleepRecorder()
    client(api.url, sleep).request("POST", "/x")
    assert sleep.pauses == [12.0]


def test_a_very_long_retry_after_fails_now_instead_of_hanging(api: EchoApi) -> None:
    api.fail_next(429, {"detail": "quota"}, {"Retry-After": "86400"})
    sleep = SleepRecorder()
    with pytest.raises(ProviderError, match="86400 seconds"):
        client(api.url, sleep).request("POST", "/x")
    assert sleep.pauses == []
    assert len(api.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_is_never_retried(api: EchoApi, status: int) -> None:
    api.fail_next(status, {"message": "nope"}, times=2)
    sleep = SleepRecorder()
    with pytest.raises(ProviderError):
        client(api.url, sleep).request("POST", "/x")
    assert len(api.requests) == 1
    assert sleep.pauses == []


def test_gives_up_after_the_configured_attempts(api: EchoApi) -> None:
    api.fail_next(502, b"<html>Bad gateway</html>", times=5)
    sleep = SleepRecorder()
    with pytest.raises(ProviderError, match=r"Gave up after 3 attempts: Acme answered HTTP 502"):
        client(api.url, sleep, retry=RetryPolicy(attempts=3)).request("GET", "/x")
    assert len(api.requests) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_names_the_variable_and_never_the_key(api: EchoApi, status: int) -> None:
    api.fail_next(status, {"detail": f"Token {SECRET} is not valid"})
    with pytest.raises(ProviderError) as caught:
        client(api.url, SleepRecorder()).request("POST", "/x")
    message = str(caught.value)
    assert "$ACME_KEY" in message
    assert SECRET not in message
    assert "[redacted]" in message


def test_validation_errors_quote_the_providers_own_message(api: EchoApi) -> None:
    api.fail_next(
        422,
        {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "payload", "colour"],
                    "msg": "Extra inputs are not permitted",
                }
            ]
        },
    )
    with pytest.raises(ProviderError, match="colour: Extra inputs are not permitted"):
        client(api.url, SleepRecorder()).request("POST", "/x")


def test_basic_auth_token_echoed_back_is_redacted_too(api: EchoApi) -> None:
    import base64

    token = base64.b64encode(f"api:{SECRET}".encode()).decode()
    api.fail_next(400, {"message": f"bad header Basic {token}"})
    assert mailgun.PROVIDER.api is not None
    http = ApiClient(
        mailgun.PROVIDER.api,
        base_url=api.url,
        secret=SECRET,
        secret_env="MAILGUN_API_KEY",
        timeout=30.0,
        concurrency=1,
        user_agent="tests",
        sleep=SleepRecorder(),
    )
    with pytest.raises(ProviderError) as caught:
        http.request("POST", "/x")
    assert token not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_connection_refused_is_retried_then_reported() -> None:
    with EchoApi() as closed:
        url = closed.url
    sleep = SleepRecorder()
    with pytest.raises(ProviderError, match="cannot reach Acme"):
        client(url, sleep, retry=RetryPolicy(attempts=2)).request("GET", "/x")
    assert len(sleep.pauses) == 1


def test_a_timeout_is_retried() -> None:
    with EchoApi(latency=0.5) as slow:
        sleep = SleepRecorder()
        with pytest.raises(ProviderError, match="did not answer in time"):
            client(slow.url, sleep, timeout=0.05, retry=RetryPolicy(attempts=2)).request(
                "GET", "/x"
            )
        assert len(sleep.pauses) == 1


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(response) == 0.0  # a moment in the past means "now"
    assert retry_after(httpx.Response(503)) is None


def vendor_message(spec_api: Api | None, response: httpx.Response) -> str:
    assert spec_api is not None
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return spec_api.error_message(body)


def test_each_vendor_reads_its_own_error_bodies() -> None:
    assert (
        vendor_message(mailgun.PROVIDER.api, httpx.Response(401, json="Forbidden")) == "Forbidden"
    )
    assert (
        vendor_message(mailgun.PROVIDER.api, httpx.Response(400, json={"message": "to is missing"}))
        == "to is missing"
    )
    assert (
        vendor_message(
            postmark.PROVIDER.api, httpx.Response(422, json={"ErrorCode": 300, "Message": "Bad To"})
        )
        == "Bad To"
    )
    assert (
        vendor_message(
            resend.PROVIDER.api,
            httpx.Response(
                422, json={"statusCode": 422, "name": "validation_error", "message": "Invalid from"}
            ),
        )
        == "Invalid from"
    )
    assert (
        vendor_message(
            buttondown.PROVIDER.api, httpx.Response(401, json={"detail": "Invalid token."})
        )
        == "Invalid token."
    )
    # A proxy's or load balancer's page in front of the API is quoted as text.
    assert vendor_message(postmark.PROVIDER.api, httpx.Response(502, text="Bad gateway")) == (
        "Bad gateway"
    )


def test_the_quoted_message_is_one_line() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="plain\ntext")

    http = client(
        "https://api.acme.example", SleepRecorder(), transport=httpx.MockTransport(answer)
    )
    with pytest.raises(ProviderError, match="HTTP 400: plain text;"):
        http.request("POST", "/x")


def test_batches_share_a_bounded_pool() -> None:
    with SlowCountingApi() as api:
        http = client(api.url, SleepRecorder(), concurrency=3)
        results = http.map_concurrently(
            lambda n: http.request("GET", f"/{n}").status_code, range(12)
        )
        assert results == [200] * 12
        assert api.most_in_flight <= 3
        assert api.most_in_flight >= 2  # really concurrent, not one after another


def test_a_failed_batch_says_how_much_had_gone_out(api: EchoApi) -> None:
    http = client(api.url, SleepRecorder(), concurrency=1)

    def work(n: int) -> int:
        if n == 2:
            raise ProviderError("Acme rejected the email.")
        return n

    with pytest.raises(ProviderError, match="2 of 4 batches had been sent"):
        http.map_concurrently(work, range(4))


def test_the_first_batch_goes_out_before_the_last_is_prepared(api: EchoApi) -> None:
    """Batches come from a generator: the first request must not wait for all of them."""
    http = client(api.url, SleepRecorder(), concurrency=2)
    first_sent = threading.Event()

    def batches() -> Iterator[int]:
        yield from (0, 1, 2)
        # Prepared only once batch 0 was sent; a consumer that read every batch before
        # starting any would wait here for ever (bounded, so the test fails instead).
        assert first_sent.wait(timeout=10), "no batch left before the last was prepared"
        yield 3

    def work(n: int) -> int:
        status = http.request("GET", f"/{n}").status_code
        if n == 0:
            first_sent.set()
        return status

    assert http.map_concurrently(work, batches()) == [200] * 4


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_failed_batch_counts_the_batches_never_started(api: EchoApi, concurrency: int) -> None:
    http = client(api.url, SleepRecorder(), concurrency=concurrency)
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            raise ProviderError("Acme rejected the email.", maybe_sent=True)
        time.sleep(0.05)
        return n

    with pytest.raises(ProviderError, match=r"\d of 6 batches had been sent"):
        http.map_concurrently(work, (n for n in range(6)))
    if concurrency == 1:
        assert started == [0]


def test_a_single_batch_fails_with_its_own_words(api: EchoApi) -> None:
    http = client(api.url, SleepRecorder(), concurrency=4)

    def work(n: int) -> int:
        raise ProviderError("Acme rejected the email.", maybe_sent=True)

    with pytest.raises(ProviderError) as raised:
        http.map_concurrently(work, (n for n in range(1)))
    assert raised.value.message == "Acme rejected the email."


# --- whether the email may have gone out (decides if posts stay `pending`) ----------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_refusal_of_the_first_try_proves_nothing_went_out(api: EchoApi, status: int) -> None:
    api.fail_next(status, {"message": "no"})
    with pytest.raises(ProviderError) as caught:
        client(api.url, SleepRecorder()).request("POST", "/x")
    assert caught.value.maybe_sent is False


def test_server_errors_may_have_been_processed(api: EchoApi) -> None:
    api.fail_next(500, {"message": "oops"}, times=5)
    with pytest.raises(ProviderError) as caught:
        client(api.url, SleepRecorder(), retry=RetryPolicy(attempts=2)).request("POST", "/x")
    assert caught.value.maybe_sent is True


def test_a_refusal_after_a_server_error_is_still_uncertain(api: EchoApi) -> None:
    api.fail_next(503, {"message": "busy"})
    api.fail_next(422, {"message": "duplicate"})
    with pytest.raises(ProviderError) as caught:
        client(api.url, SleepRecorder()).request("POST", "/x")
    assert caught.value.maybe_sent is True


def test_rate_limits_alone_prove_nothing_was_processed(api: EchoApi) -> None:
    api.fail_next(429, {"message": "slow down"}, times=5, headers={"Retry-After": "0"})
    with pytest.raises(ProviderError) as caught:
        client(api.url, SleepRecorder(), retry=RetryPolicy(attempts=2)).request("POST", "/x")
    assert caught.value.maybe_sent is False


def test_no_connection_at_all_proves_nothing_went_out() -> None:
    with EchoApi() as closed:
        url = closed.url
    with pytest.raises(ProviderError) as caught:
        client(url, SleepRecorder(), retry=RetryPolicy(attempts=2)).request("GET", "/x")
    assert caught.value.maybe_sent is False


def test_a_timeout_after_connecting_may_have_been_processed() -> None:
    with EchoApi(latency=0.5) as slow:
        http = client(slow.url, SleepRecorder(), timeout=0.05, retry=RetryPolicy(attempts=1))
        with pytest.raises(ProviderError) as caught:
            http.request("POST", "/x")
    assert caught.value.maybe_sent is True


# --- the retry rule: repeat only what cannot have been processed, or is safe to repeat ------


def test_a_server_error_on_a_post_without_a_key_is_not_repeated(api: EchoApi) -> None:
    api.fail_next(503, {"message": "busy"})
    sleep = SleepRecorder()
    with pytest.raises(ProviderError, match="may have accepted the email") as caught:
        client(api.url, sleep).request("POST", "/x", json={})
    assert caught.value.maybe_sent is True
    assert len(api.requests) == 1
    assert sleep.pauses == []
    assert "newsletter resolve" in caught.value.message


def test_a_server_error_on_a_keyed_post_is_repeated_with_the_same_key(api: EchoApi) -> None:
    api.fail_next(503, {"message": "busy"}, times=2)
    response = client(api.url, SleepRecorder()).request(
        "POST", "/x", json={}, headers={"acme-key": "k-1"}
    )
    assert response.json() == {"seen": 3}
    assert [r.header("acme-key") for r in api.requests] == ["k-1"] * 3


def test_a_timeout_of_a_post_without_a_key_is_not_repeated() -> None:
    with EchoApi(latency=0.5) as slow:
        sleep = SleepRecorder()
        http = client(slow.url, sleep, timeout=0.05)
        with pytest.raises(ProviderError, match="did not answer in time") as caught:
            http.request("POST", "/x", json={})
        assert len(slow.requests) == 1
    assert caught.value.maybe_sent is True
    assert sleep.pauses == []


def test_a_refused_connection_is_repeated_even_for_a_post() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"ok": True})

    http = client(
        "https://api.acme.example", SleepRecorder(), transport=httpx.MockTransport(answer)
    )
    assert http.request("POST", "/x", json={}).json() == {"ok": True}
    assert calls == ["POST", "POST"]


def test_a_connection_dropped_mid_answer_is_not_repeated_for_a_post() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    http = client(
        "https://api.acme.example", SleepRecorder(), transport=httpx.MockTransport(answer)
    )
    with pytest.raises(
        ProviderError, match=r"connection to Acme broke before its answer \(RemoteProtocolError\)"
    ) as caught:
        http.request("POST", "/x", json={})
    assert caught.value.maybe_sent is True
    assert calls == ["POST"]

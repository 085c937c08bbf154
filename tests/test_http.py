"""The one HTTP layer: the retry rule, the backoff and its jitter, Retry-After, the deadline."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from newsletter.http import (
    GaveUp,
    Redactor,
    RetryPolicy,
    make_client,
    retry_after,
    send_with_retries,
)
from tests.fakes.helpers import SECRET, SleepRecorder


class Lowest:
    """A jitter source that always picks the bottom of the range."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Highest:
    def uniform(self, a: float, b: float) -> float:
        return b


def scripted(*steps: int | type[httpx.TransportError]) -> tuple[httpx.Client, list[str]]:
    """A client whose transport answers each request with the next status, or raises the next
    transport error; the last step repeats."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        step = steps[min(len(seen), len(steps) - 1)]
        seen.append(request.method)
        if isinstance(step, int):
            return httpx.Response(step, json={})
        raise step("scripted failure", request=request)

    return make_client(timeout=5, transport=httpx.MockTransport(answer)), seen


def call(
    client: httpx.Client,
    *,
    method: str = "POST",
    repeatable: bool = False,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    jitter: random.Random | Lowest | Highest | None = None,
) -> httpx.Response:
    return send_with_retries(
        lambda: client.request(method, "https://api.example/x"),
        policy=policy or RetryPolicy(),
        repeatable=repeatable,
        deadline=5,
        sleep=sleep or SleepRecorder(),
        jitter=jitter or Lowest(),
    ).response


# --- backoff and jitter -----------------------------------------------------------------------


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, Highest()) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    # "Equal jitter": never less than half the step.
    assert [policy.backoff(n, Lowest()) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_seeded_jitter_gives_the_same_pauses_and_another_seed_other_pauses() -> None:
    def pauses(seed: int) -> list[float]:
        client, _ = scripted(503)
        sleep = SleepRecorder()
        with pytest.raises(GaveUp):
            call(client, repeatable=True, sleep=sleep, jitter=random.Random(seed))
        return sleep.pauses

    first = pauses(7)
    assert first == pauses(7)
    assert first != pauses(8)
    assert len(first) == 3  # four attempts, three pauses between them
    for attempt, pause in enumerate(first, start=1):
        step = 0.5 * 2 ** (attempt - 1)
        assert step / 2 <= pause <= step
    # The pauses really come from the source handed over, not from the global generator.
    expected = random.Random(7)
    assert first == [RetryPolicy().backoff(n, expected) for n in (1, 2, 3)]


# --- Retry-After ------------------------------------------------------------------------------


def wait_asked(seconds: str) -> tuple[list[float], list[str], GaveUp | None]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": seconds})
        return httpx.Response(200)

    client = make_client(timeout=5, transport=httpx.MockTransport(answer))
    sleep = SleepRecorder()
    try:
        call(client, sleep=sleep)
    except GaveUp as gave_up:
        return sleep.pauses, seen, gave_up
    return sleep.pauses, seen, None


def test_retry_after_up_to_the_cap_is_waited_exactly() -> None:
    assert RetryPolicy().max_retry_after == 120.0
    pauses, seen, gave_up = wait_asked("120")
    assert (pauses, seen, gave_up) == ([120.0], ["POST", "POST"], None)


def test_retry_after_just_over_the_cap_gives_up_at_once() -> None:
    pauses, seen, gave_up = wait_asked("120.5")
    assert pauses == [] and seen == ["POST"]
    assert gave_up is not None and gave_up.wait == 120.5
    assert gave_up.maybe_processed is False  # a 429 proves the request was not processed


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(response) == 0.0  # a moment in the past means "now"
    assert retry_after(httpx.Response(503)) is None


def test_a_vendor_hint_is_read_only_from_a_429() -> None:
    def hint(response: httpx.Response) -> float:
        return 12.0

    assert retry_after(httpx.Response(429), hint) == 12.0
    assert retry_after(httpx.Response(503), hint) is None
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"}), hint) == 3.0


# --- what is repeated -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, 429]
)
def test_what_certainly_did_not_reach_the_server_is_always_repeated(
    failure: int | type[httpx.TransportError],
) -> None:
    client, seen = scripted(failure, 200)
    assert call(client, repeatable=False).status_code == 200
    assert seen == ["POST", "POST"]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.RemoteProtocolError, 500, 503],
)
def test_what_may_have_been_processed_is_repeated_only_when_harmless(
    failure: int | type[httpx.TransportError],
) -> None:
    client, seen = scripted(failure, 200)
    with pytest.raises(GaveUp) as caught:
        call(client, repeatable=False)
    assert seen == ["POST"]
    assert caught.value.maybe_processed is True
    assert caught.value.attempts == 1

    client, seen = scripted(failure, 200)
    assert call(client, repeatable=True).status_code == 200
    assert seen == ["POST", "POST"]


@pytest.mark.parametrize("status", [200, 201, 304, 400, 401, 404, 409, 422])
def test_any_other_answer_is_returned_to_the_caller_at_once(status: int) -> None:
    client, seen = scripted(status)
    assert call(client, repeatable=True).status_code == status
    assert seen == ["POST"]


def test_a_failure_that_proves_nothing_after_an_ambiguous_one_stays_ambiguous() -> None:
    client, seen = scripted(503, httpx.ConnectError)
    with pytest.raises(GaveUp) as caught:
        call(client, repeatable=True, policy=RetryPolicy(attempts=2))
    assert seen == ["POST", "POST"]
    assert caught.value.maybe_processed is True


def test_attempts_are_counted_and_the_last_failure_reported() -> None:
    client, seen = scripted(httpx.ConnectError)
    sleep = SleepRecorder()
    with pytest.raises(GaveUp) as caught:
        call(client, policy=RetryPolicy(attempts=3), sleep=sleep)
    assert len(seen) == 3 and len(sleep.pauses) == 2
    assert caught.value.attempts == 3
    assert isinstance(caught.value.error, httpx.ConnectError)
    assert caught.value.maybe_processed is False


# --- the whole-request deadline ---------------------------------------------------------------


@contextmanager
def trickling_server(head: bytes, body: bytes, pause: float) -> Iterator[str]:
    """A loopback server that sends `head` then `body` one byte every `pause` seconds: never
    silent long enough for a per-read timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in head + body:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(pause)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


BODY = b"x" * 400


@pytest.mark.parametrize(
    ("head", "body"),
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\nX-Padding: " + b"p" * 400, b"", id="headers"
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n", BODY, id="body"),
    ],
)
def test_a_server_trickling_bytes_is_cut_off_at_the_deadline(head: bytes, body: bytes) -> None:
    with trickling_server(head, body, pause=0.01) as url:
        client = make_client(timeout=1.0)
        started = time.monotonic()
        with pytest.raises(GaveUp) as caught:
            send_with_retries(
                lambda: client.get(url),
                policy=RetryPolicy(attempts=1),
                repeatable=True,
                deadline=0.3,
            )
        elapsed = time.monotonic() - started
        client.close()
    assert caught.value.timed_out
    # Each byte came well within the 1 s per-read timeout; only the deadline ended it.
    assert 0.3 <= elapsed < 1.5


def test_a_request_within_its_deadline_is_not_disturbed() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    with trickling_server(head, b"hello", pause=0.001) as url:
        client = make_client(timeout=1.0)
        outcome = send_with_retries(
            lambda: client.get(url), policy=RetryPolicy(attempts=1), repeatable=True, deadline=5
        )
        client.close()
    assert outcome.response.content == b"hello"


# --- redaction --------------------------------------------------------------------------------


def test_redaction_covers_the_secret_and_its_basic_auth_token() -> None:
    import base64

    token = base64.b64encode(f"api:{SECRET}".encode()).decode()
    redact = Redactor(SECRET, basic_user="api")
    assert redact(f"key {SECRET} or Basic {token}") == "key [redacted] or Basic [redacted]"
    assert Redactor(SECRET)(f"Basic {token}") == f"Basic {token}"  # no Basic auth, no token
    assert Redactor("")("nothing to hide") == "nothing to hide"

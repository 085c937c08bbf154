"""A forced resend (`send --post URL --force`) is a new email at every provider.

Through the real adapters and the pipeline, against the Buttondown and Resend stand-ins,
which replay a repeated key's first answer as the vendors document: the resend gets a key of
its own, so it is never answered with (or matched by name to) the first send, while a retry
of that resend still uses the resend's key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.errors import ProviderError
from newsletter.pipeline import SendOptions
from newsletter.providers import create
from newsletter.providers.idempotency import idempotency_key
from tests.fakes.buttondown import ButtondownFake
from tests.fakes.helpers import ONE_POST, SECRET, SleepRecorder, write_one_post_feed
from tests.fakes.resend import ResendFake

AUDIENCE = "aud-1"
POST = ONE_POST


def config(folder: Path, provider: dict[str, Any]) -> Config:
    return parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "B <n@b.example.org>"},
            "provider": provider,
        },
        path=folder / "newsletter.toml",
    )


def send(folder: Path, settings: Config, secrets: dict[str, str], **options: Any) -> str:
    adapter = create(settings, secrets, sleep=SleepRecorder())
    report = pipeline.send(
        settings, SendOptions(**options), secrets, lambda line: None, provider=adapter
    )
    return report.outcome


def record(folder: Path, destination: str) -> dict[str, Any]:
    document = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = document["destinations"][destination]["posts"]["id-1"]
    return found


def test_buttondown_a_forced_resend_is_a_second_email(tmp_path: Path) -> None:
    write_one_post_feed(tmp_path)
    secrets = {"BUTTONDOWN_API_KEY": SECRET}
    with ButtondownFake(SECRET) as fake:
        settings = config(tmp_path, {"name": "buttondown", "base_url": fake.url})
        send(tmp_path, settings, secrets)
        first = record(tmp_path, "buttondown")

        outcome = send(tmp_path, settings, secrets, posts=(POST,), force=True)

        second = record(tmp_path, "buttondown")
        assert outcome.startswith("Sent 1 post(s)")
        assert len(fake.emails) == 2, "the resend created a second email at Buttondown"
        assert second["message_id"] != first["message_id"]
        assert second["idempotency_key"] != first["idempotency_key"]
        keys = [request.header("x-idempotency-key") for request in fake.requests]
        assert keys == [first["idempotency_key"], second["idempotency_key"]]


def test_buttondown_replays_a_repeated_key_as_documented(tmp_path: Path) -> None:
    """What makes the test above meaningful: the same key is answered with the first email."""
    with ButtondownFake(SECRET) as fake:
        for _ in range(2):
            answer = httpx.post(
                f"{fake.url}/v1/emails",
                json={"subject": "S", "body": "B", "status": "about_to_send"},
                headers={
                    "Authorization": f"Token {SECRET}",
                    "X-Idempotency-Key": "newsletter-same",
                    "X-Buttondown-Live-Dangerously": "true",
                },
            )
            assert answer.status_code == 201
        assert len(fake.emails) == 1


def test_resend_a_forced_resend_is_a_second_broadcast(tmp_path: Path) -> None:
    write_one_post_feed(tmp_path)
    secrets = {"RESEND_API_KEY": SECRET}
    with ResendFake(SECRET, segments=(AUDIENCE,)) as fake:
        settings = config(
            tmp_path, {"name": "resend", "base_url": fake.url, "audience_id": AUDIENCE}
        )
        send(tmp_path, settings, secrets)
        first = record(tmp_path, f"resend:{AUDIENCE}")

        outcome = send(tmp_path, settings, secrets, posts=(POST,), force=True)

        second = record(tmp_path, f"resend:{AUDIENCE}")
        assert outcome.startswith("Sent 1 post(s)")
        assert len(fake.broadcasts) == 2, "the resend was not matched to the first broadcast"
        assert all(b["status"] == "queued" for b in fake.broadcasts.values())
        assert second["message_id"] != first["message_id"]
        assert first["idempotency_key"] not in fake.broadcasts[second["message_id"]]["name"]


def test_resend_an_interrupted_resend_is_finished_under_its_own_key(tmp_path: Path) -> None:
    """The resend is left pending after creating its broadcast; the next run finds that
    broadcast (named after the resend's key, not the first send's) and sends it once."""
    write_one_post_feed(tmp_path)
    secrets = {"RESEND_API_KEY": SECRET}
    with ResendFake(SECRET, segments=(AUDIENCE,)) as fake:
        settings = config(
            tmp_path,
            {"name": "resend", "base_url": fake.url, "audience_id": AUDIENCE, "timeout": 5},
        )
        send(tmp_path, settings, secrets)
        first = record(tmp_path, f"resend:{AUDIENCE}")
        busy = {"statusCode": 500, "name": "application_error", "message": "busy"}
        fake.fail_next(500, busy, times=4, path="/broadcasts/bc-00000002/send")
        with pytest.raises(ProviderError):
            send(tmp_path, settings, secrets, posts=(POST,), force=True)
        pending = record(tmp_path, f"resend:{AUDIENCE}")
        assert pending["status"] == "pending"
        assert pending["idempotency_key"] != first["idempotency_key"]

        outcome = send(tmp_path, settings, secrets)

        assert outcome.startswith("Finished the interrupted send")
        assert [b["status"] for b in fake.broadcasts.values()] == ["queued", "queued"]
        assert record(tmp_path, f"resend:{AUDIENCE}")["status"] == "sent"


def test_the_key_of_a_resend_depends_on_what_was_recorded_before() -> None:
    first = idempotency_key("resend:a", ["id-1"])
    assert first == idempotency_key("resend:a", ["id-1"], earlier=())
    resend = idempotency_key("resend:a", ["id-1"], earlier=["id-1 sent 2026-01-05 m-1"])
    assert resend != first
    again = idempotency_key("resend:a", ["id-1"], earlier=["id-1 sent 2026-01-12 m-2"])
    assert again not in (first, resend)
    assert resend == idempotency_key("resend:a", ["id-1"], earlier=["id-1 sent 2026-01-05 m-1"])

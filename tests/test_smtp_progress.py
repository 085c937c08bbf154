"""SMTP sends that stop half-way, end to end through `Delivery` and the ledger file: the next
run reaches exactly the readers not yet served, and asks the author only about the one
message that was in doubt. Each reader's count of messages is what the tests assert."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from newsletter.delivery import Delivery, pending_batches, refuse_unsafe_retry
from newsletter.errors import ProviderError
from newsletter.ledger import Ledger
from newsletter.ledger.journal import journal_path
from newsletter.models import Feed
from newsletter.providers import create
from newsletter.providers.base import Provider
from tests.fakes.helpers import provider_config, sample_email, write_subscribers
from tests.post_helpers import NOW, make_post

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import HangsUpAfterData, RateLimited, serving

READERS = [f"reader{n}@example.net" for n in range(1, 6)]
POST = make_post(1)
EMAIL = sample_email(post_ids=(POST.id,))
FEED = Feed("Blog", "https://example.org/", "https://example.org/feed/", "en", (POST,))


def smtp(folder: Path, port: int) -> Provider:
    config = provider_config(
        folder,
        "smtp",
        host="127.0.0.1",
        port=port,
        security="none",
        subscribers=str(write_subscribers(folder, READERS)),
    )
    return create(config, {})


def delivery(path: Path, provider: Provider, notes: list[str], hours: int = 0) -> Delivery:
    return Delivery(
        Ledger.read(path),
        provider,
        clock=lambda: NOW + timedelta(hours=hours),
        notify=notes.append,
    )


def on_disk(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    destination: dict[str, Any] = document["destinations"]["smtp:127.0.0.1"]
    return destination


def carry_on(path: Path, provider: Provider, notes: list[str], hours: int) -> Delivery:
    """What the next `send` does with the pending post: check, then retry its batch."""
    carrier = delivery(path, provider, notes, hours)
    records = carrier.records
    refuse_unsafe_retry(records.pending(), provider.traits, now=NOW, records=records)
    batches = pending_batches(records.pending(), FEED, records)
    carrier.retry(batches, lambda posts: [EMAIL])
    carrier.save()
    return carrier


def test_a_send_stopped_by_a_rate_limit_is_carried_on_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    server = RateLimited(allowed=2)
    notes: list[str] = []
    with serving(server) as port:
        provider = smtp(tmp_path, port)
        with pytest.raises(ProviderError, match="still owed"):
            delivery(path, provider, notes).send(EMAIL, [POST])
        stopped = on_disk(path)
        assert stopped["posts"][POST.id]["status"] == "pending"
        (progress,) = stopped["reached"].values()
        assert (len(progress["served"]), progress["in_doubt"]) == (2, [])
        assert "journal" not in progress
        assert not journal_path(path).exists()

        server.allowed = 100
        carried = carry_on(path, provider, notes, hours=1)
    assert carried.unsettled == []
    assert server.received == dict.fromkeys(READERS, 1)
    finished = on_disk(path)
    assert finished["posts"][POST.id]["status"] == "sent"
    assert "reached" not in finished


@pytest.mark.parametrize(("arrived", "verdict"), [(True, True), (False, False)])
def test_only_the_message_in_doubt_is_asked_about(
    tmp_path: Path, arrived: bool, verdict: bool
) -> None:
    path = tmp_path / "state" / "ledger.json"
    server = HangsUpAfterData(which=3, keeps=arrived)
    notes: list[str] = []
    with serving(server) as port:
        provider = smtp(tmp_path, port)
        with pytest.raises(ProviderError, match=f"The message to {READERS[2]} is in doubt"):
            delivery(path, provider, notes).send(EMAIL, [POST])
        (progress,) = on_disk(path)["reached"].values()
        assert (len(progress["served"]), len(progress["in_doubt"])) == (2, 1)

        # The next run serves readers 4 and 5, and stops on reader 3's message.
        carried = carry_on(path, provider, notes, hours=1)
        (sentence,) = carried.unsettled
        assert f"stopped while handing the message to {READERS[2]}" in sentence
        assert "this run sent it to the 2 reader(s) still owed it" in sentence
        assert "newsletter resolve --post https://example.org/posts/1/ --as sent" in sentence
        assert on_disk(path)["posts"][POST.id]["status"] == "pending"
        expected = dict.fromkeys(READERS, 1)
        if not arrived:
            del expected[READERS[2]]
        assert server.received == expected

        # The author checks with reader 3, and says what happened.
        ledger = Ledger.read(path)
        settled = ledger.destination("smtp:127.0.0.1").resolve(POST.id, verdict, at=NOW)
        assert settled.in_doubt == 1
        ledger.save()

        finished = carry_on(path, provider, notes, hours=2)
        assert finished.unsettled == []
    assert server.received == dict.fromkeys(READERS, 1)
    assert on_disk(path)["posts"][POST.id]["status"] == "sent"


def test_a_send_nobody_accepted_leaves_nothing_pending(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    server = RateLimited(allowed=0, reply="550 5.7.1 Relaying denied")
    with serving(server) as port, pytest.raises(ProviderError) as raised:
        delivery(path, smtp(tmp_path, port), []).send(EMAIL, [POST])
    assert raised.value.maybe_sent is False
    document = json.loads(path.read_text())
    assert "smtp:127.0.0.1" not in document["destinations"]
    assert not journal_path(path).exists()
    (run,) = document["runs"]
    assert run["result"] == "failed" and "Relaying denied" in run["detail"]


def test_a_forced_resend_is_a_fresh_send_to_everyone(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    server = RateLimited(allowed=100)
    with serving(server) as port:
        provider = smtp(tmp_path, port)
        first = delivery(path, provider, [])
        first.send(EMAIL, [POST])
        first.save()
        assert "reached" not in on_disk(path)
        again = delivery(path, provider, [], hours=1)
        again.send(EMAIL, [POST])  # what `send --post URL --force` does
        again.save()
    assert server.received == dict.fromkeys(READERS, 2)

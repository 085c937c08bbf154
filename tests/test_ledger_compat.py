"""A ledger written by the release before the ledger became a package (issue 11) still works.

`fixtures/ledger/v1-before-issue-11.json` was written by that release's own `Ledger.save`
(every status, message ids, idempotency keys, feed validators, a FeedBurner post, a post with
no guid, runs with and without detail). Authors commit their ledger to git, so a new release
must read it, recognise the same posts, and write it back without a single changed byte.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.ledger import Ledger, Status
from newsletter.models import Post, Validators

FIXTURE = Path(__file__).parent / "fixtures" / "ledger" / "v1-before-issue-11.json"


def feed_post(id: str, link: str, *, orig_link: str | None = None) -> Post:
    return Post(
        id=id,
        link=link,
        title="A title the feed may have changed since",
        author=None,
        published=datetime(2026, 3, 1, tzinfo=UTC),
        updated=None,
        html="<p>Body.</p>",
        orig_link=orig_link,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "ledger.json"
    path.parent.mkdir()
    shutil.copyfile(FIXTURE, path)
    return path


def without_shared_validators(text: str) -> str:
    """The fixture as this release writes it: validators kept for the whole file (before
    they were kept per destination) are read and dropped, everything else stays."""
    document = json.loads(text)
    del document["feeds"]
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_an_old_ledger_is_saved_back_byte_for_byte_but_its_shared_validators(copy: Path) -> None:
    expected = without_shared_validators(FIXTURE.read_text(encoding="utf-8")).encode("utf-8")
    assert expected != FIXTURE.read_bytes()
    Ledger.read(copy).save()
    assert copy.read_bytes() == expected
    with Ledger.locked(copy) as ledger:
        ledger.save()
    assert copy.read_bytes() == expected


def test_an_old_ledger_recognises_the_same_posts(copy: Path) -> None:
    ledger = Ledger.read(copy)
    assert ledger.destinations() == ("buttondown", "outbox", "postmark:broadcast")
    buttondown = ledger.destination("buttondown")

    sent = buttondown.match(feed_post("tag:notes.example.org,2026:3", "https://elsewhere/3"))
    assert sent is not None and sent.status is Status.SENT
    assert (sent.message_id, sent.day) == ("em_01HQ7", "2026-02-24")
    assert sent.idempotency_key == "newsletter-1f2e3d4c5b6a79880716253443526170a9b8c7d6"

    # A new guid, but the FeedBurner proxy's real link is the recorded one.
    proxied = feed_post(
        "https://notes.example.org/?p=1",
        "https://feedproxy.google.com/~r/notes/~3/zzz/",
        orig_link="http://www.notes.example.org/1?utm_source=feedburner",
    )
    pending = buttondown.match(proxied)
    assert pending is not None and pending.status is Status.PENDING
    assert pending.id == "tag:notes.example.org,2026:1"
    assert [record.id for record in buttondown.pending()] == [pending.id]

    no_guid = buttondown.match(feed_post("", "https://notes.example.org/no-guid/"))
    assert no_guid is not None and no_guid.status is Status.BASELINE

    drafted = buttondown.match(feed_post("tag:notes.example.org,2026:2", ""))
    assert drafted is not None and drafted.status is Status.DRAFTED
    assert drafted.title == "Café crème, « quoted » — and 日本語"

    assert buttondown.match(feed_post("tag:notes.example.org,2026:10", "https://n/10/")) is None
    assert ledger.destination("postmark:broadcast").pending()[0].day == "2026-03-02"
    outbox = ledger.destination("outbox")
    assert sorted(record.status for record in outbox.records()) == ["baseline"] * 4 + ["sent"] * 2


def test_an_old_ledger_keeps_its_runs_but_no_destination_trusts_its_validators(
    copy: Path,
) -> None:
    ledger = Ledger.read(copy)
    # Which destination's run stored them is unknown (the outbox's, perhaps): a 304 on them
    # could hide posts from the list, so every destination reads the feed whole once.
    for name in ("buttondown", "outbox", "postmark:broadcast"):
        records = ledger.destination(name)
        assert records.validators("https://notes.example.org/feed/") == Validators()
        assert records.validators("https://notes.example.org/atom.xml") == Validators()
    assert [(run.command, run.result) for run in ledger.runs] == [
        ("send", "sent"),
        ("baseline", "baseline"),
        ("send", "failed"),
        ("resolve", "sent"),
        ("send", "nothing new"),
    ]
    assert ledger.runs[3].detail == ""
    assert ledger.runs[0].posts == ("tag:notes.example.org,2026:3", "tag:notes.example.org,2026:4")

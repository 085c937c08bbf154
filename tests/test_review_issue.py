"""The review file: what is reviewed is what is sent, byte for byte, or nothing is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from newsletter.errors import LedgerError
from newsletter.identity import post_key
from newsletter.models import Post
from newsletter.review.issue import dump_issue, load_issue, review_from
from tests.fakes.helpers import sample_email

WHERE = "state/review/issue.json"


def post(number: int, **changes: object) -> Post:
    fields: dict[str, object] = {
        "id": f"https://blog.example.org/?p={number}",
        "link": f"https://blog.example.org/post-{number}/",
        "title": f"Post  number\n{number}",
        "author": "Ann",
        "published": datetime(2026, 3, number, 9, 30, tzinfo=UTC),
        "updated": None,
        "html": "<p>body</p>",
    }
    fields.update(changes)
    return Post(**fields)  # type: ignore[arg-type]


def issue(**changes: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "destination": "buttondown",
        "posts": [post(1), post(2, id="", orig_link="https://blog.example.org/real-2/")],
        "emails": [
            sample_email(
                subject="Zwei Beiträge — «quoted» \u2028 and more",
                html="<p>Ünïcödé &amp; <b>bold</b></p>\r\n<!-- comment -->",
                text="Line one\r\nLine two\n",
            )
        ],
        "slot": "2026-03-10 08:00 Europe/London",
        "slot_starts": datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        "created_at": datetime(2026, 3, 9, 8, 0, 3, 999, tzinfo=UTC),
    }
    fields.update(changes)
    return review_from(**fields)  # type: ignore[arg-type]


def test_the_emails_come_back_exactly_as_they_were_written() -> None:
    written = issue()
    read = load_issue(dump_issue(written), WHERE)
    assert read == written
    assert read.emails[0].html == "<p>Ünïcödé &amp; <b>bold</b></p>\r\n<!-- comment -->"
    assert read.emails[0].text.encode() == b"Line one\r\nLine two\n"
    assert dump_issue(read) == dump_issue(written)


def test_posts_keep_the_identity_the_ledger_records() -> None:
    read = load_issue(dump_issue(issue()), WHERE)
    first, second = read.posts
    assert post_key(first.as_post()) == post_key(post(1))
    assert second.id == "https://blog.example.org/post-2/", "no guid: the link is the id"
    assert second.link == "https://blog.example.org/real-2/", "FeedBurner's real permalink"
    assert first.title == "Post number 1"


def test_the_file_is_readable_json_for_the_person_reviewing_it() -> None:
    text = dump_issue(issue()).decode("utf-8")
    assert "Zwei Beiträge" in text, "non-ASCII is not escaped"
    assert text.endswith("}\n")
    document = json.loads(text)
    assert document["format"] == 1
    assert document["slot"] == "2026-03-10 08:00 Europe/London"
    assert document["created_at"] == "2026-03-09T08:00:03Z"
    assert document["digest"].startswith("sha256:")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["emails"][0].update(html=d["emails"][0]["html"] + " "),
        lambda d: d["emails"][0].update(subject="Something else"),
        lambda d: d["posts"].pop(),
        lambda d: d.update(destination="mailgun:news.example.org"),
    ],
    ids=["html", "subject", "a-post", "destination"],
)
def test_a_file_changed_after_it_was_written_is_refused(edit) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(dump_issue(issue()))
    edit(document)
    with pytest.raises(LedgerError, match="changed after newsletter wrote it") as caught:
        load_issue(json.dumps(document).encode(), WHERE)
    assert WHERE in caught.value.message


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"format": 1, "posts": []}', "missing or wrong"),
        (b'{"format": 7}', "does not read"),
    ],
)
def test_a_broken_file_names_itself_and_the_way_out(data: bytes, reason: str) -> None:
    with pytest.raises(LedgerError, match=reason) as caught:
        load_issue(data, WHERE)
    assert WHERE in caught.value.message
    assert caught.value.exit_code == 2


def test_a_review_without_posts_is_not_a_review() -> None:
    document = json.loads(dump_issue(issue()))
    document["posts"] = []
    with pytest.raises(LedgerError, match="missing or wrong"):
        load_issue(json.dumps(document).encode(), WHERE)


def test_a_review_without_a_schedule_has_no_slot() -> None:
    read = load_issue(dump_issue(issue(slot=None, slot_starts=None)), WHERE)
    assert (read.slot, read.slot_starts) == (None, None)

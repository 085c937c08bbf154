"""End to end: nothing sent twice, nothing lost, whatever happens to the process.

Each test runs the real CLI in a subprocess against loopback vendor fakes, `kill -9`s it
while the provider holds the request, or runs it twice at once, then reads the ledger file
and runs the CLI again (the guarantees in docs/architecture.md).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.cli_harness import (
    HANG_GUARD,
    SECRET,
    FeedPost,
    SlowButtondown,
    SlowPostmark,
    recent_posts,
    rss,
    run,
    start,
    write_config,
    write_subscribers,
)

BUTTONDOWN = {"BUTTONDOWN_API_KEY": SECRET}
POSTMARK = {"POSTMARK_SERVER_TOKEN": SECRET}

pytestmark = pytest.mark.slow


def ledger_posts(folder: Path, destination: str) -> dict[str, dict[str, Any]]:
    document = json.loads((folder / "state" / "ledger.json").read_text(encoding="utf-8"))
    posts: dict[str, dict[str, Any]] = document["destinations"][destination]["posts"]
    return posts


def statuses(folder: Path, destination: str) -> dict[str, str]:
    return {key: record["status"] for key, record in ledger_posts(folder, destination).items()}


def send_posts(fake: Any) -> list[Any]:
    return [request for request in fake.requests if request.method == "POST"]


def kill_while_provider_holds(
    folder: Path, fake: SlowButtondown | SlowPostmark, secrets: dict[str, str]
) -> None:
    child = start(folder, "send", secrets=secrets)
    try:
        assert fake.arrived.wait(HANG_GUARD), "the send never reached the provider"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(HANG_GUARD) == -signal.SIGKILL
    finally:
        fake.release.set()
        if child.poll() is None:
            child.kill()
        child.communicate()


def blog(folder: Path, posts: list[FeedPost], provider: dict[str, Any]) -> None:
    (folder / "feed.xml").write_bytes(rss(posts))
    write_config(folder, feed="feed.xml", provider=provider)


def test_killed_mid_send_an_idempotent_provider_is_retried_with_the_same_key(
    tmp_path: Path,
) -> None:
    posts = recent_posts(2)
    with SlowButtondown() as fake:
        blog(tmp_path, posts, {"name": "buttondown", "base_url": fake.url})
        kill_while_provider_holds(tmp_path, fake, BUTTONDOWN)

        pending = ledger_posts(tmp_path, "buttondown")
        assert {record["status"] for record in pending.values()} == {"pending"}
        assert set(pending) == {post.guid for post in posts}
        (key,) = {record["idempotency_key"] for record in pending.values()}
        assert send_posts(fake)[0].header("x-idempotency-key") == key

        status = run(tmp_path, "status")
        assert status.code == 0
        assert "PENDING" in status.stdout and "Post number 1" in status.stdout

        retry = run(tmp_path, "send", secrets=BUTTONDOWN)
        assert retry.code == 0, retry.stderr
        assert [request.header("x-idempotency-key") for request in send_posts(fake)] == [key, key]
        assert len(fake.emails) == 1, "the list was mailed twice"
        (email_id,) = fake.emails
        records = ledger_posts(tmp_path, "buttondown").values()
        assert {(record["status"], record.get("message_id")) for record in records} == {
            ("sent", email_id)
        }

        again = run(tmp_path, "send", secrets=BUTTONDOWN)
        assert again.code == 0
        assert len(send_posts(fake)) == 2


def test_killed_mid_send_postmark_is_settled_from_its_own_records(tmp_path: Path) -> None:
    """Postmark accepted the batch before the run was killed: the next run finds it in the
    message search and sends nothing again."""
    posts = recent_posts(2)
    write_subscribers(tmp_path)
    with SlowPostmark() as fake:
        provider = {"name": "postmark", "base_url": fake.url, "subscribers": "subscribers.csv"}
        blog(tmp_path, posts, provider)
        kill_while_provider_holds(tmp_path, fake, POSTMARK)
        assert set(statuses(tmp_path, "postmark:broadcast").values()) == {"pending"}

        after = run(tmp_path, "send", secrets=POSTMARK)

        assert after.code == 0, after.stderr
        assert len(send_posts(fake)) == 1
        assert set(statuses(tmp_path, "postmark:broadcast").values()) == {"sent"}


@pytest.mark.parametrize("verdict", ["sent", "unsent"])
def test_killed_mid_send_a_batch_the_records_cannot_show_yet_waits_for_resolve(
    tmp_path: Path, verdict: str
) -> None:
    posts = recent_posts(2)
    write_subscribers(tmp_path)
    with SlowPostmark() as fake:
        fake.searchable = False  # accepted, but not in the message search yet
        provider = {
            "name": "postmark",
            "base_url": fake.url,
            "message_stream": "broadcast",
            "subscribers": "subscribers.csv",
        }
        blog(tmp_path, posts, provider)
        kill_while_provider_holds(tmp_path, fake, POSTMARK)
        assert set(statuses(tmp_path, "postmark:broadcast").values()) == {"pending"}
        ledger_before = (tmp_path / "state" / "ledger.json").read_bytes()

        refused = run(tmp_path, "send", secrets=POSTMARK)
        assert refused.code == 3
        assert "interrupted" in refused.error_line
        assert "again after" in refused.error_line
        assert "newsletter resolve --post" in refused.error_line
        assert len(send_posts(fake)) == 1
        assert (tmp_path / "state" / "ledger.json").read_bytes() == ledger_before

        # One post by its link (any spelling), the other by its id.
        first = run(tmp_path, "resolve", "--post", "http://www.blog.example.org/1", "--as", verdict)
        second = run(tmp_path, "resolve", "--post", posts[1].guid, "--as", verdict)
        assert (first.code, second.code) == (0, 0), first.stderr + second.stderr

        after = run(tmp_path, "send", secrets=POSTMARK)
        assert after.code == 0, after.stderr
        if verdict == "sent":
            assert len(send_posts(fake)) == 1
        else:
            assert len(send_posts(fake)) == 2
        assert set(statuses(tmp_path, "postmark:broadcast").values()) == {"sent"}


def test_resolving_what_is_not_pending_is_refused_plainly(tmp_path: Path) -> None:
    blog(tmp_path, recent_posts(1), {"name": "outbox"})
    assert run(tmp_path, "send").code == 0
    result = run(tmp_path, "resolve", "--post", "https://blog.example.org/1", "--as", "unsent")
    assert result.code == 2
    assert "not pending" in result.error_line
    assert statuses(tmp_path, "outbox") == {"tag:blog.example.org,2026:post-1": "sent"}


def test_a_second_run_at_the_same_time_exits_at_once_and_sends_nothing(tmp_path: Path) -> None:
    with SlowButtondown() as fake:
        blog(tmp_path, recent_posts(2), {"name": "buttondown", "base_url": fake.url})
        first = start(tmp_path, "send", secrets=BUTTONDOWN)
        try:
            assert fake.arrived.wait(HANG_GUARD)
            second = run(tmp_path, "send", secrets=BUTTONDOWN)
            assert second.code == 1
            assert "Another newsletter run is using" in second.error_line
            assert len(send_posts(fake)) == 1
        finally:
            fake.release.set()
            first.communicate(timeout=HANG_GUARD)
        assert first.returncode == 0
    assert set(statuses(tmp_path, "buttondown").values()) == {"sent"}


def test_outbox_and_test_sends_never_count_for_the_real_list(tmp_path: Path) -> None:
    posts = recent_posts(2)
    blog(tmp_path, posts, {"name": "outbox"})
    assert run(tmp_path, "send").code == 0
    assert set(statuses(tmp_path, "outbox").values()) == {"sent"}

    with SlowButtondown() as fake:
        fake.release.set()
        blog(tmp_path, posts, {"name": "buttondown", "base_url": fake.url})
        ledger_before = (tmp_path / "state" / "ledger.json").read_bytes()
        test = run(tmp_path, "send", "--test-to", "me@example.net", secrets=BUTTONDOWN)
        assert test.code == 0, test.stderr
        assert (tmp_path / "state" / "ledger.json").read_bytes() == ledger_before

        real = run(tmp_path, "send", secrets=BUTTONDOWN)
        assert real.code == 0, real.stderr
        assert set(statuses(tmp_path, "buttondown").values()) == {"sent"}
        sends = [
            request
            for request in send_posts(fake)
            if request.header("x-buttondown-live-dangerously") == "true"
        ]
        assert len(sends) == 1


def test_a_flood_of_new_posts_is_refused_with_the_way_out(tmp_path: Path) -> None:
    blog(tmp_path, recent_posts(11, apart=0.1), {"name": "outbox"})
    refused = run(tmp_path, "send")
    assert refused.code == 3
    sentence = refused.error_line
    assert "flood_limit (10)" in sentence
    assert "moved" in sentence and "ids" in sentence
    assert "newsletter baseline" in sentence and "--force" in sentence
    assert not (tmp_path / "state" / "ledger.json").exists()
    assert not (tmp_path / "outbox").exists()

    assert run(tmp_path, "baseline").code == 0
    assert set(statuses(tmp_path, "outbox").values()) == {"baseline"}
    assert "Nothing new" in run(tmp_path, "send").stdout + run(tmp_path, "send").stderr
    assert not (tmp_path / "outbox").exists()


def test_force_sends_a_flood_oldest_first_and_the_rest_waits_for_max_posts(
    tmp_path: Path,
) -> None:
    posts = recent_posts(11, apart=0.1)
    blog(tmp_path, posts, {"name": "outbox"})
    assert run(tmp_path, "send", "--force").code == 0
    assert set(statuses(tmp_path, "outbox")) == {post.guid for post in posts[1:]}
    assert run(tmp_path, "send").code == 0
    assert set(statuses(tmp_path, "outbox")) == {post.guid for post in posts}
    assert len(list((tmp_path / "outbox").iterdir())) == 2


def test_a_blog_that_changed_guids_and_permalink_style_resends_nothing(tmp_path: Path) -> None:
    posts = recent_posts(3)
    blog(tmp_path, posts, {"name": "outbox"})
    assert run(tmp_path, "send").code == 0
    migrated = [
        FeedPost(
            guid=f"https://blog.example.org/?p={index}",
            link=post.link.replace("https://", "http://www.") + "?utm_source=rss",
            title=post.title + " (edited)",
            published=post.published,
        )
        for index, post in enumerate(posts)
    ]
    (tmp_path / "feed.xml").write_bytes(rss(migrated))
    result = run(tmp_path, "send")
    assert result.code == 0
    assert "Nothing new" in result.stdout + result.stderr
    assert len(list((tmp_path / "outbox").iterdir())) == 1


def test_a_blog_moved_to_a_new_domain_is_stopped_before_it_mails_the_archive(
    tmp_path: Path,
) -> None:
    posts = recent_posts(12, apart=0.1)
    blog(tmp_path, posts, {"name": "outbox"})
    assert run(tmp_path, "send", "--force").code == 0
    moved = [
        FeedPost(
            guid=post.guid.replace("blog.example.org", "new.example.net"),
            link=post.link.replace("blog.example.org", "new.example.net"),
            title=post.title,
            published=post.published,
        )
        for post in posts
    ]
    (tmp_path / "feed.xml").write_bytes(rss(moved))
    ledger_before = (tmp_path / "state" / "ledger.json").read_bytes()
    refused = run(tmp_path, "send")
    assert refused.code == 3
    assert "All 12 posts of the feed look new" in refused.error_line
    assert "moved or changed its post ids" in refused.error_line
    assert "newsletter baseline" in refused.error_line
    assert (tmp_path / "state" / "ledger.json").read_bytes() == ledger_before


def test_a_corrupt_ledger_stops_the_run_and_is_left_as_it_was(tmp_path: Path) -> None:
    blog(tmp_path, recent_posts(1), {"name": "outbox"})
    ledger = tmp_path / "state" / "ledger.json"
    ledger.parent.mkdir()
    ledger.write_bytes(b'{"version": 1, "destinations": {"outbox": ')
    result = run(tmp_path, "send")
    assert result.code == 2
    assert "state/ledger.json" in result.error_line
    assert "left untouched" in result.error_line
    assert ledger.read_bytes() == b'{"version": 1, "destinations": {"outbox": '
    assert not (tmp_path / "outbox").exists()


def test_the_first_run_sends_the_window_and_baselines_the_archive(tmp_path: Path) -> None:
    posts = recent_posts(2) + recent_posts(3, first=3, days_ago=30)
    blog(tmp_path, posts, {"name": "outbox"})
    assert run(tmp_path, "send").code == 0
    assert statuses(tmp_path, "outbox") == {
        **{post.guid: "sent" for post in posts[:2]},
        **{post.guid: "baseline" for post in posts[2:]},
    }


def test_a_future_dated_post_waits_for_its_day(tmp_path: Path) -> None:
    posts = recent_posts(1)
    scheduled = recent_posts(1, first=2, days_ago=-3)
    blog(tmp_path, posts + scheduled, {"name": "outbox"})
    assert run(tmp_path, "send").code == 0
    assert statuses(tmp_path, "outbox") == {posts[0].guid: "sent"}
    check = run(tmp_path, "check")
    assert "dated in the future" in check.stdout

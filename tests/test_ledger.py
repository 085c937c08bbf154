"""The ledger: storage, locking, records per destination, and what counts as new."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.errors import ConfigError, LedgerBusy, LedgerError
from newsletter.ledger import RUNS_KEPT, DestinationLedger, Ledger, RunRecord, Status
from newsletter.ledger.schema import LEDGER_VERSION
from newsletter.models import Validators
from newsletter.plan import select_new
from tests.post_helpers import NOW, make_post, sent_destination

ROOT = Path(__file__).resolve().parent.parent


# --- storage -----------------------------------------------------------------------------


def test_a_missing_file_is_an_empty_ledger(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "state" / "ledger.json")
    assert ledger.destinations() == ()
    assert ledger.runs == ()
    assert ledger.destination("outbox").is_first_run
    assert ledger.destination("outbox").validators("https://example.org/feed/") == Validators()


def test_everything_recorded_survives_a_save_and_read(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    ledger = Ledger.read(path)
    ledger.destination("buttondown").remember_validators(
        "https://example.org/feed/", Validators('"abc"', "Tue, 24 Nov 2026")
    )
    ledger.destination("buttondown").mark(
        [make_post(1)], Status.SENT, at=NOW, message_id="em_1", idempotency_key="newsletter-k1"
    )
    untidy_title = make_post(2, title="Café  au\nlait")
    ledger.destination("outbox").mark([untidy_title], Status.PENDING, at=NOW)
    run = RunRecord(NOW, "send", "buttondown", "sent", ("tag:example.org,2026:1",))
    ledger.add_run(run)
    ledger.save()

    again = Ledger.read(path)
    assert again.destinations() == ("buttondown", "outbox")
    (sent,) = again.destination("buttondown").records()
    assert sent.id == "tag:example.org,2026:1"
    assert sent.link == "https://example.org/posts/1/"
    assert sent.status is Status.SENT
    assert sent.at == NOW and sent.at.tzinfo is UTC
    assert (sent.message_id, sent.idempotency_key) == ("em_1", "newsletter-k1")
    (pending,) = again.destination("outbox").pending()
    assert pending.title == "Café au lait"
    assert again.destination("buttondown").validators("https://example.org/feed/") == Validators(
        '"abc"', "Tue, 24 Nov 2026"
    )
    # Another destination never read the feed: it has no validators of its own.
    assert again.destination("outbox").validators("https://example.org/feed/") == Validators()
    assert again.runs == (run,)


def test_the_file_is_stable_readable_json(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ledger = Ledger.read(path)
    ledger.destination("outbox").mark([make_post(2), make_post(1)], Status.SENT, at=NOW)
    ledger.save()
    first = path.read_bytes()
    Ledger.read(path).save()

    assert path.read_bytes() == first
    text = first.decode()
    assert text.endswith("}\n")
    assert '\n  "destinations": {\n' in text
    document = json.loads(text)
    assert document["version"] == 1
    assert list(document["destinations"]["outbox"]["posts"]) == [
        "tag:example.org,2026:1",
        "tag:example.org,2026:2",
    ]
    assert "message_id" not in document["destinations"]["outbox"]["posts"]["tag:example.org,2026:1"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["ledger.json"]


def test_one_more_post_is_a_small_git_diff(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ledger = Ledger.read(path)
    ledger.destination("outbox").mark([make_post(n) for n in range(1, 30)], Status.SENT, at=NOW)
    ledger.save()
    before = path.read_text().splitlines()
    ledger.destination("outbox").mark([make_post(30)], Status.SENT, at=NOW)
    ledger.save()
    after = path.read_text().splitlines()

    changed = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changed) <= 8


def test_only_the_last_runs_are_kept(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "ledger.json")
    for number in range(RUNS_KEPT + 5):
        ledger.add_run(
            RunRecord(
                datetime(2026, 11, 1 + number % 28, 8, tzinfo=UTC),
                "send",
                "outbox",
                "nothing new",
                (),
                detail=str(number),
            )
        )
    ledger.save()
    runs = Ledger.read(ledger.path).runs
    assert len(runs) == RUNS_KEPT
    assert runs[-1].detail == str(RUNS_KEPT + 4)
    assert runs[0].detail == "5"


def test_forgotten_validators_leave_the_file(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "ledger.json")
    records = ledger.destination("outbox")
    records.remember_validators("https://example.org/feed/", Validators(etag='"1"'))
    ledger.save()
    document = json.loads(ledger.path.read_text())
    assert document["destinations"]["outbox"] == {
        "feeds": {"https://example.org/feed/": {"etag": '"1"'}},
        "posts": {},
    }
    assert "feeds" not in document
    records.remember_validators("https://example.org/feed/", Validators())
    ledger.save()
    assert json.loads(ledger.path.read_text())["destinations"] == {}


def test_a_failed_write_keeps_the_previous_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.json"
    ledger = Ledger.read(path)
    ledger.destination("outbox").mark([make_post(1)], Status.SENT, at=NOW)
    ledger.save()
    before = path.read_bytes()
    ledger.destination("outbox").mark([make_post(2)], Status.SENT, at=NOW)

    def disk_full(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(LedgerError, match="No space left on device") as raised:
        ledger.save()
    assert str(path) in str(raised.value)
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["ledger.json"]


def test_saving_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    Ledger.read(path).save()
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o664)
    Ledger.read(path).save()
    assert path.stat().st_mode & 0o777 == 0o664


# --- a damaged ledger is refused, never reset ---------------------------------------------

GOOD_RECORD = {
    "link": "https://example.org/1",
    "title": "One",
    "status": "sent",
    "at": "2026-11-19T08:00:00Z",
}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"version": 1, "destinations": {', "not valid JSON (line 1, column 33)"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "($ should be an object)"),
        (b'{"destinations": {}}', "($.version is missing)"),
        (b'{"version": "1"}', "($.version should be a whole number from 1 up)"),
        (b'{"version": true}', "($.version should be a whole number from 1 up)"),
        (b'{"version": 1, "runs": {}}', "($.runs should be a list)"),
        (
            b'{"version": 1, "surprise": 1}',
            "($.surprise should be absent (it is not a ledger field))",
        ),
        (b'{"version": 1, "feeds": {"u": {"etag": 5}}}', '($.feeds["u"].etag should be text)'),
        (
            b'{"version": 1, "destinations": {"d": {"posts": {}, "feeds": {"u": []}}}}',
            '($.destinations["d"].feeds["u"] should be an object)',
        ),
        (
            json.dumps(
                {
                    "version": 1,
                    "destinations": {
                        "outbox": {"posts": {"p1": {**GOOD_RECORD, "status": "mailed"}}}
                    },
                }
            ).encode(),
            '($.destinations["outbox"].posts["p1"].status should be one of pending, sent, drafted, '
            "baseline, skipped)",
        ),
        (
            json.dumps(
                {
                    "version": 1,
                    "destinations": {
                        "outbox": {"posts": {"p1": {**GOOD_RECORD, "at": "last tuesday"}}}
                    },
                }
            ).encode(),
            '($.destinations["outbox"].posts["p1"].at should be an ISO-8601 time like '
            "2026-11-19T08:00:00Z)",
        ),
        (
            json.dumps(
                {
                    "version": 1,
                    "destinations": {
                        "outbox": {
                            "posts": {
                                "p1": {
                                    key: value
                                    for key, value in GOOD_RECORD.items()
                                    if key != "title"
                                }
                            }
                        }
                    },
                }
            ).encode(),
            '($.destinations["outbox"].posts["p1"].title is missing)',
        ),
        (
            json.dumps(
                {
                    "version": 1,
                    "runs": [
                        {
                            "at": "2026-11-19T08:00:00Z",
                            "command": "send",
                            "destination": "outbox",
                            "result": "sent",
                            "posts": [1],
                        }
                    ],
                }
            ).encode(),
            "($.runs[0].posts[0] should be text)",
        ),
    ],
)
def test_a_damaged_ledger_is_named_and_left_untouched(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "ledger.json"
    path.write_bytes(content)
    with pytest.raises(LedgerError) as raised:
        Ledger.read(path)
    message = str(raised.value)
    assert problem in message
    assert str(path) in message
    assert "left untouched" in message
    assert "restore" in message
    assert raised.value.exit_code == 2
    assert path.read_bytes() == content


def test_a_ledger_from_a_newer_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    newer = LEDGER_VERSION + 1
    path.write_text(json.dumps({"version": newer, "whatever": "comes next"}) + "\n")
    with pytest.raises(LedgerError, match=rf"newer newsletter \(ledger version {newer}\).*upgrade"):
        Ledger.read(path)


def test_a_sends_progress_is_kept_exactly_and_only_while_there_is_one(tmp_path: Path) -> None:
    """How far a send got (ledger/progress.py) survives a save and a read; a ledger with
    none stays version 1, byte for byte what earlier releases write and read."""
    from newsletter.ledger import Progress

    path = tmp_path / "ledger.json"
    ledger = Ledger(path)
    records = ledger.destination("postmark:broadcast")
    records.mark([make_post(1)], Status.PENDING, at=NOW, idempotency_key="newsletter-k")
    progress, first = Progress("newsletter-k", began=NOW, check="c0ffee").posting(["a1", "b2"], NOW)
    progress, second = progress.posting(["c3"], NOW + timedelta(seconds=5))
    progress = progress.settled(first, ["a1", "b2"])
    records.keep_progress(progress)
    ledger.save()

    document = json.loads(path.read_text())
    assert document["version"] == 2
    again = Ledger.read(path).destination("postmark:broadcast").progress("newsletter-k")
    assert again == progress
    assert again.served == {"a1", "b2"} and [d.batch for d in again.in_doubt] == [second]
    assert first != second and first.startswith("newsletter-k-")

    records.drop_progress("newsletter-k")
    ledger.save()
    assert json.loads(path.read_text())["version"] == 1
    assert "sends" not in path.read_text()


@pytest.mark.parametrize(
    ("send", "problem"),
    [
        (
            {
                "began": "2026-01-05T09:00:00Z",
                "check": "c",
                "batches": -1,
                "served": [],
                "in_doubt": [],
            },
            "batches should be a whole number from 0 up",
        ),
        (
            {
                "began": "2026-01-05T09:00:00Z",
                "check": "c",
                "batches": 1,
                "served": "a1",
                "in_doubt": [],
            },
            "served should be a list",
        ),
        (
            {
                "began": "2026-01-05T09:00:00Z",
                "check": "c",
                "batches": 1,
                "served": [],
                "in_doubt": [{"batch": "k-1", "at": "later", "recipients": []}],
            },
            "at should be an ISO-8601 time",
        ),
    ],
)
def test_a_damaged_send_progress_is_named(
    tmp_path: Path, send: dict[str, object], problem: str
) -> None:
    path = tmp_path / "ledger.json"
    document = {
        "version": 2,
        "destinations": {"postmark:broadcast": {"posts": {}, "sends": {"k": send}}},
    }
    path.write_text(json.dumps(document))
    with pytest.raises(LedgerError, match=re.escape(problem)):
        Ledger.read(path)


def test_an_unreadable_ledger_is_an_error_not_an_empty_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.mkdir()
    with pytest.raises(LedgerError, match="cannot be read"):
        Ledger.read(path)


def test_the_lock_is_released_when_the_ledger_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text("{")
    with pytest.raises(LedgerError), Ledger.locked(path):
        pass
    path.write_text('{"version": 1}')
    with Ledger.locked(path) as ledger:
        assert ledger.destinations() == ()


# --- the lock ------------------------------------------------------------------------------


def test_a_second_holder_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    with Ledger.locked(path):
        with pytest.raises(LedgerBusy) as raised, Ledger.locked(path):
            pass
        assert raised.value.exit_code == 1
        assert f"Another newsletter run is using {path}" in str(raised.value)
    with Ledger.locked(path):
        pass


def test_a_run_in_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from newsletter.ledger import Ledger\n"
            "with Ledger.locked(Path(sys.argv[1])):\n"
            "    print('holding', flush=True); sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        with pytest.raises(LedgerBusy), Ledger.locked(path):
            pass
    finally:
        holder.communicate("done\n", timeout=30)
    with Ledger.locked(path):
        pass


def test_a_run_that_dies_holding_the_lock_leaves_no_stale_lock(tmp_path: Path) -> None:
    # The operating system drops the lock with the process: a run killed mid-send (the job
    # cancelled, the runner gone) must not stop next week's run.
    path = tmp_path / "ledger.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from newsletter.ledger import Ledger\n"
            "with Ledger.locked(Path(sys.argv[1])):\n"
            "    print('holding', flush=True); sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    holder.kill()
    holder.wait(timeout=30)
    assert path.with_name("ledger.json.lock").exists()
    with Ledger.locked(path):
        pass


def test_the_lock_never_saves_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    with Ledger.locked(path) as ledger:
        ledger.destination("outbox").mark([make_post(1)], Status.SENT, at=NOW)
    assert not path.exists()


# --- records -------------------------------------------------------------------------------


def test_a_post_matches_by_guid_after_its_link_changed() -> None:
    destination = sent_destination(make_post(1))
    moved = make_post(1, link="https://blog.example.net/hello-world")
    record = destination.match(moved)
    assert record is not None and record.status is Status.SENT


@pytest.mark.parametrize(
    "new_link",
    [
        "http://www.example.org/posts/1",
        "https://EXAMPLE.org/posts/1?utm_source=rss&utm_medium=feed",
    ],
)
def test_a_post_matches_by_link_after_its_guid_changed(new_link: str) -> None:
    destination = sent_destination(make_post(1))
    record = destination.match(make_post(1, id="https://example.org/?p=1", link=new_link))
    assert record is not None and record.id == "tag:example.org,2026:1"


def test_a_link_that_differs_only_by_its_fragment_never_merges_two_guids() -> None:
    # Day pages and changelogs give each post an anchor of one page: a new guid with a new
    # anchor is a new post, not the old one under a changed guid.
    destination = sent_destination(make_post(1, link="https://example.org/changes#v1"))
    for link in ("https://example.org/changes#v2", "https://example.org/changes"):
        assert destination.match(make_post(2, link=link)) is None
    # Without a guid of its own, the link (fragment ignored) still recognises it.
    record = destination.match(make_post(2, id="", link="https://example.org/changes#top"))
    assert record is not None and record.id == "tag:example.org,2026:1"


def test_feedburner_links_match_on_joining_and_on_leaving() -> None:
    proxied = make_post(
        1,
        id="guid-a",
        link="https://feedproxy.google.com/~r/example/~3/xyz/",
        orig_link="https://example.org/posts/1/",
    )
    assert sent_destination(make_post(1, id="guid-b")).match(proxied) is not None
    left = make_post(1, id="guid-c", link="https://example.org/posts/1")
    assert sent_destination(proxied).match(left) is not None


def test_a_post_with_a_new_guid_and_a_new_link_is_unknown() -> None:
    destination = sent_destination(make_post(1))
    assert destination.match(make_post(1, id="new-guid", link="https://new.example/1")) is None


def test_a_link_several_records_share_identifies_none_of_them() -> None:
    home = "https://example.org/"
    destination = sent_destination(make_post(1, link=home), make_post(2, link=home))
    assert destination.match(make_post(3, link=home)) is None
    assert destination.match(make_post(2, link=home)) is not None


def test_destinations_are_kept_apart(tmp_path: Path) -> None:
    ledger = Ledger.read(tmp_path / "ledger.json")
    ledger.destination("outbox").mark([make_post(1)], Status.SENT, at=NOW)
    assert ledger.destination("buttondown").match(make_post(1)) is None
    assert ledger.destination("buttondown").is_first_run
    assert not ledger.destination("outbox").is_first_run


def test_baseline_never_overwrites_a_sent_record() -> None:
    destination = sent_destination(make_post(1))
    destination.mark([make_post(1), make_post(2)], Status.BASELINE, at=NOW)
    statuses = {record.id: record.status for record in destination.records()}
    assert statuses == {
        "tag:example.org,2026:1": Status.SENT,
        "tag:example.org,2026:2": Status.BASELINE,
    }


def test_pending_then_sent_records_the_message_id() -> None:
    destination = DestinationLedger("buttondown")
    posts = [make_post(1), make_post(2)]
    destination.mark(posts, Status.PENDING, at=NOW, idempotency_key="newsletter-k")
    assert [record.idempotency_key for record in destination.pending()] == ["newsletter-k"] * 2
    destination.mark(posts, Status.SENT, at=NOW, message_id="em_9", idempotency_key="newsletter-k")
    assert destination.pending() == ()
    assert {record.message_id for record in destination.records()} == {"em_9"}


def test_forget_undoes_only_this_runs_pending_marks() -> None:
    destination = sent_destination(make_post(1))
    destination.mark([make_post(1), make_post(2)], Status.PENDING, at=NOW)
    destination.forget([make_post(1), make_post(2)])
    (record,) = destination.records()
    assert (record.id, record.status) == ("tag:example.org,2026:1", Status.SENT)

    interrupted = DestinationLedger("postmark", [replace(record, status=Status.PENDING)])
    interrupted.forget([make_post(1)])
    assert len(interrupted.pending()) == 1


def test_resolve_as_sent_by_id() -> None:
    destination = DestinationLedger("postmark")
    destination.mark([make_post(1)], Status.PENDING, at=NOW - timedelta(hours=1))
    settled = destination.resolve("tag:example.org,2026:1", True, at=NOW).record
    assert (settled.status, settled.at) == (Status.SENT, NOW)
    assert destination.pending() == ()
    assert destination.match(make_post(1)) == settled


def test_resolve_as_unsent_by_any_spelling_of_the_link() -> None:
    destination = DestinationLedger("postmark")
    destination.mark([make_post(1)], Status.PENDING, at=NOW)
    destination.resolve("http://www.example.org/posts/1?utm_source=x", False, at=NOW)
    assert destination.records() == ()
    assert select_new([make_post(1)], destination, now=NOW, first_run_days=7).new == (make_post(1),)


def test_resolve_refuses_what_is_not_pending() -> None:
    destination = sent_destination(make_post(1))
    with pytest.raises(ConfigError, match=r"is not pending \(it is sent since 2026-11-19\)"):
        destination.resolve("tag:example.org,2026:1", True, at=NOW)
    with pytest.raises(ConfigError, match="run `newsletter status`") as raised:
        destination.resolve("https://example.org/never", False, at=NOW)
    assert raised.value.exit_code == 2


def test_marking_a_post_without_id_or_link_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="neither an id nor a link"):
        DestinationLedger("outbox").mark([make_post(1, id="", link="")], Status.SENT, at=NOW)


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("2026-11-19T08:00:00Z", datetime(2026, 11, 19, 8, tzinfo=UTC)),
        ("2026-11-19T09:30:00+01:30", datetime(2026, 11, 19, 8, tzinfo=UTC)),
        ("2026-11-19T08:00:00", datetime(2026, 11, 19, 8, tzinfo=UTC)),
        ("2026-11-19", datetime(2026, 11, 19, tzinfo=UTC)),
    ],
)
def test_a_time_edited_by_hand_is_read_as_a_utc_moment(
    tmp_path: Path, written: str, meant: datetime
) -> None:
    # The ledger is committed to git and authors do edit it; a time typed without a zone
    # means UTC, as the file is written in UTC. Saved back, it takes the file's one spelling.
    path = tmp_path / "ledger.json"
    document = {"version": 1, "destinations": {"outbox": {"posts": {"p1": GOOD_RECORD}}}}
    document["destinations"]["outbox"]["posts"]["p1"] = {**GOOD_RECORD, "at": written}
    path.write_text(json.dumps(document))
    ledger = Ledger.read(path)
    (record,) = ledger.destination("outbox").records()
    assert record.at == meant and record.at.utcoffset() == timedelta(0)
    ledger.save()
    saved = json.loads(path.read_text())["destinations"]["outbox"]["posts"]["p1"]["at"]
    assert saved == meant.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_null_where_text_is_required_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    record = {**GOOD_RECORD, "link": None}
    path.write_text(json.dumps({"version": 1, "destinations": {"o": {"posts": {"p": record}}}}))
    with pytest.raises(LedgerError, match=re.escape('($.destinations["o"].posts["p"].link should')):
        Ledger.read(path)

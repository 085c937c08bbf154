"""The send logic: what is recorded when, and what is refused, with a recording provider.

The provider, the clock and the size budget are handed to the pipeline (its `Seams`), never
patched into it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from newsletter import pipeline
from newsletter.config import Config, parse_config
from newsletter.errors import ConfigError, ProviderError, SafetyRefusal, UnrecordedSend
from newsletter.models import Email, Receipt
from newsletter.pipeline import SendOptions
from newsletter.providers.base import Traits, Unsubscribe

NOW = datetime.now(UTC).replace(microsecond=0)


def rss(*numbers_and_ages: tuple[int, timedelta]) -> str:
    items = "".join(
        f"""<item><title>Post {n}</title><link>https://b.example.org/{n}/</link>
<guid isPermaLink="false">id-{n}</guid><pubDate>{format_datetime(NOW - age)}</pubDate>
<description><![CDATA[<p>Body of post {n}.</p>]]></description></item>"""
        for n, age in numbers_and_ages
    )
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
<link>https://b.example.org/</link>{items}</channel></rss>"""


@dataclass
class RecordingProvider:
    traits: Traits
    sent: list[tuple[Email, str]] = field(default_factory=list)
    tests: list[tuple[Email, str]] = field(default_factory=list)
    fail_with: ProviderError | ConfigError | None = None
    closed: bool = False

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((email, idempotency_key))
        return Receipt(provider=self.traits.name, message_id=f"m-{len(self.sent)}", accepted=3)

    def send_test(self, email: Email, *, address: str) -> Receipt:
        self.tests.append((email, address))
        return Receipt(provider=self.traits.name, message_id="t", accepted=1)

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        self.sent.append((email, idempotency_key))
        return Receipt(provider=self.traits.name, message_id="d", accepted=0, drafted=True)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    (tmp_path / "feed.xml").write_text(rss((1, timedelta(days=1)), (2, timedelta(days=2))))
    return tmp_path


def make_config(folder: Path, **newsletter: object) -> Config:
    table = {"from": "B <n@b.example.org>", **newsletter}
    return parse_config(
        {"feed": {"url": "feed.xml"}, "newsletter": table, "provider": {"name": "outbox"}},
        path=folder / "newsletter.toml",
    )


@pytest.fixture
def provider() -> RecordingProvider:
    return RecordingProvider(
        Traits("fake", "fake:list", Unsubscribe("{{ unsubscribe_url }}"), idempotent=False)
    )


def ledger_of(folder: Path) -> dict[str, object]:
    return json.loads((folder / "state" / "ledger.json").read_text())


def statuses(folder: Path) -> dict[str, str]:
    destinations = ledger_of(folder)["destinations"]
    assert isinstance(destinations, dict)
    posts = destinations.get("fake:list", {}).get("posts", {})
    return {key: value["status"] for key, value in posts.items()}


def feeds_of(folder: Path, destination: str = "fake:list") -> dict[str, object]:
    """The conditional-GET validators the destination keeps, by feed address."""
    destinations = ledger_of(folder)["destinations"]
    assert isinstance(destinations, dict)
    feeds = destinations.get(destination, {}).get("feeds", {})
    assert isinstance(feeds, dict)
    return feeds


def quiet(line: str) -> None:
    """Progress lines are the CLI's business."""


def send(
    folder: Path,
    provider: RecordingProvider,
    config: Config | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    clip_bytes: int = 102_000,
    **options: object,
) -> pipeline.Report:
    return pipeline.send(
        config or make_config(folder),
        SendOptions(**options),  # type: ignore[arg-type]
        {},
        quiet,
        provider=provider,
        now=now or (lambda: datetime.now(UTC)),
        clip_bytes=clip_bytes,
    )


def test_send_records_sent_with_message_id_and_a_deterministic_key(
    blog: Path, provider: RecordingProvider
) -> None:
    report = send(blog, provider)
    assert len(provider.sent) == 1
    email, key = provider.sent[0]
    assert set(email.post_ids) == {"id-1", "id-2"}
    assert email.html.index("Post 1") < email.html.index("Post 2")  # newest first
    assert statuses(blog) == {"id-1": "sent", "id-2": "sent"}
    record = ledger_of(blog)["destinations"]["fake:list"]["posts"]["id-1"]  # type: ignore[index]
    assert record["message_id"] == "m-1"
    assert record["idempotency_key"] == key
    assert provider.closed
    assert report.outcome.startswith("Sent 2 post(s) in 1 email(s)")

    again = send(blog, provider)
    assert len(provider.sent) == 1
    assert again.outcome == "Nothing new to send."


def test_per_post_mode_sends_one_email_each_oldest_first(
    blog: Path, provider: RecordingProvider
) -> None:
    send(blog, provider, make_config(blog, mode="per-post"))
    assert [email.post_ids for email, _ in provider.sent] == [("id-2",), ("id-1",)]
    assert provider.sent[0][1] != provider.sent[1][1]


def test_max_posts_leaves_the_rest_for_the_next_run(
    blog: Path, provider: RecordingProvider
) -> None:
    config = make_config(blog, max_posts=1)
    first = send(blog, provider, config)
    assert provider.sent[0][0].post_ids == ("id-2",)
    assert "1 more post(s) wait" in first.outcome
    send(blog, provider, config)
    assert provider.sent[1][0].post_ids == ("id-1",)


def test_flood_limit_refuses_and_touches_nothing(blog: Path, provider: RecordingProvider) -> None:
    with pytest.raises(SafetyRefusal, match="flood_limit") as refused:
        send(blog, provider, make_config(blog, flood_limit=1))
    assert "baseline" in refused.value.message and "--force" in refused.value.message
    assert provider.sent == []
    assert not (blog / "state" / "ledger.json").exists()
    send(blog, provider, make_config(blog, flood_limit=1), force=True)
    assert len(provider.sent) == 1


def test_test_send_goes_to_one_address_and_never_touches_the_ledger(
    blog: Path, provider: RecordingProvider
) -> None:
    report = send(blog, provider, test_to="me@example.org")
    assert provider.sent == []
    email, address = provider.tests[0]
    assert address == "me@example.org"
    assert email.subject.startswith("[Test] ")
    assert not (blog / "state").exists()
    assert "ledger was not touched" in report.outcome


def test_dry_run_sends_and_writes_nothing(blog: Path, provider: RecordingProvider) -> None:
    report = send(blog, provider, dry_run=True)
    assert provider.sent == [] and provider.tests == []
    assert not (blog / "state").exists()
    assert report.plan is not None and len(report.plan.to_send) == 2


def test_post_option_picks_posts_and_refuses_a_resend_without_force(
    blog: Path, provider: RecordingProvider
) -> None:
    send(blog, provider, posts=("https://www.b.example.org/2",))
    assert provider.sent[0][0].post_ids == ("id-2",)
    with pytest.raises(SafetyRefusal, match="already sent"):
        send(blog, provider, posts=("id-2",))
    send(blog, provider, posts=("id-2",), force=True)
    assert len(provider.sent) == 2
    with pytest.raises(ConfigError, match="No post in the feed matches"):
        send(blog, provider, posts=("https://b.example.org/99/",))


def test_a_certain_rejection_leaves_nothing_pending(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.fail_with = ProviderError(
        "The provider rejected the email: bad from.", maybe_sent=False
    )
    with pytest.raises(ProviderError):
        send(blog, provider)
    assert statuses(blog) == {}
    runs = ledger_of(blog)["runs"]
    assert runs[-1]["result"] == "failed"  # type: ignore[index]
    provider.fail_with = None
    send(blog, provider)
    assert statuses(blog) == {"id-1": "sent", "id-2": "sent"}


def test_an_uncertain_failure_stays_pending_and_blocks_until_resolved(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.fail_with = ProviderError("The provider timed out after the request went out.")
    with pytest.raises(ProviderError):
        send(blog, provider)
    assert statuses(blog) == {"id-1": "pending", "id-2": "pending"}

    provider.fail_with = None
    with pytest.raises(SafetyRefusal, match="newsletter resolve"):
        send(blog, provider)
    assert provider.sent == []

    config = make_config(blog)
    with pytest.raises(ConfigError):
        pipeline.resolve(
            config, ("https://b.example.org/1/", "no-such-post"), True, quiet, provider=provider
        )
    assert statuses(blog) == {"id-1": "pending", "id-2": "pending"}
    pipeline.resolve(config, ("https://b.example.org/1/",), True, quiet, provider=provider)
    pipeline.resolve(config, ("id-2",), False, quiet, provider=provider)
    assert statuses(blog) == {"id-1": "sent"}
    send(blog, provider)
    assert provider.sent[0][0].post_ids == ("id-2",)


def test_idempotent_providers_retry_pending_posts_with_the_same_key(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.traits = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=True)
    provider.fail_with = ProviderError("Timed out.")
    with pytest.raises(ProviderError):
        send(blog, provider)
    pending_key = ledger_of(blog)["destinations"]["fake:list"]["posts"]["id-1"]["idempotency_key"]  # type: ignore[index]
    provider.fail_with = None
    report = send(blog, provider)
    assert provider.sent[0][1] == pending_key
    assert "interrupted send" in report.outcome
    assert statuses(blog) == {"id-1": "sent", "id-2": "sent"}


def test_an_interrupted_send_older_than_a_day_is_not_retried_automatically(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.traits = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=True)
    provider.fail_with = ProviderError("Timed out.")
    with pytest.raises(ProviderError):
        send(blog, provider, now=lambda: NOW)
    provider.fail_with = None
    a_day_later = NOW + timedelta(hours=24, seconds=1)
    with pytest.raises(SafetyRefusal, match="more than a day ago"):
        send(blog, provider, now=lambda: a_day_later)
    assert provider.sent == []
    assert statuses(blog) == {"id-1": "pending", "id-2": "pending"}
    # Within the day the provider still recognises the key, so the send is finished.
    send(blog, provider, now=lambda: NOW + timedelta(hours=23))
    assert statuses(blog) == {"id-1": "sent", "id-2": "sent"}


def test_drafts_are_recorded_as_drafted(blog: Path, provider: RecordingProvider) -> None:
    provider.traits = Traits("fake", "fake:list", Unsubscribe("x"), drafts=True)
    send(blog, provider, draft=True)
    assert statuses(blog) == {"id-1": "drafted", "id-2": "drafted"}


def test_draft_is_refused_where_the_provider_has_none(
    blog: Path, provider: RecordingProvider
) -> None:
    with pytest.raises(ConfigError, match="no drafts"):
        send(blog, provider, draft=True)


def test_an_oversized_email_is_refused_unless_forced(
    blog: Path, provider: RecordingProvider
) -> None:
    with pytest.raises(SafetyRefusal, match="Gmail's 1 KB limit"):
        send(blog, provider, clip_bytes=1000)
    assert provider.sent == []
    assert not (blog / "state" / "ledger.json").exists()
    send(blog, provider, clip_bytes=1000, force=True)
    assert len(provider.sent) == 1


def test_baseline_records_everything_without_sending(
    blog: Path, provider: RecordingProvider
) -> None:
    report = pipeline.baseline(make_config(blog), SendOptions(), {}, quiet, provider=provider)
    assert "Recorded 2 post(s)" in report.outcome
    assert statuses(blog) == {"id-1": "baseline", "id-2": "baseline"}
    assert send(blog, provider).outcome == "Nothing new to send."
    assert provider.sent == []


def test_preview_warns_about_an_oversized_email_but_still_writes_it(
    blog: Path, provider: RecordingProvider
) -> None:
    config = make_config(blog)
    look = blog / "look"
    report = pipeline.preview(
        config, SendOptions(), {}, quiet, out_dir=look, provider=provider, clip_bytes=1000
    )
    assert any("Gmail will clip it" in warning for warning in report.warnings)
    assert {path.suffix for path in report.files} == {".html", ".txt", ".eml"}
    assert not (blog / "state").exists()


def test_preview_with_nothing_new_shows_the_latest_post(
    blog: Path, provider: RecordingProvider
) -> None:
    send(blog, provider)
    report = pipeline.preview(
        make_config(blog), SendOptions(), {}, quiet, out_dir=blog / "look", provider=provider
    )
    assert [email.post_ids for email in report.emails] == [("id-1",)]
    assert any("latest post instead" in warning for warning in report.warnings)


def test_a_short_digest_lists_the_titles_first(blog: Path) -> None:
    config = make_config(blog, digest_excerpts="short")
    report = pipeline.preview(config, SendOptions(), {}, quiet, out_dir=blog / "look")
    (email,) = report.emails
    assert "In this issue" in email.html and 'href="#post-1"' in email.html
    assert "In this issue:\n- Post 1\n- Post 2" in email.text


@pytest.mark.parametrize(("stamp", "retried"), [("{now}", True), ("2020-01-01", False)])
def test_a_hand_edited_pending_time_without_a_zone_is_read_as_utc(
    blog: Path, provider: RecordingProvider, stamp: str, retried: bool
) -> None:
    # The ledger accepts any ISO-8601 time; one typed by hand without "Z" (or a bare date)
    # must not stop the run with "an unexpected TypeError".
    provider.traits = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=True)
    provider.fail_with = ProviderError("Timed out.")
    with pytest.raises(ProviderError):
        send(blog, provider)
    path = blog / "state" / "ledger.json"
    document = json.loads(path.read_text())
    naive = NOW.replace(tzinfo=None).isoformat()
    for record in document["destinations"]["fake:list"]["posts"].values():
        record["at"] = stamp.format(now=naive)
    path.write_text(json.dumps(document))
    provider.fail_with = None
    if retried:
        send(blog, provider)
        assert statuses(blog) == {"id-1": "sent", "id-2": "sent"}
    else:
        with pytest.raises(SafetyRefusal, match="more than a day ago"):
            send(blog, provider)
        assert provider.sent == []


def test_post_option_on_a_baseline_post_says_what_baseline_means(
    blog: Path, provider: RecordingProvider
) -> None:
    pipeline.baseline(make_config(blog), SendOptions(), {}, quiet, provider=provider)
    with pytest.raises(SafetyRefusal) as refusal:
        send(blog, provider, posts=("id-2",))
    message = refusal.value.message
    assert "already baseline" not in message  # "was already baseline on ..." is not English
    assert "baseline" in message and "--force" in message
    send(blog, provider, posts=("id-2",), force=True)
    assert provider.sent[0][0].post_ids == ("id-2",)


def test_a_configuration_error_inside_the_provider_leaves_nothing_pending(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.fail_with = ConfigError("The subscribers file subscribers.csv does not exist.")
    with pytest.raises(ConfigError):
        send(blog, provider)
    assert statuses(blog) == {}


def test_a_test_send_to_the_outbox_is_named_once_as_a_test(blog: Path) -> None:
    config = make_config(blog)
    pipeline.send(config, SendOptions(test_to="me@example.org"), {}, quiet)
    (name,) = [path.name for path in (blog / "outbox").glob("*.eml")]
    assert name.count("test") == 1


def test_the_feed_comes_through_the_given_transport_and_its_etag_saves_the_next_run(
    tmp_path: Path, provider: RecordingProvider
) -> None:
    url = "https://b.example.org/feed.xml"
    body = rss((1, timedelta(days=1)), (2, timedelta(days=2)), (3, timedelta(days=3)))
    seen: list[httpx.Request] = []

    def blog_server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, content=body.encode(), headers={"ETag": '"v1"'})

    transport = httpx.MockTransport(blog_server)
    config = parse_config(
        {
            "feed": {"url": url},
            "newsletter": {"from": "B <n@b.example.org>", "max_posts": 2},
            "provider": {"name": "outbox"},
        },
        path=tmp_path / "newsletter.toml",
    )

    def run() -> pipeline.Report:
        return pipeline.send(
            config, SendOptions(), {}, quiet, provider=provider, transport=transport
        )

    first = run()
    assert "1 more post(s) wait" in first.outcome
    # A post still waits, so the ETag is not kept: a 304 must not hide it next time.
    assert feeds_of(tmp_path) == {}
    second = run()
    assert "if-none-match" not in seen[1].headers
    assert second.outcome.startswith("Sent 1 post(s)")
    assert feeds_of(tmp_path) == {url: {"etag": '"v1"'}}

    third = run()
    assert seen[2].headers["if-none-match"] == '"v1"'
    assert third.outcome == "The feed has not changed since the last run; nothing to send."
    assert [email.post_ids for email, _ in provider.sent] == [("id-2", "id-3"), ("id-1",)]

    pipeline.check(config, SendOptions(), {}, quiet, provider=provider, transport=transport)
    assert "if-none-match" not in seen[3].headers  # check always reads the whole feed


def test_one_transport_carries_the_feed_and_the_providers_api(tmp_path: Path) -> None:
    # No provider injected: the configured one (Buttondown) is built, and it talks through the
    # same transport as the feed fetch.
    secret = "bd-secret-for-the-seam"
    body = rss((1, timedelta(days=1)))
    posted: list[httpx.Request] = []

    def internet(request: httpx.Request) -> httpx.Response:
        if request.url.host == "b.example.org":
            return httpx.Response(200, content=body.encode())
        assert request.url.host == "api.buttondown.com"
        assert request.headers["authorization"] == f"Token {secret}"
        posted.append(request)
        return httpx.Response(201, json={"id": "em_42", "status": "about_to_send"})

    config = parse_config(
        {
            "feed": {"url": "https://b.example.org/feed.xml"},
            "newsletter": {"from": "B <n@b.example.org>"},
            "provider": {"name": "buttondown"},
        },
        path=tmp_path / "newsletter.toml",
    )
    report = pipeline.send(
        config,
        SendOptions(),
        {"BUTTONDOWN_API_KEY": secret},
        quiet,
        transport=httpx.MockTransport(internet),
    )
    assert report.outcome == "Sent 1 post(s) in 1 email(s) through buttondown."
    (request,) = [r for r in posted if r.method == "POST"]
    record = ledger_of(tmp_path)["destinations"]["buttondown"]["posts"]["id-1"]  # type: ignore[index]
    assert (record["status"], record["message_id"]) == ("sent", "em_42")
    assert request.headers["x-idempotency-key"] == record["idempotency_key"]


def test_preview_tells_the_author_what_to_fix_in_their_posts(tmp_path: Path) -> None:
    body = '<h2>Plan</h2><p>x</p><h4>Beds</h4><p><img src="https://b.example.org/a.jpg"></p>'
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>'
        "<link>https://b.example.org/</link><item><title>Spring</title>"
        f"<link>https://b.example.org/1/</link><guid>id-1</guid>"
        f"<pubDate>{format_datetime(NOW)}</pubDate>"
        f"<description><![CDATA[{body}]]></description></item></channel></rss>"
    )
    report = pipeline.preview(make_config(tmp_path), SendOptions(), {}, quiet, out_dir=tmp_path)
    notes = [warning for warning in report.warnings if warning.startswith("'Spring'")]
    assert len(notes) == 2
    assert "1 picture has no alt text" in notes[0]
    assert "'Beds' (h4) comes right after an h2" in notes[1]


def test_a_run_that_finishes_an_interrupted_send_also_sends_the_new_posts(
    blog: Path, provider: RecordingProvider
) -> None:
    provider.traits = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=True)
    provider.fail_with = ProviderError("Timed out.")
    with pytest.raises(ProviderError):
        send(blog, provider)
    posts = ledger_of(blog)["destinations"]["fake:list"]["posts"]  # type: ignore[index]
    pending_key = posts["id-1"]["idempotency_key"]
    provider.fail_with = None
    # A post published since: the run that finishes the old send must not leave it a week.
    (blog / "feed.xml").write_text(
        rss((3, timedelta(hours=1)), (1, timedelta(days=1)), (2, timedelta(days=2)))
    )
    report = send(blog, provider)
    assert [(email.post_ids, key) for email, key in provider.sent] == [
        (("id-1", "id-2"), pending_key),
        (("id-3",), provider.sent[1][1]),
    ]
    assert provider.sent[1][1] != pending_key
    assert statuses(blog) == {"id-1": "sent", "id-2": "sent", "id-3": "sent"}
    assert report.outcome.startswith("Finished the interrupted send of 2 post(s) through fake.")
    assert "Sent 1 post(s) in 1 email(s)" in report.outcome
    assert [post.id for post in report.plan.to_send] == ["id-1", "id-2", "id-3"]  # type: ignore[union-attr]


@dataclass
class LedgerBreakingProvider(RecordingProvider):
    """Accepts the email, then the ledger's folder becomes unwritable (as a full disk would
    make it): the run cannot record the send it just made."""

    folder: Path = Path()

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        receipt = super().send(email, idempotency_key=idempotency_key)
        (self.folder / "state").rename(self.folder / "state-kept")
        (self.folder / "state").write_text("a file where the ledger's folder was")
        return receipt


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_ledger_that_cannot_be_written_after_the_send_says_the_email_went_out(
    blog: Path, idempotent: bool
) -> None:
    traits = Traits("fake", "fake:list", Unsubscribe("x"), idempotent=idempotent)
    provider = LedgerBreakingProvider(traits, folder=blog)
    with pytest.raises(UnrecordedSend) as raised:
        send(blog, provider)
    error = raised.value
    assert error.exit_code == 1  # never 2, which tells the author nothing was sent
    assert error.message.startswith("The email went out through fake, but the ledger could")
    assert "The posts are pending: 'Post 1', 'Post 2'." in error.message
    if idempotent:
        assert "run `newsletter send` again within a day" in error.message
    else:
        assert "--post https://b.example.org/1/ --post https://b.example.org/2/" in error.message
        assert "never `--as unsent`" in error.message
    # What is on disk says pending: the next run will not take the posts for new.
    kept = json.loads((blog / "state-kept" / "ledger.json").read_text())
    kept_posts = kept["destinations"]["fake:list"]["posts"]
    assert {key: post["status"] for key, post in kept_posts.items()} == {
        "id-1": "pending",
        "id-2": "pending",
    }

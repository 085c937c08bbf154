"""`check` and `send` refuse a provider setting that leaves readers without a working
unsubscribe: Mailgun's unsubscribe tracking off, a Postmark stream that is not a Broadcasts
stream or whose unsubscribes Postmark does not handle. Each refusal is exit 2, names the
setting and where to change it, and sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import Config, parse_config
from newsletter.errors import ProviderSetupError
from newsletter.pipeline import SendOptions
from newsletter.providers import create
from tests.fakes.helpers import SECRET, SleepRecorder, write_one_post_feed, write_subscribers
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake

DOMAIN = "mg.example.org"
LIST = "news@mg.example.org"
POSTMARK = {"POSTMARK_SERVER_TOKEN": SECRET}
MAILGUN = {"MAILGUN_API_KEY": SECRET}


def blog(folder: Path, provider: dict[str, Any]) -> Config:
    write_one_post_feed(folder)
    write_subscribers(folder, ["a@example.net", "b@example.net"])
    table = (
        provider if "list_address" in provider else {"subscribers": "subscribers.csv", **provider}
    )
    (folder / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "B <n@b.example.org>"\n[provider]\n'
        + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items()),
        encoding="utf-8",
    )
    return parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "B <n@b.example.org>"},
            "provider": table,
        },
        path=folder / "newsletter.toml",
    )


def send(settings: Config, secrets: dict[str, str], **options: Any) -> pipeline.Report:
    adapter = create(settings, secrets, sleep=SleepRecorder())
    return pipeline.send(
        settings, SendOptions(**options), secrets, lambda line: None, provider=adapter
    )


def pending_anything(folder: Path) -> bool:
    path = folder / "state" / "ledger.json"
    return path.exists() and "pending" in path.read_text()


# --- Postmark ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "handling", "words"),
    [
        ("outbound", None, ["'outbound' is a Transactional stream", "Create message stream"]),
        ("news", "Custom", ["leaves unsubscribes to you", "handling is Custom"]),
        ("missing", None, ["no message stream 'missing'"]),
    ],
)
def test_send_refuses_a_postmark_stream_without_unsubscribe_handling(
    tmp_path: Path, stream: str, handling: str | None, words: list[str]
) -> None:
    with PostmarkFake(SECRET, streams=("outbound", "broadcast", "news")) as fake:
        if handling:
            fake.unsubscribe_handling[stream] = handling
        settings = blog(
            tmp_path, {"name": "postmark", "base_url": fake.url, "message_stream": stream}
        )
        with pytest.raises(ProviderSetupError) as refused:
            send(settings, POSTMARK)
        with pytest.raises(ProviderSetupError):
            send(settings, POSTMARK, test_to="me@example.org")
    assert refused.value.exit_code == 2
    assert all(word in refused.value.message for word in words)
    assert "provider.message_stream" in refused.value.message or "stream's settings" in (
        refused.value.message
    )
    assert not fake.sent and not pending_anything(tmp_path)


def test_a_postmark_broadcasts_stream_goes_out(tmp_path: Path) -> None:
    with PostmarkFake(SECRET, streams=("outbound", "newsletter")) as fake:
        settings = blog(
            tmp_path, {"name": "postmark", "base_url": fake.url, "message_stream": "newsletter"}
        )
        send(settings, POSTMARK)
    assert len(fake.sent) == 2
    [looked] = [r for r in fake.requests if r.method == "GET"]
    assert looked.path == "/message-streams/newsletter"


def test_check_refuses_the_same_postmark_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with PostmarkFake(SECRET) as fake:
        blog(tmp_path, {"name": "postmark", "base_url": fake.url, "message_stream": "outbound"})
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", SECRET)
        code = main(["--config", str(tmp_path / "newsletter.toml"), "check"])
    assert code == 2
    assert "'outbound' is a Transactional stream" in capsys.readouterr().err


def test_check_without_the_secret_says_it_could_not_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blog(tmp_path, {"name": "postmark", "base_url": "http://127.0.0.1:9", "message_stream": "x"})
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    code = main(["--config", str(tmp_path / "newsletter.toml"), "check"])
    assert code == 0
    out = capsys.readouterr()
    assert "Could not check postmark's unsubscribe settings" in out.out + out.err
    assert "$POSTMARK_SERVER_TOKEN is not set" in out.out + out.err


# --- Mailgun ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "variable"),
    [({}, "%unsubscribe_url%"), ({"list_address": LIST}, "%mailing_list_unsubscribe_url%")],
)
def test_send_refuses_mailgun_with_unsubscribe_tracking_off(
    tmp_path: Path, options: dict[str, Any], variable: str
) -> None:
    with MailgunFake(SECRET, DOMAIN) as fake:
        fake.unsubscribe_tracking = False
        settings = blog(
            tmp_path, {"name": "mailgun", "base_url": fake.url, "domain": DOMAIN, **options}
        )
        with pytest.raises(ProviderSetupError) as refused:
            send(settings, MAILGUN)
    message = refused.value.message
    assert f"unsubscribe tracking is off for {DOMAIN}" in message
    assert variable in message and "Tracking, Unsubscribes" in message
    assert not fake.messages and not pending_anything(tmp_path)


def test_mailgun_with_unsubscribe_tracking_on_goes_out(tmp_path: Path) -> None:
    with MailgunFake(SECRET, DOMAIN) as fake:
        settings = blog(tmp_path, {"name": "mailgun", "base_url": fake.url, "domain": DOMAIN})
        send(settings, MAILGUN)
    assert len(fake.messages) == 1
    assert [r.path for r in fake.requests if r.method == "GET"] == [
        f"/v3/domains/{DOMAIN}/tracking"
    ]


def test_a_mailgun_key_that_cannot_read_settings_warns_and_sends(tmp_path: Path) -> None:
    """A domain sending key may send but not read the domain's settings: the run says it
    could not check, and sends."""
    lines: list[str] = []
    with MailgunFake(SECRET, DOMAIN) as fake:
        fake.fail_next(401, "Forbidden", path=f"/v3/domains/{DOMAIN}/tracking")
        settings = blog(tmp_path, {"name": "mailgun", "base_url": fake.url, "domain": DOMAIN})
        adapter = create(settings, MAILGUN, sleep=SleepRecorder())
        pipeline.send(settings, SendOptions(), MAILGUN, lines.append, provider=adapter)
    assert len(fake.messages) == 1
    assert any("Could not check that Mailgun's unsubscribe tracking is on" in x for x in lines)


def test_a_mailgun_domain_unknown_in_the_region_is_named(tmp_path: Path) -> None:
    with MailgunFake(SECRET, "other.example.org") as fake:
        settings = blog(tmp_path, {"name": "mailgun", "base_url": fake.url, "domain": DOMAIN})
        with pytest.raises(ProviderSetupError, match=r"provider\.domain and provider\.region"):
            send(settings, MAILGUN)
    assert not fake.messages

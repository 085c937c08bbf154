"""Headers carry exactly the text a feed gave them, on every Python the project supports.

A title written as an RFC 2047 encoded-word hiding CR/LF became real headers and a new body
on Python before 3.11.10 / 3.12.5 (CVE-2024-6923); long non-ASCII subjects lost a space
between words on Python before 3.13; control characters reached the Subject. These tests run
on the oldest supported patch release in CI as well as the newest (.github/workflows/tests.yml).
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.cli import main
from newsletter.headers import LINE_LIMIT, api_subject, needs_encoding, one_line, smtp_policy
from newsletter.message import build_message
from newsletter.models import Email
from newsletter.render import list_id

INJECTION = (
    "=?utf-8?q?Hello=0D=0AReply-To=3A_attacker=40evil.example=0D=0A=0D=0AYour_account_is_locked?="
)
UKRAINIAN = "Київ Київ РФ районах РФ вибухи пролунали вибухи балістичними в світло та Київ"
"""Python 3.11's own fold puts the space after the second "РФ" between two encoded-words."""
HEADER_NAMES = [
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "Content-Type",
    "Content-Language",
]


def message_with(subject: str, blog: str = "Garden Notes") -> bytes:
    mail = Email(
        subject=subject,
        preheader="",
        html="<p>The body.</p>",
        text="The body.\n",
        headers={"List-Id": list_id(blog, "news@blog.example.org")},
        sender="Garden Notes <news@blog.example.org>",
        language="en",
    )
    return bytes(build_message(mail, to="reader@example.net"))


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_only_our_headers(raw: bytes) -> EmailMessage:
    message = parsed(raw)
    assert list(message.keys()) == HEADER_NAMES
    assert not message.defects
    text = message.get_body(("plain",))
    assert text is not None and text.get_content() == "The body.\n"
    header = ""
    for line in raw.split(b"\n\n", 1)[0].decode("ascii").split("\n"):
        header = header if line.startswith(" ") else line.split(":")[0]
        # The subject keeps to the recommended length; nothing passes the hard limit.
        assert len(line) <= (LINE_LIMIT if header == "Subject" else 998), line
    return message


def test_an_encoded_word_in_a_title_is_shown_as_written_not_decoded_into_headers() -> None:
    raw = message_with(INJECTION)
    message = assert_only_our_headers(raw)
    assert message["Subject"] == INJECTION
    assert b"Reply-To" not in raw.split(b"\n\n", 1)[0].replace(b"Reply-To=3A", b"")
    assert b"Your account is locked" not in raw


def test_the_blog_name_in_list_id_cannot_add_a_header_either() -> None:
    message = assert_only_our_headers(message_with("Fine", blog=INJECTION))
    display, identifier = parseaddr(str(message["List-Id"]))
    assert display == INJECTION
    assert identifier.endswith(".blog.example.org")


def test_a_long_non_ascii_subject_keeps_every_space() -> None:
    message = assert_only_our_headers(message_with(UKRAINIAN))
    assert message["Subject"] == UKRAINIAN


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("ab\x08cd", "abcd"),
        ("one\rtwo\nthree\r\nfour", "one two three four"),
        ("next\x85line\u2028and\u2029paragraph", "next line and paragraph"),
        ("bell\x07 null\x00 escape\x1b[31m", "bell null escape[31m"),
        ("delete\x7f and c1\x9b", "delete and c1"),
    ],
)
def test_control_characters_never_reach_a_header(given: str, shown: str) -> None:
    message = assert_only_our_headers(message_with(given))
    assert message["Subject"] == shown
    assert api_subject(given) == shown


def test_the_smtp_serialisation_keeps_the_same_header_lines() -> None:
    mail = Email(subject=INJECTION + " " + UKRAINIAN, preheader="", html="<p>b</p>", text="b")
    message = build_message(mail, to="reader@example.net")
    for policy in (smtp_policy(), smtp_policy(utf8=True)):
        again = parsed(message.as_bytes(policy=policy))
        assert again["Subject"] == INJECTION + " " + UKRAINIAN
        assert "Reply-To" not in again


def test_json_providers_get_a_subject_no_mail_app_would_decode() -> None:
    sent = api_subject(INJECTION)
    assert "=?" not in sent
    assert sent.replace("\u200b", "") == INJECTION
    assert api_subject("Plain subject") == "Plain subject"


# Titles built from the pieces that broke headers: encoded-word look-alikes, every kind of
# line break, control characters, non-ASCII words and long runs without a space.
PIECES = st.sampled_from(
    [
        "=?utf-8?q?",
        "=?UTF-8?B?",
        "?=",
        "=0D=0A",
        "\r",
        "\n",
        "\r\n",
        "\x85",
        "\u2028",
        "\u2029",
        "\x00",
        "\x08",
        "\x1b",
        "\t",
        " ",
        "Reply-To: a@evil.example",
        "Bcc:",
        "обстріляли",
        "日本語のタイトル",
        "café",
        "x" * 90,
        '"quoted"',
        "\\",
        "<b>",
    ]
)
TITLES = st.lists(PIECES | st.text(max_size=12), max_size=12).map("".join)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(title=TITLES, blog=TITLES)
def test_any_title_and_blog_name_travel_exactly(title: str, blog: str) -> None:
    expected_subject = one_line(title)
    message = assert_only_our_headers(message_with(title, blog=blog))
    assert message["Subject"] == expected_subject
    display, _, identifier = str(message["List-Id"]).rpartition(" ")
    if not needs_encoding(one_line(blog)) and display.startswith('"'):
        # A plain name with RFC 5322 specials travels as a quoted string.
        display = display[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    assert display == one_line(blog)
    assert identifier.endswith(".blog.example.org>")
    mail = build_message(Email(title, "", "<p>b</p>", "b"), to="r@x.example")
    assert parsed(mail.as_bytes(policy=smtp_policy()))["Subject"] == expected_subject


# --- through a feed, end to end ----------------------------------------------------------------


def feed(item_title: str, channel_title: str) -> str:
    published = format_datetime(datetime.now(UTC) - timedelta(hours=3))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(channel_title)}</title><link>https://blog.example.org/</link>"
        f"<item><title>{escape(item_title)}</title><link>https://blog.example.org/1/</link>"
        f"<guid>https://blog.example.org/1/</guid><pubDate>{published}</pubDate>"
        "<description>&lt;p&gt;Words of the post.&lt;/p&gt;</description></item>"
        "</channel></rss>"
    )


def send_to_outbox(tmp_path: Path, xml: str, mode: str) -> EmailMessage:
    (tmp_path / "feed.xml").write_text(xml, encoding="utf-8")
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "Blog <news@blog.example.org>"\n'
        f'mode = "{mode}"\n[provider]\nname = "outbox"\ndir = "outbox"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(tmp_path / "newsletter.toml"), "-q", "send"]) == 0
    (written,) = (tmp_path / "outbox").glob("*.eml")
    return parsed(written.read_bytes())


def test_a_post_title_from_a_feed_cannot_add_headers_to_the_email_sent(tmp_path: Path) -> None:
    message = send_to_outbox(tmp_path, feed(INJECTION, "Garden Notes"), "per-post")
    assert message["Subject"] == INJECTION
    assert "Reply-To" not in message
    text = message.get_body(("plain",))
    assert text is not None and "Words of the post." in text.get_content()


def test_a_channel_title_from_a_feed_cannot_add_headers_to_the_digest(tmp_path: Path) -> None:
    message = send_to_outbox(tmp_path, feed("One post", INJECTION), "digest")
    assert "Reply-To" not in message
    assert INJECTION in json.dumps(str(message["List-Id"]), ensure_ascii=False)

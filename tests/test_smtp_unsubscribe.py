"""SMTP's unsubscribe links: each reader's own signed link from a template, one-click only
where the link names the reader, never with a mailto:, and the README's endpoint contract
checked against what the adapter really sends.

Emails are rendered by the real pipeline (`pipeline.send`) and received by aiosmtpd.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from newsletter import pipeline
from newsletter.config import parse_config
from newsletter.errors import ConfigError
from newsletter.pipeline import SendOptions
from newsletter.providers import traits_for
from tests.fakes.helpers import write_subscribers

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed: pip install -e '.[test]'")
from tests.smtp_servers import Mailbox, serving

ROOT = Path(__file__).resolve().parent.parent
SECRET = "unsubscribe-secret-4f1d9b27c3e8a605"
TEMPLATE = "https://blog.example.org/unsubscribe?email={email}&token={token}"
READERS = ["ada@example.net", "o.brien+news@example.net"]


def blog(folder: Path, **provider: Any) -> Any:
    published = format_datetime(datetime.now(UTC) - timedelta(days=1))
    (folder / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        "<link>https://blog.example.org/</link><item><title>Hello</title>"
        "<link>https://blog.example.org/hello/</link><guid>hello</guid>"
        f"<pubDate>{published}</pubDate><description>&lt;p&gt;Hi.&lt;/p&gt;</description>"
        "</item></channel></rss>"
    )
    subscribers = write_subscribers(folder, READERS)
    return parse_config(
        {
            "feed": {"url": "feed.xml"},
            "newsletter": {"from": "Blog <news@blog.example.org>"},
            "provider": {
                "name": "smtp",
                "host": "127.0.0.1",
                "security": "none",
                "subscribers": str(subscribers),
                **provider,
            },
        },
        path=folder / "newsletter.toml",
    )


def send_and_receive(folder: Path, environ: dict[str, str], **provider: Any) -> list[Message]:
    mailbox = Mailbox()
    with serving(mailbox) as port:
        config = blog(folder, port=port, **provider)
        pipeline.send(config, SendOptions(), environ, lambda line: None)
    return [message for _, _, message in mailbox.envelopes]


def parts(message: Message) -> tuple[str, str]:
    text, html = message.get_payload()  # type: ignore[misc]
    return (
        text.get_payload(decode=True).decode(),
        html.get_payload(decode=True).decode(),
    )


def verify(email: str, token: str, secret: str) -> bool:
    """The README's endpoint check, as written there (see test_the_readme_shows_this_check)."""
    expected = hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, token)


def test_each_reader_gets_their_own_signed_link_and_one_click(tmp_path: Path) -> None:
    messages = send_and_receive(
        tmp_path, {"UNSUBSCRIBE_SECRET": SECRET + "\n"}, unsubscribe_url=TEMPLATE
    )
    assert len(messages) == 2
    tokens = set()
    for message, reader in zip(messages, READERS, strict=True):
        header = message["List-Unsubscribe"]
        assert header.startswith("<https://blog.example.org/unsubscribe?") and header.endswith(">")
        url = header[1:-1]
        query = parse_qs(urlsplit(url).query)
        (email,), (token,) = query["email"], query["token"]
        assert email == reader
        assert re.fullmatch(r"[0-9a-f]{64}", token)
        assert verify(email, token, SECRET)
        assert not verify(READERS[0] if email != READERS[0] else READERS[1], token, SECRET)
        tokens.add(token)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = parts(message)
        assert url in text
        assert url.replace("&", "&amp;") in html
        assert "{email}" not in text + html and "{token}" not in text + html
        # The + of an address travels percent-encoded, as a query string must carry it.
        if "+" in reader:
            assert "o.brien%2Bnews@example.net" in url
            assert unquote(url.split("email=")[1].split("&")[0]) == reader
    assert len(tokens) == 2
    assert SECRET not in "".join(str(message) for message in messages)


def test_a_plain_http_template_gets_links_but_no_one_click(tmp_path: Path) -> None:
    template = TEMPLATE.replace("https://", "http://")
    messages = send_and_receive(tmp_path, {"UNSUBSCRIBE_SECRET": SECRET}, unsubscribe_url=template)
    for message in messages:
        assert message["List-Unsubscribe"].startswith("<http://blog.example.org/unsubscribe?")
        assert message["List-Unsubscribe-Post"] is None


def test_one_page_for_everyone_gets_no_one_click(tmp_path: Path) -> None:
    page = "https://blog.example.org/unsubscribe"
    messages = send_and_receive(tmp_path, {}, unsubscribe_url=page)
    for message in messages:
        assert message["List-Unsubscribe"] == f"<{page}>"
        assert message["List-Unsubscribe-Post"] is None


def test_a_mailto_never_comes_with_one_click(tmp_path: Path) -> None:
    messages = send_and_receive(tmp_path, {})
    for message in messages:
        assert message["List-Unsubscribe"] == "<mailto:news@blog.example.org?subject=unsubscribe>"
        assert message["List-Unsubscribe-Post"] is None


def test_a_long_link_is_one_header_line_a_mail_client_can_read(tmp_path: Path) -> None:
    long_page = "https://blog.example.org/newsletter/preferences/unsubscribe-from-this-list-now"
    messages = send_and_receive(tmp_path, {}, unsubscribe_url=long_page)
    # Not folded into RFC 2047 encoded words, which no client reads as a link.
    assert messages[0]["List-Unsubscribe"] == f"<{long_page}>"


@pytest.mark.parametrize(
    ("template", "missing"),
    [
        ("https://blog.example.org/u?email={email}", "{token}"),
        ("https://blog.example.org/u?token={token}", "{email}"),
    ],
)
def test_a_template_that_does_not_name_and_sign_the_reader_is_refused(
    tmp_path: Path, template: str, missing: str
) -> None:
    with pytest.raises(ConfigError, match=f"provider.unsubscribe_url has no {missing}"):
        traits_for(blog(tmp_path, port=25, unsubscribe_url=template))


@pytest.mark.parametrize(
    ("environ", "problem"),
    [({}, "is not set"), ({"UNSUBSCRIBE_SECRET": "short-secret"}, "shorter than 16")],
)
def test_a_template_needs_a_long_secret(
    tmp_path: Path, environ: dict[str, str], problem: str
) -> None:
    config = blog(tmp_path, port=25, unsubscribe_url=TEMPLATE)
    with pytest.raises(ConfigError, match=r"\$UNSUBSCRIBE_SECRET") as raised:
        pipeline.send(config, SendOptions(), environ, lambda line: None)
    assert problem in raised.value.message
    assert "short-secret" not in raised.value.message
    # Refused before anything was recorded.
    assert not (tmp_path / "state" / "ledger.json").exists()


def test_the_readme_shows_this_check() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(# The unsubscribe endpoint's check.*?)```", readme, re.S)
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # the README's own code, run as written
    token = hmac.new(SECRET.encode(), READERS[0].encode(), hashlib.sha256).hexdigest()
    assert namespace["valid"](READERS[0], token, SECRET)
    assert not namespace["valid"](READERS[1], token, SECRET)
    assert not namespace["valid"](READERS[0], token[:-1] + "0", SECRET)
    assert "compare_digest" in block

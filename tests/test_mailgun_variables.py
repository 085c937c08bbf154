"""A post that writes Mailgun's variables (`%recipient.name%`, `%unsubscribe_url%`) reaches
each reader as written, never filled in by Mailgun for that reader; the provider's own
unsubscribe placeholder in the footer still is."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from newsletter.compose import compose
from newsletter.config import parse_config
from newsletter.models import Feed, Post
from newsletter.providers.base import Unsubscribe

TITLE = "Greeting %recipient.name% by name"
BODY = (
    "<p>Write <code>%recipient.first%</code> and Mailgun fills it in; "
    '<a href="https://mailgun.example/docs?x=%recipient_email%">the docs</a> say '
    "%unsubscribe_url% and %mailing_list_unsubscribe_url% work too. Discounts of 50% stay.</p>"
)
# Mailgun's substitution, as its batch-sending and tracking pages describe it.
MAILGUN_VARIABLE = re.compile(
    r"%(recipient(?:\.(\w+)|_\w+)?|unsubscribe_url|tag_unsubscribe_url|"
    r"mailing_list_unsubscribe_url)%"
)


def as_mailgun_sends_it(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        if match.group(1).endswith("unsubscribe_url"):
            return "https://mg.example/u/ada"
        return "Ada"

    return MAILGUN_VARIABLE.sub(fill, text)


def test_mailgun_variables_in_a_post_reach_the_reader_as_written(tmp_path: Path) -> None:
    config = parse_config(
        {"newsletter": {"from": "Blog <news@blog.example.org>", "mode": "per-post"}},
        path=tmp_path / "newsletter.toml",
    )
    post = Post(
        id="p1",
        link="https://blog.example.org/greeting/",
        title=TITLE,
        author=None,
        published=datetime(2026, 11, 20, tzinfo=UTC),
        updated=None,
        html=BODY,
    )
    feed = Feed(
        "Blog", "https://blog.example.org/", "https://blog.example.org/feed/", "en", (post,)
    )
    (email,) = compose(config, feed, [post], Unsubscribe("%unsubscribe_url%"))

    subject = as_mailgun_sends_it(email.subject)
    text = as_mailgun_sends_it(email.text)
    html = as_mailgun_sends_it(email.html)
    assert "Ada" not in subject + text + html
    assert subject.replace("\u200b", "") == TITLE
    for written in ("%recipient.first%", "%unsubscribe_url%", "%mailing_list_unsubscribe_url%"):
        assert written in text.replace("\u200b", "")
        assert written.replace("%", "&#37;", 1) in html
    assert "x=&#37;recipient_email%" in html
    assert "Discounts of 50% stay." in text
    # The footer's own placeholder is the one Mailgun fills.
    assert html.count("https://mg.example/u/ada") == 1
    assert text.count("https://mg.example/u/ada") == 1

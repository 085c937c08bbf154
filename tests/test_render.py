"""The render stage: templates, what every email contains, escaping, size."""

from __future__ import annotations

import email
import email.header
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest

from newsletter.cli import main as cli_main
from newsletter.errors import ConfigError
from newsletter.message import build_message
from newsletter.models import Email, Excerpt, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render import GMAIL_CLIP_BYTES, RenderSettings, build_emails, html_size
from newsletter.render.compiler import markup_error_line
from newsletter.render.environment import BUILTIN_TEMPLATES

BLOG = "https://blog.example.org/"
UNSUBSCRIBE = Unsubscribe(url="https://blog.example.org/unsubscribe?list=1&who=x")
# Every provider's own per-recipient placeholder (docs/providers.md#at-a-glance).
PROVIDER_PLACEHOLDERS = [
    "{{ unsubscribe_url }}",  # Buttondown
    "%unsubscribe_url%",  # Mailgun
    "%mailing_list_unsubscribe_url%",  # Mailgun mailing lists
    "{{{ pm:unsubscribe }}}",  # Postmark
    "{{{RESEND_UNSUBSCRIBE_URL}}}",  # Resend
]

SENTENCES = (
    "The garden was quiet after the rain, and the tomatoes finally started to turn red.",
    "I spent the weekend rewriting the irrigation timer so it skips days with a forecast.",
    "Most of the work was reading the old notes and deciding what to keep.",
    "A neighbour asked how the raised beds survived the winter, so here is the long answer.",
    "Compost matters more than anything else, and it takes longer than you would think.",
)


def paragraph(words: int, link: str | None = None) -> str:
    text = " ".join(SENTENCES)
    chosen = " ".join(text.split()[:words])
    if link:
        chosen += f' See <a href="{link}">the earlier post</a> for the details.'
    return f"<p>{chosen}</p>"


def sample_feed(**changes: object) -> Feed:
    feed = Feed(title="Garden Notes", link=BLOG, url=BLOG + "feed/", language="en", posts=())
    return replace(feed, **changes)  # type: ignore[arg-type]


def sample_item(
    number: int = 1,
    *,
    title: str | None = None,
    image: bool = True,
    words: int = 200,
    excerpt_html: str | None = None,
) -> tuple[Post, Excerpt]:
    link = f"{BLOG}{2024}/{number:02d}/notes-{number}/"
    post = Post(
        id=f"tag:blog.example.org,2024:{number}",
        link=link,
        title=title if title is not None else f"Garden notes, week {number}",
        author="Ada Gardener",
        published=datetime(2024, 3, number % 28 + 1, 9, 30, tzinfo=UTC),
        updated=None,
        html="",
    )
    picture = f"https://cdn.example.net/pictures/{number}.jpg" if image else None
    if excerpt_html is None:
        per_paragraph = words // 4
        excerpt_html = "".join(
            [
                paragraph(per_paragraph, link=f"{BLOG}2023/12/beds/"),
                f'<p><img src="https://cdn.example.net/inline/{number}.jpg" alt="The beds in March"'
                ' width="552" style="display:block;max-width:100%;height:auto"></p>',
                paragraph(per_paragraph, link="https://example.com/compost-guide"),
                paragraph(per_paragraph),
                paragraph(per_paragraph),
            ]
        )
    text = re.sub(r"<[^>]+>", " ", excerpt_html)
    return post, Excerpt(
        html=excerpt_html, text=" ".join(text.split()), image=picture, truncated=True
    )


def sample_settings(**changes: object) -> RenderSettings:
    settings = RenderSettings(
        blog_title="Garden Notes",
        blog_url=BLOG,
        language="en",
        mode="digest",
        subject_template=None,
        read_more="Continue reading",
        postal_address="12 Allotment Lane, Springfield",
        utm={"utm_source": "newsletter", "utm_medium": "email"},
        templates_dir=None,
        sender="Garden Notes <news@blog.example.org>",
        reply_to=None,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


def render_one(
    items: list[tuple[Post, Excerpt]] | None = None,
    unsubscribe: Unsubscribe = UNSUBSCRIBE,
    **changes: object,
) -> Email:
    emails = build_emails(
        sample_feed(), items or [sample_item()], sample_settings(**changes), unsubscribe
    )
    assert len(emails) == 1
    return emails[0]


# --- shape ------------------------------------------------------------------------------


def test_digest_is_one_email_with_every_post_in_order() -> None:
    items = [sample_item(n) for n in (1, 2, 3)]
    emails = build_emails(sample_feed(), items, sample_settings(), UNSUBSCRIBE)
    assert len(emails) == 1
    html = emails[0].html
    positions = [html.index(f"Garden notes, week {n}</a>") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    assert emails[0].post_ids == tuple(post.id for post, _ in items)


def test_per_post_is_one_email_per_post() -> None:
    items = [sample_item(n) for n in (1, 2)]
    emails = build_emails(sample_feed(), items, sample_settings(mode="per-post"), UNSUBSCRIBE)
    assert [e.post_ids for e in emails] == [(items[0][0].id,), (items[1][0].id,)]
    assert "week 2" not in emails[0].html and "week 2" not in emails[0].text
    assert [e.subject for e in emails] == ["Garden notes, week 1", "Garden notes, week 2"]


def test_nothing_to_send_builds_nothing() -> None:
    assert build_emails(sample_feed(), [], sample_settings(), UNSUBSCRIBE) == []


def test_sender_language_and_headers() -> None:
    one_click = Unsubscribe(
        url="https://u.example/x", list_unsubscribe="<https://u.example/x>", one_click=True
    )
    sent = render_one(unsubscribe=one_click, reply_to="ada@example.org", language="en-GB")
    assert sent.sender == "Garden Notes <news@blog.example.org>"
    assert sent.language == "en-GB"
    assert sent.headers == {
        "List-Id": "Garden Notes <garden-notes.blog.example.org>",
        "Reply-To": "ada@example.org",
        "List-Unsubscribe": "<https://u.example/x>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_no_list_unsubscribe_headers_where_the_provider_adds_them() -> None:
    sent = render_one(unsubscribe=Unsubscribe(url="{{{ pm:unsubscribe }}}"))
    assert "List-Unsubscribe" not in sent.headers and "List-Unsubscribe-Post" not in sent.headers


def test_list_unsubscribe_without_one_click_has_no_post_header() -> None:
    mailto = Unsubscribe(url="mailto:x@y.z", list_unsubscribe="<mailto:x@y.z>")
    sent = render_one(unsubscribe=mailto)
    assert sent.headers["List-Unsubscribe"] == "<mailto:x@y.z>"
    assert "List-Unsubscribe-Post" not in sent.headers


@pytest.mark.parametrize("link", ["mailto:x@y.z", "http://u.example/x"])
def test_one_click_is_never_offered_without_an_https_link(link: str) -> None:
    # RFC 8058: the one-click POST goes to an https URI; a mail client cannot POST to a
    # mailto:, so such a header would promise an unsubscribe that never happens.
    asked = Unsubscribe(url=link, list_unsubscribe=f"<{link}>", one_click=True)
    sent = render_one(unsubscribe=asked)
    assert sent.headers["List-Unsubscribe"] == f"<{link}>"
    assert "List-Unsubscribe-Post" not in sent.headers


@pytest.mark.parametrize(
    ("title", "sender", "header"),
    [
        ("Garden Notes", "news@blog.example.org", "Garden Notes <garden-notes.blog.example.org>"),
        (
            "Notes, Mostly",
            "Ada <ada@mail.example>",
            '"Notes, Mostly" <notes-mostly.mail.example>',
        ),
        ("Café Crème", "a@b.example", "Café Crème <cafe-creme.b.example>"),
        ('Say "hi"', "a@b.example", '"Say \\"hi\\"" <say-hi.b.example>'),
        ("日本語", "a@b.example", "日本語 <newsletter.b.example>"),
    ],
)
def test_list_id_names_the_newsletter(title: str, sender: str, header: str) -> None:
    sent = render_one(blog_title=title, sender=sender)
    assert sent.headers["List-Id"] == header
    parsed = email.message_from_bytes(bytes(build_message(sent, to="reader@example.org")))
    assert str(email.header.make_header(email.header.decode_header(parsed["List-Id"]))) == header


# --- subject and preheader ---------------------------------------------------------------


def test_default_subjects() -> None:
    assert render_one([sample_item(1)]).subject == "Garden notes, week 1"
    # A digest leads with its first post's title (the From name already names the blog).
    assert render_one([sample_item(n) for n in (1, 2, 3)]).subject == (
        "Garden notes, week 1 and 2 more posts"
    )
    assert render_one([sample_item(n) for n in (1, 2)]).subject == (
        "Garden notes, week 1 and 1 more post"
    )


def test_configured_subject_template_sees_posts_blog_and_count() -> None:
    sent = render_one(
        [sample_item(1), sample_item(2)],
        subject_template="{{ blog.title }} — {{ count }} new: {{ posts[1].title }}",
    )
    assert sent.subject == "Garden Notes — 2 new: Garden notes, week 2"


def test_subject_is_one_line() -> None:
    sent = render_one([sample_item(1, title="Broken\r\nBcc: victim@example.com")])
    assert "\n" not in sent.subject and "\r" not in sent.subject
    assert sent.subject == "Broken Bcc: victim@example.com"


def test_subject_is_not_html_escaped() -> None:
    assert render_one([sample_item(1, title="Salt & pepper <3")]).subject == "Salt & pepper <3"


def test_a_broken_subject_template_names_the_config_key() -> None:
    with pytest.raises(ConfigError, match=r"newsletter\.subject.*line 1"):
        render_one(subject_template="{{ posts[0].title ")


def test_preheader_defaults_to_the_start_of_the_first_excerpt_and_is_hidden() -> None:
    sent = render_one()
    assert sent.preheader.startswith("The garden was quiet after the rain")
    assert len(sent.preheader) <= 145
    hidden = re.search(r'<div style="display:none;[^"]*">([^<]*)</div>', sent.html)
    assert hidden is not None
    assert hidden.group(1).startswith("The garden was quiet after the rain")


def test_the_preheader_is_prose_without_addresses_alt_texts_or_quote_marks() -> None:
    # The inbox preview line shows the words of the post, not the text part's furniture:
    # "(https://...)" after each link, "[alt]" for pictures, "> " for quotes, "* * *".
    from newsletter.excerpt import cut

    body = (
        '<p><img src="https://blog.example.org/a.jpg" alt="Tomatoes"></p>'
        "<blockquote><p>Grow what you eat.</p></blockquote><hr>"
        '<p>I wrote <a href="https://github.com/ada/timer">a timer</a> for the beds.</p>'
    )
    post, _ = sample_item(1)
    sent = render_one([(post, cut(replace(post, html=body)))])
    assert sent.preheader == "Grow what you eat. I wrote a timer for the beds."


# --- contents ------------------------------------------------------------------------------


def test_html_has_every_part_spec_lists() -> None:
    post, excerpt = sample_item(3)
    html = render_one([(post, excerpt)]).html
    utm = "utm_source=newsletter&amp;utm_medium=email"
    post_link = f'href="{post.link}?{utm}"'
    assert '<html lang="en"' in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert "Garden Notes</a>" in html and f'href="{BLOG}?{utm}"' in html  # blog name, linked
    assert html.count(post_link) >= 3  # title, picture and button
    assert '<time datetime="2024-03-04">March 4, 2024</time> · Ada Gardener' in html
    assert 'src="https://cdn.example.net/pictures/3.jpg" alt="Garden notes, week 3"' in html
    assert "The garden was quiet after the rain" in html
    assert ">Continue reading</a>" in html
    assert "12 Allotment Lane, Springfield" in html
    assert 'href="https://blog.example.org/unsubscribe?list=1&amp;who=x"' in html
    assert "because you subscribed to" in html


def test_real_headings_digest_has_blog_h1_and_post_h2() -> None:
    html = render_one([sample_item(1), sample_item(2)]).html
    assert re.search(r"<h1[^>]*><a [^>]*>Garden Notes</a></h1>", html)
    assert len(re.findall(r"<h2[^>]*><a [^>]*>Garden notes, week \d</a></h2>", html)) == 2


def test_per_post_email_has_the_post_title_as_h1() -> None:
    html = render_one(mode="per-post").html
    assert re.search(r"<h1[^>]*><a [^>]*>Garden notes, week 1</a></h1>", html)
    body = html.split("<body", 1)[1]
    assert "<h1" not in body.split("Garden notes, week 1")[0]


def test_text_part_has_the_same_contents_without_html() -> None:
    post, _ = sample_item(1, title="Salt & pepper")
    text = render_one([sample_item(1, title="Salt & pepper")]).text
    assert "Salt & pepper" in text and "&amp;" not in text and "<p>" not in text
    assert f"Continue reading: {post.link}?utm_source=newsletter&utm_medium=email" in text
    assert "March 4, 2024" not in text and "March 2, 2024 · Ada Gardener" in text
    assert "12 Allotment Lane, Springfield" in text
    assert "Unsubscribe: https://blog.example.org/unsubscribe?list=1&who=x" in text


def test_language_comes_from_the_feed_and_defaults_to_english() -> None:
    assert '<html lang="fr-CA"' in render_one(language="fr_CA").html
    emails = build_emails(
        sample_feed(language=None), [sample_item()], sample_settings(language=None), UNSUBSCRIBE
    )
    assert '<html lang="en"' in emails[0].html
    assert emails[0].language is None


def test_content_language_is_the_same_valid_tag_as_html_lang() -> None:
    # Feeds write en_US as often as en-US; the Content-Language header needs the BCP 47 form.
    sent = render_one(language="fr_CA")
    assert sent.language == "fr-CA"


def test_dates_follow_the_locale_cldr_way() -> None:
    # CLDR's long date: plain `en` is American English, `en-GB` writes the day first.
    assert '<time datetime="2024-03-02">2. März 2024</time>' in render_one(language="de").html
    assert '<time datetime="2024-03-02">2 March 2024</time>' in render_one(language="en-GB").html
    assert '<time datetime="2024-03-02">March 2, 2024</time>' in render_one(language="en").html


def test_undated_authorless_post_renders_without_a_meta_line() -> None:
    post, excerpt = sample_item(1)
    html = render_one([(replace(post, published=None, author=None), excerpt)]).html
    assert "nl-meta" not in html.split("<body")[1] and "<time" not in html


def test_picture_is_not_repeated_when_the_excerpt_already_shows_it() -> None:
    post, excerpt = sample_item(1)
    starts_with_it = replace(excerpt, image="https://cdn.example.net/inline/1.jpg")
    html = render_one([(post, starts_with_it)]).html
    assert html.count("https://cdn.example.net/inline/1.jpg") == 1


def test_no_picture_without_an_image() -> None:
    html = render_one([sample_item(1, image=False)]).html
    assert "cdn.example.net/pictures" not in html


def test_excerpt_links_to_the_blog_get_utm_and_other_links_do_not() -> None:
    html = render_one().html
    tagged = "https://blog.example.org/2023/12/beds/?utm_source=newsletter&amp;utm_medium=email"
    assert f'href="{tagged}"' in html
    assert 'href="https://example.com/compost-guide"' in html


def test_relative_links_in_the_excerpt_become_absolute() -> None:
    excerpt = '<p><a href="../other/">older</a> <img src="a.png" alt=""></p>'
    item = sample_item(1, excerpt_html=excerpt)
    html = render_one([item]).html
    assert 'href="https://blog.example.org/2024/01/other/?utm_source=newsletter' in html
    assert 'src="https://blog.example.org/2024/01/notes-1/a.png"' in html


def test_html_void_tags_in_the_excerpt_compile() -> None:
    excerpt = '<p>one<br>two<img src="https://x.example/a.png" alt="a > b"></p><hr>'
    item = sample_item(1, excerpt_html=excerpt)
    html = render_one([item]).html
    assert "one<br />two" in html and "<hr />" in html
    assert re.search(r'<img src="https://x.example/a.png" alt="a &gt; b"[^<>]* />', html)


def test_figures_are_not_indented_past_the_column() -> None:
    excerpt = '<figure><img src="https://x.example/a.png" alt=""></figure>'
    item = sample_item(1, excerpt_html=excerpt)
    assert '<figure style="margin:0 0 16px;">' in render_one([item]).html


# --- escaping ------------------------------------------------------------------------------


def test_markup_in_a_title_is_shown_as_text() -> None:
    sent = render_one([sample_item(1, title="Why <script>alert(1)</script> & <b>bold</b>")])
    assert "<script>alert(1)" not in sent.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in sent.html
    assert "Why <script>alert(1)</script> & <b>bold</b>" in sent.text


def test_template_syntax_in_a_title_is_never_evaluated() -> None:
    title = "Using {{ subscriber.email }} and {% if x %} in templates"
    buttondown = Unsubscribe(url="{{ unsubscribe_url }}")
    sent = render_one([sample_item(1, title=title)], unsubscribe=buttondown)
    # HTML: braces as character references, so neither Jinja nor the provider's own template
    # engine sees a tag, while a browser shows the braces.
    shown = "Using &#123;&#123; subscriber.email &#125;&#125; and &#123;% if x %&#125; in"
    assert shown in sent.html
    assert "{{ subscriber.email }}" not in sent.html and "{% if" not in sent.html
    # Text: a zero-width space splits each pair.
    assert "{\u200b{ subscriber.email }\u200b}" in sent.text and "{{ subscriber" not in sent.text
    assert sent.subject.replace("\u200b", "") == title


def test_code_that_only_looks_like_template_syntax_reaches_the_text_part_unchanged() -> None:
    # Only {{ {% {# and }} %} #} open or close a provider's template tag; Ruby's "#{...}",
    # an empty {} and printf's %% must be copyable from the text part as written.
    code = 'puts "#{name}"; opts = {}; printf("100%%"); ## note; } {'
    item = sample_item(1, excerpt_html=f"<pre>{code}</pre>")
    item = (item[0], replace(item[1], text=code))
    assert code in render_one([item]).text


def test_template_syntax_in_excerpt_text_is_neutralised() -> None:
    item = sample_item(1, excerpt_html="<p>Write {{ name }} here.</p>")
    assert "Write &#123;&#123; name &#125;&#125; here." in render_one([item]).html


def test_invisible_characters_in_a_title_stay_characters() -> None:
    html = render_one([sample_item(1, title="Zero\u200bwidth \u200fmark")]).html
    assert "\\u{200b}" not in html  # MRML would write a Rust escape into the aria-label
    assert "Zero&#x200b;width &#x200f;mark" in html


@pytest.mark.parametrize("placeholder", PROVIDER_PLACEHOLDERS)
def test_every_provider_placeholder_survives_mjml_intact(placeholder: str) -> None:
    sent = render_one(unsubscribe=Unsubscribe(url=placeholder))
    assert f'href="{placeholder}"' in sent.html
    assert f"Unsubscribe: {placeholder}" in sent.text


# --- size -----------------------------------------------------------------------------------


def test_a_ten_post_digest_stays_well_under_gmail_clipping() -> None:
    items = [sample_item(n, words=200) for n in range(1, 11)]
    sent = render_one(items)
    assert html_size(sent) < GMAIL_CLIP_BYTES * 0.6, html_size(sent)


def test_html_size_counts_utf8_bytes() -> None:
    sent = render_one()
    assert html_size(replace(sent, html="é😀")) == 6


GMAIL_CLIPS_ABOVE = 102_000
"""Gmail clips a message whose HTML passes "102 KB"; read as decimal kilobytes, the smaller
figure, so that no reading of it lets a clipped email out."""


def _long_post_feed(padding: int) -> str:
    """One post whose excerpt (everything before its break) holds `padding` characters of
    plain words, each one more byte of the email's HTML."""
    words = ("Plane the board flat before you mark it. " * (padding // 41 + 1))[: padding - 1] + "."
    body = f"<p>The long one.</p><p>{words}</p><!--more--><p>The rest.</p>"
    published = format_datetime(datetime.now(UTC))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Long Posts</title><link>https://long.example/</link><description>x</description>"
        "<item><title>A very long post</title><link>https://long.example/long/</link>"
        f"<guid>long-1</guid><pubDate>{published}</pubDate>"
        f"<description>{xml_escape(body)}</description></item></channel></rss>"
    )


def _run(folder: Path, padding: int, *arguments: str) -> int:
    (folder / "feed.xml").write_text(_long_post_feed(padding), encoding="utf-8")
    return cli_main(["--config", str(folder / "newsletter.toml"), "-q", *arguments])


@pytest.mark.parametrize(
    ("size", "goes_out"), [(GMAIL_CLIPS_ABOVE + 1, False), (GMAIL_CLIPS_ABOVE, True)]
)
def test_an_email_gmail_would_clip_is_refused_and_one_just_under_goes_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: int, goes_out: bool
) -> None:
    """Pinned at the byte: one byte over Gmail's limit is refused, the limit itself goes out."""
    assert GMAIL_CLIP_BYTES == GMAIL_CLIPS_ABOVE
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "Long <news@long.example>"\n'
        'mode = "per-post"\n[provider]\nname = "outbox"\ndir = "outbox"\n',
        encoding="utf-8",
    )

    def html_bytes_with(padding: int) -> int:
        look = tmp_path / f"look-{padding}"
        assert _run(tmp_path, padding, "preview", "--out", str(look)) == 0
        (page,) = look.glob("*.html")
        return len(page.read_bytes())

    overhead = html_bytes_with(90_000) - 90_000
    padding = size - overhead
    assert html_bytes_with(padding) == size, "each padding character is one byte of HTML"
    capsys.readouterr()

    code = _run(tmp_path, padding, "send")

    sent = list((tmp_path / "outbox").glob("*.eml"))
    if goes_out:
        assert (code, len(sent)) == (0, 1), capsys.readouterr().err
    else:
        assert (code, sent) == (3, []), "refused for safety, nothing sent"
        assert "Gmail" in capsys.readouterr().err


# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(BUILTIN_TEMPLATES.glob("*.mjml.j2")), ids=lambda p: p.name)
def test_builtin_mjml_templates_are_well_formed(path: Path) -> None:
    # the error locator relies on this: a built-in template must never be blamed
    assert markup_error_line(path.read_text(encoding="utf-8")) is None


def test_an_author_template_overrides_only_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "_footer.mjml.j2").write_text(
        "<mj-section><mj-column><mj-text>Bye from {{ blog.title }} "
        '<a href="{{ unsubscribe_url }}">leave</a></mj-text></mj-column></mj-section>'
    )
    (tmp_path / "subject.txt.j2").write_text("Weekly: {{ count }} from {{ blog.title }}")
    sent = render_one(templates_dir=tmp_path)
    assert "Bye from Garden Notes" in sent.html and "because you subscribed" not in sent.html
    assert sent.subject == "Weekly: 1 from Garden Notes"
    assert "Garden notes, week 1" in sent.html  # the built-in post partial still applies


def broken(tmp_path: Path, name: str, source: str) -> str:
    (tmp_path / name).write_text(source)
    with pytest.raises(ConfigError) as caught:
        render_one(templates_dir=tmp_path)
    return str(caught.value)


def test_a_jinja_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = broken(tmp_path, "_footer.mjml.j2", "<mj-section>\n\n{% if %}\n</mj-section>")
    assert str(tmp_path / "_footer.mjml.j2") in message and "line 3" in message


def test_an_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    message = broken(tmp_path, "_post.txt.j2", "{{ post.title }}\n{{ post.nonsense }}\n")
    assert str(tmp_path / "_post.txt.j2") in message and "line 2" in message
    assert "nonsense" in message


def test_an_unclosed_mjml_tag_names_file_and_line(tmp_path: Path) -> None:
    message = broken(
        tmp_path,
        "_footer.mjml.j2",
        "<mj-section>\n  <mj-column>\n    <mj-text>hi\n  </mj-column>\n</mj-section>",
    )
    assert str(tmp_path / "_footer.mjml.j2") in message and "line 4" in message


def test_an_unknown_mjml_tag_names_file_and_line(tmp_path: Path) -> None:
    message = broken(
        tmp_path, "_footer.mjml.j2", "<mj-section>\n  <mj-colum>\n  </mj-colum>\n</mj-section>"
    )
    assert str(tmp_path / "_footer.mjml.j2") in message and "line 2" in message
    assert "<mj-colum>" in message


def test_a_missing_include_is_named(tmp_path: Path) -> None:
    message = broken(tmp_path, "_footer.mjml.j2", '{% include "_nowhere.mjml.j2" %}')
    assert "_nowhere.mjml.j2" in message


def test_errors_are_one_sentence_without_traceback(tmp_path: Path) -> None:
    message = broken(tmp_path, "_footer.mjml.j2", "{{ 1 / 0 }}")
    assert "\n" not in message and "Traceback" not in message
    assert "_footer.mjml.j2" in message and "line 1" in message


# --- the .eml the outbox and preview write -------------------------------------------------------


def test_email_becomes_a_multipart_message_with_both_parts() -> None:
    sent = render_one(reply_to="ada@example.org")
    parsed = email.message_from_bytes(bytes(build_message(sent, to="reader@example.org")))
    assert parsed["Reply-To"] == "ada@example.org"
    kinds = [part.get_content_type() for part in parsed.walk()]
    assert kinds == ["multipart/alternative", "text/plain", "text/html"]


# --- links and bylines as feeds really write them ----------------------------------------


def test_a_feedburner_post_links_to_the_blog_not_the_proxy() -> None:
    # FeedBurner's <link> is its own click counter; the real permalink is feedburner:origLink
    # (docs/platform-breaks.md#feedburner). Only that one is the blog's, and only it gets UTM.
    post, excerpt = sample_item(1)
    proxied = replace(
        post,
        link="http://feedproxy.google.com/~r/garden/~3/AbCdEf/",
        orig_link=f"{BLOG}2024/01/notes-1/",
    )
    sent = render_one([(proxied, excerpt)], mode="per-post")
    assert "feedproxy" not in sent.html and "feedproxy" not in sent.text
    tagged = f"{BLOG}2024/01/notes-1/?utm_source=newsletter&utm_medium=email"
    assert f'href="{tagged.replace("&", "&amp;")}"' in sent.html
    assert f"Continue reading: {tagged}" in sent.text


@pytest.mark.parametrize(
    ("author", "shown"),
    [
        ("Ann (noreply@blogger.com)", "Ann"),  # Blogger: feedparser's "name (email)"
        ("ann@example.org (Ann Smith)", "Ann Smith"),  # RSS 2.0 <author>
        ("Unknown (noreply@blogger.com)", None),  # Blogger, profile hidden
        ("Unknown", None),  # Zola's atom.xml without an author
        ("ann@example.org", None),  # an address is not a byline
    ],
)
def test_the_byline_is_a_name_never_an_address_or_a_placeholder(
    author: str, shown: str | None
) -> None:
    post, excerpt = sample_item(1)
    sent = render_one([(replace(post, author=author), excerpt)], mode="per-post")
    meta = re.search(r'<p class="nl-meta"[^>]*>(.*?)</p>', sent.html)
    assert meta is not None
    assert "@" not in meta.group(1) and "Unknown" not in meta.group(1)
    assert "@" not in sent.text.split("\n\n")[1] and "Unknown" not in sent.text
    if shown:
        assert meta.group(1).endswith(f" · {shown}")
    else:
        assert "·" not in meta.group(1)


def test_the_date_shown_is_the_day_the_author_published_it() -> None:
    from newsletter import feed as feeds
    from newsletter.excerpt import cut

    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Garden Notes</title>'
        f"<link>{BLOG}</link><item><title>Midnight planting</title>"
        f"<link>{BLOG}2024/06/midnight/</link><guid>{BLOG}2024/06/midnight/</guid>"
        "<pubDate>Mon, 03 Jun 2024 00:30:00 +0200</pubDate>"
        "<description>&lt;p&gt;Planted by torchlight.&lt;/p&gt;</description>"
        "</item></channel></rss>"
    ).encode()
    parsed = feeds.parse(rss, url=BLOG + "feed/")
    post = parsed.posts[0]
    sent = render_one([(post, cut(post))], mode="per-post")
    assert '<time datetime="2024-06-03">June 3, 2024</time>' in sent.html
    assert "June 3, 2024" in sent.text


# --- no third parties, buttons that say where they go ----------------------------------------


def test_opening_the_email_fetches_nothing_but_the_posts_own_pictures() -> None:
    html = render_one([sample_item(n) for n in (1, 2)]).html
    assert "fonts.googleapis" not in html and "@import" not in html
    assert not re.search(r"<link\b", html)
    fetched = re.findall(r'\bsrc="([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    assert fetched and all(url.startswith("https://cdn.example.net/") for url in fetched)


def test_each_button_is_named_for_its_post() -> None:
    html = render_one([sample_item(1), sample_item(2)]).html
    labels = re.findall(r'<a [^>]*aria-label="([^"]*)"[^>]*>Continue reading</a>', html)
    assert labels == [
        "Continue reading: Garden notes, week 1",
        "Continue reading: Garden notes, week 2",
    ]


def test_a_post_shown_whole_has_no_button() -> None:
    post, excerpt = sample_item(1)
    whole = replace(excerpt, truncated=False)
    sent = render_one([(post, whole), sample_item(2)])
    assert sent.html.count(">Continue reading</a>") == 1
    assert "Continue reading: Garden notes, week 2" in sent.html
    assert "Continue reading: Garden notes, week 1" not in sent.html
    assert "Continue reading: " + post.link not in sent.text
    assert post.link + "?utm_source=newsletter&utm_medium=email" in sent.text  # still linked


def test_the_masthead_is_marked_for_its_dark_mode_colour() -> None:
    for mode in ("digest", "per-post"):
        html = render_one(mode=mode).html
        assert re.search(r'<a href="[^"]*" class="nl-brand"[^>]*>Garden Notes</a>', html)


# --- digests: contents list, short openings ----------------------------------------------------


def contents_of(sent: Email) -> list[tuple[str, str]]:
    listed = re.search(r">In this issue</h2>\s*<ul[^>]*>(.*?)</ul>", sent.html, re.S)
    return re.findall(r'<a href="(#[^"]*)">([^<]*)</a>', listed.group(1)) if listed else []


@pytest.mark.parametrize(("count", "listed"), [(1, False), (2, False), (3, True), (10, True)])
def test_a_full_digest_lists_its_titles_from_three_posts(count: int, listed: bool) -> None:
    sent = render_one([sample_item(n) for n in range(1, count + 1)])
    assert bool(contents_of(sent)) is listed
    assert ("In this issue:" in sent.text) is listed


def test_the_list_of_titles_links_to_each_post() -> None:
    sent = render_one([sample_item(n) for n in range(1, 4)])
    assert contents_of(sent) == [(f"#post-{n}", f"Garden notes, week {n}") for n in (1, 2, 3)]
    for n in (1, 2, 3):
        assert re.search(
            rf'<h2 [^>]*id="post-{n}"[^>]*><a [^>]*>Garden notes, week {n}</a>', sent.html
        )
    assert "In this issue:\n- Garden notes, week 1\n- Garden notes, week 2\n" in sent.text


def test_a_per_post_email_has_no_list_of_titles() -> None:
    sent = render_one([sample_item(1)], mode="per-post")
    assert contents_of(sent) == [] and 'id="post-' not in sent.html


def test_a_short_digest_shows_each_posts_opening_after_the_titles() -> None:
    items = [sample_item(n, words=400) for n in range(1, 11)]
    full = render_one(items)
    short = render_one(items, digest_excerpts="short")
    assert len(contents_of(short)) == 10
    assert html_size(short) < html_size(full) * 0.8
    for n in range(1, 11):
        section = short.text.split(f"Garden notes, week {n}\n", 2)[-1].split("Continue reading")[0]
        words = len(re.sub(r"\(https?://[^)]*\)", "", section).split())
        assert 30 <= words <= 100, (n, words)
    # Openings are prose: no pictures, inline or the post's own.
    body = short.html.split("<body", 1)[1]
    assert "cdn.example.net" not in body
    assert short.html.count(">Continue reading</a>") == 10


def test_a_short_digest_lists_titles_from_two_posts() -> None:
    sent = render_one([sample_item(1), sample_item(2)], digest_excerpts="short")
    assert len(contents_of(sent)) == 2


def test_a_short_post_shown_whole_in_a_short_digest_has_no_button() -> None:
    post, excerpt = sample_item(1, excerpt_html="<p>Only a few words here.</p>")
    whole = replace(excerpt, truncated=False)
    sent = render_one([(post, whole), sample_item(2)], digest_excerpts="short")
    assert sent.html.count(">Continue reading</a>") == 1
    assert "Only a few words here." in sent.html

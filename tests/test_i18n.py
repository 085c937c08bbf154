"""The newsletter's language: which locale a tag means, dates by CLDR, the email's own words
through gettext, and what an author's own template can use."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter.config import parse_config
from newsletter.errors import ConfigError
from newsletter.render import build_emails
from newsletter.render.i18n import ENGLISH, format_date, parse_locale, resolve_locale
from tests.test_render import UNSUBSCRIBE, render_one, sample_feed, sample_item, sample_settings

# --- which locale a tag means ------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "tag", "cldr", "direction"),
    [
        ("en-us", "en-US", "en_US", "ltr"),
        ("EN", "en", "en", "ltr"),
        ("en_US.UTF-8", "en-US", "en_US", "ltr"),
        ("de-DE", "de-DE", "de_DE", "ltr"),
        ("de_at", "de-AT", "de_AT", "ltr"),
        ("pt_BR", "pt-BR", "pt_BR", "ltr"),
        ("zh-Hans", "zh-Hans", "zh_Hans", "ltr"),
        ("zh-hans", "zh-Hans", "zh_Hans", "ltr"),
        ("zh-CN", "zh-CN", "zh_Hans_CN", "ltr"),
        ("zh-TW", "zh-TW", "zh_Hant_TW", "ltr"),
        ("sr-Latn", "sr-Latn", "sr_Latn", "ltr"),
        ("es-419", "es-419", "es_419", "ltr"),
        ("ar", "ar", "ar", "rtl"),
        ("ar-EG", "ar-EG", "ar_EG", "rtl"),
        ("he", "he", "he", "rtl"),
        ("iw", "he", "he_IL", "rtl"),  # the old code for Hebrew, still in old feeds
        ("fa", "fa", "fa", "rtl"),
    ],
)
def test_tags_as_feeds_write_them(written: str, tag: str, cldr: str, direction: str) -> None:
    locale = parse_locale(written)
    assert locale is not None
    assert (locale.tag, locale.cldr, locale.direction) == (tag, cldr, direction)
    assert locale.start_side == ("right" if direction == "rtl" else "left")


@pytest.mark.parametrize("written", ["", "  ", "x-default", "english", "zz", "en US", "de--DE"])
def test_tags_cldr_does_not_know_are_none(written: str) -> None:
    assert parse_locale(written) is None


def test_a_feed_tag_nobody_knows_falls_back_to_english() -> None:
    assert resolve_locale(None, ["x-default"]) == ENGLISH
    assert resolve_locale(None, [None]) == ENGLISH
    assert resolve_locale("", []) == ENGLISH
    assert not ENGLISH.declared


def test_the_configured_language_wins_over_the_feed() -> None:
    assert resolve_locale("de", ["fr-FR"]).tag == "de"
    assert resolve_locale("  ", ["fr-FR"]).tag == "fr-FR"


def test_several_feeds_use_the_first_that_names_a_language() -> None:
    assert resolve_locale(None, ["fr", "de"]).tag == "fr"
    assert resolve_locale(None, [None, "", "de", "fr"]).tag == "de"


def test_a_configured_language_cldr_does_not_know_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"newsletter\.language 'zz' .*BCP 47"):
        resolve_locale("zz", ["de"])


@pytest.mark.parametrize(
    ("written", "catalogue"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("de-CH", "de"),
        ("en-GB", "en"),
        ("el", "en"),  # Greek: no catalogue yet
        ("pt", "pt_BR"),  # CLDR's plain Portuguese is Brazil's
        ("pt-BR", "pt_BR"),
        ("pt_PT", "pt_PT"),
        ("pt-AO", "pt_PT"),  # other regions write as Portugal does
        ("no", "nb"),
        ("nb-NO", "nb"),
        ("nn", "nb"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("iw", "he"),
        ("fa-IR", "fa"),
        ("ar-EG", "ar"),
        ("ja-JP", "ja"),
        ("ko-KR", "ko"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
    ],
)
def test_the_words_come_from_the_closest_shipped_catalogue(written: str, catalogue: str) -> None:
    locale = parse_locale(written)
    assert locale is not None and locale.catalogue == catalogue


def test_a_language_without_a_catalogue_still_gets_its_own_dates() -> None:
    greek = parse_locale("el")
    assert greek is not None and greek.catalogue == "en"
    assert format_date(date(2026, 3, 5), greek.cldr) == "5 Μαρτίου 2026"


# --- the configuration key -----------------------------------------------------------------


def test_newsletter_language_in_the_configuration() -> None:
    assert parse_config({"newsletter": {"language": "pt-BR"}}).newsletter.language == "pt-BR"
    assert parse_config({"newsletter": {"language": ""}}).newsletter.language is None
    assert parse_config({}).newsletter.language is None


@pytest.mark.parametrize(
    ("value", "words"),
    [("Deutsch!", "must be a language tag"), (3, "must be a string"), ("de DE", "language tag")],
)
def test_a_malformed_language_names_the_key(value: object, words: str) -> None:
    with pytest.raises(ConfigError, match=rf"newsletter\.language .*{words}"):
        parse_config({"newsletter": {"language": value}})


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cldr", "expected"),
    [
        ("de_DE", "5. März 2026"),
        ("fr", "5 mars 2026"),
        ("ja", "2026年3月5日"),
        ("zh_Hans", "2026年3月5日"),
        ("pt_BR", "5 de março de 2026"),
        ("en", "March 5, 2026"),
        ("en_GB", "5 March 2026"),
        ("he", "5 במרץ 2026"),
    ],
)
def test_dates_are_written_the_locale_cldr_way(cldr: str, expected: str) -> None:
    # An evening post east of UTC keeps the day the author published it.
    moment = datetime.fromisoformat("2026-03-05T23:30:00+09:00")
    assert format_date(moment, cldr) == expected


def test_format_date_takes_dates_iso_strings_and_nothing() -> None:
    assert format_date(date(2026, 3, 5), "de", "medium") == "05.03.2026"
    assert format_date("2026-03-05", "de", "d. MMMM") == "5. März"
    assert format_date(None, "de") == ""
    assert format_date("", "de") == ""


# --- the email in German ---------------------------------------------------------------------


def german_digest(**changes: object) -> tuple[str, str, str]:
    sent = render_one([sample_item(n) for n in (1, 2, 3)], language="de-DE", **changes)
    return sent.subject, sent.html, sent.text


def test_a_german_email_speaks_german_everywhere() -> None:
    subject, html, text = german_digest()
    assert subject == "Garden notes, week 1 und 2 weitere Beiträge"
    assert '<html lang="de-DE" dir="ltr"' in html
    assert '<time datetime="2024-03-02">2. März 2024</time>' in html
    assert ">Weiterlesen</a>" in html and "Continue reading" not in html
    assert "Sie erhalten diese E-Mail, weil Sie <a href=" in html
    assert ">Garden Notes</a> abonniert haben." in html
    assert ">Abmelden</a>" in html and "Unsubscribe<" not in html
    assert "2. März 2024 · Ada Gardener" in text
    assert "Weiterlesen: https://blog.example.org/2024/01/notes-1/" in text
    flat = " ".join(text.split())  # the text part wraps long lines
    assert "Sie erhalten diese E-Mail, weil Sie Garden Notes (https://blog.example.org/" in flat
    assert "Abmelden: https://blog.example.org/unsubscribe?list=1&who=x" in text


def test_one_more_post_is_singular() -> None:
    sent = render_one([sample_item(1), sample_item(2)], language="de")
    assert sent.subject == "Garden notes, week 1 und 1 weiterer Beitrag"


def test_the_blog_name_in_the_translated_footer_is_still_escaped() -> None:
    _, html, text = german_digest(blog_title="Salt & <Pepper>")
    assert ">Salt &amp; &lt;Pepper&gt;</a> abonniert haben." in html
    assert "Salt & <Pepper> (https://blog.example.org/" in " ".join(text.split())


def test_an_authors_own_button_text_is_used_as_written() -> None:
    _, html, text = german_digest(read_more="Mehr im Blog")
    assert ">Mehr im Blog</a>" in html and "Weiterlesen" not in html
    assert "Mehr im Blog: https://blog.example.org/2024/01/notes-1/" in text


def test_the_post_keeps_its_own_direction() -> None:
    html = render_one(language="de").html
    assert '<div dir="auto" style="text-align:start;"><p>The garden was quiet' in html
    assert re.search(r'<h[12] style="[^"]*text-align:start;" dir="auto">', html)


def test_no_language_anywhere_is_english_without_a_content_language() -> None:
    emails = build_emails(
        sample_feed(language=None), [sample_item()], sample_settings(language=None), UNSUBSCRIBE
    )
    assert '<html lang="en" dir="ltr"' in emails[0].html and emails[0].language is None


def test_the_feeds_language_is_used_when_none_is_configured() -> None:
    emails = build_emails(
        sample_feed(language="de-DE"), [sample_item()], sample_settings(language=None), UNSUBSCRIBE
    )
    assert emails[0].language == "de-DE" and ">Weiterlesen</a>" in emails[0].html


def test_the_configured_language_beats_the_feeds() -> None:
    emails = build_emails(
        sample_feed(language="en-US"), [sample_item()], sample_settings(language="de"), UNSUBSCRIBE
    )
    assert emails[0].language == "de" and ">Weiterlesen</a>" in emails[0].html


# --- what an author's own templates can use --------------------------------------------------


def test_a_configured_subject_can_use_gettext_and_the_date_filter() -> None:
    subject, _, _ = german_digest(
        subject_template='{{ _("In this issue") }}: {{ posts[0].published | date }}'
    )
    assert subject == "In dieser Ausgabe: 2. März 2024"


def test_an_authors_template_can_use_gettext_ngettext_and_dates(tmp_path: Path) -> None:
    (tmp_path / "_footer.txt.j2").write_text(
        '{{ _("Unsubscribe") }} → {{ unsubscribe_url }}\n'
        '{{ ngettext("%(title)s and %(num)d more post", "%(title)s and %(num)d more posts", '
        "count, title=blog.title) }}\n"
        "{% trans %}Comments{% endtrans %}\n"
        '{{ posts[0].published | date("medium") }} / {{ posts[0].published | date("full") }}'
        ' / {{ posts[0].published | date("d MMMM y", locale="fr") }}\n',
        encoding="utf-8",
    )
    _, _, text = german_digest(templates_dir=tmp_path)
    assert "Abmelden → https://blog.example.org/unsubscribe?list=1&who=x" in text
    assert "Garden Notes und 3 weitere Beiträge" in text
    assert "Kommentare" in text
    assert "02.03.2024 / Samstag, 2. März 2024 / 2 mars 2024" in text


def test_a_bad_date_in_an_authors_template_names_the_template(tmp_path: Path) -> None:
    (tmp_path / "_footer.txt.j2").write_text("{{ blog.title | date }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"_footer\.txt\.j2.*line 1"):
        german_digest(templates_dir=tmp_path)


def test_a_lone_percent_sign_in_an_authors_text_says_to_double_it(tmp_path: Path) -> None:
    footer = tmp_path / "_footer.txt.j2"
    footer.write_text('{{ _("Save 50% this week") }}\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"_footer\.txt\.j2.*line 1.*a % in a _\(\) text is written %%"
    ):
        german_digest(templates_dir=tmp_path)
    doubled = tmp_path / "doubled"
    doubled.mkdir()
    (doubled / "_footer.txt.j2").write_text('{{ _("Save 50%% this week") }}\n', encoding="utf-8")
    assert "Save 50% this week" in german_digest(templates_dir=doubled)[2]


def test_check_names_a_configured_language_cldr_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `send` would stop at rendering; `check`, the command to run first, must say so too.
    from newsletter.cli import main
    from tests.cli_harness import FeedPost, rss

    post = FeedPost("post-1", "https://blog.example.org/1/", "One", datetime.now(UTC))
    (tmp_path / "feed.xml").write_bytes(rss([post]))
    config = tmp_path / "newsletter.toml"
    for language, code in (("zz", 2), ("de-AT", 0)):
        config.write_text(
            f'[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "B <n@blog.example.org>"\n'
            f'language = "{language}"\n',
            encoding="utf-8",
        )
        assert main(["--config", str(config), "check"]) == code
        assert ("newsletter.language 'zz'" in capsys.readouterr().err) is (code == 2)


# --- start-up stays cheap ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [["--help"], ["status"]])
def test_babel_is_not_imported_by_commands_that_render_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    probe = (
        "import sys\n"
        "from newsletter.cli import main\n"
        "try:\n"
        f"    main({command!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('babel loaded' if 'babel' in sys.modules else 'babel not loaded')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().endswith("babel not loaded"), done.stdout + done.stderr


def test_sample_dates_are_real() -> None:
    # Guards the expectations above: sample_item(1) is published on 2 March 2024, a Saturday.
    assert sample_item(1)[0].published == datetime(2024, 3, 2, 9, 30, tzinfo=UTC)


# --- values inside translated words ------------------------------------------------------------


def test_a_title_inside_translated_words_is_escaped_like_everywhere_else() -> None:
    # Mail providers run template engines over the body: a title's braces must stay text
    # inside "Weiterlesen: …" too, and its markup must stay text.
    title = "Using {{ name }} & <b>bold</b>"
    html = render_one([sample_item(1, title=title)], language="de").html
    label = re.search(r'class="nl-button" aria-label="([^"]*)"', html)
    assert label is not None
    assert (
        label.group(1)
        == "Weiterlesen: Using &#123;&#123; name &#125;&#125; &amp; &lt;b&gt;bold&lt;/b&gt;"
    )


def test_a_right_to_left_post_has_its_quote_bar_and_cells_on_the_right() -> None:
    body = (
        "<p>مرحبا بكم في الحديقة.</p><blockquote><p>ازرع ما تأكل.</p></blockquote>"
        "<table><tr><th>النبتة</th><td>طماطم</td></tr></table>"
    )
    html = render_one([sample_item(1, excerpt_html=body)], language="de").html
    assert "border-right:3px solid" in html and "border-left:3px solid" not in html
    assert "text-align:right;vertical-align:top" in html
    english = render_one([sample_item(1, excerpt_html=body.replace("مرحبا", "Hello"))]).html
    assert "border-left:3px solid" in english  # the first strong letter decides

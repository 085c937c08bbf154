"""`newsletter send` to the outbox for blogs in other languages: the subject, dates, button,
footer and text part all speak the blog's language (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.test_cli_end_to_end import SCRIPT, read_eml, run

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="the newsletter command is not installed: pip install -e '.[test]'"
)

DATES = (
    "2026-03-05T18:00:00+01:00",
    "2026-03-03T09:00:00+01:00",
    "2026-03-02T09:00:00+01:00",
    "2026-03-01T12:00:00+01:00",
)


@dataclass(frozen=True)
class Blog:
    feed_language: str | None
    """What the feed declares (RSS <language> or Atom xml:lang); None: nothing."""
    configured: str | None
    """`[newsletter] language`, or None."""
    titles: tuple[str, ...]
    atom: bool = False


def rss(blog: Blog) -> str:
    language = f"<language>{blog.feed_language}</language>" if blog.feed_language else ""
    items = "".join(
        f"""<item><title>{title}</title><link>https://blog.example.org/{n}/</link>
<guid isPermaLink="false">post-{n}</guid><dc:creator>Ada</dc:creator>
<pubDate>{rfc822(DATES[n])}</pubDate>
<content:encoded><![CDATA[{body(title, n)}]]></content:encoded></item>"""
        for n, title in enumerate(blog.titles)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Blog</title>
<link>https://blog.example.org/</link>{language}{items}</channel></rss>"""


def atom(blog: Blog) -> str:
    language = f' xml:lang="{blog.feed_language}"' if blog.feed_language else ""
    entries = "".join(
        f"""<entry><title>{title}</title><link href="https://blog.example.org/{n}/"/>
<id>tag:blog.example.org,2026:{n}</id><published>{DATES[n]}</published>
<updated>{DATES[n]}</updated><author><name>Ada</name></author>
<content type="html">{escape(body(title, n))}</content></entry>"""
        for n, title in enumerate(blog.titles)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"{language}><title>Blog</title>
<id>tag:blog.example.org,2026:feed</id><updated>{DATES[0]}</updated>
<link href="https://blog.example.org/"/>{entries}</feed>"""


def body(title: str, n: int) -> str:
    """An opening, the author's break, and the rest that must stay on the blog."""
    return f"<p>{title}: opening {n}.</p><!--more--><p>REST-{n}</p>"


def rfc822(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso))


def send(tmp_path: Path, blog: Blog) -> EmailMessage:
    (tmp_path / "feed.xml").write_text(atom(blog) if blog.atom else rss(blog), encoding="utf-8")
    language = f'language = "{blog.configured}"\n' if blog.configured else ""
    (tmp_path / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n'
        f'[newsletter]\ntitle = "Das Blog"\nfrom = "Blog <news@blog.example.org>"\n{language}'
        '[provider]\nname = "outbox"\n',
        encoding="utf-8",
    )
    done = run(tmp_path, "send", "--since", "2026-03-01")
    assert done.returncode == 0, done.stderr
    [eml] = (tmp_path / "outbox").glob("*.eml")
    return read_eml(eml)


def parts(message: EmailMessage) -> tuple[str, str]:
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


@pytest.mark.slow
def test_a_german_blog(tmp_path: Path) -> None:
    blog = Blog("de-DE", None, ("Frühling im Garten", "Tomaten", "Kompost"))
    message = send(tmp_path, blog)
    html, text = parts(message)
    assert message["Subject"] == "Frühling im Garten und 2 weitere Beiträge"
    assert message["Content-Language"] == "de-DE"
    assert '<html lang="de-DE" dir="ltr"' in html
    assert '<time datetime="2026-03-05">5. März 2026</time>' in html
    assert "3. März 2026 · Ada" in text and "2. März 2026 · Ada" in text
    assert html.count(">Weiterlesen</a>") == 3
    assert "Weiterlesen: https://blog.example.org/0/?utm_source=newsletter" in text
    assert ">Das Blog</a> abonniert haben." in html
    flat = " ".join(text.split())  # the text part wraps long lines
    assert "Sie erhalten diese E-Mail, weil Sie Das Blog (https://blog.example.org/" in flat
    assert ">Abmelden</a>" in html and "\nAbmelden: mailto:" in text
    for english in ("Continue reading", "Unsubscribe", "You are receiving", "more post"):
        assert english not in html and english not in text
    assert "REST-" not in html and "REST-" not in text


@pytest.mark.slow
def test_a_brazilian_portuguese_blog_that_writes_its_tag_with_an_underscore(
    tmp_path: Path,
) -> None:
    blog = Blog("pt_BR", None, ("Receitas de outono", "Pão caseiro"))
    message = send(tmp_path, blog)
    html, text = parts(message)
    assert message["Subject"] == "Receitas de outono e mais 1 post"
    assert message["Content-Language"] == "pt-BR"
    assert '<html lang="pt-BR" dir="ltr"' in html
    assert '<time datetime="2026-03-05">5 de março de 2026</time>' in html
    assert "3 de março de 2026 · Ada" in text
    assert html.count(">Continuar lendo</a>") == 2
    assert "Continuar lendo: https://blog.example.org/0/?utm_source=newsletter" in text
    assert "Você está recebendo este e-mail porque se inscreveu em <a href=" in html
    flat = " ".join(text.split())
    assert "Você está recebendo este e-mail porque se inscreveu em Das Blog (https://" in flat
    assert ">Cancelar inscrição</a>" in html and "\nCancelar inscrição: mailto:" in text
    for english in ("Continue reading", "Unsubscribe", "You are receiving", "more post"):
        assert english not in html and english not in text


@pytest.mark.slow
def test_a_japanese_atom_feed_with_xml_lang(tmp_path: Path) -> None:
    blog = Blog("ja", None, ("春の庭", "トマトの苗", "堆肥づくり"), atom=True)
    message = send(tmp_path, blog)
    html, text = parts(message)
    assert message["Subject"] == "「春の庭」ほか2件"
    assert message["Content-Language"] == "ja"
    assert '<html lang="ja" dir="ltr"' in html
    assert '<time datetime="2026-03-05">2026年3月5日</time>' in html
    assert "2026年3月3日 · Ada" in text and "2026年3月2日 · Ada" in text
    assert html.count(">続きを読む</a>") == 3
    assert 'aria-label="続きを読む：春の庭"' in html
    assert "続きを読む: https://blog.example.org/0/?utm_source=newsletter" in text
    assert "このメールは、<a href=" in html and "を購読されている方にお送りしています。" in html
    flat = " ".join(text.split())
    assert "このメールは、Das Blog (https://blog.example.org/" in flat
    assert ">配信停止</a>" in html and "\n配信停止: mailto:" in text
    for english in ("Continue reading", "Unsubscribe", "You are receiving", "more post"):
        assert english not in html and english not in text


@pytest.mark.slow
def test_an_arabic_newsletter_set_in_the_configuration(tmp_path: Path) -> None:
    # The feed names no language; `[newsletter] language` says Arabic. Four posts: "and three
    # more" takes Arabic's few-form (3 to 10), not the dual or the singular.
    blog = Blog(
        None,
        "ar",
        ("ربيع الحديقة", "الطماطم", "السماد", "البذور"),
    )
    message = send(tmp_path, blog)
    html, text = parts(message)
    assert message["Subject"] == "ربيع الحديقة و3 تدوينات أخرى"
    assert message["Content-Language"] == "ar"
    assert '<html lang="ar" dir="rtl"' in html
    assert "direction:rtl" in html
    assert '<time datetime="2026-03-05">5 مارس 2026</time>' in html
    assert "3 مارس 2026 · Ada" in text
    assert html.count(">متابعة القراءة</a>") == 4
    assert "متابعة القراءة: https://blog.example.org/0/?utm_source=newsletter" in text
    assert "تصلك هذه الرسالة لأنك اشتركت في <a href=" in html
    flat = " ".join(text.split())
    assert "تصلك هذه الرسالة لأنك اشتركت في Das Blog (https://blog.example.org/" in flat
    assert ">إلغاء الاشتراك</a>" in html and "\nإلغاء الاشتراك: mailto:" in text
    for english in ("Continue reading", "Unsubscribe", "You are receiving", "more post"):
        assert english not in html and english not in text

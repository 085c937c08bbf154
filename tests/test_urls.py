from __future__ import annotations

import pytest

from newsletter.urls import LinkTagger, absolute_url, host_key

UTM = {"utm_source": "newsletter", "utm_medium": "email"}


def tagger(utm: dict[str, str] | None = None) -> LinkTagger:
    return LinkTagger("https://blog.example.org/", UTM if utm is None else utm)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/2024/post/", "https://blog.example.org/feed/", "https://blog.example.org/2024/post/"),
        (
            "img/a.png",
            "https://blog.example.org/2024/post/",
            "https://blog.example.org/2024/post/img/a.png",
        ),
        ("//cdn.example.net/a.png", "https://blog.example.org/", "https://cdn.example.net/a.png"),
        ("https://other.example/x", "https://blog.example.org/", "https://other.example/x"),
        ("  /spaced  ", "https://blog.example.org/", "https://blog.example.org/spaced"),
    ],
)
def test_absolute_url_resolves_against_the_base(url: str, base: str, expected: str) -> None:
    assert absolute_url(url, base) == expected


def test_host_key_ignores_case_and_www() -> None:
    assert host_key("https://WWW.Blog.Example.org/x") == "blog.example.org"


def test_links_to_the_blog_get_utm_parameters() -> None:
    assert tagger().tag("https://blog.example.org/about/") == (
        "https://blog.example.org/about/?utm_source=newsletter&utm_medium=email"
    )


def test_www_and_case_do_not_make_the_blog_another_site() -> None:
    assert "utm_source=newsletter" in tagger().tag("http://WWW.blog.example.org/about/")


def test_other_sites_never_get_utm_parameters() -> None:
    for url in (
        "https://example.com/",
        "https://evil-blog.example.org.attacker.test/",
        "https://sub.blog.example.org/",
    ):
        assert tagger().tag(url) == url


def test_always_tags_a_known_permalink_on_another_host() -> None:
    assert "utm_medium=email" in tagger().tag("https://medium.com/@me/post", always=True)


def test_existing_query_and_fragment_are_kept() -> None:
    assert tagger().tag("https://blog.example.org/search?q=a+b&page=2#results") == (
        "https://blog.example.org/search?q=a+b&page=2&utm_source=newsletter&utm_medium=email"
        "#results"
    )


def test_parameters_already_present_are_not_added_twice() -> None:
    once = tagger().tag("https://blog.example.org/p/")
    assert tagger().tag(once) == once
    custom = "https://blog.example.org/p/?utm_source=twitter"
    assert tagger().tag(custom) == custom + "&utm_medium=email"


def test_non_web_links_are_left_alone() -> None:
    for url in ("mailto:me@blog.example.org", "tel:+123", "#top", "{{{ pm:unsubscribe }}}"):
        assert tagger().tag(url, always=True) == url


def test_empty_utm_disables_tagging() -> None:
    assert tagger({}).tag("https://blog.example.org/p/") == "https://blog.example.org/p/"


def test_parameter_values_are_url_encoded() -> None:
    tagged = LinkTagger("https://b.example/", {"utm_campaign": "spring sale & more"}).tag(
        "https://b.example/"
    )
    assert tagged == "https://b.example/?utm_campaign=spring+sale+%26+more"


def test_tag_html_tags_blog_links_and_leaves_others() -> None:
    html = (
        '<p><a href="https://blog.example.org/a?x=1&amp;y=2">ours</a> and '
        '<a title="t" href="https://example.com/b">theirs</a></p>'
    )
    out = tagger().tag_html(html)
    assert '<a href="https://blog.example.org/a?x=1&amp;y=2&amp;utm_source=newsletter' in out
    assert '<a title="t" href="https://example.com/b">theirs</a>' in out


def test_tag_html_makes_relative_links_and_images_absolute() -> None:
    html = '<p><a href="/about/">about</a><img src="pic.png" alt="a &gt; b"></p>'
    out = tagger().tag_html(html, base="https://blog.example.org/2024/post/")
    tagged = "https://blog.example.org/about/?utm_source=newsletter&amp;utm_medium=email"
    assert f'href="{tagged}"' in out
    # images are made absolute but never tagged: UTM is for links people follow
    assert 'src="https://blog.example.org/2024/post/pic.png"' in out


def test_tag_html_ignores_text_that_looks_like_an_attribute() -> None:
    html = '<p>Write href="https://blog.example.org/" in your HTML</p>'
    assert tagger().tag_html(html) == html


def test_tag_html_handles_a_greater_than_sign_inside_an_attribute() -> None:
    html = '<a title="a > b" href="https://blog.example.org/x">x</a>'
    assert "utm_source" in tagger().tag_html(html)

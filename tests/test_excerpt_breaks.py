"""Where the break is: markers in full content, platform teasers, furniture, author markers."""

from __future__ import annotations

import pytest

from newsletter.errors import ConfigError
from newsletter.excerpt import cut
from tests.excerpt_helpers import make_post

POST = "https://blog.example/2024/06/a-post/"


def html_of(body: str, **fields: object) -> str:
    return cut(make_post(body, **fields)).html


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # WordPress span: own paragraph, continuing paragraph, end of paragraph, between blocks
        ('<p>One.</p><p><span id="more-5"></span></p><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p><p><span id="more-5"></span><br />\nTwo.</p>', "<p>One.</p>"),
        ('<p>One.<span id="more-5"></span></p><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p>\n\n<span id="more-5"></span>\n\n<p>Two.</p>', "<p>One.</p>"),
        (
            '<p>One.</p><span id=\'more-5\' class="x" style="margin:0"></span><p>Two.</p>',
            "<p>One.</p>",
        ),
        # Comments: WordPress raw, custom text, block delimiters, Jekyll, Eleventy, Drupal
        ("<p>One.</p><!--more--><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!--more Read the rest--><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!-- wp:more --><!--more--><!-- /wp:more --><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!-- more --><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!-- excerpt --><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!--break--><p>Two.</p>", "<p>One.</p>"),
        ("<p>One.</p><!--members-only--><p>Two.</p>", "<p>One.</p>"),
        # Anchors: Blogger, Hexo, Zola
        ('<p>One.</p><a name="more"></a><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p><p><span><a name="more"></a></span></p><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p><span id="more"></span><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p><a id="more"></a><p>Two.</p>', "<p>One.</p>"),
        ('<p>One.</p><span id="continue-reading"></span><p>Two.</p>', "<p>One.</p>"),
        # WordPress read-more links that lead to this post
        (f'<p>One.</p><p><a class="more-link" href="{POST}#more-5">(more…)</a></p>', "<p>One.</p>"),
        (
            f'<p>One.</p><a class="wp-block-read-more" href="{POST}">Read more</a><p>Two.</p>',
            "<p>One.</p>",
        ),
    ],
)
def test_break_markers(body: str, expected: str) -> None:
    excerpt = cut(make_post(body))
    assert excerpt.html == expected
    assert excerpt.truncated


def test_the_rest_of_the_break_paragraph_is_dropped_and_the_cut_ends_with_an_ellipsis() -> None:
    body = "<p>Before <em>the</em> break<!--more--> and after it.</p><p>More.</p>"
    assert html_of(body) == "<p>Before <em>the</em> break…</p>"


def test_a_cut_after_a_full_stop_needs_no_ellipsis() -> None:
    body = "<p>A whole sentence.<!--more--> And another.</p>"
    assert html_of(body) == "<p>A whole sentence.</p>"


def test_the_ellipsis_goes_after_a_link_not_into_it() -> None:
    body = '<p>See <a href="https://x.example/">this page</a><!--more--> for more.</p>'
    assert html_of(body) == '<p>See <a href="https://x.example/">this page</a>…</p>'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "<ul><li>Fold the paper.</li><li>Crease it</li><!--more--><li>Cut it.</li></ul>",
            "<ul><li>Fold the paper.</li><li>Crease it</li></ul>",
        ),
        (
            "<blockquote><p>Said in full</p><!--more--><p>Then more.</p></blockquote>",
            "<blockquote><p>Said in full</p></blockquote>",
        ),
        (
            "<div><p>A heading-like line</p><!-- wp:paragraph --><!--more--><p>Rest.</p></div>",
            "<div><p>A heading-like line</p></div>",
        ),
    ],
)
def test_a_break_between_blocks_inside_a_container_adds_no_ellipsis(
    body: str, expected: str
) -> None:
    # Nothing was cut mid-sentence: the list item, quote or paragraph before it is whole.
    assert html_of(body) == expected


def test_now_empty_ancestors_are_dropped() -> None:
    body = "<div><p>Keep.</p><section><div><p><!--more-->Gone.</p></div></section></div>"
    assert html_of(body) == "<div><p>Keep.</p></div>"


def test_a_marker_with_nothing_before_it_is_not_a_break() -> None:
    # WordPress <!--noteaser--> leaves the span at the very top.
    body = '<p><span id="more-5"></span></p><p>The whole post.</p>'
    excerpt = cut(make_post(body))
    assert excerpt.html == "<p>The whole post.</p>"
    assert not excerpt.truncated


def test_the_first_marker_wins() -> None:
    body = "<p>One.</p><!--more--><p>Two.</p><span id='more-5'></span><p>Three.</p>"
    assert html_of(body) == "<p>One.</p>"


@pytest.mark.parametrize(
    "comment", ["<!-- wp:paragraph -->", "<!--kg-card-begin: markdown-->", "<!-- more-posts? -->x"]
)
def test_editor_comments_are_not_breaks(comment: str) -> None:
    body = f"<p>One.</p>{comment}<p>Two.</p>"
    excerpt = cut(make_post(body))
    assert "Two." in excerpt.html
    assert not excerpt.truncated


def test_a_more_link_to_another_post_is_not_a_break() -> None:
    body = (
        '<p>One.</p><p><a class="more-link" href="https://blog.example/other/">Read</a></p>'
        "<p>Two.</p>"
    )
    assert "Two." in html_of(body)


@pytest.mark.parametrize(
    ("trailer", "expected"),
    [
        (
            f' &#8230; <a href="{POST}">Continue reading <span class="meta-nav">&#8594;</span></a>',
            "<p>Planes need a flat sole…</p>",
        ),
        (
            f' &#8230; <a href="{POST}" class="more-link">Continue reading'
            '<span class="screen-reader-text"> "A post"</span></a>',
            "<p>Planes need a flat sole…</p>",
        ),
        (
            f' &#8230; <p class="link-more"><a href="{POST}" class="more-link">Continue</a></p>',
            "<p>Planes need a flat sole…</p>",
        ),
        (
            '. <a href="http://www.blog.example/2024/06/a-post?utm_source=rss">Read more</a>',
            "<p>Planes need a flat sole.</p>",
        ),
        (f' <a href="{POST}#more">Read more »</a>', "<p>Planes need a flat sole</p>"),
        (f'! <a href="{POST}#more-5">Lire la suite</a>.', "<p>Planes need a flat sole!</p>"),
        (f"&#8230;</p><p><a href='{POST}'>Keep reading</a>", "<p>Planes need a flat sole…</p>"),
    ],
)
def test_teaser_trailers_are_recognised_by_where_they_lead(trailer: str, expected: str) -> None:
    excerpt = cut(make_post(f"<p>Planes need a flat sole{trailer}</p>", content_is_full=False))
    assert excerpt.html == expected
    assert excerpt.truncated


def test_trailer_link_through_feedburner_matches_the_original_link() -> None:
    post = make_post(
        '<p>Fix the wobble.</p><p><a href="https://blog.example/2024/06/truing/">More</a></p>',
        link="http://feedproxy.google.com/~r/blog/~3/AbC/",
        base_url="http://feedproxy.google.com/~r/blog/~3/AbC/",
        orig_link="https://blog.example/2024/06/truing/",
    )
    excerpt = cut(post)
    assert excerpt.html == "<p>Fix the wobble.</p>"
    assert excerpt.truncated


@pytest.mark.parametrize("ellipsis", ["[&#8230;]", "[&hellip;]", "[…]", "[...]", "[ … ]"])
def test_bracketed_ellipsis_becomes_a_plain_one(ellipsis: str) -> None:
    excerpt = cut(make_post(f"<p>the first stone does most {ellipsis}</p>"))
    assert excerpt.html == "<p>the first stone does most…</p>"
    assert excerpt.truncated


def test_a_trailing_link_elsewhere_is_content() -> None:
    body = '<p>Read the plans: <a href="https://tools.example/plans">Continue reading</a></p>'
    excerpt = cut(make_post(body))
    assert excerpt.html == body
    assert not excerpt.truncated


@pytest.mark.parametrize(
    "footer",
    [
        f'<p>The post <a rel="nofollow" href="{POST}">A post</a> appeared first on '
        '<a rel="nofollow" href="https://blog.example">Blog</a>.</p>',
        f'<p>The post <a href="{POST}">A post</a> appeared first on '
        '<a href="https://blog.example/">Blog</a>.</p>',
        # Localised: recognised by its two links, the post and the blog.
        f'<p>Der Beitrag <a href="{POST}">A post</a> erschien zuerst auf '
        '<a href="https://blog.example">Blog</a>.</p>',
    ],
)
def test_yoast_footer_is_removed(footer: str) -> None:
    excerpt = cut(make_post(f"<p>Body text.</p>\n{footer}"))
    assert excerpt.html == "<p>Body text.</p>"
    assert not excerpt.truncated


def test_a_closing_paragraph_with_ordinary_links_is_kept() -> None:
    body = (
        '<p>Body.</p>\n<p>Thanks to <a href="https://a.example/">Ann</a> and '
        '<a href="https://b.example/">Bo</a>.</p>'
    )
    assert html_of(body) == body


def test_medium_footer_and_stat_pixel_are_removed() -> None:
    body = (
        "<p>Story.</p>"
        '<img src="https://medium.com/_/stat?event=post.clientViewed" width="1" height="1">'
        '<hr><p><a href="https://medium.com/p/1">Story</a> was originally published in '
        '<a href="https://medium.com/pub">Pub</a> on Medium, where people are continuing the '
        "conversation by highlighting and responding to this story.</p>"
    )
    assert html_of(body) == "<p>Story.</p>"


def test_substack_widgets_are_removed_wherever_they_are() -> None:
    body = (
        '<p>One.</p><div class="subscription-widget-wrap-editor"><form><input type="email">'
        "</form></div><p>Two.</p>"
        '<p class="button-wrapper"><a class="button primary" href="https://x.substack.com/'
        'subscribe?"><span>Subscribe now</span></a></p>'
    )
    assert html_of(body) == "<p>One.</p>\n<p>Two.</p>"


class TestAuthorMarkers:
    def test_comment_written_as_a_comment(self) -> None:
        excerpt = cut(make_post("<p>A.</p><!--  Cut  --><p>B.</p>"), markers=["<!-- cut -->"])
        assert excerpt.html == "<p>A.</p>"

    def test_comment_written_as_plain_words(self) -> None:
        excerpt = cut(
            make_post("<p>A.</p><!-- end of teaser --><p>B.</p>"), markers=["end of teaser"]
        )
        assert excerpt.html == "<p>A.</p>"

    def test_css_selector(self) -> None:
        body = '<p>A.</p><div class="jump">Read on</div><p>B.</p>'
        assert cut(make_post(body), markers=[".jump"]).html == "<p>A.</p>"

    def test_selector_with_element_and_attribute(self) -> None:
        body = '<p>A.</p><hr data-break="yes"><p>B.</p>'
        assert cut(make_post(body), markers=["hr[data-break]"]).html == "<p>A.</p>"

    def test_author_markers_add_to_the_built_in_ones(self) -> None:
        body = "<p>A.</p><!--more--><p>B.</p><!-- cut --><p>C.</p>"
        assert cut(make_post(body), markers=["cut"]).html == "<p>A.</p>"

    def test_unconfigured_comment_is_not_a_break(self) -> None:
        excerpt = cut(make_post("<p>A.</p><!-- cut --><p>B.</p>"))
        assert "B." in excerpt.html

    def test_bad_selector_is_a_config_error_naming_it(self) -> None:
        with pytest.raises(ConfigError, match=r"\[excerpt\] marker 'p\[unclosed'"):
            cut(make_post("<p>A.</p>"), markers=["p[unclosed"])

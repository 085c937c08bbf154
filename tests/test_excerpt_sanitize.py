"""Email-safe output: allowlist, embeds, absolute URLs, usable and sized images."""

from __future__ import annotations

import pytest

from newsletter.excerpt import cut
from newsletter.excerpt.media import best_candidate
from tests.excerpt_helpers import make_post

STYLE = 'style="display:block;max-width:100%;height:auto"'
INLINE = 'style="vertical-align:middle;max-width:100%;height:auto"'
FULL = 'style="display:block;width:100%;max-width:100%;height:auto"'
THUMBNAIL = 'style="display:block;width:100%;max-width:480px;height:auto"'


def html_of(body: str, **fields: object) -> str:
    return cut(make_post(body, **fields)).html


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
        ("<style>p{color:red}</style><p>Hi</p>", "<p>Hi</p>"),
        ('<p onclick="steal()" onmouseover="x()">Hi</p>', "<p>Hi</p>"),
        ('<p><a href="javascript:alert(1)">Hi</a></p>', "<p>Hi</p>"),
        ('<p><a href=" JavaScript:alert(1)">Hi</a></p>', "<p>Hi</p>"),
        ('<form action="/s"><input name="q"><button>Go</button></form><p>Hi</p>', "<p>Hi</p>"),
        ('<p class="lead" id="x" style="color:red" data-x="1">Hi</p>', "<p>Hi</p>"),
        (
            '<p><a href="mailto:me@example.org" target="_blank" rel="x">me</a></p>',
            '<p><a href="mailto:me@example.org">me</a></p>',
        ),
        ("<article><section><p>Hi</p></section></article>", "<p>Hi</p>"),
        (
            '<p>Hi</p><object data="x.swf"><embed src="x.swf"></object>'
            "<svg><text>gone</text></svg>",
            "<p>Hi</p>",
        ),
    ],
)
def test_allowlist(body: str, expected: str) -> None:
    assert html_of(body) == expected


@pytest.mark.parametrize(
    "src",
    [
        "https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "//www.youtube.com/embed/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
    ],
)
def test_youtube_embed_becomes_a_linked_thumbnail(src: str) -> None:
    body = (
        '<figure class="wp-block-embed is-provider-youtube"><div class="wp-block-embed__wrapper">'
        f'<iframe title="Never gonna" width="500" height="281" src="{src}" frameborder="0" '
        "allowfullscreen></iframe></div></figure><p>Below.</p>"
    )
    excerpt = cut(make_post(body))
    assert excerpt.html == (
        '<figure><div><p><a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">'
        '<img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" alt="Never gonna" '
        f'width="480" {THUMBNAIL}></a></p></div></figure>\n<p>Below.</p>'
    )
    assert excerpt.image == "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"
    assert excerpt.text == "Never gonna (https://www.youtube.com/watch?v=dQw4w9WgXcQ)\n\nBelow."


def test_vimeo_embed_becomes_a_link() -> None:
    body = (
        '<p>Watch:</p><iframe src="https://player.vimeo.com/video/76979871?h=8272103f6e"></iframe>'
    )
    assert html_of(body) == (
        '<p>Watch:</p>\n<p><a href="https://vimeo.com/76979871">Watch on Vimeo</a></p>'
    )


def test_embed_inside_a_paragraph_stays_inline() -> None:
    body = '<p>See <iframe title="Clip" src="https://player.vimeo.com/video/1"></iframe> now.</p>'
    assert html_of(body) == '<p>See <a href="https://vimeo.com/1">Clip</a> now.</p>'


def test_other_iframes_become_a_link_to_their_page() -> None:
    body = '<p>Map:</p><iframe src="https://maps.example/embed?x=1"></iframe>'
    assert html_of(body) == (
        '<p>Map:</p>\n<p><a href="https://maps.example/embed?x=1">maps.example</a></p>'
    )


def test_video_with_poster_becomes_a_linked_picture() -> None:
    body = '<video poster="/poster.jpg" controls><source src="/clip.mp4" type="video/mp4"></video>'
    assert html_of(body) == (
        '<p><a href="https://blog.example/clip.mp4"><img src="https://blog.example/poster.jpg" '
        f'alt="Watch the video" width="480" {THUMBNAIL}></a></p>'
    )


def test_relative_urls_resolve_against_the_base() -> None:
    body = '<p><a href="../other/">Other</a> <img src="pic.png"></p>'
    assert html_of(body, base_url="https://blog.example/2024/06/a-post/") == (
        '<p><a href="https://blog.example/2024/06/other/">Other</a> '
        f'<img src="https://blog.example/2024/06/a-post/pic.png" alt="" {INLINE}></p>'
    )


def test_base_falls_back_to_the_item_link() -> None:
    body = '<p><a href="/about/">About</a></p>'
    post = make_post(body, base_url="", link="https://other.example/post/1")
    assert cut(post).html == '<p><a href="https://other.example/about/">About</a></p>'


def test_relative_link_without_any_base_loses_its_link_not_its_words() -> None:
    post = make_post('<p><a href="/about/">About</a></p>', base_url="", link="", id="tag:x")
    assert cut(post).html == "<p>About</p>"


def test_protocol_relative_image_becomes_https() -> None:
    assert 'src="https://cdn.example/a.jpg"' in html_of('<img src="//cdn.example/a.jpg">')


def test_lazy_loaded_image_gets_its_real_source() -> None:
    body = (
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/real.jpg" '
        'class="lazyload"><noscript><img src="/real.jpg"></noscript>'
    )
    excerpt = cut(make_post(body))
    assert excerpt.html == f'<p><img src="https://blog.example/real.jpg" alt="" {STYLE}></p>'
    assert excerpt.image == "https://blog.example/real.jpg"


def test_srcset_only_image_gets_the_candidate_that_fills_the_column() -> None:
    body = '<img srcset="/a-400.jpg 400w, /a-1200.jpg 1200w, /a-2400.jpg 2400w" alt="A">'
    assert html_of(body) == (
        f'<p><img src="https://blog.example/a-1200.jpg" alt="A" width="552" {FULL}></p>'
    )


def test_picture_element_uses_its_source() -> None:
    body = '<picture><source srcset="/b.webp 800w"><img data-lazy-src="" alt="B"></picture>'
    assert html_of(body) == (
        f'<p><img src="https://blog.example/b.webp" alt="B" width="552" {FULL}></p>'
    )


def test_image_without_any_source_is_dropped() -> None:
    assert html_of('<p>Text <img data-foo="x"></p>') == "<p>Text</p>"


@pytest.mark.parametrize(
    ("attributes", "width", "style"),
    [
        ('width="1024" height="683"', "552", FULL),
        (
            'width="300" height="200"',
            "300",
            STYLE.replace("max-width:100%", "width:100%;max-width:300px"),
        ),
        ('width="300px"', "300", STYLE.replace("max-width:100%", "width:100%;max-width:300px")),
        (
            'style="width: 200px; height: 100px"',
            "200",
            STYLE.replace("max-width:100%", "width:100%;max-width:200px"),
        ),
        # Nothing says how wide: the picture shows at its own size, up to the column.
        ("", None, STYLE),
        ('width="100%"', None, STYLE),
    ],
)
def test_images_keep_their_declared_width_up_to_the_column(
    attributes: str, width: str | None, style: str
) -> None:
    html = html_of(f'<img src="https://cdn.example/a.jpg" {attributes}>')
    if width is None:
        assert "width=" not in html
    else:
        assert f'width="{width}"' in html
    assert "height=" not in html
    assert style in html


@pytest.mark.parametrize(
    ("srcset", "expected"),
    [
        ("a.jpg 300w, b.jpg 1200w, c.jpg 2000w", ("b.jpg", 1200)),
        ("a.jpg 300w, b.jpg 800w", ("b.jpg", 800)),
        ("a.jpg 1x, b.jpg 2x", ("b.jpg", 2)),
        (
            "https://x.example/a,b.jpg 500w, https://x.example/c.jpg 1500w",
            ("https://x.example/c.jpg", 1500),
        ),
        ("", None),
    ],
)
def test_srcset_choice(srcset: str, expected: tuple[str, int] | None) -> None:
    assert best_candidate(srcset) == expected


def test_wordpress_emoji_images_become_characters() -> None:
    body = (
        '<p>Done <img draggable="false" role="img" class="emoji" alt="🎉" '
        'src="https://s.w.org/images/core/emoji/15.0.3/72x72/1f389.png"> today</p>'
    )
    assert html_of(body) == "<p>Done 🎉 today</p>"


@pytest.mark.parametrize(
    "pixel",
    [
        '<img src="https://pixel.wp.com/b.gif?host=x&amp;feed=1" width="1" height="1">',
        '<img src="https://stats.wordpress.com/b.gif?x=1">',
        '<img src="http://feeds.feedburner.com/~r/blog/~4/AbC" height="1" width="1" alt="">',
        '<img src="https://tracker.example/open.gif" width="1" height="1">',
        '<img src="https://tracker.example/open.gif" width="0">',
        '<img src="https://tracker.example/open.gif" style="width:1px;height:1px">',
        '<img src="https://tracker.example/open.gif" style="border:0; width: 1px; height: 1px;">',
        '<img src="https://tracker.example/open.gif" width="1" style="height:0">',
        '<img src="https://tracker.example/open.gif" style="display:none">',
        '<img src="https://tracker.example/open.gif" style="visibility: hidden">',
        '<img src="https://tracker.example/open.gif" hidden>',
    ],
)
def test_tracking_pixels_are_removed_and_never_the_picture(pixel: str) -> None:
    excerpt = cut(make_post(f"<p>Text.{pixel}</p>"))
    assert excerpt.html == "<p>Text.</p>"
    assert excerpt.image is None


def test_first_image_is_the_picture() -> None:
    body = '<p>Hi</p><img src="/one.jpg"><img src="/two.jpg">'
    assert cut(make_post(body)).image == "https://blog.example/one.jpg"


def test_no_image_no_picture() -> None:
    assert cut(make_post("<p>Just words.</p>")).image is None


@pytest.mark.parametrize("void", ["embed", "source", "track", "wbr"])
def test_an_unclosed_void_element_does_not_swallow_the_rest_of_the_post(void: str) -> None:
    # libxml2 does not know these HTML5 elements are empty and nests what follows inside
    # them; dropping the element must not drop the post after it.
    body = f'<p>Hi</p><{void} src="https://blog.example/x.swf"><p>After.</p><p>More.</p>'
    assert html_of(body) == "<p>Hi</p>\n<p>After.</p>\n<p>More.</p>"


def test_a_word_break_keeps_the_words_after_it() -> None:
    assert html_of("<p>super<wbr>cali<wbr>fragilistic and more.</p>") == (
        "<p>supercalifragilistic and more.</p>"
    )


@pytest.mark.parametrize(
    "player",
    [
        '<object width="425" height="344"><param name="movie" '
        'value="http://www.youtube.com/v/dQw4w9WgXcQ&hl=en"></param><embed '
        'src="http://www.youtube.com/v/dQw4w9WgXcQ&hl=en" type="application/x-shockwave-flash" '
        'width="425" height="344"></embed></object>',
        '<embed src="https://www.youtube.com/v/dQw4w9WgXcQ" type="application/x-shockwave-flash">',
    ],
)
def test_an_old_flash_youtube_player_becomes_a_linked_thumbnail(player: str) -> None:
    excerpt = cut(make_post(f"<p>Watch:</p>{player}<p>Below.</p>"))
    assert excerpt.html == (
        '<p>Watch:</p>\n<p><a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">'
        '<img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" alt="Watch on YouTube" '
        f'width="480" {THUMBNAIL}></a></p>\n<p>Below.</p>'
    )


@pytest.mark.parametrize(
    "hidden",
    [
        '<div style="display: none"><img src="/pin.jpg" alt="Pin me"><p>Pin text</p></div>',
        '<div style="DISPLAY:NONE;"><p>Pin text</p></div>',
        "<p hidden>Pin text</p>",
        '<span style="visibility:hidden">Pin text</span>',
    ],
)
def test_what_the_author_hid_stays_hidden(hidden: str) -> None:
    # Recipe and Pinterest plugins hide a tall "pin" picture and its description in the post;
    # the blog never shows it, so the email must not either.
    excerpt = cut(make_post(f"<p>Soup.</p>{hidden}<p>More soup.</p>"))
    assert excerpt.html == "<p>Soup.</p>\n<p>More soup.</p>"
    assert excerpt.image is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # WordPress's classic editor: the only sign of code is the inline font-family.
        (
            "<p>Run <span style=\"font-family: 'courier new', courier, monospace;\">ls -l"
            "</span> now.</p>",
            "<p>Run <code>ls -l</code> now.</p>",
        ),
        (
            '<p style="font-family: Consolas, monospace">x = 1<br>y = 2</p>',
            "<p><code>x = 1<br>y = 2</code></p>",
        ),
        ("<p>Old <tt>typewriter</tt> text</p>", "<p>Old <code>typewriter</code> text</p>"),
        # Code already marked stays as it is; other fonts are not code.
        (
            '<pre><span style="font-family: monospace">a</span></pre>',
            "<pre><span>a</span></pre>",
        ),
        (
            '<p><span style="font-family: Georgia, serif">Quote</span></p>',
            "<p><span>Quote</span></p>",
        ),
    ],
)
def test_code_marked_only_by_its_font_stays_code(body: str, expected: str) -> None:
    assert html_of(body) == expected

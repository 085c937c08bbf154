"""Images at their own size: widths read from the post and from image CDNs' addresses,
never enlarged, and small images (icons, badges, signatures) kept on their line."""

from __future__ import annotations

import re

import pytest

from newsletter.excerpt import cut
from tests.excerpt_helpers import make_post


def image_of(body: str) -> dict[str, str]:
    html = cut(make_post(body)).html
    found = re.search(r"<img ([^>]*)>", html)
    assert found is not None, html
    return dict(re.findall(r'(\w[\w-]*)="([^"]*)"', found.group(1)))


@pytest.mark.parametrize(
    ("src", "width"),
    [
        # Medium: /max/N/ and the newer /v2/resize:fit:N/
        ("https://cdn-images-1.medium.com/max/1024/1*a.png", "552"),
        ("https://miro.medium.com/v2/resize:fit:320/1*a.png", "320"),
        # Blogger: a /sN/ or /wN-hM/ path segment, or an =sN suffix
        ("https://blogger.googleusercontent.com/img/b/R29v/s320/crab.jpg", "320"),
        ("https://1.bp.blogspot.com/-abc/XYZ/AAA/def/w400-h300/crab.jpg", "400"),
        ("https://blogger.googleusercontent.com/img/a/AVvXsEh=s200", "200"),
        # Substack's fetch recipe (w_N), WordPress.com's ?w=N, Tumblr's sWxH
        ("https://substackcdn.com/image/fetch/w_300,c_limit,f_auto/https%3A%2F%2Fx%2Fa.png", "300"),
        ("https://harbour.files.wordpress.com/2024/06/a.jpg?w=250&h=100", "250"),
        ("https://i0.wp.com/blog.example/a.jpg?resize=150%2C150", "150"),
        ("https://64.media.tumblr.com/abc/s400x600/a.jpg", "400"),
    ],
)
def test_a_cdn_limit_is_a_ceiling_not_a_size(src: str, width: str) -> None:
    # The address only says "at most N px": Outlook gets the width attribute, every other
    # client `width:auto`, so a picture narrower than the limit is not blown up.
    image = image_of(f'<p><img src="{src}" alt="x"></p>')
    assert image["width"] == width
    assert "width:auto" in image["style"] and "max-width:100%" in image["style"]


@pytest.mark.parametrize(
    "src",
    [
        "https://blogger.googleusercontent.com/img/b/R29v/s0/crab.jpg",  # s0: the original
        "https://substackcdn.com/image/fetch/h_600,c_limit/https%3A%2F%2Fx%2Fa.png",  # height
        "https://cdn.example/medium.com/max/300/a.png",  # not Medium's host
    ],
)
def test_addresses_that_say_nothing_about_width_leave_it_to_the_picture(src: str) -> None:
    image = image_of(f'<p><img src="{src}" alt="x"></p>')
    assert "width" not in image
    assert image["style"] == "display:block;max-width:100%;height:auto"


def test_wordpress_size_in_the_file_name_is_the_real_width() -> None:
    image = image_of('<p><img src="https://blog.example/up/frost-300x200.jpg" alt="x"></p>')
    assert image["width"] == "300" and "width:auto" not in image["style"]


def test_the_declared_width_wins_over_the_cdn_limit() -> None:
    src = "https://blogger.googleusercontent.com/img/b/R29v/s1600/crab.jpg"
    assert image_of(f'<p><img src="{src}" width="320" height="240"></p>')["width"] == "320"


def test_a_picture_source_width_is_read_for_the_chosen_candidate() -> None:
    body = '<picture><source srcset="/a-300.webp 300w"><img data-lazy-src="" alt="B"></picture>'
    assert image_of(body)["width"] == "300"


def test_an_icon_before_a_sentence_stays_on_its_line() -> None:
    image = image_of('<p><img src="https://x.example/i.png" width="40" alt=""> Follow us</p>')
    assert image["width"] == "40"
    assert image["style"].startswith("vertical-align:middle;") and "display" not in image["style"]


def test_a_row_of_badges_stays_a_row() -> None:
    body = "<p>" + " ".join(
        f'<a href="https://x.example/{n}">'
        f'<img src="https://img.shields.io/badge/{n}.png" alt="{n}"></a>'
        for n in ("build", "pypi", "licence")
    )
    html = cut(make_post(body + "</p>")).html
    styles = re.findall(r'style="([^"]*)"', html)
    assert len(styles) == 3
    assert all(style.startswith("vertical-align:middle;") for style in styles)


def test_an_image_alone_in_its_paragraph_or_figure_is_a_block() -> None:
    alone = '<div><a href="https://x.example/big.jpg"><img src="https://x.example/a.jpg"></a></div>'
    assert image_of(alone)["style"].startswith("display:block;")
    figure = '<figure><img src="https://x.example/a.jpg"><figcaption>Words</figcaption></figure>'
    assert image_of(figure)["style"].startswith("display:block;")


@pytest.mark.parametrize(
    ("body", "picture"),
    [
        # An icon first, then the real picture.
        (
            '<p><img src="https://x.example/icon.png" width="40" height="40"> Hello</p>'
            '<p><img src="https://x.example/photo.jpg" width="1200"></p>',
            "https://x.example/photo.jpg",
        ),
        # A badge row at the top of a README-like post.
        (
            '<p><img src="https://img.shields.io/badge/build-passing-green.png"></p>'
            '<p><img src="https://x.example/screenshot.png"></p>',
            "https://x.example/screenshot.png",
        ),
        # Only a signature: no picture for the post.
        ('<p>Bye.</p><p><img src="https://x.example/sig.png" width="150" height="50"></p>', None),
    ],
)
def test_the_posts_picture_is_never_an_icon_a_badge_or_a_signature(
    body: str, picture: str | None
) -> None:
    assert cut(make_post(body)).image == picture


def test_an_address_that_cannot_be_parsed_is_no_picture_and_no_crash() -> None:
    # Found by the property test: urlsplit raises on an unbalanced IPv6 bracket.
    excerpt = cut(make_post('<p>Text <img src="//[" width="40"></p>'))
    assert excerpt.image is None and "<img" not in excerpt.html

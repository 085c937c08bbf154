"""What the feed carries reaches the email: the featured image (once), the "Listen" card of
an episode, the "Watch" card of a video, play cues on embedded players, the comments link,
each in the HTML and the text part, in the newsletter's language."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter import feed as feeds
from newsletter.compose import compose
from newsletter.config import parse_config
from newsletter.models import Email, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render.media import duration_text, iso_duration

MEDIA = Path(__file__).parent / "fixtures" / "media"
UNSUBSCRIBE = Unsubscribe("https://example.org/unsubscribe")
_IMG = re.compile(r"<img\b[^>]*>")


def read(name: str) -> Feed:
    return feeds.parse((MEDIA / name).read_bytes(), url=f"https://feeds.example.net/{name}")


def email_of(parsed: Feed, post: Post, **newsletter: object) -> Email:
    config = parse_config(
        {"newsletter": {"from": "Blog <news@example.org>", "mode": "per-post", **newsletter}}
    )
    (email,) = compose(config, parsed, [post], UNSUBSCRIBE)
    return email


def titled(parsed: Feed, start: str) -> Post:
    return next(post for post in parsed.posts if post.title.startswith(start))


def images(html: str) -> list[dict[str, str]]:
    found = []
    for tag in _IMG.findall(html):
        attributes = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag))
        found.append(attributes)
    return found


def sources(html: str) -> list[str]:
    return [image["src"].replace("&amp;", "&") for image in images(html)]


# --- the featured image ------------------------------------------------------------------------


def test_ghost_repeats_its_feature_image_in_the_body_and_the_email_shows_it_once() -> None:
    parsed = read("ghost.xml")
    html = email_of(parsed, parsed.posts[0]).html
    assert sources(html) == ["https://tidal.example.com/content/images/2026/11/anemone.jpg"]


def test_a_featured_image_plugin_picture_is_shown_at_the_top_at_the_column_width() -> None:
    parsed = read("wordpress-featured.xml")
    post = titled(parsed, "Sweet peas")
    html = email_of(parsed, post).html
    (picture,) = images(html)
    assert (
        picture["src"] == "https://allotment.example.org/wp-content/uploads/2026/11/sweet-peas.jpg"
    )
    assert picture["alt"] == "Sweet peas, at last"
    # 900 px wide: shown at the column's 552 px, never wider.
    assert picture["width"] == "552"
    assert "max-width:552px" in picture["style"]
    # Above the excerpt's first words (after the hidden preheader, which quotes them too).
    body = html[html.index('<div dir="auto" style="text-align:start;"><p>The sweet peas') :]
    assert "sweet-peas.jpg" not in body
    assert "sweet-peas.jpg" in html


def test_substack_cover_and_jekyll_image_are_shown_at_their_natural_size() -> None:
    for name in ("substack.xml", "jekyll.xml"):
        parsed = read(name)
        post = parsed.posts[0]
        (picture,) = images(email_of(parsed, post).html)
        assert post.image is not None and picture["src"] == post.image.url.replace("&", "&amp;")
        assert "width:auto;max-width:100%" in picture["style"]
        assert picture["alt"] == post.title


def test_blogger_crop_is_shown_larger_but_the_posts_own_picture_wins() -> None:
    parsed = read("blogger.xml")
    post = parsed.posts[0]
    assert sources(email_of(parsed, post).html) == [
        "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEi42/s1104/quilt.jpg"
    ]
    # A picture of the post's own after the break is the better choice than the crop.
    own = "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEi42/s1600/quilt-top.jpg"
    longer = replace(
        post,
        html=post.html
        + '<a name="more"></a><p>After the break.</p>'
        + f'<p><img src="{own}" width="1600"></p>',
    )
    assert sources(email_of(parsed, longer).html) == [own]


def test_blogger_crops_in_todays_spellings_are_never_shown_at_72_px() -> None:
    parsed = read("blogger.xml")
    # No picture of its own: the crop, asked for at a size fit for the column.
    basting = email_of(parsed, titled(parsed, "Basting")).html
    assert sources(basting) == [
        "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEj97/s1104/basting.png"
    ]
    # Its own picture after the jump break wins over the crop.
    binding = email_of(parsed, titled(parsed, "Binding")).html
    assert sources(binding) == [
        "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEj98/s640/binding.jpg"
    ]
    for html in (basting, binding):
        assert all(image.get("width") != "72" for image in images(html))


def test_the_featured_image_is_not_added_when_the_excerpt_shows_a_picture() -> None:
    parsed = read("wordpress-featured.xml")
    post = titled(parsed, "Sweet peas")
    body_picture = "https://allotment.example.org/wp-content/uploads/2026/11/frame.jpg"
    illustrated = replace(
        post, html=f'<p><img src="{body_picture}" width="800" alt="The cold frame"></p>' + post.html
    )
    assert sources(email_of(parsed, illustrated).html) == [body_picture]


def test_the_same_picture_at_another_size_counts_as_shown() -> None:
    parsed = read("mediarss.xml")
    post = titled(parsed, "The lifeboat")
    smaller = "https://harbourlights.files.wordpress.com/2026/11/launch.jpg?w=600"
    with_copy = replace(post, html=f'<p><img src="{smaller}" width="600"></p>' + post.html)
    assert sources(email_of(parsed, with_copy).html) == [smaller]
    # Without it, the larger copy (1,200 px declared) fills the column.
    (picture,) = images(email_of(parsed, post).html)
    assert picture["width"] == "552"


def test_an_avatar_only_post_has_no_picture() -> None:
    parsed = read("mediarss.xml")
    assert images(email_of(parsed, titled(parsed, "Gulls")).html) == []


# --- podcasts ----------------------------------------------------------------------------------


def test_an_episode_gets_a_listen_card_and_a_listen_line_in_the_text_part() -> None:
    parsed = read("podcast.xml")
    email = email_of(parsed, titled(parsed, "Episode 12"))
    (artwork,) = images(email.html)
    assert artwork["src"] == "https://radio.example.org/art/ep12.jpg"
    assert artwork["alt"] == "Episode artwork: Episode 12: Bread"
    assert artwork["width"] == "96"
    file = "https://cdn.radio.example.org/audio/ktr-12.mp3"
    assert re.search(
        rf'<a href="{re.escape(file)}" class="nl-button"[^>]*>.*?Listen</a>', email.html
    )
    assert '<time datetime="PT1H2M5S">1:02:05</time>' in email.html
    assert f"Listen: {file} (1:02:05)" in email.text


def test_an_episode_without_its_own_picture_shows_the_shows() -> None:
    parsed = read("podcast.xml")
    email = email_of(parsed, titled(parsed, "Episode 11"))
    (artwork,) = images(email.html)
    assert artwork["src"] == "https://radio.example.org/art/show.jpg"
    assert "Listen: https://cdn.radio.example.org/audio/ktr-11.m4a (45:09)" in email.text


def test_an_audio_file_wordpress_enclosed_gets_a_card_without_a_picture() -> None:
    parsed = read("wordpress-featured.xml")
    email = email_of(parsed, titled(parsed, "Shed talk"))
    assert images(email.html) == []
    file = "https://allotment.example.org/wp-content/uploads/2026/11/shed-talk.mp3"
    assert f'<a href="{file}" class="nl-button"' in email.html
    assert f"Listen: {file}\n" in email.text  # no duration given, none shown


def test_the_card_words_are_in_the_newsletters_language() -> None:
    parsed = read("podcast.xml")
    email = email_of(parsed, titled(parsed, "Episode 12"), language="de")
    assert "Anhören</a>" in email.html
    assert 'alt="Cover der Folge: Episode 12: Bread"' in email.html
    assert "Anhören: https://cdn.radio.example.org/audio/ktr-12.mp3" in email.text


# --- video -------------------------------------------------------------------------------------


def test_a_video_enclosure_gets_its_picture_with_a_play_cue_and_a_watch_caption() -> None:
    parsed = read("podcast.xml")
    email = email_of(parsed, titled(parsed, "Video extra"))
    (still,) = images(email.html)
    file = "https://cdn.radio.example.org/video/bakery.mp4"
    assert still["alt"] == "Play video: Video extra: the bakery tour"
    assert f'<a href="{file}"><img src="https://radio.example.org/art/bakery.jpg"' in email.html
    caption = re.search(
        rf'<a href="{re.escape(file)}" class="nl-button"[^>]*>(.*?)</a>', email.html
    )
    assert caption is not None
    assert "&#9654;" in caption.group(1) or "\u25b6" in caption.group(1)
    assert "Watch" in caption.group(1) and "5:03" in caption.group(1)
    assert f"Watch: {file} (5:03)" in email.text


def test_a_media_rss_video_uses_its_thumbnail() -> None:
    parsed = read("mediarss.xml")
    email = email_of(parsed, titled(parsed, "Night crossing"))
    (still,) = images(email.html)
    assert still["src"] == "https://harbourlights.example.com/stills/night-crossing.jpg"
    assert still["width"] == "552"  # 640 declared
    assert "Watch: https://video.harbourlights.example.com/night-crossing.mp4 (2:08)" in email.text


def test_embedded_players_get_a_play_cue_and_a_watch_caption() -> None:
    parsed = read("jekyll.xml")
    post = replace(
        parsed.posts[0],
        html=(
            "<p>The line in winter.</p>"
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="Kyle line"></iframe>'
            '<iframe src="https://player.vimeo.com/video/76979871"></iframe>'
            '<p>Or <a href="https://example.net/clip.mp4">download the clip</a> instead.</p>'
        ),
    )
    html = email_of(parsed, post, language="de").html
    assert 'alt="Video abspielen: Kyle line"' in html
    youtube = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    caption = re.search(rf'<a href="{re.escape(youtube)}" class="nl-button"[^>]*>(.*?)</a>', html)
    assert caption is not None and "Ansehen" in caption.group(1)
    # Vimeo gives no picture without a request to its API: the caption names the video.
    vimeo = re.search(
        r'<a href="https://vimeo.com/76979871" class="nl-button"[^>]*>(.*?)</a>', html
    )
    assert vimeo is not None and "Ansehen: The 07:12 to Kyle" in vimeo.group(1)
    # A link to a video inside a sentence stays a plain link.
    assert '<a href="https://example.net/clip.mp4">download the clip</a>' in html


# --- comments and the rest ---------------------------------------------------------------------


def test_the_comments_page_is_linked_in_both_parts() -> None:
    parsed = read("wordpress-featured.xml")
    email = email_of(parsed, titled(parsed, "Sweet peas"))
    page = "https://allotment.example.org/2026/11/sweet-peas/?utm_source=newsletter&amp;utm_medium=email#comments"
    assert f'<a href="{page}" style="color:#5c636b;">Comments</a>' in email.html
    assert "Comments: " + page.replace("&amp;", "&") in email.text


@pytest.mark.parametrize(
    ("seconds", "text", "iso"),
    [
        (3725, "1:02:05", "PT1H2M5S"),
        (2709, "45:09", "PT45M9S"),
        (60, "1:00", "PT1M"),
        (5, "0:05", "PT5S"),
        (3600, "1:00:00", "PT1H"),
        (None, "", ""),
    ],
)
def test_durations_as_players_write_them(seconds: int | None, text: str, iso: str) -> None:
    assert duration_text(seconds) == text
    assert iso_duration(seconds) == iso

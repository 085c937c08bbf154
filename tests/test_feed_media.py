"""What a feed entry carries besides its text reaches `Post`: categories, enclosures, the
featured image, the duration and the comments page, for each platform's own shape
(the feeds in tests/fixtures/media/ are small hand-written copies of those shapes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import feed
from newsletter.feed.media import parse_duration, same_picture
from newsletter.models import Enclosure, FeaturedImage, Feed, Post

MEDIA = Path(__file__).parent / "fixtures" / "media"


def read(name: str) -> Feed:
    return feed.parse((MEDIA / name).read_bytes(), url=f"https://feeds.example.net/{name}")


def post_titled(parsed: Feed, start: str) -> Post:
    return next(post for post in parsed.posts if post.title.startswith(start))


def test_wordpress_featured_image_plugin_categories_comments_and_audio() -> None:
    parsed = read("wordpress-featured.xml")
    peas = post_titled(parsed, "Sweet peas")
    assert peas.image == FeaturedImage(
        "https://allotment.example.org/wp-content/uploads/2026/11/sweet-peas.jpg", 900, 600
    )
    assert [c.term for c in peas.categories] == ["Flowers", "sowing"]
    # The comments page, not wfw:commentRss (a feed of comments is for feed readers).
    assert peas.comments == "https://allotment.example.org/2026/11/sweet-peas/#comments"
    talk = post_titled(parsed, "Shed talk")
    assert talk.enclosures == (
        Enclosure(
            "https://allotment.example.org/wp-content/uploads/2026/11/shed-talk.mp3",
            "audio/mpeg",
            7340032,
        ),
    )
    assert talk.enclosures[0].kind == "audio"
    assert talk.image is None


def test_ghost_feature_image_is_the_media_content() -> None:
    post = read("ghost.xml").posts[0]
    assert post.image is not None
    assert post.image.url == "https://tidal.example.com/content/images/2026/11/anemone.jpg"
    assert [c.name for c in post.categories] == ["Rock pools", "Winter"]


def test_substack_cover_is_an_image_enclosure_with_no_real_length() -> None:
    post = read("substack.xml").posts[0]
    (cover,) = post.enclosures
    assert cover.kind == "image"
    assert cover.length is None  # Substack writes length="0"
    assert post.image == FeaturedImage(cover.url)
    assert post.categories == ()


def test_jekyll_feed_image_from_front_matter() -> None:
    post = read("jekyll.xml").posts[0]
    assert post.image == FeaturedImage("https://trains.example.net/assets/kyle.jpg")
    assert [c.term for c in post.categories] == ["journeys", "scotland"]


def test_blogger_thumbnail_is_asked_for_at_a_column_size_and_marked_as_a_crop() -> None:
    post = read("blogger.xml").posts[0]
    assert post.image == FeaturedImage(
        "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEi42/s1104/quilt.jpg",
        crop=True,
    )
    assert [(c.term, c.scheme) for c in post.categories] == [
        ("quilts", "http://www.blogger.com/atom/ns#"),
        ("Winter projects", "http://www.blogger.com/atom/ns#"),
    ]
    # The replies link to the HTML page, not the one to the comments feed.
    assert (
        post.comments
        == "https://patchwork-weather.blogspot.com/2026/11/cold-months.html#comment-form"
    )


@pytest.mark.parametrize(
    ("start", "asked_for"),
    [
        # Today's Blogger writes the crop's size as several options joined by "-".
        ("Binding", "AVvXsEj98/s1104/binding.jpg"),
        ("Basting", "AVvXsEj97/s1104/basting.png"),
    ],
)
def test_blogger_thumbnails_in_todays_spellings_are_crops_asked_for_at_a_column_size(
    start: str, asked_for: str
) -> None:
    post = post_titled(read("blogger.xml"), start)
    assert post.image == FeaturedImage(
        f"https://blogger.googleusercontent.com/img/b/R29vZ2xl/{asked_for}", crop=True
    )


@pytest.mark.parametrize(
    "size",
    ["s72-c", "s72-w640-c-h360", "s72-w629-h285-c", "w640-h360-p-k-no-nu", "s1600"],
)
def test_a_blogger_size_folder_or_ending_names_the_same_picture(size: str) -> None:
    folder = "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEj98"
    assert same_picture(f"{folder}/{size}/binding.jpg", f"{folder}/s640/binding.jpg")
    assert same_picture(f"{folder}={size}", f"{folder}=s1600")
    # Only the size is set aside: another file, or a folder of the address, still differs.
    assert not same_picture(f"{folder}/{size}/binding.jpg", f"{folder}/{size}/basting.jpg")
    assert not same_picture(
        f"https://blogger.googleusercontent.com/img/b/{size}/AVvXsEj98/binding.jpg",
        "https://blogger.googleusercontent.com/img/b/s640/AVvXsEj98/binding.jpg",
    )
    # Elsewhere such a folder is part of the address, not a size.
    assert not same_picture(
        f"https://pictures.example.com/{size}/binding.jpg",
        "https://pictures.example.com/s640/binding.jpg",
    )


def test_podcast_episode_art_audio_and_durations_in_all_three_forms() -> None:
    parsed = read("podcast.xml")
    assert parsed.image == "https://radio.example.org/art/show.jpg"
    bread = post_titled(parsed, "Episode 12")
    assert bread.image == FeaturedImage("https://radio.example.org/art/ep12.jpg")
    assert bread.enclosures == (
        Enclosure("https://cdn.radio.example.org/audio/ktr-12.mp3", "audio/mpeg", 48234567),
    )
    # Apple's keywords and categories describe the show for a directory, not the post.
    assert [c.term for c in bread.categories] == ["Food"]
    durations = {post.title.split(":")[0]: post.duration for post in parsed.posts}
    assert durations == {
        "Episode 12": 3725,  # 1:02:05
        "Episode 11": 2709,  # 45:09
        "Episode 10": 2710,  # seconds
        "Video extra": 303,  # 5:03
    }
    video = post_titled(parsed, "Video extra")
    assert video.enclosures[0].kind == "video"


def test_media_rss_prefers_the_larger_copy_and_never_the_avatar() -> None:
    parsed = read("mediarss.xml")
    launch = post_titled(parsed, "The lifeboat")
    assert launch.image == FeaturedImage(
        "https://harbourlights.files.wordpress.com/2026/11/launch.jpg?w=1200", 1200, 800
    )
    gulls = post_titled(parsed, "Gulls")
    assert gulls.image is None  # only the author's Gravatar
    crossing = post_titled(parsed, "Night crossing")
    assert crossing.enclosures == (
        Enclosure(
            "https://video.harbourlights.example.com/night-crossing.mp4", "video/mp4", 15000000
        ),
    )
    assert crossing.duration == 128
    # The relative thumbnail address resolved against the item's page.
    assert crossing.image == FeaturedImage(
        "https://harbourlights.example.com/stills/night-crossing.jpg", 640, 360
    )


ATOM_ENCLOSURE = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Field Recordings</title>
<link href="https://field.example.org/"/><id>urn:field</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title>Rain on the barn roof</title><id>urn:field:1</id>
<link rel="alternate" href="https://field.example.org/rain/"/>
<link rel="enclosure" href="/files/rain.ogg" length="1234"/>
<link rel="enclosure" href="https://field.example.org/files/barn.png" type="image/png"/>
<category term="rain" label="Rain &amp; weather"/>
<category term="RAIN"/>
<updated>2026-11-20T10:00:00Z</updated>
<content type="html">&lt;p&gt;Ten minutes of it.&lt;/p&gt;</content>
</entry></feed>"""


def test_atom_enclosure_links_and_category_labels() -> None:
    post = feed.parse(ATOM_ENCLOSURE, url="https://field.example.org/atom.xml").posts[0]
    audio, picture = post.enclosures
    assert audio == Enclosure("https://field.example.org/files/rain.ogg", "", 1234)
    assert audio.kind == "audio"  # no type given: told by the file's ending
    assert picture.kind == "image"
    assert post.image == FeaturedImage("https://field.example.org/files/barn.png")
    # The label is what readers see; the same term twice (in another case) is one category.
    assert [(c.term, c.name) for c in post.categories] == [("rain", "Rain & weather")]


SQUARESPACE_EPISODE = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://www.rssboard.org/media-rss"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Studio Hour</title><link>https://studio.example.com/</link>
<item><title>Hour 3</title><link>https://studio.example.com/hour-3</link><guid>h3</guid>
<description>Notes.</description>
<enclosure url="https://static.example.com/hour3.mp3" length="5000" type="audio/mpeg"/>
<media:content url="https://static.example.com/hour3.mp3" length="5000" type="audio/mpeg"
  isDefault="true" medium="audio"/>
<itunes:duration>not a time</itunes:duration>
</item></channel></rss>"""


def test_one_episode_named_twice_is_one_enclosure_and_a_bad_duration_is_none() -> None:
    post = feed.parse(SQUARESPACE_EPISODE, url="https://studio.example.com/feed").posts[0]
    assert post.enclosures == (
        Enclosure("https://static.example.com/hour3.mp3", "audio/mpeg", 5000),
    )
    assert post.duration is None


WORDPRESS_COM_THUMBNAIL_ONLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pier</title>
<link>https://pier.example.com</link>
<item><title>Low tide</title><link>https://pier.example.com/low-tide/</link><guid>lt</guid>
<description>Mud.</description>
<media:thumbnail url="https://pier.files.wordpress.com/2026/11/mud.jpg?w=150&amp;h=100"/>
</item></channel></rss>"""


def test_a_small_thumbnail_is_asked_for_at_the_column_size_where_the_cdn_resizes() -> None:
    post = feed.parse(WORDPRESS_COM_THUMBNAIL_ONLY, url="https://pier.example.com/feed").posts[0]
    assert post.image == FeaturedImage("https://pier.files.wordpress.com/2026/11/mud.jpg?w=1104")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("3725", 3725),
        ("1:02:05", 3725),
        ("01:02:05", 3725),
        ("62:05", 3725),
        ("2:05", 125),
        ("45:09.5", 2709),
        (" 90 ", 90),
        ("", None),
        ("0", None),
        ("not a time", None),
        ("1:2:3:4", None),
        ("1:75", None),
        ("-5", None),
        (None, None),
    ],
)
def test_itunes_duration_forms(raw: str | None, seconds: int | None) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://a.example/x.jpg?w=150", "https://a.example/x.jpg?w=1200", True),
        ("http://www.a.example/x.jpg", "https://a.example/x.jpg", True),
        ("https://a.example/x-300x200.jpg", "https://a.example/x.jpg", True),
        (
            "https://blogger.googleusercontent.com/img/b/R/s72-c/q.jpg",
            "https://blogger.googleusercontent.com/img/b/R/s1600/q.jpg",
            True,
        ),
        ("https://a.example/x.jpg", "https://a.example/y.jpg", False),
        ("https://a.example/x.jpg", "https://b.example/x.jpg", False),
        # The size segment only means a size on Blogger's hosts.
        ("https://a.example/s72-c/x.jpg", "https://a.example/s1600/x.jpg", False),
    ],
)
def test_same_picture_at_another_size(first: str, second: str, same: bool) -> None:
    assert same_picture(first, second) is same


def test_a_blogger_size_has_at_most_six_flags_on_each_side() -> None:
    # Bounded, so that a long crafted address cannot make the pattern backtrack for long.
    folder = "https://blogger.googleusercontent.com/img/b/R29vZ2xl/AVvXsEj98"
    six, seven = "s72" + "-c" * 6, "s72" + "-c" * 7
    assert same_picture(f"{folder}/{six}/binding.jpg", f"{folder}/s640/binding.jpg")
    assert not same_picture(f"{folder}/{seven}/binding.jpg", f"{folder}/s640/binding.jpg")

"""The post's picture, episode and video as the email shows them.

- The picture at the top of a post: the feed's featured image, or the post's own first
  picture when it sits after the break, shown only when the excerpt has no picture of its own
  and never when it is the same picture as one the excerpt shows (docs/feed-media.md,
  "Choosing the featured image").
- A "Listen" card for an audio enclosure: the episode's picture, title, duration and a
  button to the file (or the episode's page).
- A "Watch" card for a video enclosure: its picture with a play cue and a caption, linked to
  the file (or the post).
- Players the excerpt turned into links (YouTube, Vimeo, a `<video>`) get the same cue and
  caption.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import Element, HtmlElement

from newsletter.excerpt.images import COLUMN_WIDTH, known_width
from newsletter.excerpt.media import PLAYER_LABELS
from newsletter.excerpt.tree import tag_of
from newsletter.feed.media import same_picture
from newsletter.models import Enclosure, Excerpt, Feed, Post

_YOUTUBE_WATCH = re.compile(r"^https://(?:www\.)?youtube\.com/watch\?v=[\w-]{11}$")
_VIMEO_PAGE = re.compile(r"^https://vimeo\.com/\d+$")
_VIDEO_ENDINGS = (".mp4", ".m4v", ".mov", ".webm", ".ogv")
PLAY = "\u25b6"
"""The play cue: a right-pointing triangle, which every mail client's fonts have."""


@dataclass(frozen=True)
class MediaWords:
    """The email's own words for media, in the newsletter's language."""

    listen: str
    watch: str
    play_video: Callable[[str], str]
    """The alt text of a video's picture, for its title."""
    artwork: Callable[[str], str]
    """The alt text of an episode's picture, for its title."""


ENGLISH = MediaWords(
    listen="Listen",
    watch="Watch",
    play_video=lambda title: f"Play video: {title}",
    artwork=lambda title: f"Episode artwork: {title}",
)


@dataclass(frozen=True)
class Picture:
    url: str
    width: int | None
    """The width to show it at (at most the column's), when known; else its natural size."""
    alt: str


@dataclass(frozen=True)
class Audio:
    """A "Listen" card: what the episode is and where to play it."""

    url: str
    """The audio file, else the episode's page."""
    type: str
    length: int | None
    duration: int | None
    duration_text: str
    """`1:02:05` or `45:09`; "" when the feed gives no duration."""
    duration_iso: str
    """The same for `<time datetime>`: `PT1H2M5S`."""
    image: Picture | None
    """The episode's picture (its own, else the show's), shown 96 px wide."""


@dataclass(frozen=True)
class Video:
    """A "Watch" card: the video's picture with a play cue, linked to the video."""

    url: str
    type: str
    duration: int | None
    duration_text: str
    duration_iso: str
    image: Picture | None
    """The video's picture (the feed's), named as a video to play."""


def duration_text(seconds: int | None) -> str:
    """`1:02:05` or `45:09`, as players show a length; "" when unknown."""
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def iso_duration(seconds: int | None) -> str:
    """The duration as `<time datetime>` wants it (ISO 8601: `PT1H2M5S`)."""
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return f"PT{parts}{secs}S" if secs or not parts else f"PT{parts}"


def first_of_kind(post: Post, kind: str) -> Enclosure | None:
    return next((enclosure for enclosure in post.enclosures if enclosure.kind == kind), None)


def audio_card(post: Post, feed: Feed | None, title: str, words: MediaWords) -> Audio | None:
    enclosure = first_of_kind(post, "audio")
    if enclosure is None:
        return None
    picture = _episode_picture(post, feed, title, words)
    return Audio(
        url=enclosure.url,
        type=enclosure.type,
        length=enclosure.length,
        duration=post.duration,
        duration_text=duration_text(post.duration),
        duration_iso=iso_duration(post.duration),
        image=picture,
    )


def video_card(post: Post, title: str, words: MediaWords) -> Video | None:
    enclosure = first_of_kind(post, "video")
    if enclosure is None:
        return None
    image = post.image
    picture = (
        Picture(image.url, _shown_width(image.url, image.width), words.play_video(title))
        if image is not None
        else None
    )
    return Video(
        url=enclosure.url,
        type=enclosure.type,
        duration=post.duration,
        duration_text=duration_text(post.duration),
        duration_iso=iso_duration(post.duration),
        image=picture,
    )


def top_picture(post: Post, excerpt: Excerpt, shown: set[str], title: str) -> Picture | None:
    """The picture at the top of the post, or None.

    `shown` holds the addresses of the pictures the excerpt shows. When one of them is the
    post's own first picture, the excerpt has a picture and needs no other. Otherwise the
    feed's featured image goes first, except Blogger's crop, which loses to the post's own
    first picture (after the break); either is left out when the excerpt already shows it.
    """
    own = excerpt.image
    if own is not None and _among(own, shown):
        return None
    featured = post.image
    if featured is not None and not (featured.crop and own is not None):
        url, declared = featured.url, featured.width
    elif own is not None:
        url, declared = own, None
    else:
        return None
    if _among(url, shown):
        return None
    return Picture(url, _shown_width(url, declared), title)


def _episode_picture(
    post: Post, feed: Feed | None, title: str, words: MediaWords
) -> Picture | None:
    """The episode's own picture, else the show's."""
    image = post.image.url if post.image is not None else None
    image = image or (feed.image if feed is not None else None)
    return Picture(image, 96, words.artwork(title)) if image else None


def _among(url: str, shown: set[str]) -> bool:
    return any(same_picture(url, other) for other in shown)


def _shown_width(url: str, declared: int | None) -> int | None:
    """The width a picture is shown at: the width it declares, else the limit its CDN
    address sets, never more than the column; None leaves it at its natural size."""
    if declared:
        return min(declared, COLUMN_WIDTH)
    found = known_width(Element("img"), url)
    return min(found.pixels, COLUMN_WIDTH) if found is not None and found.exact else None


# --- players the excerpt turned into links ----------------------------------------------------


def is_video_link(href: str) -> bool:
    """A link that the excerpt made from a video player: YouTube, Vimeo or a video file."""
    path = urlsplit(href).path.lower()
    return bool(_YOUTUBE_WATCH.match(href) or _VIMEO_PAGE.match(href)) or path.endswith(
        _VIDEO_ENDINGS
    )


def mark_video(link: HtmlElement, words: MediaWords, title: str) -> None:
    """Give a video link its play cue and caption: its picture (if any) named as a video to
    play, with a dark strip under it holding the play sign and "Watch"; a link without a
    picture becomes that strip, with the video's name."""
    picture = next(link.iter("img"), None)
    if picture is None and not _alone_in_its_block(link):
        return  # a link to a video within a sentence stays a link
    caption = link.makeelement("a", {"href": link.get("href") or "", "class": "nl-button"})
    cue = caption.makeelement("span", {"aria-hidden": "true"})
    cue.text = PLAY + "\u00a0 "
    caption.append(cue)
    if picture is None:
        named = " ".join(link.text_content().split())
        cue.tail = f"{words.watch}: {named if named not in PLAYER_LABELS else title}"
        caption.set("style", _caption_style(None, rounded="6px"))
        caption.tail = link.tail
        parent = link.getparent()
        if parent is not None:
            parent.replace(link, caption)
        return
    own_alt = " ".join((picture.get("alt") or "").split())
    picture.set("alt", words.play_video(own_alt if own_alt not in PLAYER_LABELS else title))
    picture.set("style", (picture.get("style") or "") + ";border-radius:6px 6px 0 0")
    cue.tail = words.watch
    width = picture.get("width")
    caption.set("style", _caption_style(width, rounded="0 0 6px 6px"))
    # The strip goes right under the picture, outside any emphasis the link sits in.
    anchor = link
    parent = anchor.getparent()
    while parent is not None and tag_of(parent) in _INLINE_WRAPPERS:
        anchor, parent = parent, parent.getparent()
    caption.tail, anchor.tail = anchor.tail, None
    anchor.addnext(caption)


def _alone_in_its_block(link: HtmlElement) -> bool:
    parent = link.getparent()
    if parent is None or tag_of(parent) not in ("p", "div", "li", "figure"):
        return False
    words_around = (parent.text or "") + (link.tail or "")
    return len(parent) == 1 and not words_around.strip()


def _caption_style(width: str | None, *, rounded: str) -> str:
    limit = f"max-width:{int(width) - 28}px;" if width and width.isdigit() else ""
    return (
        f"display:block;{limit}padding:12px 14px;background-color:#1f2328;color:#ffffff;"
        f"border-radius:{rounded};font-size:16px;font-weight:600;line-height:1.25;"
        "text-decoration:none;"
    )


_INLINE_WRAPPERS = frozenset({"span", "strong", "em", "b", "i", "u", "small"})

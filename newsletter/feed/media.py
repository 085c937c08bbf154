"""What a feed entry carries besides its text: categories, attached files, the featured
image, the episode's length and the comments page.

feedparser exposes each of these in its own shape (docs/feed-media.md says which platform
writes what, and what feedparser makes of it); this module turns them into the plain values
of `models.py`, with every address made absolute, since feedparser resolves none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.models import Category, Enclosure, FeaturedImage
from newsletter.urls import absolute_url

COLUMN_PIXELS = 1104
"""What a picture in the 552 px text column needs to be sharp on a high-density screen."""

_DIRECTORY_SCHEMES = ("http://www.itunes.com/", "https://www.itunes.com/")
"""feedparser files podcast directories' categories and keywords as tags under Apple's
scheme: they describe the show for a directory, not the post for its readers."""
_AVATARS = ("gravatar.com/avatar", "secure.gravatar.com/", "/avatar/")
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_BLOGGER_HOSTS = ("blogger.googleusercontent.com", ".bp.blogspot.com", ".googleusercontent.com")
_BLOGGER_OPTIONS = r"(?:[a-z]{1,3}\d*-){0,6}[swh]\d+(?:-[a-z]{1,3}\d*){0,6}"
"""How Blogger's image hosts are asked for a size: options joined by `-`, at least one of
them a size (`s72`, `w640`, `h360`), the others short flags such as `c` (crop), `p`, `k`,
`no`, `rw`. Current feeds write `s72-c`, `s72-w640-c-h360` or `s72-w629-h285-c`. At most six
flags on each side: unbounded, the two repeats backtrack over a long crafted address."""
_BLOGGER_SIZE = re.compile(rf"/{_BLOGGER_OPTIONS}/(?=[^/]*$)|={_BLOGGER_OPTIONS}$")
"""The size part of a Blogger image address: the folder just before the file name, or the
`=...` ending of an address with no file name."""
_WORDPRESS_COM_HOSTS = ("files.wordpress.com", ".wp.com")
_DURATION = re.compile(r"\d+(?::[0-5]?\d){0,2}(?:\.\d+)?")


def categories(entry: Mapping[str, Any]) -> tuple[Category, ...]:
    """The author's categories and tags, each once (compared without case)."""
    found: list[Category] = []
    seen: set[str] = set()
    for tag in entry.get("tags") or ():
        term = _one_line(tag.get("term"))
        label = _one_line(tag.get("label")) or None
        scheme = _one_line(tag.get("scheme")) or None
        if not (term or label) or (scheme and scheme.startswith(_DIRECTORY_SCHEMES)):
            continue
        key = (term or label or "").casefold()
        if key in seen:
            continue
        seen.add(key)
        found.append(Category(term=term or label or "", label=label, scheme=scheme))
    return tuple(found)


def enclosures(entry: Mapping[str, Any], base: str) -> tuple[Enclosure, ...]:
    """RSS enclosures and Atom `rel="enclosure"` links, then audio and video that only Media
    RSS names; an address the feed gives twice (Squarespace writes an episode both as an
    enclosure and as media:content) is one enclosure."""
    found: dict[str, Enclosure] = {}
    candidates: list[tuple[Any, Any, Any]] = [
        (item.get("href") or item.get("url"), item.get("type"), item.get("length"))
        for item in entry.get("enclosures") or ()
    ]
    candidates += [
        (item.get("url"), item.get("type"), item.get("filesize") or item.get("length"))
        for item in entry.get("media_content") or ()
        if _medium(item) in ("audio", "video")
    ]
    for raw_url, raw_type, raw_length in candidates:
        url = _absolute(raw_url, base)
        if url is None or url in found:
            continue
        media_type = _media_type(raw_type)
        # feedparser gives an Atom link without a type the type text/html, which no
        # attached file really has.
        if media_type == "text/html":
            media_type = ""
        found[url] = Enclosure(url=url, type=media_type, length=_length(raw_length))
    return tuple(found.values())


def featured_image(
    entry: Mapping[str, Any], base: str, attached: Iterable[Enclosure] = ()
) -> FeaturedImage | None:
    """The picture the feed names for the post, in the order that suits the platforms:
    Media RSS (WordPress plugins and WordPress.com, Ghost, jekyll-feed, Blogger), an image
    enclosure (Substack's cover), then the episode's itunes:image. Authors' avatars, which
    WordPress.com lists among the media, are never the post's picture."""
    thumbnails = list(_media_images(entry.get("media_thumbnail"), base))
    contents = [
        image
        for image in _media_images(entry.get("media_content"), base, images_only=True)
        if image is not None
    ]
    for thumbnail in thumbnails:
        if thumbnail is None:
            continue
        # WordPress.com lists the featured image as a 150 px thumbnail and again, larger,
        # as media:content: the larger copy of the same picture is the better one.
        larger = next((image for image in contents if same_picture(image.url, thumbnail.url)), None)
        return larger or _fit_for_the_column(thumbnail)
    if contents:
        return _fit_for_the_column(contents[0])
    for enclosure in attached:
        if enclosure.kind == "image":
            return FeaturedImage(enclosure.url)
    artwork = entry.get("image")
    href = artwork.get("href") if isinstance(artwork, Mapping) else None
    url = _absolute(href, base)
    return FeaturedImage(url) if url else None


def channel_image(channel: Mapping[str, Any], base: str) -> str | None:
    """The feed's own picture: a podcast's itunes:image (which feedparser puts where the RSS
    `<image>` would be) or the RSS channel image."""
    image = channel.get("image")
    if not isinstance(image, Mapping):
        return None
    return _absolute(image.get("href") or image.get("url"), base)


def duration(entry: Mapping[str, Any]) -> int | None:
    """Seconds, from itunes:duration in any of its forms (`3725`, `1:02:05`, `62:05`,
    `2:05`), else the `duration` Media RSS gives its audio or video; None when neither says."""
    seconds = parse_duration(entry.get("itunes_duration"))
    if seconds is not None:
        return seconds
    for item in entry.get("media_content") or ():
        if _medium(item) in ("audio", "video"):
            seconds = parse_duration(item.get("duration"))
            if seconds is not None:
                return seconds
    return None


def parse_duration(raw: Any) -> int | None:
    """`3725`, `1:02:05`, `62:05` or `2:05` (hours:minutes:seconds, counted from the right)
    as whole seconds; None for anything else (feedparser passes any text through)."""
    text = str(raw or "").strip()
    if not _DURATION.fullmatch(text):
        return None
    whole, _, _fraction = text.partition(".")
    seconds = 0
    for part in whole.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds or None


def comments_page(entry: Mapping[str, Any], base: str) -> str | None:
    """The web page of the post's comments: RSS `<comments>`, or an Atom `rel="replies"`
    link to an HTML page (a replies link to a feed is for feed readers, not people)."""
    candidates = [entry.get("comments")]
    candidates += [
        link.get("href")
        for link in entry.get("links") or ()
        if link.get("rel") == "replies" and _media_type(link.get("type")) in ("", "text/html")
    ]
    for candidate in candidates:
        url = _absolute(candidate, base)
        if url is not None:
            return url
    return None


def same_picture(first: str, second: str) -> bool:
    """Whether two addresses are one picture at different sizes: the same file once the
    scheme, the size a CDN was asked for (`?w=150`, Blogger's `/s72-c/`, WordPress's
    `-300x200`) and the query are set aside."""
    return _picture_key(first) == _picture_key(second)


def _picture_key(url: str) -> str:
    parts = urlsplit(url.strip())
    path = _BLOGGER_SIZE.sub("/", parts.path) if _is_blogger(parts.netloc) else parts.path
    path = re.sub(r"-\d+x\d+(?=\.[A-Za-z]+$)", "", path)
    return f"{parts.netloc.lower().removeprefix('www.')}{path}"


def _media_images(
    items: Any, base: str, *, images_only: bool = False
) -> Iterator[FeaturedImage | None]:
    """Each Media RSS element as a picture; None for an avatar or, with `images_only`, for
    audio and video."""
    for item in items or ():
        url = _absolute(item.get("url"), base)
        if url is None or any(mark in url for mark in _AVATARS):
            yield None
            continue
        if images_only and not _is_image(item, url):
            yield None
            continue
        yield FeaturedImage(
            url, width=_pixels(item.get("width")), height=_pixels(item.get("height"))
        )


def _fit_for_the_column(image: FeaturedImage) -> FeaturedImage:
    """Ask a CDN that resizes by address for a copy fit for the column, when the feed's is
    smaller: Blogger's 72 px square crop becomes the whole picture 1104 px wide, WordPress.com's
    150 px thumbnail the same picture at 1104 px (neither enlarges past the original)."""
    parts = urlsplit(image.url)
    host = parts.netloc.lower()
    if _is_blogger(host) and _BLOGGER_SIZE.search(parts.path):
        path = _BLOGGER_SIZE.sub(
            lambda found: "=s1104" if found.group(0).startswith("=") else "/s1104/", parts.path
        )
        return FeaturedImage(urlunsplit(parts._replace(path=path)), crop=True)
    if host.endswith(_WORDPRESS_COM_HOSTS) and (image.width or 0) < COLUMN_PIXELS:
        query = [(key, value) for key, value in parse_qsl(parts.query) if key not in ("w", "h")]
        query.append(("w", str(COLUMN_PIXELS)))
        return FeaturedImage(urlunsplit(parts._replace(query=urlencode(query))))
    return image


def _is_blogger(host: str) -> bool:
    host = host.lower()
    return host == _BLOGGER_HOSTS[0] or host.endswith(_BLOGGER_HOSTS[1:])


def _is_image(item: Mapping[str, Any], url: str) -> bool:
    medium = _medium(item)
    if medium:
        return medium == "image"
    return urlsplit(url).path.lower().endswith(_IMAGE_ENDINGS)


def _medium(item: Mapping[str, Any]) -> str:
    """`image`, `audio`, `video`... from Media RSS's `medium`, else the type's first half."""
    medium = str(item.get("medium") or "").strip().lower()
    return medium or _media_type(item.get("type")).partition("/")[0]


def _media_type(raw: Any) -> str:
    return str(raw or "").split(";", 1)[0].strip().lower()


def _length(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _pixels(raw: Any) -> int | None:
    text = str(raw or "").strip().removesuffix("px")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _absolute(raw: Any, base: str) -> str | None:
    """An http(s) address, resolved against the post's; None for anything else."""
    text = str(raw or "").strip()
    if not text:
        return None
    url = absolute_url(text, base)
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _one_line(raw: Any) -> str:
    return " ".join(str(raw or "").split())

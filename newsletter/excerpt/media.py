"""Images and embeds as an email can show them.

Mail clients run no scripts and load no iframes, so lazy-loaded images need their real
address in `src`, and a YouTube or Vimeo player becomes a picture or a link to the video.
This runs on the whole post before the cut, so that the post's picture can be chosen even
when it sits after the break.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from lxml.html import HtmlElement

from newsletter.excerpt.furniture import is_tracking_pixel
from newsletter.excerpt.images import is_small
from newsletter.excerpt.tree import classes, drop, is_element, tag_of
from newsletter.urls import absolute_url, is_web_url

TARGET_WIDTH = 1104
"""The 552 px text column at 2x, for sharp images on high-density screens."""

_LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original", "data-orig-src", "data-url")
_LAZY_SRCSETS = ("srcset", "data-srcset", "data-lazy-srcset")
_PLACEHOLDER = re.compile(r"^data:|placeholder|lazy[-_]?load|blank\.gif|spacer\.gif", re.I)
_EMOJI_SOURCE = "s.w.org/images/core/emoji"
_YOUTUBE = re.compile(
    r"(?:youtube(?:-nocookie)?\.com/(?:embed|v|shorts)/|youtu\.be/)([\w-]{11})", re.I
)
_VIMEO = re.compile(r"(?:player\.)?vimeo\.com/(?:video/)?(\d+)", re.I)
WATCH_ON_YOUTUBE = "Watch on YouTube"
WATCH_ON_VIMEO = "Watch on Vimeo"
WATCH_THE_VIDEO = "Watch the video"
PLAYER_LABELS = frozenset({WATCH_ON_YOUTUBE, WATCH_ON_VIMEO, WATCH_THE_VIDEO})
"""The names a player without a title gets here; the email's render stage knows them, so
that it names such a video by the post instead (newsletter/render/media.py)."""
_FLOW_CONTAINERS = frozenset(
    {"div", "figure", "section", "article", "aside", "blockquote", "li", "td", "th", "dd"}
)
_DROPPED_EMBEDS = frozenset({"object", "embed", "svg", "canvas", "math", "applet"})


def prepare_media(root: HtmlElement, base: str) -> None:
    """Give every image a usable `src`, turn players into links, drop what cannot show."""
    for node in list(root.iter()):
        if not is_element(node) or (node.getparent() is None and node is not root):
            continue
        tag = tag_of(node)
        if tag == "img":
            _settle_image(node)
        elif tag in ("iframe", "video", "audio"):
            _replace_player(node, base)
        elif tag in _DROPPED_EMBEDS and not _replace_flash_video(node, base):
            drop(node)
    for picture in list(root.iter("picture")):
        # libxml2 does not know <source> is empty and nests the <img> inside it.
        for source in list(picture.iter("source")):
            source.drop_tag()
        picture.drop_tag()


def first_image(root: HtmlElement, base: str) -> str | None:
    """The absolute address of the post's first real picture (not a pixel, an emoji, an
    icon, a badge or a signature)."""
    for img in root.iter("img"):
        src = img.get("src") or ""
        if src and not is_tracking_pixel(img) and not is_small(img, src):
            url = absolute_url(src, base)
            # Gmail and Outlook show no SVG, so an SVG cannot be the post's picture.
            if is_web_url(url) and not urlsplit(url).path.lower().endswith(".svg"):
                return url
    return None


def _settle_image(img: HtmlElement) -> None:
    src = (img.get("src") or "").strip()
    if is_emoji(img):
        # WordPress swaps emoji for pictures in feeds; the character itself reads better.
        _replace_with_text(img, img.get("alt") or "")
        return
    if not src or _PLACEHOLDER.search(src):
        src = _lazy_source(img) or ""
        if src:
            img.set("src", src)
        else:
            drop(img)
            return
    if img.get("width") is None:
        width = _chosen_width(img, src)
        if width:
            img.set("width", str(width))


def is_emoji(img: HtmlElement) -> bool:
    """WordPress's picture of an emoji character (its alt text is the character)."""
    return _EMOJI_SOURCE in (img.get("src") or "") or bool(classes(img) & {"wp-smiley", "emoji"})


def _lazy_source(img: HtmlElement) -> str | None:
    for name in _LAZY_SOURCES:
        value = (img.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    for holder in (img, img.getparent()):
        if holder is None:
            continue
        sets = [holder.get(name) for name in _LAZY_SRCSETS]
        sets += [s.get("srcset") for s in holder.iter("source")] if holder is not img else []
        for srcset in sets:
            best = best_candidate(srcset or "")
            if best:
                return best[0]
    return None


def _chosen_width(img: HtmlElement, src: str) -> int | None:
    """The width the srcset (the image's own, or its <picture>'s) declares for the chosen
    `src`, when it says."""
    holder = img.getparent()
    sets = [img.get(name) or "" for name in _LAZY_SRCSETS]
    if holder is not None and tag_of(holder) == "picture":
        sets += [source.get("srcset") or "" for source in holder.iter("source")]
    for srcset in sets:
        for url, width in _candidates(srcset):
            if url == src and width:
                return width
    return None


def best_candidate(srcset: str) -> tuple[str, int | None] | None:
    """The srcset entry that fills the column at 2x with the fewest bytes: the smallest one
    at least TARGET_WIDTH wide, else the widest there is."""
    candidates = _candidates(srcset)
    if not candidates:
        return None
    wide_enough = [c for c in candidates if c[1] is not None and c[1] >= TARGET_WIDTH]
    if wide_enough:
        return min(wide_enough, key=lambda c: c[1] or 0)
    return max(candidates, key=lambda c: c[1] or 0)


def _candidates(srcset: str) -> list[tuple[str, int | None]]:
    """(url, width in px or None) for each `url 800w` / `url 2x` / `url` entry."""
    found: list[tuple[str, int | None]] = []
    for entry in re.split(r",\s+|,(?=\S+\s+\d)", srcset.strip()):
        parts = entry.split()
        if not parts or parts[0].startswith("data:"):
            continue
        descriptor = parts[1] if len(parts) > 1 else ""
        width = int(descriptor[:-1]) if re.fullmatch(r"\d+w", descriptor) else None
        if width is None and re.fullmatch(r"\d+(?:\.\d+)?x", descriptor):
            # A density: only relative, but 2x outranks 1x when no width is given.
            width = int(float(descriptor[:-1]))
        found.append((parts[0], width))
    return found


def _replace_player(node: HtmlElement, base: str) -> None:
    src = (node.get("src") or node.get("data-src") or "").strip()
    if not src:
        source = next(iter(node.iter("source")), None)
        src = (source.get("src") or "").strip() if source is not None else ""
    url = absolute_url(src, base) if src else ""
    title = " ".join((node.get("title") or "").split())
    youtube = _youtube_id(url)
    if youtube:
        watch = f"https://www.youtube.com/watch?v={youtube}"
        thumbnail = f"https://i.ytimg.com/vi/{youtube}/hqdefault.jpg"
        _replace_with_link(node, watch, image=thumbnail, label=title or WATCH_ON_YOUTUBE)
        return
    vimeo = _VIMEO.search(url) if "vimeo.com" in url else None
    if vimeo:
        _replace_with_link(
            node, f"https://vimeo.com/{vimeo.group(1)}", label=title or WATCH_ON_VIMEO
        )
        return
    poster = node.get("poster")
    if not is_web_url(url):
        drop(node)
    elif tag_of(node) == "video" and poster:
        _replace_with_link(
            node, url, image=absolute_url(poster, base), label=title or WATCH_THE_VIDEO
        )
    else:
        label = {"video": WATCH_THE_VIDEO, "audio": "Listen"}.get(tag_of(node))
        _replace_with_link(node, url, label=title or label or urlsplit(url).netloc)


def _replace_flash_video(node: HtmlElement, base: str) -> bool:
    """An old Flash player (`<object>`/`<embed>` with a YouTube or Vimeo movie, as posts
    from before 2012 carry) becomes a link to the video, like its iframe successor."""
    if tag_of(node) not in ("object", "embed"):
        return False
    candidates = [node.get("data"), node.get("src")]
    candidates += [p.get("value") for p in node.iter("param") if p.get("name") in ("movie", "src")]
    candidates += [e.get("src") for e in node.iter("embed")]
    for candidate in candidates:
        url = absolute_url(candidate.strip(), base) if candidate and candidate.strip() else ""
        youtube = _youtube_id(url)
        if youtube:
            _replace_with_link(
                node,
                f"https://www.youtube.com/watch?v={youtube}",
                image=f"https://i.ytimg.com/vi/{youtube}/hqdefault.jpg",
                label=WATCH_ON_YOUTUBE,
            )
            return True
        vimeo = _VIMEO.search(url) if "vimeo.com/" in url else None
        if vimeo:
            _replace_with_link(node, f"https://vimeo.com/{vimeo.group(1)}", label=WATCH_ON_VIMEO)
            return True
    return False


def _youtube_id(url: str) -> str | None:
    match = _YOUTUBE.search(url)
    if match:
        return match.group(1)
    parts = urlsplit(url)
    if parts.netloc.endswith("youtube.com") and parts.path == "/watch":
        ids = parse_qs(parts.query).get("v", [])
        if ids and re.fullmatch(r"[\w-]{11}", ids[0]):
            return ids[0]
    return None


def _replace_with_link(node: HtmlElement, href: str, *, label: str, image: str = "") -> None:
    link = node.makeelement("a", {"href": href})
    if image:
        link.append(link.makeelement("img", {"src": image, "alt": label, "width": "480"}))
    else:
        link.text = label
    parent = node.getparent()
    if parent is None:
        return
    replacement = link
    if tag_of(parent) in _FLOW_CONTAINERS:
        # Its own paragraph where paragraphs may go; inside a paragraph, just the link.
        replacement = node.makeelement("p", {})
        replacement.append(link)
    replacement.tail = node.tail
    parent.replace(node, replacement)


def _replace_with_text(node: HtmlElement, text: str) -> None:
    parent = node.getparent()
    if parent is None:
        return
    previous = node.getprevious()
    joined = text + (node.tail or "")
    if previous is not None:
        previous.tail = (previous.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(node)

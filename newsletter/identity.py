"""What a post is known by, so that a blog that changes guids or permalinks resends nothing.

A post is the same post when its feed id (guid) is the same, or when its link is the same
once the differences a blog migration or a share button introduce are ignored: `http` versus
`https`, `www.`, a trailing slash, a fragment, default ports, host case, and tracking
parameters (SPEC "What counts as new"). rss2email's tracker shows each of these resending a
whole archive to subscribers.
"""

from __future__ import annotations

import re
from contextlib import suppress
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from newsletter.models import Post

TRACKING_PARAMETERS = frozenset(
    {
        # ad-click identifiers
        *("fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid"),
        *("twclid", "igshid", "li_fat_id", "ttclid", "epik"),
        # newsletter platforms: Mailchimp, HubSpot, Marketo, ConvertKit, Vero, Olytics
        *("mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking"),
        *("mkt_tok", "ck_subscriber_id", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id"),
        # analytics cross-domain and share-button parameters
        *("_ga", "_gl", "ref_src", "ref_url"),
        # Medium adds ?source=rss-<id>------2 to every item link
        "source",
    }
)
"""Query parameters that say how a reader arrived, never which post it is (compared in lower
case; every `utm_*` parameter is also ignored)."""

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_DEFAULT_PORTS = (None, 80, 443)


@lru_cache(maxsize=8192)
def normalise_link(url: str) -> str:
    """The form of a web link under which equal permalinks compare equal.

    Cached: selecting new posts asks for the same links several times (the feed's shared
    links, the ledger match, duplicates within the feed), and the answer never changes.

    The result is an `https://` URL without `www.`, port 80/443, fragment, trailing slash or
    tracking parameters, with the host in lower case, the remaining query parameters sorted
    and percent-escapes in one spelling. Applying it twice changes nothing. Anything that is
    not an http(s) link (a `tag:` URI, a relative path) comes back only stripped of spaces.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal: not a link we can reason about
        return text
    host = parts.hostname
    if parts.scheme.lower() not in ("http", "https", "") or not host:
        return text
    return urlunsplit(("https", _netloc(host, port), _path(parts.path), _query(parts.query), ""))


def link_keys(post: Post) -> frozenset[str]:
    """The normalised links a post is known by: its link and FeedBurner's original link."""
    links = (post.link, post.orig_link or "")
    return frozenset(normalise_link(link) for link in links if link.strip())


def same_post(post: Post, reference: str) -> bool:
    """Whether `reference` (an id, or a link in any of its spellings) names this post."""
    wanted = reference.strip()
    if not wanted:
        return False
    return wanted == post.id.strip() or normalise_link(wanted) in link_keys(post)


def post_key(post: Post) -> str:
    """The id a post is recorded under: its guid, else its link ("" when it has neither)."""
    return post.id.strip() or post.link.strip()


def permalink(post: Post) -> str:
    """The link worth remembering: FeedBurner's original link outlives its proxy link."""
    return (post.orig_link or post.link).strip()


def _netloc(host: str, port: int | None) -> str:
    host = host.rstrip(".")
    with suppress(UnicodeError):  # an empty or over-long label: compare the host as written
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    while host.startswith("www."):
        host = host.removeprefix("www.")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return host if port in _DEFAULT_PORTS else f"{host}:{port}"


def _path(path: str) -> str:
    # Non-ASCII characters and their UTF-8 escapes are the same link; so are %7e and ~.
    encoded = quote(path, safe=_PATH_SAFE)
    return _ESCAPE.sub(_one_escape, encoded).rstrip("/")


def _one_escape(match: re.Match[str]) -> str:
    character = chr(int(match.group(1), 16))
    return character if character in _UNRESERVED else "%" + match.group(1).upper()


def _query(query: str) -> str:
    kept = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    return urlencode(sorted(kept), quote_via=quote)


def _is_tracking(name: str) -> bool:
    folded = name.lower()
    return folded.startswith("utm_") or folded in TRACKING_PARAMETERS

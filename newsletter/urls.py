"""URLs: made absolute, recognised, compared, and tagged.

- `absolute_url` and `is_web_url`: where a link in a post or feed leads.
- `normalise_link`: the one spelling under which equal permalinks compare equal (a blog that
  moves to https or drops `www.` must not look like a blog full of new posts).
- `LinkTagger`: UTM parameters on the links that point back at the blog, and only those:
  tagging someone else's URL leaks our campaign names into their analytics and can break
  signed URLs.

What a *post* is known by (its guid, its links) is `identity.py`'s job, built on these.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from contextlib import suppress
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

EMAIL_SCHEMES = frozenset({"http", "https", "mailto"})
"""The link schemes an email may carry."""


def absolute_url(url: str, base: str) -> str:
    """`url` resolved against `base`; a protocol-relative `//host/path` becomes https."""
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    return urljoin(base, url) if base else url


def is_web_url(url: str) -> bool:
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # an unbalanced IPv6 bracket, "//[": no address at all
        return False
    return scheme.lower() in ("http", "https")


def host_key(url: str) -> str:
    """The host a link belongs to, ignoring case and a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


# --- comparing links --------------------------------------------------------------------------

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


# --- tagging ---------------------------------------------------------------------------------

# nh3 (html5ever) serialises every attribute with double quotes, so patterns are enough for
# the sanitised excerpt HTML; a parser round trip would cost more than the whole render.
_TAG = re.compile(r"<[a-zA-Z][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
_URL_ATTRIBUTE = re.compile(r'(\s(href|src)=")([^"]*)(")', re.IGNORECASE)


class LinkTagger:
    """Adds UTM parameters to links on the blog's own host(s)."""

    def __init__(self, blog_url: str, utm: Mapping[str, str]) -> None:
        self.blog_host = host_key(blog_url)
        self.utm = dict(utm)

    def tag(self, url: str, *, always: bool = False) -> str:
        """`url` with the UTM parameters it lacks, when it points at the blog (or `always`,
        for links known to be the blog's own, such as a post's permalink)."""
        if not self.utm:
            return url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return url
        if not always and host_key(url) != self.blog_host:
            return url
        present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        missing = {name: value for name, value in self.utm.items() if name not in present}
        if not missing:
            return url
        added = urlencode(missing)
        query = f"{parts.query}&{added}" if parts.query else added
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def tag_html(self, fragment: str, *, base: str = "") -> str:
        """Sanitised HTML with every `href`/`src` absolute (against `base`) and the links
        that point at the blog tagged."""

        def rewrite_attribute(match: re.Match[str]) -> str:
            url = html.unescape(match.group(3))
            rewritten = absolute_url(url, base) if base else url
            if match.group(2).lower() == "href":
                rewritten = self.tag(rewritten)
            if rewritten == url:
                return match.group(0)
            quoted = html.escape(rewritten, quote=True)
            return match.group(1) + quoted + match.group(4)

        def rewrite_tag(match: re.Match[str]) -> str:
            return _URL_ATTRIBUTE.sub(rewrite_attribute, match.group(0))

        return _TAG.sub(rewrite_tag, fragment)

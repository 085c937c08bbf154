"""Absolute links, and UTM parameters on the links that point back at the blog.

SPEC "Email contents": links are absolute and links to the blog carry the configured UTM
parameters. Other sites never get them: tagging someone else's URL leaks our campaign names
into their analytics and can break signed URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# nh3 (html5ever) serialises every attribute with double quotes, so patterns are enough for
# the sanitised excerpt HTML; a parser round trip would cost more than the whole render.
_TAG = re.compile(r"<[a-zA-Z][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
_URL_ATTRIBUTE = re.compile(r'(\s(href|src)=")([^"]*)(")', re.IGNORECASE)


def absolute_url(url: str, base: str) -> str:
    """`url` resolved against `base`; a protocol-relative `//host/path` becomes https."""
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    return urljoin(base, url) if base else url


def host_key(url: str) -> str:
    """The host a link belongs to, ignoring case and a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


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

"""The like-for-like floor of a weekly run, as a whole process: read the feed file and parse
it with feedparser called exactly as newsletter/feed/parse.py calls it (no HTML sanitising,
no relative-URI rewriting, the content type given). No feed reader can do less.

    python bench/floor.py FEED_FILE
"""

import io
import sys

import feedparser

with open(sys.argv[1], "rb") as handle:
    body = handle.read()
parsed = feedparser.parse(
    io.BytesIO(body),
    response_headers={"content-type": "application/xml"},
    sanitize_html=False,
    resolve_relative_uris=False,
)
if not parsed.entries:
    raise SystemExit("the floor parsed no entries")

"""The like-for-like floor of a weekly run, as a whole process: read the feed file and parse
it with feedparser called exactly as newsletter/feed/parse.py calls it (no HTML sanitising,
no relative-URI rewriting, the content type given). No feed reader can do less.

    python bench/floor.py FEED_FILE [--libraries]

With --libraries it first imports the other libraries a weekly run cannot do without (lxml
and nh3 to cut the posts, Jinja2 and mjml to render, Babel for the dates): the floor of any
program built on the same libraries, which tells the product's own cost from theirs.
"""

import io
import sys

import feedparser

if "--libraries" in sys.argv[2:]:
    import babel.dates
    import jinja2
    import lxml.html
    import mjml
    import nh3

    del babel, jinja2, lxml, mjml, nh3

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

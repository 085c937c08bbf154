"""Each platform's feed, as the platform writes it, through feed.parse and then the cut.

The fixtures in tests/fixtures/platforms/ are small hand-written feeds that follow what
docs/platform-breaks.md describes each platform emitting; every post's excerpt is asserted
exactly, so a change in how any break is found or cleaned shows up here.
"""

from __future__ import annotations

import pytest

from newsletter.excerpt import cut
from tests.excerpt_helpers import load_platform, post_titled, unbalanced_tags

FEED_URLS = {
    "wordpress-full.xml": "https://garden.example/feed/",
    "wordpress-excerpt.xml": "https://workshop.example/feed/",
    "wordpress-com.xml": "https://harbourwalks.wordpress.com/feed/",
    "blogger-full.xml": "https://quilting.blogspot.com/feeds/posts/default",
    "blogger-jump.xml": "https://quiltville.blogspot.com/feeds/posts/default",
    "jekyll.xml": "https://notes.example/feed.xml",
    "eleventy.xml": "https://elev.example/feed.xml",
    "hexo.xml": "https://hexo.example/atom.xml",
    "zola.xml": "https://zola.example/atom.xml",
    "hugo.xml": "https://hugo.example/index.xml",
    "ghost.xml": "https://nightsky.example/rss/",
    "medium.xml": "https://medium.com/feed/urban-field-notes",
    "substack.xml": "https://weatherletter.substack.com/feed",
    "drupal.xml": "https://village.example/rss.xml",
    "tumblr.xml": "https://inkwell.tumblr.com/rss",
    "feedburner.xml": "https://feeds.feedburner.com/bikeshed",
    "markers.xml": "https://handmade.example/atom.xml",
    "slashdot.xml": "https://rss.newsdot.example/Slashdot/slashdotMain",
}
AUTHOR_MARKERS = {"markers.xml": ("<!-- cut -->", "hr.jump")}
IMG = 'width="552" style="display:block;width:100%;max-width:100%;height:auto"'
UNSIZED = 'style="display:block;max-width:100%;height:auto"'
# A CDN's address says "at most N px": the width attribute (for Outlook) and `width:auto`
# (for every other client, so a smaller picture keeps its own size).
BOUNDED = 'width="552" style="display:block;width:auto;max-width:100%;height:auto"'

EXPECTED = [
    # WordPress, full text: the span where <!--more--> was, in each placement.
    (
        "wordpress-full.xml",
        "Own paragraph",
        True,
        "<p>The tomatoes went in on Saturday.</p>\n<p>They look happy.</p>",
    ),
    ("wordpress-full.xml", "Paragraph that continues", True, "<p>Beans are up.</p>"),
    (
        "wordpress-full.xml",
        "Inline at the end of a paragraph",
        True,
        '<p><img src="https://garden.example/wp-content/uploads/frost-1024x683.jpg"'
        f' alt="Frost on leaves" {IMG}></p>\n'
        "<p>The frost came late, on 30 May 2024.</p>",
    ),
    ("wordpress-full.xml", "Between blocks", True, "<h2>Compost</h2>\n<p>Compost is alive.</p>"),
    (
        "wordpress-full.xml",
        "Extra attributes",
        True,
        "<p>Mulch keeps the soil damp and the weeds down…</p>",
    ),
    ("wordpress-full.xml", "Read More block", True, "<p>In this episode we talk about seeds.</p>"),
    ("wordpress-full.xml", "Podcast episode", True, "<p>We talk about worms, at length.</p>"),
    # WordPress, excerpt only: [&#8230;] and every documented theme link shape.
    (
        "wordpress-excerpt.xml",
        "Core excerpt",
        True,
        "<p>Sharpening a chisel takes three stones and some patience, and the first stone does"
        " most of the work…</p>",
    ),
    (
        "wordpress-excerpt.xml",
        "Old WordPress excerpt",
        True,
        "<p>Glue-ups go wrong when the clamps are not ready, so I won't forget…</p>",
    ),
    (
        "wordpress-excerpt.xml",
        "Excerpt with Yoast footer",
        True,
        "<p>Oil finishes soak in and bring out the grain of the support for the initial coat…</p>",
    ),
    (
        "wordpress-excerpt.xml",
        "Twenty Ten theme",
        True,
        "<p>Dovetails by hand are slower than by router…</p>",
    ),
    (
        "wordpress-excerpt.xml",
        "Twenty Sixteen theme",
        True,
        "<p>A marking gauge beats a pencil…</p>",
    ),
    ("wordpress-excerpt.xml", "Twenty Seventeen theme", True, "<p>Planes need a flat sole…</p>"),
    ("wordpress-excerpt.xml", "Underscores theme", True, "<p>The latter…</p>"),
    (
        "wordpress-excerpt.xml",
        "Third-party theme",
        True,
        "<p>Eine Hobelbank braucht eine feste Zange.</p>",
    ),
    # A manual excerpt whose last link goes elsewhere: words like "continue reading" alone
    # are not a trailer.
    (
        "wordpress-excerpt.xml",
        "Manual excerpt",
        True,
        "<p>Why I built a new bench, and what I would change. See"
        ' <a href="https://tools.example/bench-plans">the plans I followed</a>,'
        " continue reading there.</p>",
    ),
    # WordPress.com: stats pixel and feedflare gone.
    (
        "wordpress-com.xml",
        "Full text with a more tag",
        True,
        "<p>The lighthouse path starts at the pier.</p>",
    ),
    (
        "wordpress-com.xml",
        "Short post, no more tag",
        False,
        "<p>Seals on the rocks today. <em>Libre</em> would call it a colony.</p>",
    ),
    (
        "wordpress-com.xml",
        "Excerpt only",
        True,
        "<p>Check the tide tables before the causeway, because the water comes in faster…</p>",
    ),
    # Blogger: a[name=more] in full feeds, a final POST#more link in "until jump break" feeds.
    # Blogger's one-div-per-line posts become paragraphs (the blank-line divs end them).
    ("blogger-full.xml", "Classic editor jump break", True, "<p>The border is finally on.</p>"),
    ("blogger-full.xml", "New editor jump break", True, "<p>Scraps make the best blocks.</p>"),
    (
        "blogger-jump.xml",
        "Bloom baby bloom",
        True,
        "<div><span>The daffodils are out in force, and the forsythia is a riot of blooming"
        " loveliness that has not reached our higher elevations yet.</span></div>",
    ),
    ("blogger-jump.xml", "Leaders and enders", True, "<p>Chain piecing saves thread.</p>"),
    # Static generators: the separator comment or anchor stays in the content.
    (
        "jekyll.xml",
        "Reading a topo map",
        True,
        "<p>Contour lines close together mean a steep slope.</p>\n"
        '<p><img src="https://notes.example/assets/contours.png"'
        f' alt="Contour lines" {UNSIZED}></p>',
    ),
    (
        "jekyll.xml",
        "Compass bearings",
        True,
        '<p>Take the bearing, then <a href="https://notes.example/2024/06/03/topo-maps.html">'
        "check the map</a>.</p>",
    ),
    ("eleventy.xml", "Static sites are fast", True, "<p>No database, no waiting.</p>"),
    (
        "hexo.xml",
        "Deploying with git hooks",
        True,
        "<p>A post-receive hook can build the site.</p>",
    ),
    ("hexo.xml", "Older Hexo", True, "<p>Old themes used an anchor.</p>"),
    ("zola.xml", "Shortcodes", True, "<p>Shortcodes keep templates out of Markdown.</p>"),
    # Hugo: the feed holds only the summary, which is the teaser.
    (
        "hugo.xml",
        "Manual summary",
        True,
        '<p>Everything before the divider, with <a href="https://hugo.example/about/">a link</a>'
        " and a picture:</p>\n"
        f'<p><img src="https://hugo.example/posts/manual/cover.jpg" alt="Cover" {UNSIZED}></p>',
    ),
    (
        "hugo.xml",
        "Automatic summary",
        True,
        "<p>Older Hugo wrote automatic summaries as plain text, the first seventy words or so of"
        " the post, ending wherever the count ran out…</p>",
    ),
    # Ghost: no in-band break; Koenig comments vanish; a paid post falls back to its excerpt.
    (
        "ghost.xml",
        "Finding Saturn",
        False,
        '<p><img src="https://nightsky.example/content/images/2024/06/saturn.jpg"'
        f' alt="Finding Saturn" {UNSIZED}></p>\n'
        "<p>Saturn is up before midnight this month.</p>\n"
        "<p>Look south-east, low over the roofs.</p>\n"
        '<figure><img src="https://nightsky.example/content/images/2024/06/chart.png"'
        f' alt="Star chart" {IMG}></figure>\n'
        "<p>The rings are nearly edge-on.</p>",
    ),
    (
        "ghost.xml",
        "Members: the telescope I bought",
        False,
        "<p>Which telescope, and why: the short answer is a small refractor.</p>",
    ),
    (
        "ghost.xml",
        "Paid: observing log",
        True,
        "<p>My observing log for May, for paying members.</p>",
    ),
    # Medium: stat pixel and "originally published" footer gone; a snippet card is a teaser.
    (
        "medium.xml",
        "The creative forager",
        False,
        f'<figure><img src="https://cdn-images-1.medium.com/max/1024/1*abc.jpeg" alt="" {BOUNDED}>'
        "</figure>\n<p>Every city hides food in plain sight.</p>\n<h3>Where to look</h3>\n"
        "<p>Start at the edges of parks.</p>",
    ),
    (
        "medium.xml",
        "Empty storefronts",
        True,
        '<div><p><a href="https://medium.com/urban-field-notes/empty-storefronts-9f8e7d6c5b4a'
        '?source=rss----abc123---4"><img src="https://cdn-images-1.medium.com/max/2000/'
        f'1*storefront.jpeg" alt="" {IMG}>'
        "</a></p><p>Empty storefronts are a dark omen for the future of cities</p></div>",
    ),
    # Substack: subscribe widgets gone from free posts; a paid post ends at "Read more".
    (
        "substack.xml",
        "Why forecasts miss",
        False,
        "<p>A 40% chance of rain means something precise.</p>\n"
        "<p>It is about the area, not the hours.</p>",
    ),
    (
        "substack.xml",
        "The pipeline debate",
        True,
        "<p>Programming note: this one is for paid subscribers.</p>\n"
        "<p>I didn’t have time to write a newsletter for today.<br><br>"
        "Fortunately, I stil…</p>",
    ),
    # Drupal: the teaser's "Read more" link list, and <!--break--> in unfiltered HTML.
    (
        "drupal.xml",
        "Summer fair",
        True,
        "<div><p>The summer fair is on the green this year, with a cake stall and a tug of"
        " war.</p>\n</div>",
    ),
    ("drupal.xml", "Roof appeal", True, "<p>The roof needs work before winter.</p>"),
    # Tumblr: the legacy <!-- more --> comment and a "Keep reading" link to the post.
    # Slashdot: the share buttons, "Read more of this story at Slashdot." and the
    # discussion frame are the site's, not the story's; the email's own link replaces them.
    (
        "slashdot.xml",
        "Robots Learn To Fold Laundry",
        False,
        "<p>A lab says its robot now folds a towel in under a minute.</p>",
    ),
    (
        "slashdot.xml",
        "A Comet Grows A Second Tail",
        False,
        '<p>Astronomers watched the tail split in two. <a href="https://observatory.example/comet">'
        "Their note</a> has pictures.</p>",
    ),
    ("tumblr.xml", "Brush pens", True, "<p>Three brush pens, ranked.</p>"),
    ("tumblr.xml", "Paper weights", True, "<p>Heavier paper takes more water.</p>"),
    (
        "tumblr.xml",
        "A photo",
        False,  # Tumblr's <description> is the whole post (docs/platform-breaks.md#tumblr)
        f'<p><img src="https://64.media.tumblr.com/abc/s640x960/sketch.jpg" alt="" {BOUNDED}></p>\n'
        "<p>Morning sketch.</p>",
    ),
    # FeedBurner: the read-more link points at origLink, not at the proxy <link>.
    (
        "feedburner.xml",
        "Truing a wheel",
        True,
        "<p>A wobble you can see is a wobble you can fix.</p>",
    ),
    # The author's own markers from [excerpt] markers.
    ("markers.xml", "My own comment marker", True, "<p>I write my feed by hand.</p>"),
    ("markers.xml", "My own element marker", True, "<p>Some posts use a rule.</p>"),
]


@pytest.mark.parametrize(
    ("fixture", "title", "truncated", "html"),
    EXPECTED,
    ids=[f"{fixture}:{title}" for fixture, title, _, _ in EXPECTED],
)
def test_platform_excerpt(fixture: str, title: str, truncated: bool, html: str) -> None:
    post = post_titled(load_platform(fixture, FEED_URLS[fixture]), title)
    excerpt = cut(post, markers=AUTHOR_MARKERS.get(fixture, ()))
    assert excerpt.html == html
    assert excerpt.truncated is truncated
    assert unbalanced_tags(excerpt.html) == []


def test_every_fixture_post_is_covered() -> None:
    covered = {(fixture, title) for fixture, title, _, _ in EXPECTED}
    for fixture, url in FEED_URLS.items():
        for post in load_platform(fixture, url).posts:
            assert (fixture, post.title) in covered


def test_body_is_the_longest_html_content_not_the_itunes_summary() -> None:
    post = post_titled(
        load_platform("wordpress-full.xml", FEED_URLS["wordpress-full.xml"]), "Podcast episode"
    )
    assert '<span id="more-12028">' in post.html
    assert post.summary_html == "We talk about worms."


def test_summary_is_kept_only_when_it_is_a_real_teaser() -> None:
    blogger = load_platform("blogger-full.xml", FEED_URLS["blogger-full.xml"])
    # Blogger has no <summary>: feedparser's copy of the content is not a teaser.
    assert all(post.summary_html is None for post in blogger.posts)
    jekyll = load_platform("jekyll.xml", FEED_URLS["jekyll.xml"])
    assert jekyll.posts[0].summary_html == "Contour lines close together mean a steep slope."


def test_summary_only_feeds_are_marked_as_teasers() -> None:
    hugo = load_platform("hugo.xml", FEED_URLS["hugo.xml"])
    assert [post.content_is_full for post in hugo.posts] == [False, False]
    ghost = load_platform("ghost.xml", FEED_URLS["ghost.xml"])
    assert [post.content_is_full for post in ghost.posts] == [True, True, False]


def test_post_picture_is_the_first_real_image_even_after_the_break() -> None:
    blogger = load_platform("blogger-full.xml", FEED_URLS["blogger-full.xml"])
    excerpt = cut(post_titled(blogger, "New editor jump break"))
    assert excerpt.image == "https://blogger.googleusercontent.com/img/b/R29v/s320/scraps.jpg"
    assert "<img" not in excerpt.html


def test_tracking_pixel_is_never_the_picture() -> None:
    wordpress_com = load_platform("wordpress-com.xml", FEED_URLS["wordpress-com.xml"])
    assert all(cut(post).image is None for post in wordpress_com.posts)
    medium = load_platform("medium.xml", FEED_URLS["medium.xml"])
    assert cut(medium.posts[0]).image == "https://cdn-images-1.medium.com/max/1024/1*abc.jpeg"


def test_svg_is_not_offered_as_the_picture() -> None:
    zola = load_platform("zola.xml", FEED_URLS["zola.xml"])
    assert cut(zola.posts[0]).image is None


def test_relative_urls_resolve_against_the_post_not_the_feed() -> None:
    hugo = load_platform("hugo.xml", FEED_URLS["hugo.xml"])
    excerpt = cut(post_titled(hugo, "Manual summary"))
    assert excerpt.image == "https://hugo.example/posts/manual/cover.jpg"
    assert 'href="https://hugo.example/about/"' in excerpt.html


def test_plain_text_of_a_platform_excerpt() -> None:
    jekyll = load_platform("jekyll.xml", FEED_URLS["jekyll.xml"])
    # Wrapped before the address, which is never split.
    assert cut(jekyll.posts[1]).text == (
        "Take the bearing, then check the map\n(https://notes.example/2024/06/03/topo-maps.html)."
    )

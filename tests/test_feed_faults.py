"""Every feed fault we can provoke: a plain sentence, the right exit code, the ledger untouched.

Each test first runs a good `send` against a loopback feed server (so a ledger with one sent
post exists), then serves the fault and runs `send` again through the real CLI.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_harness import Result, recent_posts, rss, run, write_config
from tests.feedserver import FeedServer, Route

pytestmark = pytest.mark.slow

HTML = {"Content-Type": "text/html; charset=utf-8"}
FIRST, SECOND = recent_posts(2)


@dataclass
class Blog:
    folder: Path
    server: FeedServer
    ledger_before: bytes

    @property
    def ledger(self) -> Path:
        return self.folder / "state" / "ledger.json"

    def serve(self, route: Route | list[Route]) -> None:
        self.server.routes["/feed.xml"] = route

    def send(self, *args: str) -> Result:
        return run(self.folder, "send", *args)

    def sent_posts(self) -> set[str]:
        document = json.loads(self.ledger.read_text(encoding="utf-8"))
        posts = document["destinations"]["outbox"]["posts"]
        return {key for key, record in posts.items() if record["status"] == "sent"}

    def emails(self) -> int:
        return len(list((self.folder / "outbox").iterdir()))


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[Blog]:
    with FeedServer() as server:
        server.routes["/feed.xml"] = Route(rss([FIRST]))
        write_config(tmp_path, feed=server.url(), provider={"name": "outbox"}, feed_timeout=0.5)
        first = run(tmp_path, "send")
        assert first.code == 0, first.stderr
        yield Blog(tmp_path, server, (tmp_path / "state" / "ledger.json").read_bytes())


def assert_refused_plainly(blog: Blog, result: Result, code: int, words: str) -> None:
    assert result.code == code, result.stdout + result.stderr
    sentence = result.error_line
    assert words in sentence
    assert sentence.endswith("."), sentence
    assert blog.ledger.read_bytes() == blog.ledger_before
    assert blog.emails() == 1


@pytest.mark.parametrize(
    ("route", "code", "words"),
    [
        pytest.param(
            Route(b"<h1>Not Found</h1>", 404, HTML), 1, "was not found (404 Not Found)", id="404"
        ),
        pytest.param(Route(b"<h1>Gone</h1>", 410, HTML), 1, "was not found (410 Gone)", id="410"),
        pytest.param(Route(b"Forbidden", 403, HTML), 1, "refused access (403 Forbidden)", id="403"),
        pytest.param(
            Route(
                b"<!doctype html><html><head><title>My blog</title></head>"
                b"<body><p>Welcome!</p></body></html>",
                200,
                HTML,
            ),
            2,  # the address is wrong: a configuration fix
            "is a web page, not a feed",
            id="html-page",
        ),
        pytest.param(
            Route(bytes(range(256)) * 16, 200, {"Content-Type": "application/octet-stream"}),
            2,
            "does not contain an RSS or Atom feed",
            id="garbage-bytes",
        ),
        pytest.param(Route(b"", 200), 1, "is empty, not a feed", id="empty-body"),
        pytest.param(
            Route(
                b"<rss/>",
                200,
                {"Content-Type": "application/rss+xml", "Content-Length": str(64 * 1024 * 1024)},
            ),
            1,
            "larger than 20 MB",
            id="declared-oversized",
        ),
        pytest.param(
            Route(b"<rss>" + b" " * (21 * 1024 * 1024), 200, send_length=False),
            1,
            "larger than 20 MB",
            id="streamed-oversized",
        ),
        pytest.param(Route(rss([FIRST]), delay=60), 1, "timed out (3 tries)", id="timeout"),
        pytest.param(Route(rss([FIRST]), trickle=0.05), 1, "timed out", id="slow-trickle"),
    ],
)
def test_a_feed_fault_is_one_sentence_and_leaves_the_ledger(
    blog: Blog, route: Route, code: int, words: str
) -> None:
    blog.serve(route)
    assert_refused_plainly(blog, blog.send(), code, words)


def test_a_server_error_is_retried_then_reported(blog: Blog) -> None:
    blog.serve([Route(b"oops", 500, HTML)] * 3)
    result = blog.send()
    assert_refused_plainly(blog, result, 1, "answered 500 Internal Server Error 3 times")
    assert len(blog.server.requests) == 1 + 3


def test_a_passing_server_error_is_retried_and_the_run_succeeds(blog: Blog) -> None:
    blog.serve([Route(b"busy", 503, HTML), Route(rss([SECOND, FIRST]))])
    result = blog.send()
    assert result.code == 0, result.stderr
    assert len(blog.server.requests) == 1 + 2
    assert blog.sent_posts() == {FIRST.guid, SECOND.guid}


def test_an_unreachable_server_is_reported(blog: Blog) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    result = blog.send("--feed", f"http://127.0.0.1:{closed_port}/feed.xml")
    assert_refused_plainly(blog, result, 1, "could not be reached")


def test_an_empty_feed_is_nothing_to_send(blog: Blog) -> None:
    blog.serve(Route(rss([])))
    result = blog.send()
    assert result.code == 0, result.stderr
    assert "The feed has no posts yet, so there is nothing to send." in result.stdout
    assert blog.sent_posts() == {FIRST.guid}
    assert blog.emails() == 1


def test_an_undeclared_namespace_is_a_warning_and_the_posts_are_used(blog: Blog) -> None:
    body = rss([SECOND, FIRST]).replace(
        b"<description>", b'<media:thumbnail url="https://blog.example.org/t.jpg"/><description>'
    )
    blog.serve(Route(body))
    result = blog.send()
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "not well-formed" in warnings[0] and "read anyway" in warnings[0]
    assert blog.sent_posts() == {FIRST.guid, SECOND.guid}


def test_a_truncated_feed_sends_nothing(blog: Blog) -> None:
    body = rss([FIRST, SECOND])
    cut = body.index(b"The body of Post number 2") + 5
    blog.serve(Route(body[:cut]))
    result = blog.send()
    assert result.code == 1, result.stdout + result.stderr
    assert blog.server.url() in result.error_line
    assert blog.ledger.read_bytes() == blog.ledger_before
    assert blog.emails() == 1


def test_a_missing_local_feed_file_is_a_usage_error(blog: Blog) -> None:
    result = blog.send("--feed", str(blog.folder / "no-such-feed.xml"))
    assert_refused_plainly(blog, result, 2, "does not exist")


def test_a_folder_given_as_the_feed_is_a_usage_error(blog: Blog) -> None:
    result = blog.send("--feed", str(blog.folder))
    assert_refused_plainly(blog, result, 2, "is a folder, not a feed file")


def test_validators_are_kept_and_a_304_sends_nothing(tmp_path: Path) -> None:
    body = rss([FIRST])

    def conditional(headers: dict[str, str]) -> Route:
        if headers.get("if-none-match") == '"v1"':
            return Route(b"", 304, {})
        return Route(body, 200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    with FeedServer() as server:
        server.routes["/feed.xml"] = Route(respond=conditional)
        write_config(tmp_path, feed=server.url(), provider={"name": "outbox"})
        assert run(tmp_path, "send").code == 0
        ledger = json.loads((tmp_path / "state" / "ledger.json").read_text(encoding="utf-8"))
        assert ledger["destinations"]["outbox"]["feeds"] == {server.url(): {"etag": '"v1"'}}

        unchanged = run(tmp_path, "send")
        assert unchanged.code == 0, unchanged.stderr
        assert server.requests[-1].headers.get("if-none-match") == '"v1"'
        assert "has not changed" in unchanged.stdout + unchanged.stderr
        assert len(list((tmp_path / "outbox").iterdir())) == 1


# --- faults that used to end in "an unexpected ..." ------------------------------------------

NOT_GZIP = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
NOT_DEFLATE = {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"}


@pytest.mark.parametrize("headers", [NOT_GZIP, NOT_DEFLATE], ids=["gzip", "deflate"])
def test_a_body_that_is_not_compressed_as_declared_is_one_sentence(
    blog: Blog, headers: dict[str, str]
) -> None:
    blog.serve(Route(rss([SECOND, FIRST]), headers=headers))
    result = blog.send()
    encoding = headers["Content-Encoding"]
    assert_refused_plainly(
        blog, result, 1, f"says its body is {encoding}-compressed, but it is not"
    )
    assert "unexpected" not in result.stderr


@pytest.mark.parametrize(
    ("target", "scheme"),
    [
        ("data:application/rss+xml,<rss/>", "data"),
        ("javascript:alert(1)", "javascript"),
        ("file:///etc/passwd", "file"),
        ("ftp://files.example.org/feed.xml", "ftp"),
    ],
)
def test_a_redirect_away_from_the_web_is_refused_at_once(
    blog: Blog, target: str, scheme: str
) -> None:
    blog.serve(Route(b"", 302, {"Location": target}))
    before = len(blog.server.requests)
    result = blog.send()
    assert_refused_plainly(blog, result, 1, f"redirects to a {scheme}: address")
    assert "unexpected" not in result.stderr
    assert len(blog.server.requests) == before + 1  # not tried again as if the network failed


def test_a_rate_limited_feed_is_fetched_after_the_pause_it_asks_for(blog: Blog) -> None:
    blog.serve(
        [
            Route(b"slow down", 429, {"Content-Type": "text/plain", "Retry-After": "0"}),
            Route(rss([SECOND, FIRST])),
        ]
    )
    result = blog.send()
    assert result.code == 0, result.stderr
    assert blog.sent_posts() == {FIRST.guid, SECOND.guid}


def test_a_truncated_local_feed_file_is_not_called_a_download(tmp_path: Path) -> None:
    body = rss([FIRST, SECOND])
    (tmp_path / "feed.xml").write_bytes(body[: body.index(b"The body of Post number 2") + 5])
    write_config(tmp_path, feed=str(tmp_path / "feed.xml"), provider={"name": "outbox"})
    result = run(tmp_path, "send")
    assert result.code == 1
    assert "The feed file" in result.error_line and "ends early" in result.error_line
    assert "download" not in result.error_line and "run again later" not in result.error_line


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY ha "ha">
 <!ENTITY ha3 "&ha;&ha;&ha;">
 <!ENTITY ha9 "&ha3;&ha3;&ha3;">
]>
<rss version="2.0"><channel><title>Laughs</title><link>https://blog.example.org/</link>
<item><title>&ha9;</title><link>https://blog.example.org/ha/</link>
<guid>https://blog.example.org/ha/</guid><description>&ha9;</description></item>
</channel></rss>"""


def test_a_feed_of_nested_entities_is_refused_not_mailed_with_their_names(blog: Blog) -> None:
    blog.serve(Route(LAUGHS))
    result = blog.send()
    assert_refused_plainly(blog, result, 1, "declares XML entities built from other entities")


def test_an_undefined_entity_never_reaches_a_subject(blog: Blog) -> None:
    body = rss([SECOND]).replace(b"Post number 2</title>", b"&ha9; Post number 2</title>")
    blog.serve(Route(body))
    result = blog.send()
    assert result.code == 0, result.stderr
    newest = max((blog.folder / "outbox").iterdir(), key=lambda path: path.stat().st_mtime_ns)
    message = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Post number 2"
    text = message.get_body(("plain",))
    assert text is not None and "&ha9;" not in text.get_content()

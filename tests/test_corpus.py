"""The project's own corpus: small feeds of every shape the newsletter meets, each run
through `check`, `preview` and `send` to the outbox (tests/fixtures/corpus/).

Each must end without a traceback, refuse with one plain sentence where it refuses, and
send exactly the subjects and links its entry in `expectations.toml` names; no email may
link a `tag:` or `urn:` id or the feed itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.corpus_runner import CORPUS, run, serve
from tests.feedserver import FeedServer

pytestmark = pytest.mark.slow

EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expectations.toml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        serve(running)
        yield running


def test_every_feed_of_the_corpus_has_its_expectations() -> None:
    feeds = {path.name for path in CORPUS.iterdir() if path.name != "expectations.toml"}
    assert feeds == set(EXPECTED)
    assert len(feeds) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_feed(
    name: str, server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = EXPECTED[name]
    observed = run(name, expected.get("settings", {}), server, tmp_path, capsys)
    site = server.url("/").rstrip("/")

    def placed(text: str) -> str:
        return text.replace("{site}", site)

    said = (observed.check, observed.preview, observed.send)
    for output in said:
        assert "Traceback" not in output.out + output.err
        assert "unexpected" not in output.err
    assert [output.code for output in said] == expected["codes"]
    for output in said:
        if output.code:
            sentence = output.error_line
            assert expected["error"] in sentence
            assert sentence.endswith(".") and "\n" not in sentence
    if "outcome" in expected:
        assert expected["outcome"] in observed.send.out
    if "warning" in expected:
        assert expected["warning"] in observed.check.err

    assert observed.subjects == expected["subjects"]
    assert observed.title_links == [placed(link) for link in expected.get("title_links", [])]
    if "home" in expected:
        assert observed.home_links == {placed(expected["home"])}
    assert observed.buttons == expected.get("buttons", 0)
    for words in expected.get("absent", []):
        assert all(words not in text for text in observed.texts)

    for link in observed.links:
        assert link.startswith(("https://", "http://", "mailto:", "#post-")), link
        assert link != observed.feed_url

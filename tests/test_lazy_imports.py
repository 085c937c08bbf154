"""Each command loads what it uses and nothing more (in the spirit of reader's
tests/test_lazy_imports.py): start-up is most of what `--help`, `check` and `status` cost.

Each command runs in a fresh interpreter, through `cli.main` as the console script calls it,
and reports `sys.modules` at the end; what a bare interpreter of the same environment already
holds (an editable install's path finder, site's own imports) is taken away first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from newsletter import __version__
from newsletter.arguments import Handlers, build_parser
from newsletter.help_text import TOP_LEVEL

ROOT = Path(__file__).resolve().parent.parent

HEAVY = frozenset(
    {
        "httpx",
        "httpcore",
        "feedparser",
        "jinja2",
        "lxml",
        "mjml",
        "nh3",
        "babel",
        "email_validator",
        "idna",
        "dns",
        "cssselect",
        "filelock",
        "playwright",
        "asyncio",
        "logging",
    }
)
"""Libraries (and the heaviest standard modules they drag in) that parse, render or send."""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Bench Notes</title><link>https://notes.example.org/</link>
<description>Notes</description><language>{language}</language>
<item><title>A first note</title><link>https://notes.example.org/first/</link>
<guid>https://notes.example.org/first/</guid><pubDate>{published}</pubDate>
<description>The opening of the first note.</description></item>
</channel></rss>
"""
"""A post from yesterday, so that a first send takes it and renders an email."""

CONFIG = """[feed]
url = "feed.xml"

[newsletter]
from = "Bench Notes <news@notes.example.org>"
postal_address = "1 Bench Lane, Exampleton"

[provider]
name = "outbox"
dir = "outbox"

[state]
path = "state/ledger.json"
"""

PROBE = """
import json, sys
before = set(sys.modules)
from newsletter.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(set(sys.modules) - before)}), file=sys.stderr)
"""


def modules_loaded_by(arguments: list[str], folder: Path) -> set[str]:
    """Every module a command imports beyond a bare start."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"PATH": "", "PYTHONPATH": str(ROOT), "COLUMNS": "80", "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stdout + done.stderr
    return set(report["loaded"])


def loaded_by(arguments: list[str], folder: Path) -> set[str]:
    """Top-level packages and `newsletter.*` modules a command imports beyond a bare start."""
    names = modules_loaded_by(arguments, folder)
    return {name if name.startswith("newsletter") else name.split(".")[0] for name in names}


def write_feed(folder: Path, language: str = "en-GB") -> None:
    published = format_datetime(datetime.now(UTC) - timedelta(days=1))
    feed = FEED.format(language=language, published=published)
    (folder / "feed.xml").write_text(feed, encoding="utf-8")


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    write_feed(tmp_path)
    (tmp_path / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("flag", ["--help", "-h", "--version"])
def test_help_and_version_load_no_parser_and_no_library(blog: Path, flag: str) -> None:
    loaded = loaded_by([flag], blog)
    assert {name for name in loaded if name.startswith("newsletter")} <= {
        "newsletter",
        "newsletter.cli",
        "newsletter.exit_codes",
        "newsletter.help_text",
    }
    # Not even the standard library's parser, typing or dataclasses: the help is plain text.
    assert not loaded & (HEAVY | {"argparse", "typing", "dataclasses", "pathlib", "traceback"})


def test_status_loads_no_library_that_fetches_renders_or_sends(blog: Path) -> None:
    loaded = loaded_by(["status"], blog)
    assert not loaded & (HEAVY | {"ssl"})
    assert not {
        name
        for name in loaded
        if name.startswith(("newsletter.render", "newsletter.excerpt", "newsletter.feed"))
    }
    # Reading the ledger needs none of the stages that plan, fetch, compose or send.
    assert not loaded & {
        "newsletter.pipeline",
        "newsletter.plan",
        "newsletter.compose",
        "newsletter.delivery",
        "newsletter.source",
        "newsletter.drift",
        "newsletter.report",
        "newsletter.scheduled",
        "newsletter.http",
    }
    assert "newsletter.status" in loaded


def test_check_of_a_local_feed_loads_the_parser_and_nothing_that_renders_or_sends(
    blog: Path,
) -> None:
    loaded = loaded_by(["check"], blog)
    assert "feedparser" in loaded
    assert not loaded & (HEAVY - {"feedparser"})
    assert not {
        name
        for name in loaded
        if name.startswith(("newsletter.render", "newsletter.excerpt", "newsletter.review"))
    }


def test_a_real_send_loads_what_the_test_above_keeps_out(blog: Path) -> None:
    # The pins above would pass vacuously if the probe saw no imports at all.
    loaded = loaded_by(["send", "--dry-run", "-q"], blog)
    assert {"feedparser", "jinja2", "lxml", "mjml", "nh3"} <= loaded


SENDING_ONLY = frozenset(
    {
        "newsletter.delivery",
        "newsletter.reconcile",
        "newsletter.drift",
        "newsletter.verify",
        "newsletter.scheduled",
        "newsletter.schedule",
        "newsletter.status",
        "newsletter.http",
        "newsletter.message",
        "newsletter.headers",
        "newsletter.providers.api",
        "newsletter.providers.subscribers",
    }
)
"""What sending, checking, scheduling or reading the status needs, and a dry run does not."""


@pytest.mark.parametrize("language", ["de-DE", "pt-BR", "ja", "ar"])
def test_a_dry_run_of_a_file_feed_renders_and_loads_nothing_only_sending_needs(
    blog: Path, language: str
) -> None:
    write_feed(blog, language)
    loaded = modules_loaded_by(["send", "--dry-run", "-q"], blog)
    top = {name.split(".")[0] for name in loaded}
    assert {"feedparser", "jinja2", "lxml", "mjml", "nh3", "newsletter.render"} <= top | loaded
    # No network client for a file feed, no address library (a plain ASCII sender).
    assert not top & {
        "httpx",
        "httpcore",
        "email_validator",
        "idna",
        "dns",
        "cssselect",
        "filelock",
        "playwright",
        "asyncio",
        "logging",
        "zoneinfo",
    }
    # The language's locale and dates come from the stored CLDR answers (render/cldr.py),
    # and no message is built, so neither Babel nor the email package's policies load.
    assert not {name for name in loaded if name.startswith("babel")}
    assert not loaded & {"email.policy", "email.headerregistry"}
    assert not loaded & SENDING_ONLY
    assert not {name for name in loaded if name.startswith("newsletter.review")}


def test_a_language_the_stored_answers_do_not_cover_still_goes_to_babel(blog: Path) -> None:
    write_feed(blog, "el")
    loaded = modules_loaded_by(["send", "--dry-run", "-q"], blog)
    assert {"babel.dates", "newsletter.render"} <= loaded


def test_the_help_text_is_what_argparse_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsletter.cli import main

    monkeypatch.setenv("COLUMNS", "80")
    parser = build_parser(Handlers(*[lambda _args: 0] * len(Handlers._fields)))
    expected = parser.format_help()
    assert expected == TOP_LEVEL, "newsletter/help_text.py is out of date; set TOP_LEVEL to:\n" + (
        expected
    )
    assert main(["--help"]) == 0
    assert capsys.readouterr().out == expected
    with pytest.raises(SystemExit):
        parser.parse_args(["--version"])
    from_argparse = capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == from_argparse == f"newsletter {__version__}\n"

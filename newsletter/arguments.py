"""The command line's grammar: every command, its options, and the help text they show.

`cli.py` hands in one handler function per command (`Handlers`); each subparser records its
handler with `set_defaults(handler=...)`, as rss2email's main.py does, so dispatch is a
single call. A new option goes here, and its value is read in the command's handler.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from newsletter import __version__

if TYPE_CHECKING:
    from datetime import date

Handler = Callable[[argparse.Namespace], int]


class Handlers(NamedTuple):
    """One function per command (a NamedTuple: `newsletter --help` skips importing dataclasses)."""

    init: Handler
    check: Handler
    preview: Handler
    send: Handler
    baseline: Handler
    status: Handler
    resolve: Handler
    review: Handler


def _iso_date(text: str) -> date:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date such as 2026-11-01"
        ) from None


def _address(text: str) -> str:
    from newsletter.checks import address_problem

    problem = address_problem(text) if "@" in text else "it has no @"
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not an email address ({problem})")
    return text


def _global_options(parser: argparse.ArgumentParser, *, default: bool) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None if default else argparse.SUPPRESS,
        help="config file (default: $NEWSLETTER_CONFIG, else ./newsletter.toml)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if default else argparse.SUPPRESS,
        help="show details (and tracebacks)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0 if default else argparse.SUPPRESS,
        help="print only results and errors",
    )


def _feed_options(command: argparse.ArgumentParser, *, since: bool = True) -> None:
    command.add_argument(
        "--feed",
        metavar="URL_OR_PATH",
        help="read this feed instead of [feed] url (with several [[feed]] tables: the one with "
        "this label or url)",
    )
    if since:
        command.add_argument(
            "--since",
            type=_iso_date,
            metavar="YYYY-MM-DD",
            help="posts published on or after this day count as new (on a first run, "
            "instead of first_run_days)",
        )


def build_parser(handlers: Handlers) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsletter",
        description=(
            "Send a blog's new posts as an email newsletter, cut at the 'continue reading' break."
        ),
        epilog="Every command but init reads ./newsletter.toml (or --config PATH).",
    )
    parser.add_argument("--version", action="version", version=f"newsletter {__version__}")
    _global_options(parser, default=True)
    # The same options are accepted after the command too (`newsletter send -v`), as authors
    # type them; SUPPRESS keeps a value given before the command from being reset.
    shared = argparse.ArgumentParser(add_help=False)
    _global_options(shared, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Handler, summary: str, description: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=description, parents=[shared])
        sub.set_defaults(handler=handler)
        return sub

    init = command(
        "init",
        handlers.init,
        "write a starter newsletter.toml and GitHub workflow (never overwrites)",
        "Write a starter newsletter.toml and a GitHub Actions workflow into a blog's "
        "repository. Files that already exist are kept as they are.",
    )
    init.add_argument("--dir", default=".", help="the blog repository to set up (default: here)")
    init.add_argument(
        "--from-git",
        action="store_true",
        help="pin the workflow to the project's git repository at this version's tag "
        "instead of the release on PyPI",
    )

    check = command(
        "check",
        handlers.check,
        "show what the next send would send, and why others are skipped",
        "Read the feed and list every post: what the next send would send, what waits for a "
        "later run, and why each other post is skipped. Sends nothing, writes nothing.",
    )
    _feed_options(check)
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when the next send would refuse a flood, or when posts already sent "
        "changed their guid or permalink (for a blog's own pull requests)",
    )

    preview = command(
        "preview",
        handlers.preview,
        "render the next email(s) to files; never sends",
        "Render the email(s) the next send would send, as .html, .txt and .eml files. With "
        "nothing new, the latest post is shown. Never sends and never writes the ledger.",
    )
    _feed_options(preview)
    preview.add_argument(
        "--out",
        default="preview",
        metavar="DIR",
        help="where to write .html/.txt/.eml (default: preview/)",
    )
    preview.add_argument(
        "--post", action="append", metavar="URL_OR_ID", help="preview this post (repeatable)"
    )
    preview.add_argument("--open", action="store_true", help="open the HTML in the default browser")
    preview.add_argument(
        "--screenshot",
        action="store_true",
        help="also write desktop and phone PNGs (headless Chromium)",
    )

    send = command(
        "send",
        handlers.send,
        "fetch, pick new posts, render, send, record in the ledger",
        "Send the feed's new posts to the list through the configured provider and record "
        "them in the ledger, so nothing is sent twice. Refuses (exit 3) a flood of posts, an "
        "email Gmail would clip, or a run after an interrupted send.",
    )
    _feed_options(send)
    send.add_argument(
        "--dry-run", action="store_true", help="do everything but send and write the ledger"
    )
    send.add_argument(
        "--test-to",
        type=_address,
        metavar="ADDRESS",
        help="send only to this address, subject prefixed [Test]",
    )
    send.add_argument(
        "--post", action="append", metavar="URL_OR_ID", help="send exactly this post (repeatable)"
    )
    send.add_argument(
        "--draft", action="store_true", help="create a draft for review (Buttondown, Resend)"
    )
    send.add_argument(
        "--force",
        action="store_true",
        help="override the flood limit, the size limit, and resend what --post names",
    )
    send.add_argument(
        "--scheduled",
        action="store_true",
        help="what the weekly job runs: send only at a [schedule] slot, and with [review] "
        "only the issue a merged review approved",
    )

    baseline = command(
        "baseline",
        handlers.baseline,
        "record every post now in the feed as already sent",
        "Record every post now in the feed as already sent to this destination, without "
        "sending anything; the next send only takes posts published after that.",
    )
    _feed_options(baseline, since=False)

    command(
        "status",
        handlers.status,
        "show recent runs, sent posts and anything pending",
        "Show what the ledger holds for each destination: counts, the latest sends, posts "
        "left pending by an interrupted send, and the recent runs.",
    )

    resolve = command(
        "resolve",
        handlers.resolve,
        "settle a post left pending by an interrupted send",
        "Settle a post left pending by an interrupted send. Without --as, Postmark's and "
        "Mailgun's own records are looked up: what they show was accepted is recorded as "
        "sent, and the next send goes only to the subscribers it did not reach. With --as, "
        "once you have checked the provider's dashboard: --as sent if it reached "
        "subscribers, --as unsent to send it again with the next send.",
    )
    resolve.add_argument(
        "--post",
        action="append",
        default=[],
        metavar="URL_OR_ID",
        help="the pending post's link or id (repeatable; needed with --as; without --as, "
        "every pending post when left out)",
    )
    resolve.add_argument(
        "--as",
        dest="as_",
        choices=("sent", "unsent"),
        help="sent: it reached subscribers; unsent: send it again next time; left out: look "
        "it up in the provider's records",
    )
    review = command(
        "review",
        handlers.review,
        "open (or update) the pull request that puts the next issue up for review",
        'With [review] mode = "pull-request": render the next issue and open one pull request '
        "that carries it (the planned posts, the email's HTML and text, desktop and phone "
        "pictures), or update the one still open. Merging it approves exactly that issue; "
        "closing it skips the posts. Needs GITHUB_TOKEN and GITHUB_REPOSITORY.",
    )
    _feed_options(review)
    review.add_argument(
        "--base",
        default="main",
        metavar="BRANCH",
        help="the branch the pull request goes into (default: main)",
    )
    review.add_argument(
        "--scheduled",
        action="store_true",
        help="what the weekly job runs: open the review only when the next slot is near "
        "([review] hours_ahead)",
    )
    return parser

"""Command line: parse arguments, call the pipeline, print, map errors to exit codes.

No business logic lives here. Heavy modules are imported only once a command runs, so that
`newsletter --help` starts about as fast as Python itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter import __version__
from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    from newsletter.config import Config
    from newsletter.pipeline import Report, SendOptions

EXIT_OK = 0
EXIT_FAILURE = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    verbosity: int = args.verbose - args.quiet
    try:
        code = _run(args, verbosity)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader of our output stopped early (`newsletter check | head`): every print
        # comes after the command's work, so that work is done. Point stdout at /dev/null so
        # that the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except NewsletterError as error:
        if verbosity > 0:
            traceback.print_exc()
        print(f"error: {error.message}", file=sys.stderr)
        _append_failure_summary(args.command, error.message, error.exit_code)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            "error: interrupted; run `newsletter status` to see anything left pending.",
            file=sys.stderr,
        )
        return 130
    except Exception as error:
        if verbosity > 0:
            traceback.print_exc()
        sentence = (
            f"an unexpected {type(error).__name__} stopped the run; run again with -v to "
            "see the details and report them. The ledger was only written where a step finished."
        )
        print(f"error: {sentence}", file=sys.stderr)
        _append_failure_summary(args.command, sentence, EXIT_FAILURE)
        return EXIT_FAILURE


def _run(args: argparse.Namespace, verbosity: int) -> int:
    command: str = args.command
    if command == "init":
        return _init(args)

    from newsletter import pipeline
    from newsletter.config import load_config, with_overrides

    config = load_config(args.config, os.environ)
    config = with_overrides(config, feed_url=getattr(args, "feed", None))

    def notify(line: str) -> None:
        if verbosity >= 0:
            print(line, file=sys.stderr)

    if command == "status":
        _print_status(config)
        return EXIT_OK
    if command == "resolve":
        report = pipeline.resolve(config, tuple(args.post), args.as_ == "sent", notify)
        print(report.outcome)
        return EXIT_OK

    options = _send_options(args)
    if command == "check":
        report = pipeline.check(config, options, os.environ, notify)
        _print_plan(report)
    elif command == "preview":
        report = pipeline.preview(config, options, os.environ, notify, out_dir=Path(args.out))
        _print_warnings(report)
        for path in report.files:
            print(path)
        if args.screenshot:
            from newsletter.screenshot import screenshot

            for html_path in (p for p in report.files if p.suffix == ".html"):
                for path in screenshot(html_path):
                    print(path)
        if args.open:
            from newsletter.preview import open_in_browser

            first = next((p for p in report.files if p.suffix == ".html"), None)
            if first is not None:
                open_in_browser(first)
        print(report.outcome)
    elif command == "send":
        report = pipeline.send(config, options, os.environ, notify)
        _print_warnings(report)
        if options.dry_run:
            _print_plan(report)
        print(report.outcome)
    elif command == "baseline":
        report = pipeline.baseline(config, options, os.environ, notify)
        print(report.outcome)
    else:  # pragma: no cover - argparse only allows the commands above
        raise AssertionError(command)
    _append_step_summary(report)
    return EXIT_OK


def _send_options(args: argparse.Namespace) -> SendOptions:
    from newsletter.pipeline import SendOptions

    return SendOptions(
        feed=getattr(args, "feed", None),
        since=getattr(args, "since", None),
        dry_run=getattr(args, "dry_run", False),
        test_to=getattr(args, "test_to", None),
        posts=tuple(getattr(args, "post", None) or ()),
        draft=getattr(args, "draft", False),
        force=getattr(args, "force", False),
    )


# --- output ---------------------------------------------------------------------------


def _print_warnings(report: Report) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _print_plan(report: Report) -> None:
    plan = report.plan
    _print_warnings(report)
    if plan is None:
        return
    if plan.unchanged:
        print("The feed has not changed since the last run.")
        return
    print(f"{plan.feed.title} ({plan.feed.url}) → {report.destination}")
    if plan.to_send:
        print(f"Next send: {len(plan.to_send)} post(s)")
        for post in plan.to_send:
            print(f"  + {_when(post.published)}  {post.title}  <{post.link}>")
    else:
        print("Next send: nothing new.")
    for post in plan.waiting:
        print(
            f"  … {_when(post.published)}  {post.title}  <{post.link}>  "
            "(waits for the next run: max_posts)"
        )
    # The first run's baseline posts are also among the skipped ones: one line each, with the
    # reason and what the first send does with them. Every line carries the link, which is
    # what `send --post` and `preview --post` ask for.
    baseline = {id(post) for post in plan.baseline}
    listed: set[int] = set()
    for post, reason in plan.skipped:
        listed.add(id(post))
        if id(post) in baseline:
            print(
                f"  = {_when(post.published)}  {post.title}  <{post.link}>  "
                f"({reason}; the first send records it as already sent)"
            )
        else:
            print(f"  - {_when(post.published)}  {post.title}  <{post.link}>  ({reason})")
    for post in plan.baseline:
        if id(post) not in listed:
            print(
                f"  = {_when(post.published)}  {post.title}  <{post.link}>  "
                "(first run: recorded as already sent)"
            )


def _when(moment: object) -> str:
    from datetime import datetime

    return moment.strftime("%Y-%m-%d") if isinstance(moment, datetime) else "undated   "


def _print_status(config: Config) -> None:
    from newsletter.ledger import Ledger, Status, timestamp

    ledger = Ledger.read(config.state.path)
    print(f"Ledger: {config.state.path}")
    names = ledger.destinations()
    if not names:
        print("No sends recorded yet.")
    for name in names:
        records = ledger.destination(name).records()
        counts: dict[str, int] = {}
        for record in records:
            counts[record.status] = counts.get(record.status, 0) + 1
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        print(f"{name}: {summary}")
        # The latest sends, picked before the cut: a baseline recorded after them (an archive
        # adopted later) must not push every sent post out of the list.
        handled = [r for r in records if r.status in (Status.SENT, Status.DRAFTED)]
        for record in sorted(handled, key=lambda r: r.at, reverse=True)[:5]:
            print(f"  {record.day}  {record.status:<8} {record.title}")
        for record in ledger.destination(name).pending():
            print(
                f"  PENDING since {timestamp(record.at)}: {record.title} <{record.link}> — settle "
                f"it with `newsletter resolve --post {record.link or record.id} --as sent|unsent`"
            )
    if ledger.runs:
        print("Recent runs:")
        for run in ledger.runs[-10:]:
            when = timestamp(run.at)
            print(f"  {when}  {run.command:<8} {run.destination:<20} {run.result}  {run.detail}")


def _append_step_summary(report: Report) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from newsletter.summary import markdown_summary

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown_summary(report))


def _append_failure_summary(command: str, message: str, exit_code: int) -> None:
    """A failed run's page should say what went wrong, not only its log."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path or command not in ("send", "check", "preview"):
        return
    from newsletter.summary import failure_summary

    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(failure_summary(command, message, exit_code))
    except OSError:
        pass  # the error itself is already on stderr; a summary file problem must not hide it


def _init(args: argparse.Namespace) -> int:
    from newsletter.init import init_project

    report = init_project(Path(args.dir))
    for path in report.written:
        print(f"wrote {path}")
    for path in report.skipped:
        print(f"kept  {path} (already there; init never overwrites)")
    print(report.next_steps)
    return EXIT_OK


# --- argument parsing ------------------------------------------------------------------


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date such as 2026-11-01"
        ) from None


def _address(text: str) -> str:
    local, _, domain = text.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an email address")
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsletter",
        description=(
            "Send a blog's new posts as an email newsletter, cut at the 'continue reading' break."
        ),
    )
    parser.add_argument("--version", action="version", version=f"newsletter {__version__}")
    _global_options(parser, default=True)
    # The same options are accepted after the command too (`newsletter send -v`), as authors
    # type them; SUPPRESS keeps a value given before the command from being reset.
    shared = argparse.ArgumentParser(add_help=False)
    _global_options(shared, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, parents=[shared])

    init = command("init", "write a starter newsletter.toml and GitHub workflow (never overwrites)")
    init.add_argument("--dir", default=".", help="the blog repository to set up (default: here)")

    def feed_options(sub: argparse.ArgumentParser, *, since: bool = True) -> None:
        sub.add_argument(
            "--feed", metavar="URL_OR_PATH", help="read this feed instead of [feed] url"
        )
        if since:
            sub.add_argument(
                "--since",
                type=_iso_date,
                metavar="DATE",
                help="posts published on or after this date count as new",
            )

    check = command("check", "show what the next send would send, and why others are skipped")
    feed_options(check)

    preview = command("preview", "render the next email(s) to files; never sends")
    feed_options(preview)
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

    send = command("send", "fetch, pick new posts, render, send, record in the ledger")
    feed_options(send)
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

    baseline = command("baseline", "record every post now in the feed as already sent")
    feed_options(baseline, since=False)

    command("status", "show recent runs, sent posts and anything pending")

    resolve = command("resolve", "settle a post left pending by an interrupted send")
    resolve.add_argument(
        "--post",
        required=True,
        action="append",
        metavar="URL_OR_ID",
        help="the pending post's link or id (repeatable)",
    )
    resolve.add_argument(
        "--as",
        dest="as_",
        required=True,
        choices=("sent", "unsent"),
        help="sent: it reached subscribers; unsent: send it again next time",
    )
    return parser

"""Command line: parse the arguments, call one handler, print, map errors to exit codes.

Each command has one handler function (`_check`, `_send`, ...) chosen by argparse through
`set_defaults(handler=...)`; a handler calls the pipeline and prints what `report.py` words.
The commands and their options are declared in `arguments.py`, the exit codes named in
`exit_codes.py`. No business logic lives here, and every module is imported only once the
command that needs it runs: `newsletter --help` and `--version` answer before argparse is
even imported (help_text.py), and tests/test_lazy_imports.py pins what each command loads.
"""

from __future__ import annotations

import os
import sys

from newsletter import exit_codes

# `typing` itself is not imported: `newsletter --help` must not pay for it (mypy reads a
# constant named TYPE_CHECKING the same way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Sequence

    from newsletter.arguments import Handlers
    from newsletter.config import Config
    from newsletter.pipeline import SendOptions
    from newsletter.report import Report

SUMMARISED_FAILURES = ("send", "check", "preview", "review")
"""The commands a workflow runs, whose failure is written to the run's page too."""
_HELP = (["--help"], ["-h"])
_VERSION = (["--version"],)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The two answers that need no parser: printed as they are, before argparse is imported.
    if arguments in _HELP:
        from newsletter.help_text import TOP_LEVEL

        sys.stdout.write(TOP_LEVEL)
        return exit_codes.OK
    if arguments in _VERSION:
        from newsletter import __version__

        sys.stdout.write(f"newsletter {__version__}\n")
        return exit_codes.OK
    return _run(arguments)


def _run(arguments: list[str]) -> int:
    from newsletter.arguments import build_parser
    from newsletter.errors import NewsletterError

    args = build_parser(_handlers()).parse_args(arguments)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader of our output stopped early (`newsletter check | head`): every print
        # comes after the command's work, so that work is done. Point stdout at /dev/null so
        # that the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.OK
    except NewsletterError as error:
        return _fail(args, error.message, error.exit_code)
    except KeyboardInterrupt:
        print(
            "error: interrupted; run `newsletter status` to see anything left pending.",
            file=sys.stderr,
        )
        return exit_codes.INTERRUPTED
    except Exception as error:
        sentence = (
            f"an unexpected {type(error).__name__} stopped the run; run again with -v to "
            "see the details and report them. The ledger was only written where a step finished."
        )
        return _fail(args, sentence, exit_codes.FAILURE)


def _fail(args: argparse.Namespace, sentence: str, code: int) -> int:
    if _verbosity(args) > 0:
        import traceback

        traceback.print_exc()
    print(f"error: {sentence}", file=sys.stderr)
    if args.command in SUMMARISED_FAILURES:
        from newsletter.report import failure_summary

        # The error itself is already on stderr; a summary file problem must not hide it.
        _append_step_summary(failure_summary(args.command, sentence, code), quiet_errors=True)
    return code


# --- one handler per command -----------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from newsletter.init import init_project

    report = init_project(Path(args.dir), from_git=args.from_git)
    for path in report.written:
        print(f"wrote {path}")
    for path in report.skipped:
        print(f"kept  {path} (already there; init never overwrites)")
    print(report.next_steps)
    return exit_codes.OK


def _check(args: argparse.Namespace) -> int:
    from newsletter import pipeline
    from newsletter.report import plan_lines

    report = pipeline.check(_config(args), _send_options(args), os.environ, _notifier(args))
    _print_warnings(report)
    if report.plan is not None:
        _print(plan_lines(report.plan))
    code = _summarised(report)
    if args.strict and report.risks:
        from newsletter.errors import SafetyRefusal

        raise SafetyRefusal(
            f"check --strict found {len(report.risks)} problem(s) the next send would meet "
            "(the warnings above); fix the feed, or the ledger if the change is meant, before "
            "this feed is published."
        )
    return code


def _preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from newsletter import pipeline

    out_dir = Path(args.out)
    config, options = _config(args), _send_options(args)
    report = pipeline.preview(config, options, os.environ, _notifier(args), out_dir=out_dir)
    _print_warnings(report)
    _print(str(path) for path in report.files)
    pages = [path for path in report.files if path.suffix == ".html"]
    if args.screenshot:
        from newsletter.screenshot import screenshot

        _print(str(shot) for page in pages for shot in screenshot(page))
    if args.open and pages:
        from newsletter.preview import open_in_browser

        open_in_browser(pages[0])
    print(report.outcome)
    return _summarised(report)


def _send(args: argparse.Namespace) -> int:
    from newsletter import pipeline
    from newsletter.report import plan_lines

    options = _send_options(args)
    report = pipeline.send(_config(args), options, os.environ, _notifier(args))
    _print_warnings(report)
    if options.dry_run and report.plan is not None:
        _print(plan_lines(report.plan))
    print(report.outcome)
    return _summarised(report)


def _baseline(args: argparse.Namespace) -> int:
    from newsletter import pipeline

    report = pipeline.baseline(_config(args), _send_options(args), os.environ, _notifier(args))
    print(report.outcome)
    return _summarised(report)


def _status(args: argparse.Namespace) -> int:
    # Not through the pipeline: reading the ledger needs none of what fetches, renders or
    # sends (tests/test_lazy_imports.py).
    from newsletter.status import read_status, status_lines

    _print(status_lines(read_status(_config(args))))
    return exit_codes.OK


def _review(args: argparse.Namespace) -> int:
    from newsletter.review.command import ReviewOptions, review
    from newsletter.screenshot import screenshot

    options = ReviewOptions(
        base=args.base, scheduled=args.scheduled, feed=args.feed, since=args.since
    )
    report = review(_config(args), options, os.environ, _notifier(args), pictures=screenshot)
    _print_warnings(report)
    print(report.outcome)
    return _summarised(report)


def _resolve(args: argparse.Namespace) -> int:
    from newsletter import pipeline

    if args.as_ is not None and not args.post:
        from newsletter.errors import ConfigError

        raise ConfigError(
            "resolve --as needs --post naming the post(s) it settles; run `newsletter status` "
            "to see the pending posts, or leave --as out to look them up in the provider's "
            "records."
        )
    as_sent = None if args.as_ is None else args.as_ == "sent"
    report = pipeline.resolve(_config(args), tuple(args.post), as_sent, _notifier(args), os.environ)
    print(report.outcome)
    return exit_codes.OK


# --- what the handlers share -----------------------------------------------------------------


def _config(args: argparse.Namespace) -> Config:
    from newsletter.config import load_config, with_overrides

    config = load_config(args.config, os.environ)
    return with_overrides(config, feed_url=getattr(args, "feed", None))


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
        scheduled=getattr(args, "scheduled", False),
    )


def _verbosity(args: argparse.Namespace) -> int:
    return int(args.verbose) - int(args.quiet)


def _notifier(args: argparse.Namespace) -> Callable[[str], None]:
    """Progress lines go to stderr, unless -q."""
    loud = _verbosity(args) >= 0

    def notify(line: str) -> None:
        if loud:
            print(line, file=sys.stderr)

    return notify


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def _print_warnings(report: Report) -> None:
    from newsletter.report import warning_lines

    for line in warning_lines(report):
        print(line, file=sys.stderr)


def _summarised(report: Report) -> int:
    """Add the run's summary to the GitHub Actions run page, when there is one."""
    from newsletter.report import markdown_summary

    _append_step_summary(markdown_summary(report))
    return exit_codes.OK


def _append_step_summary(markdown: str, *, quiet_errors: bool = False) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError:
        if not quiet_errors:
            raise


def _handlers() -> Handlers:
    from newsletter.arguments import Handlers

    return Handlers(
        init=_init,
        check=_check,
        preview=_preview,
        send=_send,
        baseline=_baseline,
        status=_status,
        resolve=_resolve,
        review=_review,
    )

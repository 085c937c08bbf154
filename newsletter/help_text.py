"""`newsletter --help`, as argparse words it for an 80-column terminal, kept as plain text.

Start-up is most of what `newsletter --help` costs: importing argparse and building the
parser of every command takes longer than Python's own start. The top-level help never
changes between runs, so `cli.main` prints this text without either.
tests/test_lazy_imports.py checks that it is exactly what `arguments.build_parser` prints
with COLUMNS=80, and prints the new text to paste here when a command or option changes.
"""

TOP_LEVEL = """\
usage: newsletter [-h] [--version] [--config PATH] [-v] [-q] COMMAND ...

Send a blog's new posts as an email newsletter, cut at the 'continue reading'
break.

positional arguments:
  COMMAND
    init         write a starter newsletter.toml and GitHub workflow (never
                 overwrites)
    check        show what the next send would send, and why others are
                 skipped
    preview      render the next email(s) to files; never sends
    send         fetch, pick new posts, render, send, record in the ledger
    baseline     record every post now in the feed as already sent
    status       show recent runs, sent posts and anything pending
    resolve      settle a post left pending by an interrupted send
    review       open (or update) the pull request that puts the next issue up
                 for review

options:
  -h, --help     show this help message and exit
  --version      show program's version number and exit
  --config PATH  config file (default: $NEWSLETTER_CONFIG, else
                 ./newsletter.toml)
  -v, --verbose  show details (and tracebacks)
  -q, --quiet    print only results and errors

Every command but init reads ./newsletter.toml (or --config PATH).
"""

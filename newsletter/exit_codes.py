"""The exit codes of `newsletter`, in one place; each error class in `errors.py` names its own.

Scripts and the GitHub workflow read these: they say what went out (docs/architecture.md).
"""

OK = 0
FAILURE = 1
"""Something failed while running: the feed or provider could not be reached, another run
holds the ledger. Nothing was sent that the ledger does not record."""
USAGE = 2
"""Bad usage, configuration, template or secret, or a damaged ledger: fix it and run again."""
REFUSED = 3
"""Refused for safety (a flood of posts, an interrupted send, an email Gmail would clip)."""
INTERRUPTED = 130
"""Stopped by Ctrl-C: 128 + SIGINT, as shells report it."""

"""One exception hierarchy: each error carries the one plain sentence the CLI prints.

The exit code lives on the class so that `cli.py` maps errors to codes without knowing
what went wrong; the codes themselves are named in `exit_codes.py`.
"""

from __future__ import annotations

from newsletter import exit_codes


class NewsletterError(Exception):
    """An expected failure: `str(error)` is a sentence saying what is wrong and what to do."""

    exit_code = exit_codes.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(NewsletterError):
    """Bad usage, configuration, template or secret: exit 2."""

    exit_code = exit_codes.USAGE


class FeedError(NewsletterError):
    """The feed could not be fetched or read: exit 1."""


class ProviderError(NewsletterError):
    """The mail provider could not be reached or refused the email: exit 1.

    `maybe_sent` says whether some subscribers may have received the email anyway (a timeout
    after the request went out, a 5xx, a batch that failed half-way). Only a failure that
    proves nothing went out (a 4xx rejection, a refused connection) sets it False, so that the
    pipeline can drop the `pending` records instead of asking the author to resolve them.
    """

    def __init__(self, message: str, *, maybe_sent: bool = True) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class ProviderSetupError(ConfigError, ProviderError):
    """The provider's own settings are wrong (its subscribers file, say), found by the adapter
    before any request: exit 2 like any configuration error, and, being a ProviderError that
    proves nothing went out, the pipeline drops the posts' `pending` records, so fixing the
    setting is enough (no `resolve` for a send that never started)."""

    def __init__(self, message: str) -> None:
        ProviderError.__init__(self, message, maybe_sent=False)


class LedgerError(NewsletterError):
    """The ledger is corrupt or unreadable: exit 2, and the file is left untouched."""

    exit_code = exit_codes.USAGE


class LedgerBusy(LedgerError):
    """Another run holds the ledger lock: exit 1 at once, nothing sent."""

    exit_code = exit_codes.FAILURE


class UnrecordedSend(NewsletterError):
    """The provider accepted an email (or may have), but the ledger could not record it: exit
    1, never the 2 of a ledger error, which tells the author that nothing was sent."""


class SafetyRefusal(NewsletterError):
    """Refused to protect subscribers (flood limit, pending posts, oversized email): exit 3."""

    exit_code = exit_codes.REFUSED

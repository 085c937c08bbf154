"""One exception hierarchy: each error carries the one plain sentence the CLI prints.

The exit code lives on the class so that `cli.py` maps errors to codes without knowing
what went wrong (SPEC "Exit codes": 1 failure, 2 usage/configuration, 3 safety refusal).
"""

from __future__ import annotations


class NewsletterError(Exception):
    """An expected failure: `str(error)` is a sentence saying what is wrong and what to do."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(NewsletterError):
    """Bad usage, configuration, template or secret: exit 2."""

    exit_code = 2


class FeedError(NewsletterError):
    """The feed could not be fetched or read: exit 1."""


class ProviderError(NewsletterError):
    """The mail provider could not be reached or refused the email: exit 1."""


class LedgerError(NewsletterError):
    """The ledger is corrupt or unreadable: exit 2, and the file is left untouched."""

    exit_code = 2


class LedgerBusy(LedgerError):
    """Another run holds the ledger lock: exit 1 at once, nothing sent."""

    exit_code = 1


class SafetyRefusal(NewsletterError):
    """Refused to protect subscribers (flood limit, pending posts, oversized email): exit 3."""

    exit_code = 3

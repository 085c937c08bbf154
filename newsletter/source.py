"""Which feed a run reads, and reading it: `--feed` or `[feed] url`, fetched with the
validators the ledger remembers, so an unchanged feed costs one 304.

The fetch and the parse themselves live in `newsletter/feed/`; this module adds what a run needs
around them: the starter's placeholder refused by name, and the response's validators handed
back with the feed, so the pipeline remembers them only once every new post went out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.ledger import DestinationLedger
from newsletter.models import Feed, Validators

if TYPE_CHECKING:
    import httpx

STARTER_FEED_URL = "https://example.org/feed/"
"""The placeholder `newsletter init` writes (newsletter/starter/newsletter.toml)."""


@dataclass(frozen=True)
class Fetched:
    """The feed as this run read it, with the validators its 200 response carried."""

    feed: Feed | None
    """None when the server answered 304: nothing changed since the last run."""
    location: str
    validators: Validators | None

    def remember(self, records: DestinationLedger, *, holds_back: bool) -> None:
        """Keep the feed's ETag/Last-Modified for this destination's next conditional
        request, once every post this run saw is settled. While a post waits (for max_posts,
        or for its date), forget them instead: the next run must read the feed whole, since a
        304 would hide that post until the blog happened to change."""
        if holds_back:
            records.remember_validators(self.location, Validators())
            return
        validators = self.validators
        if validators is not None and (validators.etag or validators.last_modified):
            records.remember_validators(self.location, validators)


def feed_location(config: Config, override: str | None) -> str:
    """The feed to read (`--feed` before `[feed] url`); ConfigError when there is none."""
    location = override or config.feed.url
    if not location:
        raise ConfigError(
            "No feed to read: set url under [feed] in newsletter.toml, or pass --feed URL_OR_PATH."
        )
    if location.rstrip("/") == STARTER_FEED_URL.rstrip("/"):
        raise ConfigError(
            f"[feed] url is still the starter's placeholder ({STARTER_FEED_URL}); set it to "
            "your blog's RSS or Atom feed in newsletter.toml."
        )
    return location


def fetch(
    config: Config,
    override: str | None,
    *,
    remembered: DestinationLedger | None,
    transport: httpx.BaseTransport | None,
    notify: Callable[[str], None],
) -> Fetched:
    """Fetch and parse the feed. With the destination's `remembered` records, the request
    carries the validators they hold for this feed, and a 304 gives `Fetched(feed=None)`."""
    from newsletter import feed as feeds

    location = feed_location(config, override)
    validators = remembered.validators(location) if remembered is not None else None
    notify(f"Reading the feed {location}")
    feed, result = feeds.load(
        location,
        validators=validators,
        timeout=config.feed.timeout,
        user_agent=config.feed.user_agent,
        transport=transport,
    )
    return Fetched(feed, location, None if feed is None else result.validators)


def read(
    config: Config,
    override: str | None,
    *,
    transport: httpx.BaseTransport | None,
    notify: Callable[[str], None],
) -> Feed:
    """The whole feed, asked for without validators (so never a 304)."""
    feed = fetch(config, override, remembered=None, transport=transport, notify=notify).feed
    assert feed is not None
    return feed

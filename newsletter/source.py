"""Which feeds a run reads, and reading them: `--feed` or the `[feed]`/`[[feed]]` tables,
each fetched with the validators the ledger remembers for it, so an unchanged feed costs
one 304.

The fetch and the parse themselves live in `newsletter/feed/`; this module adds what a run
needs around them: the starter's placeholder refused by name; the response's validators
handed back with each feed, so the pipeline remembers them only once every new post of that
feed went out; and, for a newsletter of several feeds, one `Feed` gathering them (its
`parts`, in the file's order, each post marked with the feed it came from). Every feed is
read before anything is sent, and a feed that cannot be read stops the run by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.config import Config, FeedConfig
from newsletter.errors import ConfigError, NewsletterError
from newsletter.ledger import DestinationLedger
from newsletter.models import Feed, Validators

if TYPE_CHECKING:
    import httpx

STARTER_FEED_URL = "https://example.org/feed/"
"""The placeholder `newsletter init` writes (newsletter/starter/newsletter.toml)."""


@dataclass(frozen=True)
class Fetched:
    """One feed as this run read it, with the validators its 200 response carried."""

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
    """The first feed to read (`--feed` before the configuration's); ConfigError when there
    is none. Checks every feed the run would read, so a usage error stops it at once."""
    return chosen_feeds(config, override)[0].url or ""


def chosen_feeds(config: Config, override: str | None) -> tuple[FeedConfig, ...]:
    """The feeds this run reads: all of the configuration's, or the one `--feed` names.

    With one feed, `--feed` replaces its url. With several, it picks one of them by its
    label or its url: as newsletter.toml writes it (a relative path read from the file's
    folder, as the configuration reads it) or resolved (each keeps its own filters, label and
    validators).
    """
    feeds = config.all_feeds
    if override and config.several_feeds:
        picked = [feed for feed in feeds if _names(override.strip(), feed, config.base_dir)]
        if not picked:
            choices = "; ".join(_choices(feed, config.base_dir) for feed in feeds)
            raise ConfigError(
                f"--feed {override} is none of the feeds in newsletter.toml; give a feed's "
                f"label or its url as newsletter.toml writes it: {choices}."
            )
        feeds = (picked[0],)
    elif override:
        feeds = (replace(feeds[0], url=override),)
    for feed in feeds:
        _check_location(feed.url, config.feed_table)
    return feeds


def fetch_all(
    config: Config,
    override: str | None,
    *,
    remembered: DestinationLedger | None,
    transport: httpx.BaseTransport | None,
    notify: Callable[[str], None],
) -> list[Fetched]:
    """Fetch and parse every feed the run reads, in the file's order. With the destination's
    `remembered` records, each request carries the validators they hold for its feed, and a
    304 gives `Fetched(feed=None)`. The first feed that cannot be read stops the run."""
    from newsletter import feed as feeds

    chosen = chosen_feeds(config, override)

    def load(settings: FeedConfig, validators: Validators | None) -> Fetched:
        location = settings.url or ""
        notify(f"Reading the feed {location}")
        try:
            feed, result = feeds.load(
                location,
                validators=validators,
                timeout=settings.timeout,
                user_agent=settings.user_agent,
                transport=transport,
                table=config.feed_table,
            )
        except NewsletterError as error:
            if not config.several_feeds:
                raise
            raise _naming(error, settings) from None
        if feed is not None:
            feed = _marked(feed, settings, several=config.several_feeds)
        return Fetched(feed, location, None if feed is None else result.validators)

    fetched = [
        load(
            settings, remembered.validators(settings.url or "") if remembered is not None else None
        )
        for settings in chosen
    ]
    if fetched[0].feed is None and any(item.feed is not None for item in fetched[1:]):
        # The newsletter bears the first feed's title, home page and language (README, "In
        # your readers' language"), which a 304 does not give: read it whole, once, when
        # another feed brings posts, rather than name the email after that other feed.
        fetched[0] = load(chosen[0], None)
    return fetched


def gathered(fetched: Sequence[Fetched], config: Config) -> Feed | None:
    """The feed of one run: the one feed read, or, for a newsletter of several feeds, one
    feed gathering those that changed (None when none did)."""
    parts = tuple(item.feed for item in fetched if item.feed is not None)
    if not config.several_feeds:
        return parts[0] if parts else None
    if not parts:
        return None
    first = parts[0]
    return replace(
        first,
        posts=tuple(post for part in parts for post in part.posts),
        warnings=tuple(warning for part in parts for warning in part.warnings),
        parts=parts,
    )


def read(
    config: Config,
    override: str | None,
    *,
    transport: httpx.BaseTransport | None,
    notify: Callable[[str], None],
) -> Feed:
    """The whole feed (or feeds), asked for without validators (so never a 304)."""
    fetched = fetch_all(config, override, remembered=None, transport=transport, notify=notify)
    feed = gathered(fetched, config)
    assert feed is not None
    return feed


def _names(wanted: str, feed: FeedConfig, base_dir: Path) -> bool:
    """Whether `--feed wanted` names this one of several feeds: its label, its url, or a
    path that leads to its file from the configuration's folder."""
    if not wanted or not feed.url:
        return False
    if wanted == feed.url or wanted == feed.label:
        return True
    if "://" in wanted or "://" in feed.url:
        return False
    try:
        path = Path(wanted).expanduser()
    except RuntimeError:  # `~name/...` for a user this machine does not have
        return False
    return os.path.normpath(path if path.is_absolute() else base_dir / path) == feed.url


def _choices(feed: FeedConfig, base_dir: Path) -> str:
    """How `--feed` may name this feed: its label, or its url as the file writes it (a path
    in the configuration's folder relative to it, as authors write them)."""
    url = feed.url or ""
    if url and "://" not in url:
        relative = os.path.relpath(url, base_dir)
        if not relative.startswith(os.pardir):
            url = relative
    return f"{feed.label!r} or {url}" if feed.label else url


def _check_location(location: str | None, table: str) -> None:
    if not location:
        raise ConfigError(
            f"No feed to read: set url under {table} in newsletter.toml, or pass --feed "
            "URL_OR_PATH."
        )
    if location.rstrip("/") == STARTER_FEED_URL.rstrip("/"):
        raise ConfigError(
            f"{table} url is still the starter's placeholder ({STARTER_FEED_URL}); set it to "
            "your blog's RSS or Atom feed in newsletter.toml."
        )


def _marked(feed: Feed, settings: FeedConfig, *, several: bool) -> Feed:
    """The feed with its configured address and label; with several feeds, each post also
    says which feed it came from (for the ledger, the digest's groups and `check`)."""
    location = settings.url or ""
    label = settings.label or feed.title
    posts = (
        tuple(replace(post, feed_url=location, feed_label=label) for post in feed.posts)
        if several
        else feed.posts
    )
    return replace(feed, posts=posts, label=settings.label, location=location)


def _naming(error: NewsletterError, settings: FeedConfig) -> NewsletterError:
    """The same kind of error (so the same exit code), saying which of the feeds it was."""
    name = f"{settings.label!r} ({settings.url})" if settings.label else str(settings.url)
    return type(error)(f"The feed {name} could not be read, so nothing was sent: {error.message}")

"""A newsletter of several feeds planned as one issue (`[[feed]]` tables).

Each feed is planned by `plan.decide` as if it were alone, with its own category filters,
its own first run (a feed added later starts with its recent posts only, however long the
newsletter has run) and its own flood limit, so one feed's move or flood stops the run by
the feed's name. A post's id matches its own feed's records only (two blogs may both call a
post `42`), its link any feed's, so a post that two feeds carry is never sent twice. Then
the feeds' new posts share one issue: oldest first, at most `max_posts` of them, the rest
waiting for the next run.

Pure, like `plan.py`: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from newsletter.categories import CategoryFilter
from newsletter.config import Config
from newsletter.errors import SafetyRefusal
from newsletter.identity import link_keys
from newsletter.ledger import DestinationLedger, PostRecord
from newsletter.models import Feed, Post
from newsletter.plan import Limits, Plan, Request, Skip, decide, oldest_first

NO_CAP = 10**9


@dataclass(frozen=True)
class FeedRecords:
    """A destination's records as one feed of several sees them: every record matches (a
    post is a post whichever feed carries it), but the first run is the feed's own."""

    destination: DestinationLedger
    is_first_run: bool

    @property
    def name(self) -> str:
        return self.destination.name

    def match(
        self, post: Post, *, ignored_links: frozenset[str] = frozenset()
    ) -> PostRecord | None:
        return self.destination.match(post, ignored_links=ignored_links)

    def records(self) -> tuple[PostRecord, ...]:
        return self.destination.records()


def plan_for(
    config: Config,
    feed: Feed,
    records: DestinationLedger,
    *,
    now: datetime,
    limits: Limits,
    request: Request,
) -> Plan:
    """The plan of a run: one feed as `plan.decide` has it, several gathered."""
    if not feed.parts or request.posts:
        # `--post` names posts of any feed; its rules do not depend on which.
        return decide(
            feed,
            records,
            now=now,
            limits=limits,
            request=request,
            categories=_filter_of(config, feed.location),
        )
    filters = {settings.url or "": settings.categories for settings in config.all_feeds}
    return decide_all(
        feed,
        records,
        now=now,
        limits=limits,
        request=request,
        filters=filters,
    )


def decide_all(
    feed: Feed,
    records: DestinationLedger,
    *,
    now: datetime,
    limits: Limits,
    request: Request,
    filters: Mapping[str, CategoryFilter],
) -> Plan:
    """Plan each of `feed.parts` on its own, then share one issue among their new posts.

    `filters`: each feed's category filters, by its configured address.
    """
    plans: list[Plan] = []
    for part in feed.parts:
        own = FeedRecords(records, records.is_first_run_of(part.location))
        try:
            plans.append(
                decide(
                    part,
                    own,
                    now=now,
                    limits=replace(limits, max_posts=NO_CAP),
                    request=request,
                    categories=filters.get(part.location, CategoryFilter()),
                )
            )
        except SafetyRefusal as refusal:
            raise SafetyRefusal(f"In the feed {_name(part)}: {refusal.message}") from None
    new, twice = _once_each(plans)
    return Plan(
        feed=feed,
        destination=records.name,
        to_send=new[: limits.max_posts],
        waiting=new[limits.max_posts :],
        skipped=tuple(skip for plan in plans for skip in plan.skipped) + twice,
        baseline=tuple(post for plan in plans for post in plan.baseline),
        first_run=any(plan.first_run for plan in plans),
        flooded=any(plan.flooded for plan in plans),
        archive=next(
            (
                f"in the feed {_name(part)}, {plan.archive}"
                for part, plan in zip(feed.parts, plans, strict=True)
                if plan.archive is not None
            ),
            None,
        ),
    )


def holds_back(plan: Plan, location: str) -> bool:
    """Whether a post of this feed goes out on a later run (so its validators are not kept)."""
    if not plan.feed.parts:
        return plan.holds_back
    return any(post.feed_url == location for post in plan.waiting) or any(
        skip.waits and skip.post.feed_url == location for skip in plan.skipped
    )


def _once_each(plans: list[Plan]) -> tuple[tuple[Post, ...], tuple[Skip, ...]]:
    """Every feed's new posts, oldest first, each once: a post that a feed earlier in the file
    also carries (the same link) is that feed's. Posts of one feed are compared by
    `plan.decide` alone, where a link that several posts share (a news page every item links
    to) tells none of them apart, and ids only ever compare within a feed."""
    new: list[Post] = []
    twice: list[Skip] = []
    earlier: dict[str, Post] = {}
    for plan in plans:
        own: dict[str, Post] = {}
        for post in plan.to_send:
            links = link_keys(post)
            found = next((earlier[link] for link in links if link in earlier), None)
            if found is not None:
                twice.append(Skip(post, f"also in the feed {found.feed_label!r}, sent from there"))
                continue
            new.append(post)
            own.update(dict.fromkeys(links, post))
        earlier.update(own)
    return tuple(sorted(new, key=oldest_first)), tuple(twice)


def _filter_of(config: Config, location: str) -> CategoryFilter:
    for settings in config.all_feeds:
        if settings.url == location:
            return settings.categories
    return config.feed.categories


def _name(part: Feed) -> str:
    return f"{part.label or part.title!r} ({part.location})"

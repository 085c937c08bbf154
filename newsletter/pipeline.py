"""The one place that knows the order of the stages (DESIGN "one pipeline, one direction").

fetch → parse → select_new → cut → render → send → record. Each command is a function that
takes the configuration, its options and the environment, and returns a report the CLI
prints; nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.config import Config
from newsletter.errors import ConfigError, ProviderError, SafetyRefusal
from newsletter.ledger import DestinationLedger, Ledger, RunRecord, Status
from newsletter.models import Email, Excerpt, Feed, Post, Receipt, Validators
from newsletter.plan import select_new
from newsletter.providers import traits_for

if TYPE_CHECKING:
    from newsletter.providers.base import Provider, Traits

IDEMPOTENCY_WINDOW = timedelta(hours=24)
"""How long providers keep an idempotency key (Resend documents 24 hours; Buttondown does not
say): an interrupted send older than this is never retried automatically."""

STARTER_FEED_URL = "https://example.org/feed/"
"""The placeholder `newsletter init` writes (newsletter/starter/newsletter.toml)."""

Notify = Callable[[str], None]
"""Progress lines for the author (the CLI prints them unless -q)."""


@dataclass(frozen=True)
class SendOptions:
    feed: str | None = None
    since: date | None = None
    dry_run: bool = False
    test_to: str | None = None
    posts: tuple[str, ...] = ()
    draft: bool = False
    force: bool = False


@dataclass(frozen=True)
class Plan:
    """What the next send would do: the posts to send and why the others are skipped."""

    feed: Feed
    destination: str
    to_send: tuple[Post, ...]
    waiting: tuple[Post, ...]
    """New posts beyond max_posts: they go out with the next run."""
    skipped: tuple[tuple[Post, str], ...]
    baseline: tuple[Post, ...]
    first_run: bool
    unchanged: bool = False
    """The server answered 304: nothing changed since the last run."""


@dataclass(frozen=True)
class Report:
    command: str
    destination: str
    provider: str
    plan: Plan | None
    emails: tuple[Email, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    outcome: str = ""
    """One line saying what happened, for the terminal and the step summary."""
    warnings: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()


@dataclass
class _Context:
    config: Config
    environ: Mapping[str, str]
    notify: Notify
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    fetched: tuple[str, Validators] | None = None
    """The feed location and the validators its last 200 response carried."""


# --- commands -------------------------------------------------------------------------


def check(
    config: Config, options: SendOptions, environ: Mapping[str, str], notify: Notify
) -> Report:
    traits = traits_for(config)
    ledger = Ledger.read(config.state.path)
    # `send` refuses a flood and sends the author here to see why so many posts look new, so
    # check lists them all and says that send would refuse, instead of refusing too.
    plan = _plan(
        _Context(config, environ, notify),
        ledger,
        traits,
        replace(options, force=True),
        conditional=False,
    )
    warnings = list(plan.feed.warnings)
    new = len(plan.to_send) + len(plan.waiting)
    if new > config.newsletter.flood_limit and not options.force:
        warnings.append(_flood_sentence(new, config.newsletter.flood_limit, checking=True))
        outcome = f"The next send would refuse {new} new post(s): more than flood_limit."
    elif plan.to_send:
        outcome = f"The next send would send {len(plan.to_send)} post(s)."
        if plan.waiting:
            outcome += f" {len(plan.waiting)} more would wait for the run after (max_posts)."
    else:
        outcome = (
            f"Nothing new to send; the next send would record {len(plan.baseline)} older "
            "post(s) as already sent (first run)."
            if plan.first_run and plan.baseline
            else "Nothing new to send."
        )
    return Report(
        "check",
        traits.destination,
        traits.name,
        plan,
        outcome=outcome,
        warnings=tuple(warnings),
    )


def preview(
    config: Config,
    options: SendOptions,
    environ: Mapping[str, str],
    notify: Notify,
    *,
    out_dir: Path,
) -> Report:
    from newsletter.preview import write_preview
    from newsletter.render import GMAIL_CLIP_BYTES, html_size

    context = _Context(config, environ, notify)
    traits = traits_for(config)
    ledger = Ledger.read(config.state.path)
    # A preview never sends, so neither the flood limit nor "already sent" stands in its way.
    plan = _plan(context, ledger, traits, replace(options, force=True), conditional=False)
    posts = plan.to_send
    warnings = list(plan.feed.warnings)
    if not posts and plan.feed.posts:
        # Nothing is new, but the author still wants to see what an email looks like.
        posts = (_latest(plan.feed.posts),)
        warnings.append("Nothing new to send; the preview shows the latest post instead.")
    emails = _render(context, plan.feed, posts, traits)
    for email in emails:
        size = html_size(email)
        if size > GMAIL_CLIP_BYTES:
            warnings.append(_too_large_sentence(email, size, GMAIL_CLIP_BYTES, sending=False))
    files = tuple(write_preview(emails, out_dir))
    outcome = f"Wrote {len(emails)} email preview(s) to {out_dir}."
    return Report(
        "preview",
        traits.destination,
        traits.name,
        plan,
        tuple(emails),
        outcome=outcome,
        warnings=tuple(warnings),
        files=files,
    )


def send(
    config: Config, options: SendOptions, environ: Mapping[str, str], notify: Notify
) -> Report:
    context = _Context(config, environ, notify)
    traits = traits_for(config)
    if options.draft and not traits.drafts:
        raise ConfigError(
            f"The {traits.name} provider has no drafts; --draft works with Buttondown and Resend."
        )
    if options.test_to:
        return _send_test(context, traits, options)
    if options.dry_run:
        plan = _plan(context, Ledger.read(config.state.path), traits, options, conditional=False)
        emails = _render(context, plan.feed, plan.to_send, traits) if plan.to_send else []
        _check_sizes(emails, options)
        outcome = (
            f"Dry run: would send {len(plan.to_send)} post(s) in {len(emails)} email(s) "
            f"through {traits.name}; nothing was sent and the ledger was not written."
        )
        return Report(
            "send",
            traits.destination,
            traits.name,
            plan,
            tuple(emails),
            outcome=outcome,
            warnings=plan.feed.warnings,
        )

    _feed_location(config, options)  # a usage error must not even create the lock file
    with Ledger.locked(config.state.path) as ledger:
        destination = ledger.destination(traits.destination)
        pending = destination.pending()
        if pending:
            return _retry_pending(context, ledger, destination, traits, options)
        plan = _plan(
            context, ledger, traits, options, conditional=not (options.posts or options.since)
        )
        if plan.unchanged:
            return _finish(
                context,
                ledger,
                plan,
                traits,
                (),
                (),
                "The feed has not changed since the last run; nothing to send.",
            )
        if plan.baseline:
            destination.mark(plan.baseline, Status.BASELINE, at=context.now)
        if not plan.to_send:
            _remember_validators(context, ledger)
            outcome = _nothing_new_sentence(plan)
            return _finish(context, ledger, plan, traits, (), (), outcome)
        emails = _render(context, plan.feed, plan.to_send, traits)
        _check_sizes(emails, options)
        provider = _create_provider(context, traits)
        try:
            receipts = _deliver(context, ledger, destination, provider, emails, plan, options)
        finally:
            provider.close()
        if not plan.waiting:
            _remember_validators(context, ledger)
        verb = "Drafted" if options.draft else "Sent"
        outcome = (
            f"{verb} {len(plan.to_send)} post(s) in {len(emails)} email(s) through {traits.name}."
        )
        if plan.waiting:
            outcome += f" {len(plan.waiting)} more post(s) wait for the next run (max_posts)."
        return _finish(context, ledger, plan, traits, tuple(emails), tuple(receipts), outcome)


def baseline(
    config: Config, options: SendOptions, environ: Mapping[str, str], notify: Notify
) -> Report:
    context = _Context(config, environ, notify)
    traits = traits_for(config)
    _feed_location(config, options)
    with Ledger.locked(config.state.path) as ledger:
        destination = ledger.destination(traits.destination)
        feed = _load_feed(context, ledger, options, conditional=False)
        assert feed is not None
        unseen = [post for post in feed.posts if destination.match(post) is None]
        destination.mark(unseen, Status.BASELINE, at=context.now)
        outcome = (
            f"Recorded {len(unseen)} post(s) as already sent to {traits.destination}; "
            "the next send only takes posts published after now."
        )
        plan = Plan(feed, traits.destination, (), (), (), tuple(unseen), False)
        return _finish(context, ledger, plan, traits, (), (), outcome, command="baseline")


def resolve(config: Config, references: Sequence[str], as_sent: bool, notify: Notify) -> Report:
    traits = traits_for(config)
    now = datetime.now(UTC)
    with Ledger.locked(config.state.path) as ledger:
        destination = ledger.destination(traits.destination)
        # Every reference is checked before anything is saved: one typo settles nothing.
        records = [destination.resolve(reference, as_sent, at=now) for reference in references]
        verdict = "sent" if as_sent else "unsent (the next send will send them)"
        titles = ", ".join(repr(record.title) for record in records)
        outcome = f"Marked {titles} as {verdict}."
        ledger.add_run(
            RunRecord(
                at=now,
                command="resolve",
                destination=traits.destination,
                result="sent" if as_sent else "unsent",
                posts=tuple(record.id for record in records),
            )
        )
        ledger.save()
    return Report("resolve", traits.destination, traits.name, None, outcome=outcome)


# --- planning -------------------------------------------------------------------------


def _plan(
    context: _Context,
    ledger: Ledger,
    traits: Traits,
    options: SendOptions,
    *,
    conditional: bool,
) -> Plan:
    destination = ledger.destination(traits.destination)
    feed = _load_feed(context, ledger, options, conditional=conditional)
    if feed is None:
        empty = Feed("", "", "", None, None, ())
        return Plan(
            empty, traits.destination, (), (), (), (), destination.is_first_run, unchanged=True
        )
    if options.posts:
        chosen = _chosen_posts(feed, destination, options)
        return Plan(feed, traits.destination, chosen, (), (), (), destination.is_first_run)
    selection = select_new(
        feed.posts,
        destination,
        now=context.now,
        first_run_days=context.config.newsletter.first_run_days,
        since=options.since,
    )
    new = selection.new
    limit = context.config.newsletter.flood_limit
    if len(new) > limit and not options.force and not options.test_to:
        raise SafetyRefusal(_flood_sentence(len(new), limit, checking=False))
    cap = context.config.newsletter.max_posts
    return Plan(
        feed=feed,
        destination=traits.destination,
        to_send=tuple(new[:cap]),
        waiting=tuple(new[cap:]),
        skipped=selection.skipped,
        baseline=selection.baseline,
        first_run=destination.is_first_run,
    )


def _flood_sentence(count: int, limit: int, *, checking: bool) -> str:
    if checking:
        return (
            f"{count} posts look new at once, more than flood_limit ({limit}), so `newsletter "
            "send` would refuse them (exit 3); if they were already sent under other ids or "
            "links, run `newsletter baseline` to mark them as sent, or `send --force` if they "
            "really are new."
        )
    return (
        f"{count} posts look new at once, more than flood_limit ({limit}); this usually "
        "means the blog moved or changed its post ids, so check `newsletter check`, then "
        "run `newsletter baseline` to mark them as sent, or `send --force` if they really "
        "are new."
    )


def _chosen_posts(
    feed: Feed, destination: DestinationLedger, options: SendOptions
) -> tuple[Post, ...]:
    from newsletter.identity import same_post

    chosen: list[Post] = []
    for reference in options.posts:
        matches = [post for post in feed.posts if same_post(post, reference)]
        if not matches:
            raise ConfigError(
                f"No post in the feed matches --post {reference}; use a post's link or id as "
                "`newsletter check` lists them."
            )
        post = matches[0]
        record = destination.match(post)
        if record is not None and not options.force and not options.test_to:
            if record.status is Status.BASELINE:
                raise SafetyRefusal(
                    f"{post.title!r} was recorded as baseline on {record.day} (published "
                    "before the newsletter started, so counted as sent); add --force to send it."
                )
            raise SafetyRefusal(
                f"{post.title!r} was already {record.status} on {record.day}; add --force "
                "to send it again."
            )
        if post not in chosen:
            chosen.append(post)
    return tuple(chosen)


def _load_feed(
    context: _Context, ledger: Ledger, options: SendOptions, *, conditional: bool
) -> Feed | None:
    from newsletter import feed as feed_stage

    location = _feed_location(context.config, options)
    validators = ledger.validators(location) if conditional else None
    context.notify(f"Reading the feed {location}")
    feed, result = feed_stage.load(
        location,
        validators=validators,
        timeout=context.config.feed.timeout,
        user_agent=context.config.feed.user_agent,
    )
    if result.body is not None and (result.validators.etag or result.validators.last_modified):
        context.fetched = (location, result.validators)
    return feed


def _feed_location(config: Config, options: SendOptions) -> str:
    location = options.feed or config.feed.url
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


def _remember_validators(context: _Context, ledger: Ledger) -> None:
    """Remember ETag/Last-Modified only once every new post was handled: a 304 next time
    must not hide posts that are still waiting to be sent."""
    if context.fetched is not None:
        location, validators = context.fetched
        ledger.remember_validators(location, validators)


# --- rendering and delivery -----------------------------------------------------------


def _render(context: _Context, feed: Feed, posts: Sequence[Post], traits: Traits) -> list[Email]:
    from newsletter.excerpt import cut
    from newsletter.render import RenderSettings, build_emails

    config = context.config
    if config.newsletter.mode == "digest":
        # Posts are chosen oldest first (so a capped run sends the oldest and the rest wait),
        # but a digest reads like the blog itself: newest first.
        posts = sorted(posts, key=_published_or_oldest, reverse=True)
    items: list[tuple[Post, Excerpt]] = [
        (
            post,
            cut(post, markers=config.excerpt.markers, fallback_words=config.excerpt.fallback_words),
        )
        for post in posts
    ]
    settings = RenderSettings(
        blog_title=config.newsletter.title or feed.title,
        blog_url=feed.link,
        language=config.newsletter.language,
        mode=config.newsletter.mode,
        subject_template=config.newsletter.subject,
        read_more=config.excerpt.read_more,
        postal_address=config.newsletter.postal_address,
        utm=config.links.utm,
        templates_dir=config.newsletter.templates,
        sender=config.newsletter.sender,
        reply_to=config.newsletter.reply_to,
    )
    return build_emails(feed, items, settings, traits.unsubscribe)


def _check_sizes(emails: Sequence[Email], options: SendOptions) -> None:
    from newsletter.render import GMAIL_CLIP_BYTES, html_size

    for email in emails:
        size = html_size(email)
        if size > GMAIL_CLIP_BYTES and not options.force:
            raise SafetyRefusal(_too_large_sentence(email, size, GMAIL_CLIP_BYTES, sending=True))


def _too_large_sentence(email: Email, size: int, limit: int, *, sending: bool) -> str:
    advice = (
        "lower max_posts or fallback_words, or add --force to send it anyway"
        if sending
        else "Gmail will clip it; lower max_posts or fallback_words"
    )
    return (
        f"The email {email.subject!r} is {size // 1000} KB of HTML, over Gmail's "
        f"{limit // 1000} KB limit; {advice}."
    )


def _create_provider(context: _Context, traits: Traits) -> Provider:
    from newsletter.providers import create

    return create(context.config, context.environ)


def _deliver(
    context: _Context,
    ledger: Ledger,
    destination: DestinationLedger,
    provider: Provider,
    emails: Sequence[Email],
    plan: Plan,
    options: SendOptions,
) -> list[Receipt]:
    from newsletter.providers.idempotency import idempotency_key

    by_id = {post.id: post for post in plan.to_send}
    receipts: list[Receipt] = []
    for email in emails:
        posts = [by_id[post_id] for post_id in email.post_ids]
        key = idempotency_key(destination.name, email.post_ids)
        destination.mark(posts, Status.PENDING, at=context.now, idempotency_key=key)
        ledger.save()
        receipts.append(
            _call_provider(context, ledger, destination, provider, email, posts, key, options)
        )
    return receipts


def _call_provider(
    context: _Context,
    ledger: Ledger,
    destination: DestinationLedger,
    provider: Provider,
    email: Email,
    posts: Sequence[Post],
    key: str,
    options: SendOptions,
) -> Receipt:
    context.notify(f"Sending {email.subject!r} through {provider.traits.name}")
    try:
        if options.draft:
            receipt = provider.create_draft(email, idempotency_key=key)
        else:
            receipt = provider.send(email, idempotency_key=key)
    except (ProviderError, ConfigError) as error:
        # A configuration problem an adapter finds (a setting it checks late) stops it before
        # any request, like a ProviderError that proves nothing went out.
        if isinstance(error, ConfigError) or not error.maybe_sent:
            destination.forget(posts)
        _record_run(context, ledger, destination.name, "failed", posts, error.message)
        ledger.save()
        raise
    drafted = options.draft or receipt.drafted
    destination.mark(
        posts,
        Status.DRAFTED if drafted else Status.SENT,
        at=datetime.now(UTC),
        message_id=receipt.message_id,
        idempotency_key=key,
    )
    # Not saved here: the next email's `pending` save, or the run's final save, writes this
    # too, halving the fsyncs of a per-post run. A crash in between leaves the post
    # `pending`, the safe side: the next run retries with its key or asks for `resolve`.
    for rejection in receipt.rejected:
        context.notify(f"Not delivered to {rejection.address}: {rejection.reason}")
    return receipt


def _retry_pending(
    context: _Context,
    ledger: Ledger,
    destination: DestinationLedger,
    traits: Traits,
    options: SendOptions,
) -> Report:
    pending = destination.pending()
    listing = ", ".join(f"{record.title!r} ({record.link})" for record in pending)
    if not traits.idempotent:
        flags = " ".join(f"--post {record.link or record.id}" for record in pending)
        raise SafetyRefusal(
            f"A previous send was interrupted and {len(pending)} post(s) may or may not have "
            f"reached subscribers: {listing}. Check the provider's dashboard, then run "
            f"`newsletter resolve {flags} --as sent` (or `--as unsent` to send them again)."
        )
    stale = [r for r in pending if context.now - r.at > IDEMPOTENCY_WINDOW]
    if stale:
        flags = " ".join(f"--post {record.link or record.id}" for record in stale)
        raise SafetyRefusal(
            f"A send interrupted more than a day ago left {len(stale)} post(s) pending, and "
            f"{traits.name} only recognises a retried send for about a day, so retrying now "
            "could mail them twice. Check the provider's dashboard, then run "
            f"`newsletter resolve {flags} --as sent` (or `--as unsent` to send them again)."
        )
    feed = _load_feed(context, ledger, options, conditional=False)
    assert feed is not None
    by_key: dict[str, list[Post]] = {}
    for record in pending:
        post = next((p for p in feed.posts if destination.match(p) == record), None)
        if post is None or not record.idempotency_key:
            raise SafetyRefusal(
                f"{record.title!r} is pending from an interrupted send but is no longer in the "
                f"feed; run `newsletter resolve --post {record.link or record.id} --as sent` "
                "or `--as unsent`."
            )
        by_key.setdefault(record.idempotency_key, []).append(post)
    context.notify(
        f"Retrying {len(pending)} post(s) left pending by an interrupted send, with the same "
        f"idempotency key so {traits.name} does not send them twice."
    )
    plan = Plan(
        feed, traits.destination, tuple(p for ps in by_key.values() for p in ps), (), (), (), False
    )
    provider = _create_provider(context, traits)
    receipts: list[Receipt] = []
    emails: list[Email] = []
    try:
        for key, posts in by_key.items():
            for email in _render(context, feed, posts, traits):
                emails.append(email)
                group = [p for p in posts if p.id in email.post_ids]
                receipts.append(
                    _call_provider(
                        context, ledger, destination, provider, email, group, key, options
                    )
                )
    finally:
        provider.close()
    outcome = f"Finished the interrupted send of {len(plan.to_send)} post(s) through {traits.name}."
    return _finish(context, ledger, plan, traits, tuple(emails), tuple(receipts), outcome)


def _send_test(context: _Context, traits: Traits, options: SendOptions) -> Report:
    """A test send goes to one address and never reads the lock or writes the ledger."""
    assert options.test_to is not None
    plan = _plan(
        context, Ledger.read(context.config.state.path), traits, options, conditional=False
    )
    posts = plan.to_send or ((_latest(plan.feed.posts),) if plan.feed.posts else ())
    if not posts:
        raise ConfigError("The feed has no posts, so there is nothing to send as a test.")
    emails = [
        replace(email, subject=f"[Test] {email.subject}")
        for email in _render(context, plan.feed, posts, traits)
    ]
    _check_sizes(emails, options)
    provider = _create_provider(context, traits)
    try:
        receipts = tuple(provider.send_test(email, address=options.test_to) for email in emails)
    finally:
        provider.close()
    outcome = (
        f"Sent {len(emails)} test email(s) to {options.test_to} through {traits.name}; "
        "the ledger was not touched."
    )
    return Report(
        "send",
        traits.destination,
        traits.name,
        plan,
        tuple(emails),
        receipts,
        outcome,
        plan.feed.warnings,
    )


def _finish(
    context: _Context,
    ledger: Ledger,
    plan: Plan,
    traits: Traits,
    emails: tuple[Email, ...],
    receipts: tuple[Receipt, ...],
    outcome: str,
    *,
    command: str = "send",
) -> Report:
    result = "sent" if receipts else ("baseline" if command == "baseline" else "nothing new")
    _record_run(context, ledger, traits.destination, result, plan.to_send, outcome, command=command)
    ledger.save()
    return Report(
        command,
        traits.destination,
        traits.name,
        plan,
        emails,
        receipts,
        outcome,
        plan.feed.warnings,
    )


def _record_run(
    context: _Context,
    ledger: Ledger,
    destination: str,
    result: str,
    posts: Sequence[Post],
    detail: str,
    *,
    command: str = "send",
) -> None:
    ledger.add_run(
        RunRecord(
            at=context.now,
            command=command,
            destination=destination,
            result=result,
            posts=tuple(p.id for p in posts),
            detail=detail,
        )
    )


def _nothing_new_sentence(plan: Plan) -> str:
    if plan.first_run and plan.baseline:
        return (
            f"First run: {len(plan.baseline)} older post(s) were recorded as already sent and "
            "none is inside first_run_days, so nothing was sent."
        )
    return "Nothing new to send."


def _published_or_oldest(post: Post) -> datetime:
    return post.published or datetime.min.replace(tzinfo=UTC)


def _latest(posts: Sequence[Post]) -> Post:
    dated = [post for post in posts if post.published]
    return max(dated, key=_published_or_oldest) if dated else posts[0]

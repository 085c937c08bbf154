"""Load and strictly validate `newsletter.toml`.

Each section is a frozen dataclass whose fields carry their default and their check
(`rule(...)`), so a default is written once, here; the `[provider]` keys come from the
chosen provider's spec. Every unknown key, wrong type or bad value is a ConfigError naming
the key and the file, so a typo such as `flod_limit` never silently falls back to a default.
Relative paths resolve against the folder of the file they were written in (or the working
directory when there is no file).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from newsletter import __version__, checks
from newsletter.categories import DEFAULT_EXCLUDED, CategoryFilter
from newsletter.errors import ConfigError
from newsletter.providers import PROVIDER_NAMES, spec_for

if TYPE_CHECKING:
    from newsletter.schedule import Schedule

CONFIG_ENV = "NEWSLETTER_CONFIG"
DEFAULT_CONFIG_NAME = "newsletter.toml"
DEFAULT_USER_AGENT = f"newsletter/{__version__} (blog-to-email newsletter; +https://pypi.org/project/blog-newsletter/)"

Mode = Literal["digest", "per-post"]
DigestExcerpts = Literal["full", "short"]
ReviewMode = Literal["none", "pull-request"]


def rule(check: checks.Checker, *, key: str | None = None, local: bool = False) -> dict[str, Any]:
    """A setting's field metadata: how to check it. `key`: the TOML key, when it differs
    from the attribute (`from` is a Python keyword). `local`: a file path unless it is a
    URL. A `Path` value (default or checked) resolves against the config file's folder."""
    return {"check": check, "key": key, "local": local}


@dataclass(frozen=True)
class FeedConfig:
    url: str | None = field(default=None, metadata=rule(checks.nonempty_string, local=True))
    timeout: float = field(default=20.0, metadata=rule(checks.seconds))
    """Seconds each read may wait; the whole request gets a few times that."""
    user_agent: str = field(default=DEFAULT_USER_AGENT, metadata=rule(checks.single_line))
    label: str = field(default="", metadata=rule(checks.single_line))
    """The heading of this feed's posts in a newsletter of several feeds ("": its title)."""
    include_categories: tuple[str, ...] = field(default=(), metadata=rule(checks.string_list))
    """Only posts in at least one of these categories or tags go out; () lets all through."""
    exclude_categories: tuple[str, ...] = field(
        default=DEFAULT_EXCLUDED, metadata=rule(checks.string_list)
    )
    """Posts in any of these never go out (recorded as skipped, with why)."""

    @property
    def categories(self) -> CategoryFilter:
        return CategoryFilter(self.include_categories, self.exclude_categories)


@dataclass(frozen=True)
class NewsletterConfig:
    title: str | None = field(default=None, metadata=rule(checks.single_line))
    sender: str = field(
        default="Newsletter <newsletter@example.invalid>", metadata=rule(checks.mailbox, key="from")
    )
    reply_to: str | None = field(default=None, metadata=rule(checks.mailbox))
    mode: Mode = field(default="digest", metadata=rule(checks.choice("digest", "per-post")))
    subject: str | None = field(default=None, metadata=rule(checks.nonempty_string))
    max_posts: int = field(default=10, metadata=rule(checks.int_range(1, 100)))
    flood_limit: int = field(default=10, metadata=rule(checks.int_range(1, 1000)))
    first_run_days: int = field(default=7, metadata=rule(checks.int_range(0, 3650)))
    postal_address: str = field(default="", metadata=rule(checks.string))
    templates: Path | None = field(default=None, metadata=rule(checks.path))
    language: str | None = field(default=None, metadata=rule(checks.language_tag))
    """BCP 47 tag for dates and the email's own words; None follows the feed."""
    digest_excerpts: DigestExcerpts = field(
        default="full", metadata=rule(checks.choice("full", "short"))
    )
    """"short": a digest lists the titles, then shows about 60 words of each post."""


@dataclass(frozen=True)
class ExcerptConfig:
    markers: tuple[str, ...] = field(default=(), metadata=rule(checks.string_list))
    fallback_words: int = field(default=200, metadata=rule(checks.int_range(10, 5000)))
    read_more: str | None = field(default=None, metadata=rule(checks.single_line))
    """The button's text; None: its built-in words (render/words.py) in the newsletter's
    language."""


@dataclass(frozen=True)
class LinksConfig:
    utm: Mapping[str, str] = field(
        default_factory=lambda: {"utm_source": "newsletter", "utm_medium": "email"},
        metadata=rule(checks.string_table),
    )


@dataclass(frozen=True)
class ProviderConfig:
    name: str = "outbox"
    options: Mapping[str, Any] = field(default_factory=dict)
    """The keys the file sets (checked against the provider's spec; paths absolute). The
    spec's defaults for the others are applied where they are read."""


@dataclass(frozen=True)
class StateConfig:
    path: Path = field(default=Path("state/ledger.json"), metadata=rule(checks.path))


# schedule.py (and zoneinfo) is loaded only when a [schedule] is read: most runs have none.
def _timezone(value: object) -> str:
    from newsletter.schedule import parse_timezone

    return parse_timezone(value)


def _days(value: object) -> tuple[int, ...]:
    from newsletter.schedule import parse_days

    return parse_days(value)


def _time(value: object) -> time:
    from newsletter.schedule import parse_time

    return parse_time(value)


@dataclass(frozen=True)
class ScheduleConfig:
    """[schedule] as written; all three keys or none (`Config.schedule` is the result)."""

    timezone: str | None = field(default=None, metadata=rule(_timezone))
    days: tuple[int, ...] = field(default=(), metadata=rule(_days))
    time: time | None = field(default=None, metadata=rule(_time))


@dataclass(frozen=True)
class ReviewConfig:
    mode: ReviewMode = field(default="none", metadata=rule(checks.choice("none", "pull-request")))
    hours_ahead: int = field(default=24, metadata=rule(checks.int_range(1, 144)))
    """How long before each slot of the [schedule] the review pull request opens."""

    @property
    def by_pull_request(self) -> bool:
        return self.mode == "pull-request"


@dataclass(frozen=True)
class Config:
    feed: FeedConfig = field(default_factory=FeedConfig)
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    excerpt: ExcerptConfig = field(default_factory=ExcerptConfig)
    links: LinksConfig = field(default_factory=LinksConfig)
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    state: StateConfig = field(default_factory=StateConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    schedule: Schedule | None = None
    """When scheduled runs may send (docs/schedule-and-review.md); None: whenever they run."""
    source: Path | None = None
    """The file this came from, or None when the defaults apply."""
    base_dir: Path = field(default_factory=Path.cwd)
    feeds: tuple[FeedConfig, ...] = ()
    """Every feed, in the file's order, when it has several `[[feed]]` tables (then `feed`
    is the first of them); () for one feed."""
    feed_table: str = "[feed]"
    """How the file names the feed's settings, `[feed]` or `[[feed]]` (even for one such
    table), so that a sentence saying what to fix names the table the author wrote."""

    @property
    def all_feeds(self) -> tuple[FeedConfig, ...]:
        """The feeds the newsletter gathers, in the file's order (one, or several)."""
        return self.feeds or (self.feed,)

    @property
    def several_feeds(self) -> bool:
        return len(self.feeds) > 1

    @property
    def feed_addresses(self) -> tuple[str, ...]:
        """With several feeds, each one's address in the file's order, by which the ledger
        keeps each feed's ids apart; () with one feed."""
        return tuple(feed.url or "" for feed in self.feeds) if self.several_feeds else ()


SECTIONS: dict[str, type[Any]] = {
    "feed": FeedConfig,
    "newsletter": NewsletterConfig,
    "excerpt": ExcerptConfig,
    "links": LinksConfig,
    "state": StateConfig,
    "review": ReviewConfig,
}
"""The sections read field by field; `[provider]` is read from the chosen provider's spec."""


def find_config_path(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """Lookup order: --config, then $NEWSLETTER_CONFIG, then ./newsletter.toml."""
    if explicit:
        path = Path(explicit)
        if path.is_dir():
            raise ConfigError(
                f"The config file {explicit} is a folder; give --config the path of the "
                f"{DEFAULT_CONFIG_NAME} file itself."
            )
        if not path.is_file():
            raise ConfigError(
                f"The config file {explicit} does not exist; check the --config path."
            )
        return path
    from_env = environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if path.is_dir():
            raise ConfigError(
                f"The config file {from_env} named by ${CONFIG_ENV} is a folder; set "
                f"${CONFIG_ENV} to the path of the {DEFAULT_CONFIG_NAME} file itself."
            )
        if not path.is_file():
            raise ConfigError(
                f"The config file {from_env} named by ${CONFIG_ENV} does not exist; "
                f"fix or unset ${CONFIG_ENV}."
            )
        return path
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def load_config(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    path = find_config_path(explicit, os.environ if environ is None else environ)
    if path is None:
        return parse_config({})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path} is not valid TOML ({error}); fix the file and try again."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"The config file {path} is not UTF-8 text; save it as UTF-8 and try again."
        ) from None
    except OSError as error:
        raise ConfigError(
            f"Cannot read the config file {path} ({error.strerror or error}); check that it "
            "is readable."
        ) from None
    return parse_config(raw, path=path.resolve())


def parse_config(raw: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Validate a decoded TOML document; `path` anchors relative paths (cwd when None)."""
    reader = _Reader(str(path) if path else "the configuration", path.parent if path else None)
    reader.no_unknown(raw, {*SECTIONS, "provider", "schedule"}, "")
    feeds = reader.feeds(raw)
    sections = {
        name: reader.section(raw, name, cls) for name, cls in SECTIONS.items() if name != "feed"
    }
    _check_templates_folder(sections["newsletter"].templates, reader.where)
    return Config(
        **sections,
        feed=feeds[0],
        feeds=feeds if len(feeds) > 1 else (),
        feed_table="[[feed]]" if isinstance(raw.get("feed"), list) else "[feed]",
        provider=reader.provider(raw),
        schedule=reader.schedule(raw),
        source=path,
        base_dir=reader.base_dir,
    )


def _check_templates_folder(folder: Path | None, where: str) -> None:
    """A templates folder that is not there would be silently replaced by the built-in
    templates, so the author would never see their own."""
    if folder is None or folder.is_dir():
        return
    problem = "is a file, not a folder" if folder.exists() else "does not exist"
    raise ConfigError(
        f"newsletter.templates in {where} names {folder}, which {problem}; point it at the "
        "folder of your templates (`newsletter init` writes one) or remove the key."
    )


class _Reader:
    """Reads typed values out of TOML tables, naming the dotted key in every error."""

    def __init__(self, where: str, base_dir: Path | None) -> None:
        self.where = where
        self.base_dir = base_dir or Path.cwd()

    def section(self, raw: Mapping[str, Any], name: str, cls: type[Any]) -> Any:
        table = self.table(raw, name)
        settings = {f.metadata.get("key") or f.name: f for f in fields(cls)}
        self.no_unknown(table, set(settings), f"{name}.")
        defaults = cls()
        values: dict[str, Any] = {}
        for key, setting_field in settings.items():
            meta = setting_field.metadata
            if key in table:
                value = self.check(table, f"{name}.{key}", meta["check"])
                if meta["local"] and "://" not in value:
                    value = str(self.resolve(Path(value)))
            else:
                value = getattr(defaults, setting_field.name)
            values[setting_field.name] = self.resolve(value)
        return cls(**values)

    def provider(self, raw: Mapping[str, Any]) -> ProviderConfig:
        table = self.table(raw, "provider")
        name = ProviderConfig.name
        if "name" in table:
            name = self.check(table, "provider.name", checks.choice(*PROVIDER_NAMES))
        schema = spec_for(name).options
        self.no_unknown(table, {"name", *schema}, "provider.", context=f"the {name} provider")
        options = {
            key: self.resolve(self.check(table, f"provider.{key}", option.check))
            for key, option in schema.items()
            if key in table
        }
        return ProviderConfig(name=name, options=options)

    def schedule(self, raw: Mapping[str, Any]) -> Schedule | None:
        """A slot needs its zone, its days and its time. An empty [schedule] (the starter's,
        its keys commented out) is no schedule."""
        if not self.table(raw, "schedule"):
            return None
        written: ScheduleConfig = self.section(raw, "schedule", ScheduleConfig)
        if written.timezone is None or not written.days or written.time is None:
            missing = [key for key in ("timezone", "days", "time") if key not in raw["schedule"]]
            raise ConfigError(
                f"[schedule] in {self.where} needs timezone, days and time; add "
                f'{", ".join(missing)}, for example timezone = "Europe/London", '
                'days = ["tuesday"], time = "08:00".'
            )
        from newsletter.schedule import Schedule

        return Schedule(written.timezone, written.days, written.time)

    def feeds(self, raw: Mapping[str, Any]) -> tuple[FeedConfig, ...]:
        """One `[feed]` table, or several `[[feed]]` tables (each named `feed[N]` in errors,
        counting from 1), each with its own url; two feeds never share a url."""
        tables = raw.get("feed", {})
        if not isinstance(tables, list):
            return (self.section(raw, "feed", FeedConfig),)
        if not tables:
            raise ConfigError(f"[[feed]] in {self.where} has no tables; write at least one.")
        feeds: list[FeedConfig] = []
        for number, table in enumerate(tables, start=1):
            name = f"feed[{number}]"
            feed = self.section({name: table}, name, FeedConfig)
            if len(tables) > 1 and not feed.url:
                raise ConfigError(
                    f"{name} in {self.where} has no url; each [[feed]] table needs its own."
                )
            same = next((other for other in feeds if other.url == feed.url), None)
            if same is not None:
                raise ConfigError(
                    f"{name}.url in {self.where} repeats feed[{feeds.index(same) + 1}]'s url "
                    f"({feed.url}); give each [[feed]] table a different feed."
                )
            feeds.append(feed)
        return tuple(feeds)

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] in {self.where} must be a table (a [{key}] section).")
        return value

    def check(self, table: Mapping[str, Any], dotted: str, checker: checks.Checker) -> Any:
        try:
            return checker(table[dotted.rsplit(".", 1)[1]])
        except ValueError as reason:
            raise ConfigError(f"{dotted} in {self.where} {reason}.") from None

    def resolve(self, value: Any) -> Any:
        if not isinstance(value, Path):
            return value
        # normpath, not resolve(): "../outbox" reads better in messages than a resolved
        # symlink target, and the folder need not exist yet.
        path = value.expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else self.base_dir / path))

    def no_unknown(
        self,
        table: Mapping[str, Any],
        allowed: set[str],
        prefix: str,
        *,
        context: str | None = None,
    ) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                scope = f" for {context}" if context else ""
                raise ConfigError(
                    f"Unknown key {prefix}{key} in {self.where}{scope}; the keys allowed here "
                    f"are: {known}."
                )


def with_overrides(config: Config, *, feed_url: str | None = None) -> Config:
    """Apply command-line overrides (`--feed`), which win over the file. With several
    feeds, `--feed` picks one of them for the run instead (`source.py`)."""
    if feed_url is None or config.several_feeds:
        return config
    return replace(config, feed=replace(config.feed, url=feed_url))

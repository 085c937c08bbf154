"""Load and strictly validate `newsletter.toml` (SPEC "Configuration").

Every unknown key, wrong type or bad value is a ConfigError naming the key, so a typo such as
`flod_limit` never silently falls back to a default. Relative paths resolve against the folder
of the file they were written in (or the working directory when there is no file).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from newsletter import __version__
from newsletter.errors import ConfigError

CONFIG_ENV = "NEWSLETTER_CONFIG"
DEFAULT_CONFIG_NAME = "newsletter.toml"
DEFAULT_USER_AGENT = f"newsletter/{__version__} (blog-to-email newsletter; +https://pypi.org/project/blog-newsletter/)"

Mode = Literal["digest", "per-post"]
PROVIDER_NAMES = ("outbox", "smtp", "buttondown", "mailgun", "postmark", "resend")


@dataclass(frozen=True)
class FeedConfig:
    url: str | None = None
    timeout: float = 20.0
    user_agent: str = DEFAULT_USER_AGENT


@dataclass(frozen=True)
class NewsletterConfig:
    title: str | None = None
    sender: str = "Newsletter <newsletter@example.invalid>"
    reply_to: str | None = None
    mode: Mode = "digest"
    subject: str | None = None
    max_posts: int = 10
    flood_limit: int = 10
    first_run_days: int = 7
    postal_address: str = ""
    templates: Path | None = None
    language: str | None = None
    """BCP 47 tag for dates and the email's own words; None follows the feed."""


@dataclass(frozen=True)
class ExcerptConfig:
    markers: tuple[str, ...] = ()
    fallback_words: int = 200
    read_more: str = "Continue reading"


@dataclass(frozen=True)
class LinksConfig:
    utm: Mapping[str, str] = field(
        default_factory=lambda: {"utm_source": "newsletter", "utm_medium": "email"}
    )


@dataclass(frozen=True)
class ProviderConfig:
    name: str = "outbox"
    options: Mapping[str, Any] = field(default_factory=dict)
    """Provider-specific keys, already type-checked; paths are absolute."""


@dataclass(frozen=True)
class StateConfig:
    path: Path = Path("state/ledger.json")


@dataclass(frozen=True)
class Config:
    feed: FeedConfig = field(default_factory=FeedConfig)
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    excerpt: ExcerptConfig = field(default_factory=ExcerptConfig)
    links: LinksConfig = field(default_factory=LinksConfig)
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    state: StateConfig = field(default_factory=StateConfig)
    source: Path | None = None
    """The file this came from, or None when the defaults apply."""
    base_dir: Path = field(default_factory=Path.cwd)


# --- value checkers: each returns the cleaned value or raises ValueError(reason) ---------

Checker = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_type_name(value)}")
    return value


def _nonempty_string(value: Any) -> str:
    text = _string(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _single_line(value: Any) -> str:
    text = _string(value)
    if "\n" in text or "\r" in text:
        raise ValueError("must be on one line")
    return text


def _int_range(low: int, high: int) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, float):
            raise ValueError(f"must be a whole number, not {value}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {_type_name(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, not {value}")
        return value

    return check


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of seconds, not {_type_name(value)}")
    if not 0 < value <= 600:
        raise ValueError(f"must be more than 0 and at most 600 seconds, not {value}")
    return float(value)


def _choice(*options: str) -> Checker:
    def check(value: Any) -> str:
        text = _string(value)
        if text not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}, not {text!r}")
        return text

    return check


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("must be a list of non-empty strings")
    return tuple(value)


def _string_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError('must be a table of strings, e.g. { utm_source = "newsletter" }')
    return dict(value)


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def _language_tag(value: Any) -> str | None:
    """Only the shape is checked here (Babel is loaded when rendering, where a tag CLDR does
    not know is reported); "" means the default, the feed's language."""
    text = _string(value).strip()
    if not text:
        return None
    if not _LANGUAGE_TAG.fullmatch(text):
        raise ValueError(f'must be a language tag such as "de" or "pt-BR", not {text!r}')
    return text


def _http_url(value: Any) -> str:
    text = _nonempty_string(value)
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https://, not {text!r}")
    return text.rstrip("/")


def _address(value: Any) -> str:
    text = _single_line(_nonempty_string(value))
    if "@" not in text:
        raise ValueError(
            f"must be an email address such as 'Blog <news@example.org>', not {text!r}"
        )
    return text


def _type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# Provider keys: which keys each provider accepts, and how to check them. Paths are marked
# so that they resolve against the config file's folder.
_PATH = "path"
_HTTP_COMMON: dict[str, Checker | str] = {
    "base_url": _http_url,
    "concurrency": _int_range(1, 16),
    "timeout": _positive_number,
}
PROVIDER_KEYS: dict[str, dict[str, Checker | str]] = {
    "outbox": {"dir": _PATH},
    "smtp": {
        "host": _nonempty_string,
        "port": _int_range(1, 65535),
        "security": _choice("starttls", "ssl", "none"),
        "username": _nonempty_string,
        "subscribers": _PATH,
        "timeout": _positive_number,
        "unsubscribe_url": _http_url,
    },
    "buttondown": {**_HTTP_COMMON},
    "mailgun": {
        **_HTTP_COMMON,
        "domain": _nonempty_string,
        "list_address": _address,
        "subscribers": _PATH,
        "region": _choice("us", "eu"),
    },
    "postmark": {**_HTTP_COMMON, "message_stream": _nonempty_string, "subscribers": _PATH},
    "resend": {**_HTTP_COMMON, "audience_id": _nonempty_string},
}


def find_config_path(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """SPEC lookup order: --config, then $NEWSLETTER_CONFIG, then ./newsletter.toml."""
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
    where = str(path) if path else "the configuration"
    base_dir = path.parent if path else Path.cwd()
    _no_unknown(raw, {"feed", "newsletter", "excerpt", "links", "provider", "state"}, "", where)
    reader = _Reader(where, base_dir)

    feed = reader.table(raw, "feed")
    feed_config = FeedConfig(
        url=reader.get(feed, "feed.url", _nonempty_string, None, resolve_local=True),
        timeout=reader.get(feed, "feed.timeout", _positive_number, 20.0),
        user_agent=reader.get(feed, "feed.user_agent", _single_line, DEFAULT_USER_AGENT),
    )
    _no_unknown(feed, {"url", "timeout", "user_agent"}, "feed.", where)

    news = reader.table(raw, "newsletter")
    _no_unknown(
        news,
        {
            "title",
            "from",
            "reply_to",
            "mode",
            "subject",
            "max_posts",
            "flood_limit",
            "first_run_days",
            "postal_address",
            "templates",
            "language",
        },
        "newsletter.",
        where,
    )
    newsletter_config = NewsletterConfig(
        title=reader.get(news, "newsletter.title", _single_line, None),
        sender=reader.get(news, "newsletter.from", _address, NewsletterConfig.sender),
        reply_to=reader.get(news, "newsletter.reply_to", _address, None),
        mode=reader.get(news, "newsletter.mode", _choice("digest", "per-post"), "digest"),
        subject=reader.get(news, "newsletter.subject", _nonempty_string, None),
        max_posts=reader.get(news, "newsletter.max_posts", _int_range(1, 100), 10),
        flood_limit=reader.get(news, "newsletter.flood_limit", _int_range(1, 1000), 10),
        first_run_days=reader.get(news, "newsletter.first_run_days", _int_range(0, 3650), 7),
        postal_address=reader.get(news, "newsletter.postal_address", _string, ""),
        templates=reader.path(news, "newsletter.templates", None),
        language=reader.get(news, "newsletter.language", _language_tag, None),
    )

    excerpt = reader.table(raw, "excerpt")
    _no_unknown(excerpt, {"markers", "fallback_words", "read_more"}, "excerpt.", where)
    excerpt_config = ExcerptConfig(
        markers=reader.get(excerpt, "excerpt.markers", _string_list, ()),
        fallback_words=reader.get(excerpt, "excerpt.fallback_words", _int_range(10, 5000), 200),
        read_more=reader.get(excerpt, "excerpt.read_more", _single_line, "Continue reading"),
    )

    links = reader.table(raw, "links")
    _no_unknown(links, {"utm"}, "links.", where)
    links_config = LinksConfig(utm=reader.get(links, "links.utm", _string_table, LinksConfig().utm))

    provider = reader.table(raw, "provider")
    name = reader.get(provider, "provider.name", _choice(*PROVIDER_NAMES), "outbox")
    schema = PROVIDER_KEYS[name]
    _no_unknown(provider, {"name", *schema}, "provider.", where, context=f"the {name} provider")
    options: dict[str, Any] = {}
    for key, checker in schema.items():
        if key not in provider:
            continue
        if checker == _PATH:
            options[key] = reader.path(provider, f"provider.{key}", None)
        else:
            assert callable(checker)
            options[key] = reader.get(provider, f"provider.{key}", checker, None)

    state = reader.table(raw, "state")
    _no_unknown(state, {"path"}, "state.", where)
    state_path = reader.path(state, "state.path", None) or base_dir / "state" / "ledger.json"

    return Config(
        feed=feed_config,
        newsletter=newsletter_config,
        excerpt=excerpt_config,
        links=links_config,
        provider=ProviderConfig(name=name, options=options),
        state=StateConfig(path=state_path),
        source=path,
        base_dir=base_dir,
    )


class _Reader:
    """Reads typed values out of TOML tables, naming the dotted key in every error."""

    def __init__(self, where: str, base_dir: Path) -> None:
        self.where = where
        self.base_dir = base_dir

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] in {self.where} must be a table (a [{key}] section).")
        return value

    def get(
        self,
        table: Mapping[str, Any],
        dotted: str,
        checker: Checker,
        default: Any,
        *,
        resolve_local: bool = False,
    ) -> Any:
        key = dotted.rsplit(".", 1)[1]
        if key not in table:
            return default
        try:
            value = checker(table[key])
        except ValueError as reason:
            raise ConfigError(f"{dotted} in {self.where} {reason}.") from None
        if resolve_local and isinstance(value, str) and "://" not in value:
            value = str(self._resolve(value))
        return value

    def path(self, table: Mapping[str, Any], dotted: str, default: Path | None) -> Path | None:
        text = self.get(table, dotted, _nonempty_string, None)
        return default if text is None else self._resolve(text)

    def _resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        # normpath, not resolve(): "../outbox" reads better in messages than a resolved
        # symlink target, and the folder need not exist yet.
        return Path(os.path.normpath(path if path.is_absolute() else self.base_dir / path))


def _no_unknown(
    table: Mapping[str, Any],
    allowed: set[str],
    prefix: str,
    where: str,
    *,
    context: str | None = None,
) -> None:
    for key in table:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            scope = f" for {context}" if context else ""
            raise ConfigError(
                f"Unknown key {prefix}{key} in {where}{scope}; the keys allowed here are: {known}."
            )


def with_overrides(config: Config, *, feed_url: str | None = None) -> Config:
    """Apply command-line overrides (`--feed`), which win over the file."""
    if feed_url is None:
        return config
    from dataclasses import replace

    return replace(config, feed=replace(config.feed, url=feed_url))

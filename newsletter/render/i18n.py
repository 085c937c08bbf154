"""The newsletter's language: which locale, its dates, its words and its direction.

The language is `[newsletter] language`, else the feed's `<language>` / `xml:lang`, else
English. Feeds write tags every way (`en-us`, `de-DE`, `pt_BR`, `zh-Hans`, `en_US.UTF-8`);
Babel reads them with CLDR's aliases (`iw` is Hebrew, `zh-TW` is Traditional Chinese).
Dates follow CLDR's rules for the locale; the email's fixed words come from the gettext
catalogues in `newsletter/locale/` (the README says how to add or correct a language).

Babel is imported here and only here, and this module only when an email is rendered, so
`newsletter --help` or `status` never pay for it; and Babel's answers for the shipped
languages are stored with the package (render/cldr.py), so a run in one of them reads those
instead of loading Babel's dates and CLDR data.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.nodes import EvalContext
from markupsafe import Markup

from newsletter.errors import ConfigError
from newsletter.render import cldr as cldr_table

if TYPE_CHECKING:
    import babel

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "newsletter"
FALLBACK = "en"

# Where no catalogue matches the tag itself, the closest one readers of that language use:
# CLDR's plain `pt` is Brazilian Portuguese and every other `pt` region follows Portugal;
# Norwegian written as `no` (or Nynorsk, `nn`) reads Bokmål; plain `zh` is Simplified.
_PORTUGAL_STYLE = "pt_PT"
_SAME_READERS = {"pt": "pt_BR", "no": "nb", "nn": "nb", "zh": "zh_Hans"}
_SUBTAG = re.compile(r"^[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class NewsletterLocale:
    """One language for a whole email; hashable, so environments can be cached by it."""

    tag: str
    """BCP 47 as `lang` and Content-Language want it: `de-DE`, `pt-BR`, `zh-Hans`."""
    cldr: str
    """Babel's identifier for dates: `de_DE`, `pt_BR`, `zh_Hans_CN`."""
    catalogue: str
    """The shipped catalogue for the words (`de`, `pt_BR`), or `en` when none fits."""
    direction: str
    """`ltr` or `rtl`."""
    declared: bool
    """False when nothing named a language and English was assumed."""

    @property
    def start_side(self) -> str:
        """Where lines begin: `left`, or `right` in a right-to-left language."""
        return "right" if self.direction == "rtl" else "left"

    @property
    def end_side(self) -> str:
        return "left" if self.direction == "rtl" else "right"


ENGLISH = NewsletterLocale(
    tag=FALLBACK, cldr=FALLBACK, catalogue=FALLBACK, direction="ltr", declared=False
)


def resolve_locale(
    configured: str | None, feed_languages: Iterable[str | None]
) -> NewsletterLocale:
    """The configured language, else the first feed's that names one, else English.

    A configured tag that CLDR does not know is a configuration error (the author can fix
    it); a feed's unknown tag only falls back to English (the feed is someone else's)."""
    if configured and configured.strip():
        found = parse_locale(configured)
        if found is None:
            raise ConfigError(
                f"newsletter.language {configured.strip()!r} is not a language tag CLDR knows; "
                'use a BCP 47 tag such as "de", "pt-BR" or "zh-Hans", or remove the key to '
                "follow the feed."
            )
        return found
    for value in feed_languages:
        if value and value.strip():
            return parse_locale(value) or ENGLISH
    return ENGLISH


def parse_locale(value: str) -> NewsletterLocale | None:
    """A locale for a tag as feeds and people write it, or None when CLDR does not know it."""
    subtags = _subtags(value)
    if not subtags:
        return None
    known = cldr_table.known_tag(subtags)
    if known is not None:
        tag, identifier, catalogue, direction = known
        return NewsletterLocale(tag, identifier, catalogue, direction, declared=True)
    return babel_locale(subtags)


def babel_locale(subtags: list[str]) -> NewsletterLocale | None:
    """What Babel reads in a tag split into subtags (what render/cldr.py stores)."""
    import babel

    try:
        locale = babel.Locale.parse("-".join(subtags), sep="-")
    except (ValueError, babel.UnknownLocaleError):
        return None
    # Keep the author's own tag (zh-CN stays zh-CN), with CLDR's name for an old alias
    # (iw -> he) and BCP 47's letter case.
    subtags[0] = locale.language
    return NewsletterLocale(
        tag="-".join(_bcp47_case(part, index) for index, part in enumerate(subtags)),
        cldr=str(locale),
        catalogue=_catalogue_for(locale),
        direction="rtl" if locale.text_direction == "rtl" else "ltr",
        declared=True,
    )


@functools.cache
def shipped_catalogues() -> frozenset[str]:
    """Every language with a compiled catalogue in the package."""
    return frozenset(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    )


@functools.cache
def translations(catalogue: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The compiled catalogue; English words (the msgids) when it is not shipped."""
    path = LOCALE_DIR / catalogue / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def format_date(moment: object, cldr: str, format: str = "long") -> str:
    """A date as the locale writes it ("5. März 2026", "2026年3月5日"): `moment` is a date,
    a datetime (its own day, in the author's zone) or an ISO date string; nothing gives "".
    `format` is CLDR's `short`, `medium`, `long` or `full`, or a pattern such as "d MMMM"."""
    if isinstance(moment, datetime):
        day = moment.date()
    elif isinstance(moment, date):
        day = moment
    elif isinstance(moment, str) and moment.strip():
        day = date.fromisoformat(moment.strip()[:10])
    elif not moment:
        return ""
    else:
        raise ValueError(f"the date filter needs a date, not {type(moment).__name__}")
    stored = cldr_table.named_date(day, cldr, format)
    if stored is not None:
        return stored
    import babel.dates

    return str(babel.dates.format_date(day, format, locale=cldr))


def install(
    env: jinja2.Environment, locale: NewsletterLocale, html_value: Callable[[object], Markup]
) -> None:
    """`_()`, `gettext`, `ngettext` and `{% trans %}` in the locale's words, and the
    `date` filter in its calendar, for the built-in templates and the author's own.

    Jinja's own new-style gettext would escape the values put into a translation with plain
    HTML escaping; `html_value` is the environment's own (which also neutralises provider
    template braces), so a post titled "{{ name }}" stays text inside "Continue reading: …"."""
    env.add_extension("jinja2.ext.i18n")
    words = translations(locale.catalogue)

    def fill(eval_ctx: EvalContext, text: str, values: dict[str, Any]) -> str:
        if not eval_ctx.autoescape:
            return text % values
        safe = {
            key: html_value(value) if isinstance(value, str) else value
            for key, value in values.items()
        }
        return Markup(text) % safe  # noqa: S704 (our own catalogue's text; values escaped)

    @jinja2.pass_eval_context
    def gettext_(eval_ctx: EvalContext, message: str, /, **values: Any) -> str:
        return fill(eval_ctx, words.gettext(message), values)

    @jinja2.pass_eval_context
    def ngettext_(
        eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **values: Any
    ) -> str:
        values.setdefault("num", num)
        return fill(eval_ctx, words.ngettext(singular, plural, num), values)

    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext_, ngettext=ngettext_)
    env.filters["date"] = _date_filter(locale.cldr)


def text_direction(text: str) -> str | None:
    """`rtl` or `ltr` by the first letter with a direction of its own, as `dir="auto"` and
    the Unicode bidirectional algorithm decide (https://unicode.org/reports/tr9/#P2); None
    for text without letters."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def _date_filter(cldr: str) -> Callable[..., str]:
    def date_filter(moment: object, format: str = "long", locale: str | None = None) -> str:
        if locale is not None:
            found = parse_locale(locale)
            if found is None:
                raise ValueError(f"the date filter does not know the language {locale!r}")
            return format_date(moment, found.cldr, format)
        return format_date(moment, cldr, format)

    return date_filter


def _subtags(value: str) -> list[str]:
    # `en_US.UTF-8` and `de_DE@euro` are POSIX locale names; the part before is the tag.
    text = value.strip().split(".")[0].split("@")[0].replace("_", "-")
    parts = text.split("-")
    return parts if all(_SUBTAG.match(part) for part in parts) else []


def _bcp47_case(part: str, index: int) -> str:
    if index == 0:
        return part.lower()
    if len(part) == 4 and part.isalpha():
        return part.title()
    if len(part) == 2 and part.isalpha():
        return part.upper()
    return part.lower() if not part.isdigit() else part


def _catalogue_for(locale: babel.Locale) -> str:
    shipped = shipped_catalogues()
    candidates = []
    if locale.script:
        candidates.append(f"{locale.language}_{locale.script}")
    if locale.territory:
        candidates.append(f"{locale.language}_{locale.territory}")
    candidates.append(locale.language)
    if locale.language == "pt" and locale.territory not in (None, "BR"):
        candidates.append(_PORTUGAL_STYLE)
    if locale.language in _SAME_READERS:
        candidates.append(_SAME_READERS[locale.language])
    return next((name for name in candidates if name in shipped), FALLBACK)

"""Babel's answers for the shipped languages, stored when the release is made.

Every email asks Babel two things: which locale the language tag names (its CLDR identifier,
its direction, the catalogue for its words) and how that locale writes a date. Importing
Babel's date module and loading a locale's CLDR data cost a weekly run more CPU than parsing
its feed, to get answers that never change for a given Babel release.
`cldr.json` keeps them for every CLDR locale of a language with a shipped catalogue (`de`,
`de-AT`, `en-US`, `zh-TW`, ...), with the Babel version that gave them, and the dates of
CLDR's four named formats (`short`, `medium`, `long`, `full`) for those locales.

They are used only when that very Babel release is installed; any other tag, a date pattern
of the author's own or another Babel goes to Babel itself (render/i18n.py), so the output is
Babel's either way. tests/test_cldr_table.py checks every stored answer against Babel and
fails when the file is stale; `make templates` writes it again.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal, cast

TABLE = Path(__file__).with_name("cldr.json")
NAMED_FORMATS: tuple[Literal["short", "medium", "long", "full"], ...] = (
    "short",
    "medium",
    "long",
    "full",
)

Known = tuple[str, str, str, str]
"""What a tag names: (BCP 47 tag, CLDR identifier, catalogue, direction)."""


_VERSION_LINE = re.compile(r"""^__version__ = ['"]([^'"]+)['"]""", re.MULTILINE)


@functools.cache
def installed_babel() -> str | None:
    """The version of the Babel installed, read from its package's `__init__.py`: importing
    Babel only to ask would cost a run a good part of what the table saves. None when it
    cannot be read, and then Babel answers everything."""
    spec = find_spec("babel")
    if spec is None or spec.origin is None:
        return None
    try:
        found = _VERSION_LINE.search(Path(spec.origin).read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.group(1) if found else None


@functools.cache
def read_table(path: Path, babel_version: str | None) -> dict[str, Any]:
    """The stored answers, or nothing when they came from another Babel release (or it is
    unknown) or the file cannot be read (then Babel answers everything)."""
    if babel_version is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("babel") != babel_version:
        return {}
    return data


def _table() -> dict[str, Any]:
    return read_table(TABLE, installed_babel())


def known_tag(subtags: list[str], table: dict[str, Any] | None = None) -> Known | None:
    """The stored answer for a tag already split into subtags; Babel reads tags without
    regard to letter case, so neither does the table."""
    found = (_table() if table is None else table).get("tags", {}).get("-".join(subtags).lower())
    return None if found is None else (found[0], found[1], found[2], found[3])


def named_date(
    day: date, cldr: str, format: str, table: dict[str, Any] | None = None
) -> str | None:
    """`day` in one of CLDR's named formats as Babel writes it, or None when not stored."""
    data = _table() if table is None else table
    style = data.get("locales", {}).get(cldr)
    if style is None or format not in NAMED_FORMATS:
        return None
    stored = data["styles"][style].get(format)
    if stored is None:
        return None
    pattern, names = stored
    return str(pattern % {field: _field(field, day, names) for field in _fields(pattern)})


def _fields(pattern: str) -> list[str]:
    # Babel's compiled pattern names each field as %(field)s.
    return [part.split(")", 1)[0] for part in pattern.split("%(")[1:]]


def _field(field: str, day: date, names: dict[str, list[str]]) -> str:
    """One date field as Babel's DateTimeFormat writes it: numbers zero-padded to the field's
    width, a two-letter year as its last two digits, month and weekday names as stored."""
    letter, width = field[0], len(field)
    if field in names:
        named = names[field]
        return named[day.month - 1] if letter in "ML" else named[day.weekday()]
    if letter == "d":
        return f"{day.day:0{width}d}"
    if letter in "ML":
        return f"{day.month:0{width}d}"
    year = f"{day.year:0{width}d}"
    return year[-2:] if width == 2 else year


# --- writing the table (`make templates`) ------------------------------------------------


def _storable(field: str) -> bool:
    """The fields `_field` writes: day, month, calendar year, and named months and weekdays."""
    letter, width = field[0], len(field)
    return letter in "dy" or letter in "ML" or (letter in "Ec" and width >= 3) or field == "E"


def generate() -> str:
    """The content of `cldr.json`, from the Babel installed now."""
    import babel
    from babel.localedata import locale_identifiers

    from newsletter.render.i18n import babel_locale, shipped_catalogues

    languages = {name.split("_")[0] for name in shipped_catalogues()}
    candidates: set[str] = set()
    for identifier in locale_identifiers():
        parts = identifier.split("_")
        if parts[0] not in languages:
            continue
        candidates.add("-".join(parts).lower())
        # Feeds write `zh-TW`, not `zh-Hant-TW`: the language and region alone as well.
        candidates.add("-".join(part for part in parts if len(part) != 4).lower())
    tags: dict[str, list[str]] = {}
    locales: dict[str, int] = {}
    styles: list[dict[str, Any]] = []
    for key in sorted(candidates):
        found = babel_locale(key.split("-"))
        if found is None:
            continue
        tags[key] = [found.tag, found.cldr, found.catalogue, found.direction]
        if found.cldr not in locales:
            style = _date_style(babel.Locale.parse(found.cldr))
            if style not in styles:
                styles.append(style)
            locales[found.cldr] = styles.index(style)
    data = {"babel": babel.__version__, "tags": tags, "locales": locales, "styles": styles}
    return json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n"


def _date_style(locale: Any) -> dict[str, Any]:
    """For each named format: Babel's compiled pattern and the month or weekday names its
    fields need, asked of Babel's own DateTimeFormat; a format with any other field is left
    to Babel."""
    from babel.dates import DateTimeFormat, get_date_format

    style: dict[str, Any] = {}
    months = [date(2026, month, 1) for month in range(1, 13)]
    week = [date(2026, 3, 2 + weekday) for weekday in range(7)]  # Monday 2 March 2026 on
    for format in NAMED_FORMATS:
        # Babel annotates the compiled pattern as a DateTimeFormat; it is the %-string.
        pattern = cast(str, get_date_format(format, locale=locale).format)
        fields = _fields(pattern)
        if not all(_storable(field) for field in fields):
            continue
        names: dict[str, list[str]] = {}
        for field in fields:
            if field[0] in "ML" and len(field) >= 3:
                names[field] = [DateTimeFormat(day, locale)[field] for day in months]
            elif field[0] in "Ec":
                names[field] = [DateTimeFormat(day, locale)[field] for day in week]
        style[format] = [pattern, names]
    return style


def write() -> None:
    """Write `cldr.json` again (`make templates`), after a catalogue or Babel changed."""
    TABLE.write_text(generate(), encoding="utf-8")

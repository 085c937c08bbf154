"""Babel's answers stored with the package (render/cldr.py): current, equal to Babel's own for
every stored tag and date, and out of the way of anything they do not cover."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import babel
import babel.dates
import pytest

from newsletter.render import cldr
from newsletter.render.i18n import babel_locale, format_date, parse_locale

STORED = cldr.read_table(cldr.TABLE, babel.__version__)

DAYS = [
    *(date(2026, month, day) for month in range(1, 13) for day in (1, 9, 28)),
    *(date(2024, 2, 23 + offset) for offset in range(7)),  # every weekday, a leap day
    date(1, 1, 1),
    date(9, 12, 31),
    date(99, 7, 4),
    date(999, 3, 15),
    date(2000, 1, 1),
    date(9999, 12, 31),
]
"""Every month and weekday, one- and two-digit days, and years of one to four digits."""


def test_the_table_is_what_babel_answers_now() -> None:
    assert cldr.generate() == cldr.TABLE.read_text(encoding="utf-8"), (
        "newsletter/render/cldr.json is stale: a catalogue or Babel changed; run "
        "`make templates` and commit the file"
    )


def test_the_table_is_used_with_the_babel_installed() -> None:
    assert cldr.installed_babel() == babel.__version__
    assert STORED["babel"] == babel.__version__
    assert cldr.read_table(cldr.TABLE, None) == {}
    assert len(STORED["tags"]) > 300  # every region of every shipped language


@pytest.mark.parametrize("key", sorted(STORED["tags"]))
def test_each_stored_tag_reads_as_babel_reads_it(key: str) -> None:
    from_babel = babel_locale(key.split("-"))
    assert from_babel is not None
    stored = cldr.known_tag(key.split("-"), STORED)
    assert stored == (from_babel.tag, from_babel.cldr, from_babel.catalogue, from_babel.direction)
    # However the feed writes the letters, the answer is the same (and still Babel's).
    for written in (key.upper(), key.title(), key.replace("-", "_")):
        assert parse_locale(written) == babel_locale(written.replace("_", "-").split("-"))


def test_each_stored_date_is_written_as_babel_writes_it() -> None:
    checked = 0
    for identifier in STORED["locales"]:
        for format in cldr.NAMED_FORMATS:
            for day in DAYS:
                stored = cldr.named_date(day, identifier, format, STORED)
                if stored is None:
                    continue
                assert stored == babel.dates.format_date(day, format, locale=identifier), (
                    identifier,
                    format,
                    day,
                )
                checked += 1
    # The long format, which the built-in templates use, is stored for every locale.
    assert all("long" in style for style in STORED["styles"])
    assert checked > len(STORED["locales"]) * len(DAYS) * 3


@pytest.mark.parametrize(
    ("cldr_id", "expected"),
    [
        ("de", "5. März 2026"),
        ("pt_BR", "5 de março de 2026"),
        ("ja", "2026年3月5日"),
        ("ar", "5 مارس 2026"),
        ("en_US", "March 5, 2026"),
    ],
)
def test_the_long_dates_of_the_catalogue_languages(cldr_id: str, expected: str) -> None:
    assert cldr.named_date(date(2026, 3, 5), cldr_id, "long", STORED) == expected
    assert format_date(date(2026, 3, 5), cldr_id) == expected


def test_what_the_table_does_not_hold_is_left_to_babel() -> None:
    # A language without a catalogue, an old alias, and a pattern of the author's own.
    assert cldr.known_tag(["el"], STORED) is None
    assert cldr.known_tag(["iw"], STORED) is None
    assert cldr.named_date(date(2026, 3, 5), "el", "long", STORED) is None
    assert cldr.named_date(date(2026, 3, 5), "de", "d. MMMM", STORED) is None
    greek = parse_locale("el")
    assert greek is not None
    assert format_date(date(2026, 3, 5), greek.cldr) == "5 Μαρτίου 2026"
    hebrew = parse_locale("iw")
    assert hebrew is not None
    assert (hebrew.tag, hebrew.cldr, hebrew.direction) == ("he", "he_IL", "rtl")
    assert format_date(date(2026, 3, 5), "de", "d. MMMM") == "5. März"


def test_a_table_from_another_babel_or_unreadable_is_not_used(tmp_path: Path) -> None:
    assert cldr.read_table(cldr.TABLE, "0.0.1") == {}
    broken = tmp_path / "cldr.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cldr.read_table(broken, babel.__version__) == {}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**STORED, "babel": "0.0.1"}), encoding="utf-8")
    assert cldr.read_table(other, babel.__version__) == {}
    # With nothing stored, every answer is Babel's.
    assert cldr.known_tag(["de"], {}) is None
    assert cldr.named_date(date(2026, 3, 5), "de", "long", {}) is None

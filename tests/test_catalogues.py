"""The translation catalogues: complete, not fuzzy, well-formed, compiled, and in step with
the words the templates and the code actually use."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from newsletter.render.i18n import LOCALE_DIR, parse_locale, shipped_catalogues, translations

ROOT = Path(__file__).resolve().parent.parent
POT = LOCALE_DIR / "newsletter.pot"
# The languages the README promises (issue 16); more may ship.
PROMISED = {
    *("en", "de", "fr", "es", "it", "pt_BR", "pt_PT", "nl", "sv", "da", "nb", "fi", "pl", "cs"),
    *("uk", "ru", "tr", "ja", "zh_Hans", "ko", "ar", "he"),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# The counts a plural string is checked against: every form must read right for all of them.
COUNTS = range(0, 1001)


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/newsletter.po"))


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


def template_ids() -> dict[str, object]:
    return {key_of(message.id): message.id for message in read_catalogue(POT) if message.id}


def key_of(msgid: object) -> str:
    return str(msgid[0] if isinstance(msgid, tuple) else msgid)


def catalogue_problems(path: Path) -> list[str]:
    """Everything wrong with one language's .po, as sentences; [] when it is complete."""
    catalogue = read_catalogue(path)
    problems: list[str] = []
    if catalogue.fuzzy:
        problems.append("the header is marked fuzzy")
    wanted = template_ids()
    found = {key_of(message.id): message for message in catalogue if message.id}
    for key, msgid in wanted.items():
        message = found.get(key)
        if message is None:
            problems.append(f"{key!r} is missing")
            continue
        if message.fuzzy:
            problems.append(f"{key!r} is fuzzy")
        if message.id != msgid:
            problems.append(f"{key!r} has another plural msgid than the template")
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(msgid, tuple) and len(forms) != catalogue.num_plurals:
            problems.append(f"{key!r} has {len(forms)} forms, not {catalogue.num_plurals}")
        if not all(forms):
            problems.append(f"{key!r} is not translated")
            continue
        problems += placeholder_problems(key, msgid, forms, catalogue.plural_expr)
    problems += [f"{key!r} is not used any more" for key in found.keys() - wanted.keys()]
    problems += [f"{key_of(key)!r} is obsolete (#~)" for key in catalogue.obsolete]
    for message, errors in catalogue.check():
        problems += [f"{key_of(message.id)!r}: {error}" for error in errors]
    return problems


def placeholder_problems(
    key: str, msgid: object, forms: tuple[str, ...], plural_expr: str
) -> list[str]:
    ids = msgid if isinstance(msgid, tuple) else (msgid,)
    expected = {name for text in ids for name in PLACEHOLDER.findall(str(text))}
    if not isinstance(msgid, tuple):
        got = set(PLACEHOLDER.findall(forms[0]))
        return [] if got == expected else [f"{key!r} has placeholders {got}, not {expected}"]
    problems = []
    choose = gettext.c2py(plural_expr)
    counts_per_form: dict[int, set[int]] = {}
    for count in COUNTS:
        counts_per_form.setdefault(choose(count), set()).add(count)
    for index, form in enumerate(forms):
        got = set(PLACEHOLDER.findall(form))
        if not got <= expected or got - {"num"} != expected - {"num"}:
            problems.append(f"{key!r} form {index} has placeholders {got}, not {expected}")
        # A form may say "one more" in words only where it stands for a single count.
        if "num" not in got and len(counts_per_form.get(index, set())) > 1:
            problems.append(f"{key!r} form {index} omits the number but serves several counts")
    return problems


@pytest.mark.parametrize("path", po_files(), ids=lambda path: path.parent.parent.name)
def test_every_catalogue_is_complete_and_well_formed(path: Path) -> None:
    assert catalogue_problems(path) == []


def test_the_check_catches_a_missing_and_a_fuzzy_string(tmp_path: Path) -> None:
    catalogue = read_catalogue(LOCALE_DIR / "de" / "LC_MESSAGES" / "newsletter.po")
    del catalogue["Unsubscribe"]
    catalogue["Listen"].flags.add("fuzzy")
    catalogue["Continue reading: %(title)s"].string = "Weiterlesen: %(titel)s"
    doctored = tmp_path / "de" / "LC_MESSAGES" / "newsletter.po"
    doctored.parent.mkdir(parents=True)
    with doctored.open("wb") as handle:
        write_po(handle, catalogue)
    problems = catalogue_problems(doctored)
    assert "'Unsubscribe' is missing" in problems
    assert "'Listen' is fuzzy" in problems
    assert any(p.startswith("'Continue reading: %(title)s' has placeholders") for p in problems)


def test_the_promised_languages_ship() -> None:
    assert shipped_catalogues() >= PROMISED
    assert {path.parent.parent.name for path in po_files()} == shipped_catalogues()


def test_the_template_lists_every_word_the_code_and_templates_use(tmp_path: Path) -> None:
    """The same command as the README's: a new `_()` without a catalogue entry fails here."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--add-comments=Translators:",
            "--sort-output",
            "--omit-header",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert fresh.read_text(encoding="utf-8") == POT.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", po_files(), ids=lambda path: path.parent.parent.name)
def test_the_compiled_catalogue_says_what_the_po_says(path: Path) -> None:
    """A .po edited without `pybabel compile` would ship the old words: compare them."""
    catalogue = read_catalogue(path)
    compiled = translations(path.parent.parent.name)
    assert isinstance(compiled, gettext.GNUTranslations), "the .mo is missing"
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            choose = gettext.c2py(catalogue.plural_expr)
            for count in range(0, 120):
                expected = message.string[choose(count)]
                assert compiled.ngettext(*message.id, count) == expected, (message.id, count)
        else:
            assert compiled.gettext(message.id) == message.string, message.id


@pytest.mark.parametrize("name", sorted(shipped_catalogues()))
def test_every_catalogue_is_found_from_its_own_tag(name: str) -> None:
    locale = parse_locale(name.replace("_", "-"))
    assert locale is not None and locale.catalogue == name
    if name != "en":
        assert translations(name).gettext("Unsubscribe") != "Unsubscribe"

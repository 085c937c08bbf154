"""Accessibility and client support, checked by the tools the email world uses.

- axe-core (Deque's accessibility engine, npm) runs in Chromium on every test email, light and
  dark: no serious or critical violation. Two rules are switched off because they judge a
  web page's structure, which an email body does not have (the reader's mail app supplies the
  page and its landmarks around it): `region` (all content inside landmarks) and
  `landmark-one-main` (the page has a <main>). Both are "moderate" in axe anyway.
- doiuse-email checks the HTML against caniemail.com's data for Gmail and Outlook. Every
  feature they do not support is pinned below with how the email does without it, so a new
  one fails this test until someone decides how it degrades.

The npm packages are pinned in tests/tools/package-lock.json; CI installs them (.ci/run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.models import Email
from tests.email_browser import (
    CHROMIUM,
    CHROMIUM_MISSING,
    PHONE,
    launch,
    open_email,
    screenshots_on_failure,
)
from tests.email_samples import every_test_email

TOOLS = Path(__file__).parent / "tools"
NODE_MODULES = TOOLS / "node_modules"
INSTALL = "run `npm ci --prefix tests/tools` (CI's .ci/run does)"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"

EMAILS: dict[str, Email] = every_test_email()
REQUIRED = os.environ.get("NEWSLETTER_EMAIL_TOOLS") == "required"
"""Set by .ci/run, which installs the tools: there a missing tool fails rather than skips."""

NOT_FOR_EMAIL_BODIES = ("region", "landmark-one-main")
"""axe rules about a page's landmarks; the mail app's own page holds the email body."""

# Each feature caniemail says Gmail or Outlook lacks, and how the email manages without it.
WITHOUT = {
    "<body> element": "Outlook's apps drop <body>; its background is repeated on MJML's outer div.",
    "@media": "Only dark mode and MJML's column widths use it; light colours and the inline "
    "width:100%/max-width:600px are the defaults.",
    "Attribute selector": "Gmail's mobile web drops the whole <style>: layout is inline "
    "(checked in test_email_layout with every <style> removed).",
    "Chaining selectors": "As for the attribute selector: the <style> block is a bonus.",
    "Class selector": "As for the attribute selector: the <style> block is a bonus.",
    "Descendant combinator": "As for the attribute selector: the <style> block is a bonus.",
    "ID selector": "Only MJML's Outlook link reset uses one.",
    "Type selector": "As for the attribute selector: the <style> block is a bonus.",
    "HTML5 semantics": "<figure>, <figcaption> and <time> show their content as plain text in "
    "Outlook for Windows; figures carry inline margins.",
    "Local anchors": "The list of titles does not jump in Gmail for iOS and Outlook's apps; the "
    "posts follow it in the same order.",
    "aria-hidden attribute": 'Windows Mail may read a video\'s play sign before its "Watch" '
    "caption; nothing else is hidden that way.",
    "aria-label attribute": "Windows Mail reads the button's visible words instead.",
    "role attribute": "Windows Mail reads MJML's layout tables as tables.",
    "border-radius": "Square corners in Outlook for Windows.",
    "display:none": "The hidden preheader is also 1 px, zero height and zero opacity.",
    "opacity": "The hidden preheader is also display:none, 1 px and zero height.",
    "overflow": "The hidden preheader is also display:none and 1 px.",
    "outline": "Only MJML's image reset uses it.",
    "overflow-wrap": "<pre> also says word-break:break-word and white-space:pre-wrap; tables "
    "keep words whole (word-break:normal), so an over-long word may widen one in Gmail.",
    "table-layout": "Outlook for Windows lays the email out in MJML's fixed 600 px conditional "
    "tables; the post's own tables say table-layout:auto.",
    "white-space": "Outlook for Windows shows code in its fixed 600 px column without wrapping.",
    "word-break": "Windows Mail may split a long word differently; nothing depends on it.",
}
_UNSUPPORTED = re.compile(r"`(.+)` is not supported by `(.+)`")


@pytest.fixture(scope="module")
def node_tools() -> Path:
    if shutil.which("node") is None:
        pytest.skip(f"needs Node.js and the email tools: install nodejs and npm, then {INSTALL}")
    if not (NODE_MODULES / "doiuse-email").is_dir() or not AXE.is_file():
        pytest.skip(f"needs axe-core and doiuse-email: {INSTALL}")
    return TOOLS


@pytest.fixture(scope="module")
def lacking(
    node_tools: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, set[str]]]:
    """For each test email, the features caniemail says Gmail or Outlook does not support,
    with the clients that lack each (one Node run for every email)."""
    folder = tmp_path_factory.mktemp("caniemail")
    pages = {}
    for name, sent in EMAILS.items():
        pages[name] = folder / f"{name}.html"
        pages[name].write_text(sent.html, encoding="utf-8")
    result = subprocess.run(
        ["node", str(node_tools / "caniemail.mjs"), str(node_tools), "gmail.*,outlook.*"]
        + [str(page) for page in pages.values()],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(result.stdout)
    return {name: _features(found[str(page)]["errors"]) for name, page in pages.items()}


def _features(errors: list[str]) -> dict[str, set[str]]:
    features: dict[str, set[str]] = {}
    for message in errors:
        found = _UNSUPPORTED.fullmatch(message)
        assert found is not None, message
        features.setdefault(found.group(1), set()).add(found.group(2))
    return features


def test_every_feature_gmail_or_outlook_lacks_has_a_way_around_it(
    lacking: dict[str, dict[str, set[str]]],
) -> None:
    every: dict[str, set[str]] = {}
    for features in lacking.values():
        for feature, clients in features.items():
            every.setdefault(feature, set()).update(clients)
    assert sorted(every) == sorted(WITHOUT), {f: sorted(c) for f, c in every.items()}


def test_the_email_uses_no_web_font_or_script(lacking: dict[str, dict[str, set[str]]]) -> None:
    # caniemail knows @font-face and <script> as features; neither may appear at all.
    assert len(lacking) == len(EMAILS)
    for name, features in lacking.items():
        assert not {"@font-face", "<script> element"} & set(features), name


@pytest.mark.skipif(not REQUIRED, reason="only where .ci/run installed the tools")
def test_ci_has_every_tool_the_email_checks_need() -> None:
    # On CI a missing tool would silently skip the checks above; here it fails instead.
    assert CHROMIUM is not None, CHROMIUM_MISSING
    assert shutil.which("node") is not None, f"needs Node.js: {INSTALL}"
    assert AXE.is_file(), f"needs axe-core: {INSTALL}"
    assert (NODE_MODULES / "doiuse-email").is_dir(), f"needs doiuse-email: {INSTALL}"


@pytest.fixture(scope="module")
def browser(node_tools: Path) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip(CHROMIUM_MISSING)
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="needs Playwright for Python: pip install -e '.[test]'"
    )
    with playwright_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


AXE_RUN = """async (off) => {
  const rules = Object.fromEntries(off.map(id => [id, {enabled: false}]));
  const result = await axe.run(document, {rules, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.map(n => n.html.slice(0, 160))}));
}"""


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", sorted(EMAILS))
def test_axe_finds_no_serious_or_critical_problem(
    browser: Any, tmp_path: Path, name: str, scheme: str
) -> None:
    page = open_email(browser, EMAILS[name].html, width=PHONE, scheme=scheme)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN, list(NOT_FOR_EMAIL_BODIES))
    page.close()
    with screenshots_on_failure(browser, EMAILS[name], tmp_path, name):
        assert [v for v in violations if v["impact"] in ("serious", "critical")] == []


@pytest.mark.browser
def test_axe_would_catch_a_nameless_picture_link(browser: Any) -> None:
    # The check itself works: a linked picture without a name is axe's `link-name` (serious).
    sent = EMAILS["blogger-1"]
    broken = sent.html.replace('alt="A windy Saturday at the coast"', 'alt=""')
    assert broken != sent.html
    page = open_email(browser, broken, width=PHONE)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN, list(NOT_FOR_EMAIL_BODIES))
    page.close()
    assert {"link-name"} <= {v["id"] for v in violations if v["impact"] == "serious"}

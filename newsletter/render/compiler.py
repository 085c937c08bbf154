"""MJML to HTML with mjml-python (MRML), and errors an author can act on.

MRML stops at the first malformed tag without saying where, and passes unknown `mj-` tags
through untouched. When that happens we look for the culprit in the template sources
themselves, so the error names the file and line the author has to edit.
"""

from __future__ import annotations

import re

import jinja2
import mjml
from lxml import etree

from newsletter.errors import ConfigError
from newsletter.render.environment import display_name, referenced_sources

_VOID_TAG = re.compile(
    r"<(area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr)\b"
    r"((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)\s*/?>",
    re.IGNORECASE,
)
_UNKNOWN_MJ_TAG = re.compile(r"<(mj-[a-z-]+)")
_JINJA_OUTPUT = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")


def close_void_tags(fragment: str) -> str:
    """HTML void elements written as `<br />`: MRML parses mj-text content as XML and
    refuses `<br>` or `<img ...>` left open, which is how HTML serialisers write them."""
    return _VOID_TAG.sub(r"<\1\2 />", fragment)


def compile_mjml(source: str, *, env: jinja2.Environment, template: str) -> str:
    try:
        # No web fonts: MRML links Google Fonts for any font-family that names one of them
        # (Roboto, in the system font stack), a third-party request on every open.
        html: str = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as error:
        raise _locate(env, template, reason=str(error)) from None
    unknown = _UNKNOWN_MJ_TAG.search(html)
    if unknown:
        raise _locate(
            env,
            template,
            reason=f"unknown or misplaced tag <{unknown.group(1)}>",
            needle=unknown.group(0),
        )
    return html


def _locate(
    env: jinja2.Environment, template: str, *, reason: str, needle: str | None = None
) -> ConfigError:
    for filename, source in referenced_sources(env, template):
        line = _line_of(needle, source) if needle else markup_error_line(source)
        if line:
            return ConfigError(
                f"The template {display_name(filename)} produces invalid MJML on line {line} "
                f"({reason}); fix the template or delete it to use the built-in one."
            )
    return ConfigError(
        f"The template {template} produces invalid MJML ({reason}); check that every tag "
        "in it and its partials is closed, then try again."
    )


def _line_of(tag: str, source: str) -> int | None:
    found = re.search(re.escape(tag) + r"(?![\w-])", source)
    return source.count("\n", 0, found.start()) + 1 if found else None


def markup_error_line(source: str) -> int | None:
    """Where the template source stops being well-formed markup, ignoring Jinja syntax
    (replaced so that line numbers stay the same)."""
    markup = _JINJA_STATEMENT.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    markup = _JINJA_OUTPUT.sub(lambda m: "x" + "\n" * m.group(0).count("\n"), markup)
    markup = _ENTITY.sub("&amp;", markup)
    try:
        etree.fromstring(f"<root>{markup}</root>".encode(), etree.XMLParser(recover=False))
    except etree.XMLSyntaxError as error:
        return int(error.lineno) if error.lineno else None
    return None

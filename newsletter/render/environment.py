"""The Jinja2 environment: the author's templates first, then the built-in ones.

One environment per templates folder, kept for the life of the process, so each template is
parsed once however many emails a run renders. Every template error becomes a ConfigError
that names the template file and line, because the author is the one who can fix it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from newsletter.errors import ConfigError
from newsletter.excerpt.plaintext import wrap
from newsletter.render.i18n import ENGLISH, NewsletterLocale
from newsletter.render.i18n import install as install_language
from newsletter.render.precompiled import BuiltinTemplates
from newsletter.render.sandbox import AuthorSandbox, render_bounded, sandboxed

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAX_SUBJECT = 2_000
"""Characters the configured subject may render to: far more than any inbox shows."""

# Mail providers run their own template engines over the body (Postmark's Mustachio,
# Buttondown's Django-style tags, Resend's triple braces). A post titled "Using {{ name }}"
# must reach the reader as written, not be evaluated by the provider, so values never carry
# raw braces: HTML gets character references, text gets a zero-width space between the pair.
_BRACE_ENTITIES = str.maketrans({"{": "&#123;", "}": "&#125;"})
# Only the pairs that open or close a tag ({{ {% {# }} %} #}) are split: Ruby's "#{x}", an
# empty {} or printf's %% in a code sample must reach the text part as written.
_TEMPLATE_TAG_PAIR = re.compile(r"(\{(?=[{%#])|[%#}](?=\}))")
_DEFUSED_PAIR = re.compile("(\\{(?=\u200b[{%#])|[%#}](?=\u200b\\}))\u200b")
# Mailgun fills `%recipient.name%`, `%recipient_email%` and its unsubscribe variables in
# the subject and both parts for each reader
# (https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/batch-sending),
# so a post that writes one about Mailgun keeps it as text: its "%" becomes a character
# reference in HTML, and is followed by a zero-width space in text.
MAILGUN_VARIABLE = re.compile(r"%(?=(?:recipient|[a-z_]*unsubscribe_(?:url|email))[\w.-]*%)", re.I)
_DEFUSED_VARIABLE = re.compile(
    "%\u200b(?=(?:recipient|[a-z_]*unsubscribe_(?:url|email))[\\w.-]*%)", re.I
)
# Invisible format characters (zero-width spaces, direction marks, soft hyphens) go out as
# character references: MRML copies the title into an aria-label and writes them there as
# Rust escapes such as `\u{200b}`. Other control characters are not allowed in HTML at all.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Verbatim(str):
    """A value that must reach the output byte for byte (a provider's own placeholder)."""

    __slots__ = ()


def html_value(value: object) -> Markup:
    """A template value as HTML: escaped, braces neutralised; Markup passes as it is."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    escaped = _CONTROL.sub("", defuse_html(str(escape(value))))
    # The text was escaped just above; only character references were added since.
    return Markup(_INVISIBLE.sub(lambda m: f"&#x{ord(m.group(0)):x};", escaped))  # noqa: S704


def undo_text_defusing(text: str) -> str:
    """A rendered text (subject, preheader) made fit for HTML, where braces are already
    neutralised as character references and a zero-width space would only get in the way."""
    return _DEFUSED_VARIABLE.sub("%", _DEFUSED_PAIR.sub("\\1", text))


def defuse_html(html: str) -> str:
    """HTML in which no provider's template engine finds a tag or a variable to fill."""
    return MAILGUN_VARIABLE.sub("&#37;", html.translate(_BRACE_ENTITIES))


def text_value(value: object) -> str:
    """A template value as plain text, with provider template tags defused."""
    if isinstance(value, Verbatim):
        return str(value)
    if value is None:
        return ""
    defused = _TEMPLATE_TAG_PAIR.sub("\\1\u200b", str(value))
    return MAILGUN_VARIABLE.sub("%\u200b", defused)


@jinja2.pass_eval_context
def _finalize(eval_ctx: EvalContext, value: object) -> object:
    return html_value(value) if eval_ctx.autoescape else text_value(value)


@functools.lru_cache(maxsize=8)
def environment(author_dir: Path | None, locale: NewsletterLocale = ENGLISH) -> jinja2.Environment:
    """Templates see `_()`, `ngettext` and the `date` filter in the newsletter's language."""
    loaders: list[jinja2.BaseLoader] = []
    if author_dir is not None:
        loaders.append(jinja2.FileSystemLoader(author_dir))
    loaders.append(jinja2.FileSystemLoader(BUILTIN_TEMPLATES))
    env = AuthorSandbox(
        loader=jinja2.ChoiceLoader(loaders),
        # HTML templates escape every value; text templates (and the subject written in the
        # configuration) are plain text, where HTML escaping would show as `&amp;`.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2"), default_for_string=False, default=False
        ),
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        # The built-in templates' code as compiled for the release (render/precompiled.py).
        bytecode_cache=BuiltinTemplates(),
    )
    # Text templates wrap their own long lines (a title, the footer) as the excerpt's are.
    env.filters["wrap"] = wrap
    install_language(env, locale, html_value)
    return sandboxed(env)


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render the template `name`; any failure is a ConfigError naming file and line."""
    try:
        template = env.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        raise _syntax_error(error) from None
    except jinja2.TemplateNotFound as error:
        raise ConfigError(
            f"The template {error.name} is missing from the templates folder and the built-in "
            "templates; restore the file or remove what includes it."
        ) from None
    try:
        return render_bounded(lambda: template.generate(context))
    except jinja2.TemplateSyntaxError as error:
        raise _syntax_error(error) from None
    except jinja2.TemplateNotFound as error:
        raise ConfigError(
            f"A template included from {display_name(template.filename)} is missing "
            f"({error.name}); add the file or fix the include."
        ) from None
    except Exception as error:  # an author's expression may raise anything; report where
        raise _runtime_error(error, template.filename) from None


def render_string(
    env: jinja2.Environment, source: str, context: Mapping[str, Any], *, where: str
) -> str:
    """Render a template written in the configuration (e.g. `newsletter.subject`)."""
    try:
        template = env.from_string(source)
        return render_bounded(lambda: template.generate(context), limit=MAX_SUBJECT)
    except jinja2.TemplateSyntaxError as error:
        raise ConfigError(
            f"The template in {where} has an error on line {error.lineno} ({error.message}); "
            "fix it in the configuration."
        ) from None
    except Exception as error:
        raise ConfigError(
            f"The template in {where} failed ({_reason(error)}); fix it in the configuration."
        ) from None


def _syntax_error(error: jinja2.TemplateSyntaxError) -> ConfigError:
    where = display_name(error.filename or error.name)
    return ConfigError(
        f"The template {where} has an error on line {error.lineno} ({error.message}); "
        "fix the template or delete it to use the built-in one."
    )


def _runtime_error(error: Exception, fallback: str | None) -> ConfigError:
    filename, line = _template_frame(error.__traceback__)
    where = display_name(filename or fallback)
    at = f" on line {line}" if line else ""
    return ConfigError(
        f"The template {where} failed{at} ({_reason(error)}); "
        "fix the template or delete it to use the built-in one."
    )


def _template_frame(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost template file and line in a traceback (Jinja rewrites its frames so
    that they carry the template's own file name and line number)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _reason(error: Exception) -> str:
    if isinstance(error, jinja2.UndefinedError):
        return error.message or "undefined variable"
    reason = str(error) or type(error).__name__
    if isinstance(error, (ValueError, TypeError)) and "format" in reason:
        # `_()` fills in its `%(name)s` placeholders with Python's % operator, so a percent
        # sign of the text itself must be doubled (README.md, "In your own templates").
        reason += "; a % in a _() text is written %%"
    return reason


def display_name(filename: str | None) -> str:
    """Built-in templates by name, the author's by their path."""
    if not filename:
        return "(unknown)"
    path = Path(filename)
    if path.is_relative_to(BUILTIN_TEMPLATES):
        return f"{path.name} (built-in)"
    return str(path)


def referenced_sources(env: jinja2.Environment, name: str) -> list[tuple[str, str]]:
    """(filename, source) of `name` and every template it includes, recursively; used only
    to locate an MJML error after it happened."""
    assert env.loader is not None
    seen: dict[str, tuple[str, str]] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        try:
            source, filename, _ = env.loader.get_source(env, current)
        except jinja2.TemplateNotFound:
            continue
        seen[current] = (filename or current, source)
        try:
            tree = env.parse(source)
        except jinja2.TemplateSyntaxError:
            continue
        pending.extend(
            node.template.value
            for node in tree.find_all(nodes.Include)
            if isinstance(node.template, nodes.Const) and isinstance(node.template.value, str)
        )
    return list(seen.values())

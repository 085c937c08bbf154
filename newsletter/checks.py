"""Value checkers for `newsletter.toml`: each returns the cleaned value or raises
ValueError(reason), and the configuration reader puts the key and the file in front of the
reason ("newsletter.max_posts in blog/newsletter.toml must be between 1 and 100, not 0.").

The settings of `config.py` and the option schemas of the providers both use these, so a
rule such as "a timeout is more than 0 and at most 600 seconds" is written once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import getaddresses
from pathlib import Path
from typing import Any

Checker = Callable[[Any], Any]


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type_name(value)}")
    return value


def nonempty_string(value: Any) -> str:
    text = string(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def single_line(value: Any) -> str:
    text = string(value)
    if "\n" in text or "\r" in text:
        raise ValueError("must be on one line")
    return text


def int_range(low: int, high: int) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, float):
            raise ValueError(f"must be a whole number, not {value}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {type_name(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, not {value}")
        return value

    return check


def seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of seconds, not {type_name(value)}")
    if not 0 < value <= 600:
        raise ValueError(f"must be more than 0 and at most 600 seconds, not {value}")
    return float(value)


def choice(*options: str) -> Checker:
    def check(value: Any) -> str:
        text = string(value)
        if text not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}, not {text!r}")
        return text

    return check


def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("must be a list of non-empty strings")
    return tuple(value)


def string_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError('must be a table of strings, e.g. { utm_source = "newsletter" }')
    return dict(value)


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def language_tag(value: Any) -> str | None:
    """Only the shape is checked here (Babel is loaded when rendering, where a tag CLDR does
    not know is reported); "" means the default, the feed's language."""
    text = string(value).strip()
    if not text:
        return None
    if not _LANGUAGE_TAG.fullmatch(text):
        raise ValueError(f'must be a language tag such as "de" or "pt-BR", not {text!r}')
    return text


def http_url(value: Any) -> str:
    text = nonempty_string(value)
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https://, not {text!r}")
    return text.rstrip("/")


def path(value: Any) -> Path:
    """A file or folder; the configuration reader resolves it against the file's folder."""
    return Path(nonempty_string(value)).expanduser()


def mailbox(value: Any) -> str:
    """One address, with or without a display name: `Blog <news@example.org>`."""
    text = single_line(nonempty_string(value))
    example = "such as 'Blog <news@example.org>'"
    found = [(name, address) for name, address in getaddresses([text]) if name or address]
    if len(found) > 1:
        raise ValueError(f"must be one email address {example}, not a list ({text!r})")
    address = found[0][1] if found else ""
    problem = address_problem(address) if "@" in address else "it has no @"
    if problem:
        raise ValueError(f"must be an email address {example}, not {text!r} ({problem})")
    return text


def address_problem(address: str) -> str | None:
    """Why `address` (a bare addr-spec) is not a usable email address, or None.

    Syntax only, no DNS: the run must work offline and on CI.
    """
    from newsletter.addresses import check_address

    problem = check_address(address).problem
    return problem.rstrip(".") if problem else None


def type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)

"""The sandbox every template runs in: the built-in ones, the author's, and the subject.

An author's template is code, often copied from a theme. Rendered by a plain Jinja
environment it could reach Python itself (`{{ lipsum.__globals__['os'].environ }}` put
every API key into the email) or run for minutes (`{{ range(10**9)|list }}`). Here it runs
in Jinja's immutable sandbox, which refuses internals (`__globals__`, `__class__`, ...) and
calls that change data (https://jinja.palletsprojects.com/en/stable/sandbox/), and within
bounds on work: ranges, repetition and powers are capped, so are a filter's widths, every
call and attribute read counts against a budget, the output has a size limit, and the
render a deadline. Going past any of them is a `TemplateLimit`, which the environment
reports as a template error naming the file and line.
"""

from __future__ import annotations

import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 10_000
"""Numbers one `range()` may give: far more than any email lists."""
MAX_STEPS = 2_000_000
"""Calls, attribute reads and loop items one render may use."""
MAX_LENGTH = 5_000_000
"""Characters (or items) one value made by `*`, `%` or a padding filter may have, and
characters one template may write."""
MAX_POWER_BITS = 4_096
DEADLINE = 20.0
"""Seconds one render may take; a real email renders in milliseconds."""
_WIDE_FORMAT = re.compile(r"%[-+ #0]*(\d{7,})")


class TemplateLimit(SecurityError):
    """A template went past one of the sandbox's bounds."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.steps = 0
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def spend(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimit(
                f"it does more than {MAX_STEPS:,} steps of work, far more than an email needs"
            )
        if self.steps % 1024 == 0 and time.monotonic() > self.deadline:
            raise _too_slow(self.seconds)


_budget: ContextVar[_Budget | None] = ContextVar("newsletter_template_budget", default=None)


def _spend() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend()


def _too_slow(seconds: float) -> TemplateLimit:
    return TemplateLimit(f"it ran for more than {seconds:g} seconds")


class AuthorSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded work and bounded values."""

    intercepted_binops = frozenset({"*", "**", "%", "//"})

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "*":
            _check_repetition(left, right)
            _check_repetition(right, left)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)


def sandboxed(environment: AuthorSandbox) -> AuthorSandbox:
    """`environment` with a bounded `range`, no `lipsum` (nothing an email needs, and the
    classic way into Python's internals) and padding filters that bound their width."""
    environment.globals["range"] = bounded_range
    environment.globals.pop("lipsum", None)
    for name in ("center", "indent", "wordwrap", "truncate", "format"):
        environment.filters[name] = _bounded_filter(environment.filters[name])
    return environment


def bounded_range(*bounds: int) -> Iterable[int]:
    numbers = range(*bounds)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimit(
            f"range() of {len(numbers):,} numbers is more than a template may use ({MAX_RANGE:,})"
        )
    return _Counted(numbers)


class _Counted:
    """A range whose items count against the render's budget."""

    def __init__(self, numbers: range) -> None:
        self._numbers = numbers

    def __iter__(self) -> Iterator[int]:
        for number in self._numbers:
            _spend()
            yield number

    def __len__(self) -> int:
        return len(self._numbers)


def render_bounded(
    pieces: Callable[[], Iterable[str]], *, limit: int = MAX_LENGTH, deadline: float = DEADLINE
) -> str:
    """Join what a template writes (`template.generate(...)`), within the budget, the size
    limit and `deadline` seconds."""
    written: list[str] = []
    size = 0
    with _bounds(deadline):
        for piece in pieces():
            size += len(piece)
            if size > limit:
                raise TemplateLimit(f"it writes more than {limit:,} characters")
            written.append(piece)
    return "".join(written)


@contextmanager
def _bounds(seconds: float) -> Iterator[None]:
    token = _budget.set(_Budget(seconds))
    alarm = _alarm_available() and _budget_is_outermost(token)
    previous: Any = signal.SIG_DFL
    if alarm:
        # A loop over a plain list makes no call the budget sees; the alarm stops it too.
        previous = signal.getsignal(signal.SIGALRM)
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        _budget.reset(token)


def _alarm_available() -> bool:
    """Signals reach only the main thread, and only where SIGALRM exists (not Windows)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _budget_is_outermost(token: Any) -> bool:
    return token.old_value is None or token.old_value is token.MISSING


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    budget = _budget.get()
    raise _too_slow(budget.seconds if budget is not None else DEADLINE)


def _check_repetition(sequence: Any, count: Any) -> None:
    sized = isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int)
    if sized and len(sequence) * count > MAX_LENGTH:
        raise TemplateLimit(f"repeating a value {count:,} times makes it too long")


def _check_power(base: Any, exponent: Any) -> None:
    whole = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if whole and exponent * math.log2(abs(base)) > MAX_POWER_BITS:
        raise TemplateLimit(f"{base} ** {exponent} is too large a number")


def _check_format(text: str) -> None:
    if _WIDE_FORMAT.search(text):
        raise TemplateLimit("a %-format asks for a field too wide for an email")


def _bounded_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for index, value in enumerate([*args, *kwargs.values()]):
            if (
                index
                and isinstance(value, int)
                and not isinstance(value, bool)
                and value > MAX_LENGTH
            ):
                raise TemplateLimit(f"a width of {value:,} is more than an email can hold")
            if isinstance(value, str):
                _check_format(value)
        return original(*args, **kwargs)

    # Jinja reads how to call a filter (pass_context, pass_eval_context...) from attributes.
    bounded.__dict__.update(getattr(original, "__dict__", {}))
    return bounded

"""Placeholder until this section is written."""

from __future__ import annotations

from bench.common import Section


def section(*, quick: bool) -> Section:
    return Section("rss2email", "not measured yet")

"""The command line's own promises, in process: help that explains, and dispatch by handler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.cli import main

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = ("init", "check", "preview", "send", "baseline", "status", "resolve")


def help_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*args, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_in_its_help(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = help_of(capsys, command)
    # argparse prints: usage, a blank line, the description (if any), a blank line, options.
    paragraphs = [part for part in re.split(r"\n\s*\n", text) if part.strip()]
    assert paragraphs[0].startswith(f"usage: newsletter {command}")
    description = paragraphs[1]
    assert not description.startswith(("options:", "positional")), text
    assert len(description.split()) >= 12, "one real sentence, not a label"


@pytest.mark.parametrize("command", ["check", "preview", "send"])
def test_since_shows_the_date_format_it_wants(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert "--since YYYY-MM-DD" in help_of(capsys, command)


def test_the_main_help_says_where_the_configuration_comes_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The top-level help is printed without argparse (help_text.py), and returns.
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)
    assert "newsletter.toml" in text


def test_a_bad_date_is_a_usage_error_naming_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--since", "01/11/2026"])
    assert exited.value.code == 2
    assert "not an ISO date such as 2026-11-01" in capsys.readouterr().err


def test_resolve_as_without_a_post_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[provider]\nname = "outbox"\n', encoding="utf-8")
    assert main(["--config", str(config), "resolve", "--as", "sent"]) == 2
    error = capsys.readouterr().err
    assert "resolve --as needs --post" in error and "leave --as out" in error


def test_resolve_without_as_explains_which_providers_can_look_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[provider]\nname = "outbox"\n', encoding="utf-8")
    assert main(["--config", str(config), "resolve"]) == 2
    assert "outbox keeps no record newsletter can read" in capsys.readouterr().err

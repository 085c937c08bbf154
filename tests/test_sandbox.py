"""Author input stays input: templates and the subject run sandboxed and bounded, and the
settings that point at things (the templates folder, the feed's address) are checked.

A template copied from a theme could run commands or mail every API key in the environment
to the subscribers (`{{ lipsum.__globals__['os'].environ }}` did); `{{ range(10**9)|list }}`
in the subject ran for minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.render import sandbox

SECRET = "sk-sandbox-7f3a-MUST-NOT-LEAK"
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Sandbox Blog</title>'
    "<link>https://sandbox.example.org/</link><item><title>Hello</title>"
    "<link>https://sandbox.example.org/hello/</link><guid>hello</guid>"
    "<description>&lt;p&gt;Words.&lt;/p&gt;</description></item></channel></rss>"
)


def blog(folder: Path, *, settings: str = "", templates: dict[str, str] | None = None) -> Path:
    (folder / "feed.xml").write_text(FEED, encoding="utf-8")
    if templates is not None:
        (folder / "templates").mkdir()
        for name, text in templates.items():
            (folder / "templates" / name).write_text(text, encoding="utf-8")
        settings += '\ntemplates = "templates"'
    (folder / "newsletter.toml").write_text(
        '[feed]\nurl = "feed.xml"\n[newsletter]\nfrom = "Sandbox <news@sandbox.example.org>"\n'
        f'{settings}\n[provider]\nname = "outbox"\ndir = "outbox"\n',
        encoding="utf-8",
    )
    return folder


def preview(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    monkeypatch.setenv("BUTTONDOWN_API_KEY", SECRET)
    code = main(
        ["--config", str(folder / "newsletter.toml"), "preview", "--out", str(folder / "p")]
    )
    captured = capsys.readouterr()
    written = (
        "".join(
            path.read_text(errors="replace") for path in (folder / "p").glob("*") if path.is_file()
        )
        if (folder / "p").exists()
        else ""
    )
    assert SECRET not in captured.out + captured.err + written
    assert "Traceback" not in captured.err
    return code, captured.err


ESCAPES = [
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ post.__class__.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ namespace.__init__.__globals__['os'].environ['BUTTONDOWN_API_KEY'] }}",
    "{{ self._TemplateReference__context.environment }}",
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_template_reaching_for_python_internals_is_a_template_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    escape: str,
) -> None:
    template = "{# copied from a theme #}\nSubject line\n" + escape + "\n"
    folder = blog(tmp_path, templates={"post.txt.j2": template}, settings='mode = "per-post"')
    code, error = preview(folder, capsys, monkeypatch)
    assert code == 2
    assert f"{folder / 'templates' / 'post.txt.j2'}" in error
    assert "on line 3" in error


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("{{ range(10**9)|list }}", "range() of 1,000,000,000 numbers"),
        ("{{ 'x' * 10**9 }}", "repeating a value"),
        ("{{ 7 ** 1000000 }}", "too large a number"),
        ("{{ blog.title|center(10**9) }}", "a width of 1,000,000,000"),
        ("{{ '%0999999999d'|format(1) }}", "too wide"),
        ("{{ '%0999999999d' % 1 }}", "too wide"),
        (
            "{% for a in range(9000) %}{% for b in range(9000) %}{% endfor %}{% endfor %}",
            "steps of work",
        ),
        ("{% for a in range(3000) %}{{ post.title * 50 }}{% endfor %}", "more than 2,000"),
        ("{{ lipsum(10**9) }}", "'lipsum' is undefined"),
    ],
)
def test_the_subject_cannot_run_away(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    subject: str,
    reason: str,
) -> None:
    folder = blog(tmp_path, settings=f"subject = {subject!r}".replace("\\\\", "\\"))
    code, error = preview(folder, capsys, monkeypatch)
    assert code == 2
    assert "newsletter.subject" in error and reason in error


def test_a_template_that_loops_without_calling_anything_meets_the_deadline() -> None:
    # Loops over a plain list make no call the budget counts; the deadline still ends them.
    loops = "{% set xs = [0,1,2,3,4,5,6,7,8,9] %}" + "{% for x in xs %}" * 9 + "{% endfor %}" * 9
    template = sandbox.sandboxed(sandbox.AuthorSandbox()).from_string(loops)
    with pytest.raises(sandbox.TemplateLimit, match=r"ran for more than 0\.5 seconds"):
        sandbox.render_bounded(lambda: template.generate({}), deadline=0.5)


def test_the_built_in_and_ordinary_author_templates_still_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = blog(
        tmp_path,
        settings="subject = \"{{ blog.title }}: {{ posts|map(attribute='title')|join(', ') }}\"",
        templates={"preheader.txt.j2": "{% for i in range(3) %}{{ i }}{% endfor %} {{ count }}"},
    )
    code, _ = preview(folder, capsys, monkeypatch)
    assert code == 0
    (eml,) = (folder / "p").glob("*.eml")
    assert "Sandbox Blog: Hello" in eml.read_text()
    assert "012 1" in next((folder / "p").glob("*.html")).read_text()


# --- settings that point at things -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_templates_setting_that_names_no_folder_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    folder = blog(tmp_path, settings='templates = "my-templates"')
    if kind == "file":
        (folder / "my-templates").write_text("not a folder")
    assert main(["--config", str(folder / "newsletter.toml"), "check"]) == 2
    error = capsys.readouterr().err
    assert "newsletter.templates" in error
    assert ("is a file, not a folder" if kind == "file" else "does not exist") in error


@pytest.mark.parametrize("url", ["http:// bad host/", "https://exa mple.org/feed", "https://a..b/"])
def test_a_feed_url_with_an_impossible_host_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    folder = blog(tmp_path)
    config = (folder / "newsletter.toml").read_text().replace('"feed.xml"', repr(url))
    (folder / "newsletter.toml").write_text(config)
    assert main(["--config", str(folder / "newsletter.toml"), "check"]) == 2
    assert "is not a valid URL" in capsys.readouterr().err


def test_a_list_of_senders_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = blog(tmp_path)
    config = (folder / "newsletter.toml").read_text()
    config = config.replace("Sandbox <news@sandbox.example.org>", "a@sandbox.example.org, b@x.org")
    (folder / "newsletter.toml").write_text(config)
    assert main(["--config", str(folder / "newsletter.toml"), "check"]) == 2
    assert "not a list" in capsys.readouterr().err

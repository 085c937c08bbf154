"""The README's "Your own templates" section tells the truth: every value a template sees
is documented there, every documented value is there, and its example template works."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter.compose import compose
from newsletter.config import parse_config
from newsletter.models import Category, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render.context import PostView
from newsletter.render.media import Audio, Video

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Your own templates\n") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]


def table_names(heading: str) -> set[str]:
    """The backquoted names in the first column of the table after `heading`."""
    start = SECTION.index(heading)
    rows = re.findall(r"^\| (.*?) \|", SECTION[start:].split("\n\n", 2)[1], re.MULTILINE)
    return {name for row in rows for name in re.findall(r"`([\w.]+)`", row)}


def test_every_post_field_is_documented_and_every_documented_one_exists() -> None:
    fields = {field.name for field in dataclasses.fields(PostView)} - {"number"}
    documented = table_names("Each post has:")
    assert fields - documented == set()
    assert documented - fields == set()


def test_the_cards_fields_are_documented() -> None:
    row = next(line for line in SECTION.splitlines() if line.startswith("| `audio` |"))
    for field in dataclasses.fields(Audio):
        assert f"`{field.name}`" in row, field.name
    row = next(line for line in SECTION.splitlines() if line.startswith("| `video` |"))
    for field in dataclasses.fields(Video):
        assert f"`{field.name}`" in row, field.name


def feed_with(*posts: Post) -> Feed:
    return Feed(
        "Garden Notes",
        "https://garden.example.org/",
        "https://garden.example.org/feed",
        "en",
        posts,
    )


def post(number: int, *categories: str, words: int = 400) -> Post:
    body = "".join(f"<p>{'Compost takes time. ' * 20}</p>" for _ in range(words // 60))
    return Post(
        id=f"p{number}",
        link=f"https://garden.example.org/{number}/",
        title=f"Post {number}",
        author="Ann",
        published=None,
        updated=None,
        html=body,
        categories=tuple(Category(name) for name in categories),
    )


def test_every_documented_variable_is_defined_in_a_template(tmp_path: Path) -> None:
    names = table_names("Every template sees:")
    assert {"posts", "groups", "feeds", "unsubscribe_url"} <= names
    checks = "".join(
        f"{{% if {name.split('.')[0]} is not defined %}}MISSING {name}\n{{% endif %}}"
        for name in sorted(names)
    )
    (tmp_path / "post.txt.j2").write_text(checks + "checked\n", encoding="utf-8")
    config = parse_config(
        {
            "newsletter": {
                "from": "G <n@garden.example.org>",
                "mode": "per-post",
                "templates": str(tmp_path),
            }
        }
    )
    (email,) = compose(config, feed_with(post(1)), [post(1)], Unsubscribe("https://u.example/"))
    assert email.text.strip() == "checked"


@pytest.fixture
def example_templates(tmp_path: Path) -> Path:
    (block,) = re.findall(r"```jinja\n(\{# _post\.mjml\.j2.*?)```", SECTION, re.DOTALL)
    (tmp_path / "_post.mjml.j2").write_text(block, encoding="utf-8")
    return tmp_path


def test_the_example_template_shows_tags_and_hides_the_button_of_notes(
    example_templates: Path,
) -> None:
    config = parse_config(
        {"newsletter": {"from": "G <n@garden.example.org>", "templates": str(example_templates)}}
    )
    essay, note = post(1, "Garden", "Tomatoes"), post(2, "notes")
    (email,) = compose(config, feed_with(essay, note), [essay, note], Unsubscribe("https://u/"))
    tags = re.findall(r'<span class="tag"[^>]*>([^<]*)</span>', email.html)
    assert tags == ["Garden", "Tomatoes", "notes"] or tags == ["notes", "Garden", "Tomatoes"]
    buttons = re.findall(r'<a href="([^"]*)"[^>]*>Continue reading</a>', email.html)
    assert [link.split("?")[0] for link in buttons] == ["https://garden.example.org/1/"]
    # Without the category, the same note gets its button.
    plain = replace(note, categories=())
    (again,) = compose(config, feed_with(plain), [plain], Unsubscribe("https://u/"))
    assert ">Continue reading</a>" in again.html

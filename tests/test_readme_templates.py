"""The README's "Your own templates" section tells the truth: every value a template sees
is documented there, every documented value is there, and its example template works."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from pathlib import Path

import jinja2.meta
import pytest
from jinja2 import nodes

from newsletter.compose import compose
from newsletter.config import parse_config
from newsletter.models import Category, Enclosure, FeaturedImage, Feed, Post
from newsletter.providers.base import Unsubscribe
from newsletter.render.context import BlogView, PostView
from newsletter.render.environment import environment
from newsletter.render.feeds import FeedView, Group
from newsletter.render.media import Audio, Picture, Video

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
    fields = {field.name for field in dataclasses.fields(PostView)}
    documented = table_names("Each post has:")
    assert fields - documented == set()
    assert documented - fields == set()


def row_of(name: str) -> str:
    """The table row that documents `name` (its first column starts with it)."""
    return next(line for line in SECTION.splitlines() if line.startswith(f"| `{name}`"))


@pytest.mark.parametrize(
    ("name", "kind", "extra", "prefix"),
    [
        ("audio", Audio, (), ""),
        ("video", Video, (), ""),
        ("audio", Picture, (), ""),
        ("blog.title", BlogView, (), "blog."),
        ("groups", Group, (), ""),
        ("feeds", FeedView, (), ""),
        ("categories", Category, ("name",), ""),
        ("enclosures", Enclosure, ("kind",), ""),
    ],
)
def test_the_fields_of_each_value_a_template_reaches_are_documented(
    name: str, kind: type, extra: tuple[str, ...], prefix: str
) -> None:
    row = row_of(name)
    for field in (*(field.name for field in dataclasses.fields(kind)), *extra):
        assert f"`{prefix}{field}`" in row, f"{name}: {field}"


def test_every_variable_the_built_in_templates_use_is_documented() -> None:
    # What an author copies from the built-in templates must be explained: the values
    # every template sees and those a page gives its partials ({% set %} before an include).
    documented = {
        name.split(".")[0]
        for name in table_names("Every template sees:") | table_names("The partials are given:")
    }
    env = environment(None)
    for name in env.list_templates():
        source = env.loader.get_source(env, name)[0] if env.loader else ""
        tree = env.parse(source)
        own = {target.name for target in tree.find_all(nodes.Name) if target.ctx == "store"}
        used = jinja2.meta.find_undeclared_variables(tree) - set(env.globals) - own
        assert used - documented == set(), name


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
    assert {"posts", "groups", "feeds", "unsubscribe_url", "preheader_padding"} <= names
    html_only = {
        name
        for line in SECTION.splitlines()
        if "(HTML only)" in line
        for name in re.findall(r"`([\w.]+)`", line.split(" | ")[0])
    }
    assert html_only == {"preheader_padding"}

    def checks(among: set[str]) -> str:
        return "".join(
            f"{{% if {name.split('.')[0]} is not defined %}}MISSING {name} {{% endif %}}"
            for name in sorted(among)
        )

    (tmp_path / "post.txt.j2").write_text(checks(names - html_only) + "checked\n")
    (tmp_path / "post.mjml.j2").write_text(
        f"<mjml><mj-body><mj-section><mj-column><mj-text>{checks(names)}checked"
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
        encoding="utf-8",
    )
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
    assert "MISSING" not in email.html and "checked" in email.html


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


def test_the_example_template_keeps_the_watch_card_of_a_video(example_templates: Path) -> None:
    config = parse_config(
        {
            "newsletter": {
                "from": "G <n@garden.example.org>",
                "mode": "per-post",
                "templates": str(example_templates),
            }
        }
    )
    film = "https://garden.example.org/media/pruning.mp4"
    still = "https://garden.example.org/media/pruning.jpg"
    video = replace(
        post(3, "Garden"),
        enclosures=(Enclosure(film, "video/mp4"),),
        image=FeaturedImage(still),
        duration=125,
    )
    (email,) = compose(config, feed_with(video), [video], Unsubscribe("https://u/"))
    # The still, linked to the film, then the strip with the play sign, "Watch" and the length.
    assert re.search(rf'<a href="{film}"><img src="{still}" alt="Play video: Post 3"', email.html)
    (strip,) = re.findall(rf'<a href="{film}" class="nl-button"[^>]*>(.*?)</a>', email.html)
    assert strip.startswith('<span aria-hidden="true">&#9654;')
    assert "Watch" in strip and ">2:05</time>" in strip
    # The tags of the example are still there.
    assert re.findall(r'<span class="tag"[^>]*>([^<]*)</span>', email.html) == ["Garden"]

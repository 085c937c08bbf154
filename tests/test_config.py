from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import DEFAULT_USER_AGENT, load_config, parse_config
from newsletter.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "newsletter.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_working_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert config.source is None
    assert config.provider.name == "outbox"
    assert config.newsletter.mode == "digest"
    assert config.newsletter.flood_limit == 10
    assert config.newsletter.first_run_days == 7
    assert config.excerpt.fallback_words == 200
    assert dict(config.links.utm) == {"utm_source": "newsletter", "utm_medium": "email"}
    assert config.state.path == tmp_path / "state" / "ledger.json"
    assert config.feed.user_agent == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("newsletter/")


def test_lookup_order_flag_then_environment_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[newsletter]\ntitle = "cwd"\n')
    env_file = write(tmp_path, '[newsletter]\ntitle = "env"\n', "env.toml")
    flag_file = write(tmp_path, '[newsletter]\ntitle = "flag"\n', "flag.toml")
    assert load_config(None, {}).newsletter.title == "cwd"
    assert load_config(None, {"NEWSLETTER_CONFIG": str(env_file)}).newsletter.title == "env"
    assert (
        load_config(str(flag_file), {"NEWSLETTER_CONFIG": str(env_file)}).newsletter.title == "flag"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[newsletter]\nflod_limit = 3\n", "newsletter.flod_limit"),
        ("[feeds]\nurl = 'x'\n", "feeds"),
        ("[newsletter]\nmax_posts = 'ten'\n", "newsletter.max_posts"),
        ("[newsletter]\nmax_posts = 0\n", "newsletter.max_posts"),
        ("[newsletter]\nmode = 'weekly'\n", "newsletter.mode"),
        ("[newsletter]\nfrom = 'not an address'\n", "newsletter.from"),
        ("[feed]\ntimeout = true\n", "feed.timeout"),
        ("[provider]\nname = 'sendmail'\n", "provider.name"),
        ("[provider]\nname = 'postmark'\ndomain = 'x.org'\n", "provider.domain"),
        ("[provider]\nname = 'smtp'\nsecurity = 'tls'\n", "provider.security"),
        ("[provider]\nname = 'postmark'\nbase_url = 'ftp://x'\n", "provider.base_url"),
        ("[links]\nutm = 'yes'\n", "links.utm"),
        ("[excerpt]\nmarkers = [1]\n", "excerpt.markers"),
        ("feed = 3\n", "[feed]"),
    ],
)
def test_bad_keys_types_and_values_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    assert named in caught.value.message
    assert caught.value.exit_code == 2


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[feed\nurl = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path), {})


def test_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.toml"), {})
    with pytest.raises(ConfigError, match="NEWSLETTER_CONFIG"):
        load_config(None, {"NEWSLETTER_CONFIG": str(tmp_path / "nope.toml")})


def test_relative_paths_resolve_against_the_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "blog"
    folder.mkdir()
    path = write(
        folder,
        '[feed]\nurl = "feed.xml"\n[newsletter]\ntemplates = "mine"\n'
        '[provider]\nname = "outbox"\ndir = "../out"\n[state]\npath = "s/ledger.json"\n',
    )
    config = load_config(str(path), {})
    assert config.feed.url == str(folder.resolve() / "feed.xml")
    assert config.newsletter.templates == folder.resolve() / "mine"
    assert config.provider.options["dir"] == tmp_path.resolve() / "out"
    assert config.state.path == folder.resolve() / "s" / "ledger.json"


def test_urls_are_not_treated_as_paths(tmp_path: Path) -> None:
    path = write(tmp_path, '[feed]\nurl = "https://blog.example.org/feed/"\n')
    assert load_config(str(path), {}).feed.url == "https://blog.example.org/feed/"


def test_provider_options_are_checked_per_provider() -> None:
    config = parse_config(
        {"provider": {"name": "smtp", "host": "mail.example.org", "port": 2525, "security": "none"}}
    )
    assert config.provider.options == {"host": "mail.example.org", "port": 2525, "security": "none"}


def test_example_config_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "newsletter.toml"
    config = load_config(str(example), {})
    assert config.feed.url is not None and config.feed.url.endswith("examples/feed.xml")
    assert config.provider.name == "outbox"


def test_a_fraction_where_a_whole_number_belongs_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "[newsletter]\nfirst_run_days = 3.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    # "must be a whole number, not a number" left the author puzzled.
    assert "not a number" not in caught.value.message
    assert "3.5" in caught.value.message


def test_a_config_file_that_is_not_utf8_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_bytes("[newsletter]\ntitle = 'Caf\u00e9'\n".encode("utf-16"))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    assert "codec" not in caught.value.message
    assert "UTF-8" in caught.value.message


def test_a_folder_given_as_the_config_is_called_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(str(tmp_path), {})
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(None, {"NEWSLETTER_CONFIG": str(tmp_path)})

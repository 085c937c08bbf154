from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import (
    DEFAULT_USER_AGENT,
    ExcerptConfig,
    FeedConfig,
    LinksConfig,
    NewsletterConfig,
    StateConfig,
    load_config,
    parse_config,
)
from newsletter.errors import ConfigError
from newsletter.providers import PROVIDER_NAMES, spec_for


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
        ("[newsletter]\ndigest_excerpts = 'brief'\n", "newsletter.digest_excerpts"),
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
    (folder / "mine").mkdir(parents=True)  # a templates folder must exist
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


@pytest.mark.parametrize(
    ("section", "known"),
    [
        ("feed", "timeout = 5"),
        ("newsletter", "title = 'T'"),
        ("excerpt", "fallback_words = 50"),
        ("links", "utm = {}"),
        ("state", "path = 'ledger.json'"),
    ],
)
def test_a_typo_is_refused_in_every_section(tmp_path: Path, section: str, known: str) -> None:
    path = write(tmp_path, f"[{section}]\n{known}\ntimout = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    assert f"Unknown key {section}.timout in {path.resolve()}" in caught.value.message
    # Without the typo the same section loads: the key, not the section, was refused.
    load_config(str(write(tmp_path, f"[{section}]\n{known}\n")), {})


PROVIDER_MINIMUM = {
    "outbox": "",
    "smtp": "host = 'mail.example.org'\n",
    "buttondown": "",
    "mailgun": "domain = 'mg.example.org'\n",
    "postmark": "",
    "resend": "audience_id = 'aud-1'\n",
}


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_a_typo_is_refused_under_every_provider(tmp_path: Path, name: str) -> None:
    assert set(PROVIDER_MINIMUM) == set(PROVIDER_NAMES)
    head = f"[provider]\nname = '{name}'\n{PROVIDER_MINIMUM[name]}"
    path = write(tmp_path, head + "api_kee = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), {})
    message = caught.value.message
    assert f"Unknown key provider.api_kee in {path.resolve()} for the {name} provider" in message
    for key in spec_for(name).options:
        assert key in message  # the keys this provider does accept are listed
    load_config(str(write(tmp_path, head)), {})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("from", "a@example.org, b@example.org"),
        ("from", "Blog <a@example.org>, Other <b@example.org>"),
        ("from", "Blog news@example.org"),
        ("from", "news@"),
        ("from", "news@localhost"),
        ("reply_to", "not an address"),
        ("reply_to", "a@example.org; b@example.org"),
    ],
)
def test_an_address_setting_takes_exactly_one_valid_address(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"newsletter": {key: value}})
    assert f"newsletter.{key}" in caught.value.message
    assert "email address" in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        "news@example.org",
        "Blog <news@example.org>",
        '"Notes, weekly" <news@example.org>',
        "Zoë's Blog <zoë@example.org>",
    ],
)
def test_an_address_with_or_without_a_name_is_kept_as_written(value: str) -> None:
    config = parse_config({"newsletter": {"from": value, "reply_to": value}})
    assert config.newsletter.sender == value
    assert config.newsletter.reply_to == value


def test_a_mailgun_list_address_is_one_address_too() -> None:
    with pytest.raises(ConfigError, match=r"provider\.list_address.*one email address"):
        parse_config(
            {
                "provider": {
                    "name": "mailgun",
                    "domain": "mg.example.org",
                    "list_address": "a@mg.example.org, b@mg.example.org",
                }
            }
        )


def test_defaults_come_from_the_section_classes(tmp_path: Path) -> None:
    """What parse_config fills in for a missing key is the dataclass field's default."""
    config = parse_config({}, path=tmp_path / "newsletter.toml")
    assert config.feed == FeedConfig()
    assert config.newsletter == NewsletterConfig()
    assert config.excerpt == ExcerptConfig()
    assert config.links == LinksConfig()
    # Paths are the one difference: they resolve against the file's folder.
    assert config.state.path == tmp_path / StateConfig().path


def test_digest_excerpts_defaults_to_full_and_takes_short(tmp_path: Path) -> None:
    assert load_config(str(write(tmp_path, "")), {}).newsletter.digest_excerpts == "full"
    path = write(tmp_path, "[newsletter]\ndigest_excerpts = 'short'\n")
    assert load_config(str(path), {}).newsletter.digest_excerpts == "short"

"""The registry, the subscribers file and idempotency keys: what every adapter relies on."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from newsletter.config import parse_config
from newsletter.errors import ConfigError
from newsletter.providers import PROVIDER_NAMES, create, spec_for, traits_for
from newsletter.providers.idempotency import idempotency_key
from newsletter.providers.subscribers import load_subscribers, parse_subscribers
from tests.fakes.helpers import SECRET, provider_config, sample_email

SECRET_ENV = {
    name: variable for name in PROVIDER_NAMES if (variable := spec_for(name).credential_env)
}
MINIMAL = {
    "outbox": {},
    "smtp": {"host": "mail.example.org"},
    "buttondown": {},
    "mailgun": {"domain": "mg.example.org", "list_address": "news@mg.example.org"},
    "postmark": {},
    "resend": {"audience_id": "aud-1"},
}


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_destinations_are_portable_and_secret_free(tmp_path: Path, name: str) -> None:
    traits = traits_for(provider_config(tmp_path, name, **MINIMAL[name]))
    assert traits.name == name
    assert traits.destination.split(":")[0] == name
    assert str(tmp_path) not in traits.destination
    assert "/" not in traits.destination


@pytest.mark.parametrize("name", sorted(SECRET_ENV))
def test_missing_secret_names_its_variable(tmp_path: Path, name: str) -> None:
    options = {**MINIMAL[name], "username": "author"} if name == "smtp" else MINIMAL[name]
    with pytest.raises(ConfigError, match=rf"\${SECRET_ENV[name]}"):
        create(provider_config(tmp_path, name, **options), {})


@pytest.mark.parametrize(
    ("name", "key"), [("smtp", "host"), ("mailgun", "domain"), ("resend", "audience_id")]
)
def test_required_keys_are_named(tmp_path: Path, name: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"provider\.{key}"):
        traits_for(provider_config(tmp_path, name))


def test_base_url_replaces_the_host(tmp_path: Path) -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"MessageID": "m-1", "ErrorCode": 0})

    config = provider_config(tmp_path, "postmark", base_url="http://127.0.0.1:9/")
    adapter = create(
        config, {"POSTMARK_SERVER_TOKEN": SECRET}, transport=httpx.MockTransport(answer)
    )
    adapter.send_test(sample_email(), address="me@example.org")
    adapter.close()
    assert [str(url) for url in seen] == ["http://127.0.0.1:9/email"]


def test_the_secret_comes_from_the_mapping_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", SECRET)
    with pytest.raises(ConfigError, match=r"\$RESEND_API_KEY"):
        create(provider_config(tmp_path, "resend", audience_id="a"), {})


def test_unknown_provider_keys_are_refused_by_the_config() -> None:
    with pytest.raises(ConfigError, match=r"provider\.api_key"):
        parse_config({"provider": {"name": "postmark", "api_key": "x"}})


def test_idempotency_key_is_deterministic_and_specific() -> None:
    key = idempotency_key("resend:aud-1", ["https://b.example/2", "https://b.example/1"])
    assert key == idempotency_key("resend:aud-1", ["https://b.example/1", "https://b.example/2"])
    assert key != idempotency_key("resend:aud-2", ["https://b.example/1", "https://b.example/2"])
    assert key != idempotency_key("resend:aud-1", ["https://b.example/1"])
    assert idempotency_key("d", ["ab", "c"]) != idempotency_key("d", ["a", "bc"])
    assert len(key) <= 200


def test_subscribers_file_validates_dedupes_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_text(
        "\ufeffEmail,Name\n"
        "ada@example.org,Ada Lovelace\n"
        "not an address,Bob\n"
        "ADA@example.org,Ada again\n"
        'grace@example.org,"Grace\nHopper"\n'
        ",\n"
        "nodot@localhost,\n",
        encoding="utf-8",
    )
    listing = load_subscribers(path)
    assert [(s.email, s.name) for s in listing.subscribers] == [
        ("ada@example.org", "Ada Lovelace"),
        ("grace@example.org", "Grace Hopper"),
    ]
    reasons = {r.address: r.reason for r in listing.skipped}
    assert set(reasons) == {"not an address", "ADA@example.org", "nodot@localhost"}
    assert "duplicate" in reasons["ADA@example.org"]
    assert listing.subscribers[1].to_header == "Grace Hopper <grace@example.org>"


def test_subscribers_file_without_email_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no 'email' column"):
        parse_subscribers("address\nada@example.org\n", source="s.csv")


def test_missing_subscribers_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"provider\.subscribers"):
        load_subscribers(tmp_path / "absent.csv")


def test_a_file_with_no_valid_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="no valid address"):
        parse_subscribers("email\nnope\n", source="s.csv")


def test_an_unclosed_quote_is_reported_not_swallowing_the_rest_of_the_list() -> None:
    """csv reads from an opening quote to the next one: left open, every later row became part
    of one name, and those subscribers were silently never sent to."""
    text = 'email,name\nada@example.org,"Ada\nbob@example.org,Bob\ncarol@example.org,Carol\n'
    with pytest.raises(ConfigError, match=r"s\.csv.*line 2"):
        parse_subscribers(text, source="s.csv")


def test_a_huge_runaway_field_is_a_clear_error_not_a_crash() -> None:
    text = 'email,name\nada@example.org,"Ada\n' + "x@example.org,X\n" * 20_000
    with pytest.raises(ConfigError, match=r"s\.csv"):
        parse_subscribers(text, source="s.csv")


def test_an_international_domain_is_kept_in_its_ascii_form() -> None:
    """email-validator turns `xn--` domains into Unicode; sent that way they need SMTPUTF8 at
    every hop, which plain servers and APIs refuse, though the address typed was ASCII."""
    listing = parse_subscribers(
        "email\nuser@xn--mnchen-3ya.de\nuser@münchen.de\nzoë@example.org\n", source="s.csv"
    )
    assert [s.email for s in listing.subscribers] == ["user@xn--mnchen-3ya.de", "zoë@example.org"]
    [duplicate] = listing.skipped
    assert "duplicate" in duplicate.reason


@pytest.mark.parametrize("name", ["buttondown", "mailgun", "postmark", "resend"])
@pytest.mark.parametrize("stray", ["\u00a0", "\u2026", "\r", "\x01"])
def test_a_key_pasted_with_a_stray_character_is_a_clear_config_error(
    tmp_path: Path, name: str, stray: str
) -> None:
    """A non-ASCII character crashed with an unexpected UnicodeEncodeError; a control character
    was retried four times and reported as 'cannot reach', leaving the posts pending."""
    config = provider_config(tmp_path, name, **MINIMAL[name])
    key = f"key-{SECRET}{stray}tail"
    with pytest.raises(ConfigError) as raised:
        create(config, {SECRET_ENV[name]: key})
    assert f"${SECRET_ENV[name]}" in raised.value.message
    assert SECRET not in raised.value.message

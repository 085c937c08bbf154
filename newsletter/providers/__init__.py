"""Provider registry: traits from configuration alone, adapters with their secrets.

`traits_for` needs no secret, so `preview` and `check` render exactly what `send` would;
`create` reads the provider's secret from the environment mapping it is handed (never from
`os.environ` directly), and imports the adapter (and httpx) only then, so commands that never
send do not pay for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from newsletter.config import DEFAULT_USER_AGENT, Config
from newsletter.errors import ConfigError
from newsletter.providers.base import Provider, Traits, Unsubscribe

SECRET_ENV = {
    "smtp": "SMTP_PASSWORD",
    "buttondown": "BUTTONDOWN_API_KEY",
    "mailgun": "MAILGUN_API_KEY",
    "postmark": "POSTMARK_SERVER_TOKEN",
    "resend": "RESEND_API_KEY",
}
DEFAULT_BASE_URL = {
    "buttondown": "https://api.buttondown.com",
    "mailgun": "https://api.mailgun.net",
    "postmark": "https://api.postmarkapp.com",
    "resend": "https://api.resend.com",
}
MAILGUN_EU_BASE_URL = "https://api.eu.mailgun.net"
DEFAULT_CONCURRENCY = 4
DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_SUBSCRIBERS = "subscribers.csv"
POSTMARK_DEFAULT_STREAM = "broadcast"


def traits_for(config: Config) -> Traits:
    name = config.provider.name
    options = config.provider.options
    if name == "outbox":
        return Traits(name="outbox", destination="outbox", unsubscribe=_mailto_sender(config))
    if name == "smtp":
        host = _required(options, "host", name)
        return Traits(
            name="smtp", destination=f"smtp:{host}", unsubscribe=_smtp_unsubscribe(config)
        )
    if name == "buttondown":
        # Buttondown adds List-Unsubscribe itself on every real send.
        return Traits(
            name="buttondown",
            destination="buttondown",
            unsubscribe=Unsubscribe(url="{{ unsubscribe_url }}"),
            idempotent=True,
            drafts=True,
        )
    if name == "mailgun":
        domain = _required(options, "domain", name)
        list_address = options.get("list_address")
        if list_address and options.get("subscribers"):
            raise ConfigError(
                "The mailgun provider takes either provider.list_address (a Mailgun mailing "
                "list) or provider.subscribers (a CSV file), not both; remove one."
            )
        # With the domain's unsubscribe tracking on, Mailgun substitutes these variables and
        # adds List-Unsubscribe and List-Unsubscribe-Post itself.
        placeholder = "%mailing_list_unsubscribe_url%" if list_address else "%unsubscribe_url%"
        audience = parseaddr(list_address)[1] if list_address else "subscribers"
        return Traits(
            name="mailgun",
            destination=f"mailgun:{domain}:{audience}",
            unsubscribe=Unsubscribe(url=placeholder),
        )
    if name == "postmark":
        stream = options.get("message_stream") or POSTMARK_DEFAULT_STREAM
        # Broadcast streams get Postmark's own RFC 8058 headers, which cannot be overridden.
        return Traits(
            name="postmark",
            destination=f"postmark:{stream}",
            unsubscribe=Unsubscribe(url="{{{ pm:unsubscribe }}}"),
        )
    if name == "resend":
        audience = _required(options, "audience_id", name)
        return Traits(
            name="resend",
            destination=f"resend:{audience}",
            unsubscribe=Unsubscribe(url="{{{RESEND_UNSUBSCRIBE_URL}}}"),
            idempotent=True,
            drafts=True,
        )
    raise ConfigError(f"Unknown provider {name!r}; see provider.name in SPEC for the choices.")


def create(
    config: Config, environ: Mapping[str, str], *, sleep: Callable[[float], None] = time.sleep
) -> Provider:
    """Build the configured adapter; `sleep` is how retries wait (tests pass a recorder)."""
    traits = traits_for(config)
    options = config.provider.options
    if traits.name == "outbox":
        from newsletter.providers.outbox import OutboxProvider

        return OutboxProvider(traits, Path(options.get("dir") or config.base_dir / "outbox"))
    if traits.name == "smtp":
        return _create_smtp(config, traits, environ)

    secret = _secret(traits.name, environ)
    from newsletter.providers.http import HttpClient

    def client(**vendor: Any) -> HttpClient:
        return HttpClient(
            provider=traits.name.capitalize(),
            base_url=_base_url(traits.name, options),
            secret=secret,
            secret_env=SECRET_ENV[traits.name],
            timeout=options.get("timeout") or DEFAULT_HTTP_TIMEOUT,
            concurrency=options.get("concurrency") or DEFAULT_CONCURRENCY,
            sleep=sleep,
            user_agent=DEFAULT_USER_AGENT,
            **vendor,
        )

    if traits.name == "buttondown":
        from newsletter.providers.buttondown import ButtondownProvider

        return ButtondownProvider(traits, client(headers=ButtondownProvider.auth_headers(secret)))
    if traits.name == "mailgun":
        from newsletter.providers.mailgun import MailgunProvider

        return MailgunProvider(
            traits,
            client(auth=("api", secret)),
            domain=options["domain"],
            list_address=options.get("list_address"),
            subscribers_path=_subscribers_path(config) if not options.get("list_address") else None,
        )
    if traits.name == "postmark":
        from newsletter.providers.postmark import PostmarkProvider

        return PostmarkProvider(
            traits,
            client(headers=PostmarkProvider.auth_headers(secret)),
            message_stream=options.get("message_stream") or POSTMARK_DEFAULT_STREAM,
            subscribers_path=_subscribers_path(config),
        )
    if traits.name == "resend":
        from newsletter.providers.resend import ResendProvider

        return ResendProvider(
            traits,
            client(headers=ResendProvider.auth_headers(secret)),
            audience_id=options["audience_id"],
        )
    raise ConfigError(f"Unknown provider {traits.name!r}.")


def _create_smtp(config: Config, traits: Traits, environ: Mapping[str, str]) -> Provider:
    from newsletter.providers.smtp import SmtpProvider, SmtpSettings

    options = config.provider.options
    username = options.get("username")
    password = environ.get(SECRET_ENV["smtp"]) or None
    if username and not password:
        raise ConfigError(
            f"provider.username is set but ${SECRET_ENV['smtp']} is empty; export the SMTP "
            "password in that variable (never in newsletter.toml)."
        )
    if password and not username:
        raise ConfigError(
            f"${SECRET_ENV['smtp']} is set but provider.username is not; add the SMTP login "
            "name to [provider] in newsletter.toml."
        )
    security = options.get("security") or "starttls"
    settings = SmtpSettings(
        host=options["host"],
        port=options.get("port") or {"ssl": 465, "starttls": 587, "none": 25}[security],
        security=security,
        username=username,
        password=password,
        timeout=options.get("timeout") or DEFAULT_HTTP_TIMEOUT,
    )
    return SmtpProvider(traits, settings, subscribers_path=_subscribers_path(config))


def _secret(name: str, environ: Mapping[str, str]) -> str:
    variable = SECRET_ENV[name]
    value = environ.get(variable, "").strip()
    if not value:
        raise ConfigError(
            f"The {name} provider needs its API key in the environment variable ${variable}, "
            "which is not set; export it (in GitHub Actions, add it as a repository secret)."
        )
    # It travels in an HTTP header, where a non-ASCII character crashes the client and a
    # control character fails every request as if the provider were unreachable.
    if not value.isascii() or not value.isprintable():
        raise ConfigError(
            f"The API key in ${variable} contains a character that cannot be part of a key "
            "(a non-ASCII or control character, often picked up when copying it); copy the "
            "key again from the provider's dashboard and paste it alone."
        )
    return value


def _base_url(name: str, options: Mapping[str, Any]) -> str:
    explicit: str | None = options.get("base_url")
    if explicit:
        return explicit
    if name == "mailgun" and options.get("region") == "eu":
        return MAILGUN_EU_BASE_URL
    return DEFAULT_BASE_URL[name]


def _subscribers_path(config: Config) -> Path:
    configured: Path | None = config.provider.options.get("subscribers")
    return configured or config.base_dir / DEFAULT_SUBSCRIBERS


def _required(options: Mapping[str, Any], key: str, provider: str) -> str:
    value = options.get(key)
    if not value:
        raise ConfigError(
            f"The {provider} provider needs provider.{key} in newsletter.toml; add it to the "
            "[provider] table."
        )
    return str(value)


def _mailto_sender(config: Config) -> Unsubscribe:
    address = parseaddr(config.newsletter.sender)[1]
    mailto = f"mailto:{address}?subject=unsubscribe"
    return Unsubscribe(url=mailto, list_unsubscribe=f"<{mailto}>")


def _smtp_unsubscribe(config: Config) -> Unsubscribe:
    """Plain SMTP has no list service: link to the author's own unsubscribe page when there is
    one (https allows RFC 8058 one-click), else a mailto: the author handles by hand."""
    url: str | None = config.provider.options.get("unsubscribe_url")
    if not url:
        return _mailto_sender(config)
    return Unsubscribe(url=url, list_unsubscribe=f"<{url}>", one_click=url.startswith("https://"))

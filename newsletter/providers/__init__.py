"""Provider registry: a lookup from `provider.name` to the spec its adapter module declares.

Adding a provider is one new module that declares `PROVIDER`, its `ProviderSpec` (see
`providers/base.py`), and one line in `MODULES`. Only the chosen provider's module is imported.

`traits_for` needs no secret, so `preview` and `check` render exactly what `send` would;
`create` reads the provider's secret from the environment mapping it is handed (never from
`os.environ` directly), and imports httpx only then, so commands that never send do not pay
for it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from newsletter.errors import ConfigError
from newsletter.providers.base import Provider, ProviderSpec, Setup, Traits

if TYPE_CHECKING:
    import httpx

    from newsletter.config import Config
    from newsletter.http import Jitter
    from newsletter.providers.api import ApiClient

MODULES = {
    "outbox": "newsletter.providers.outbox",
    "smtp": "newsletter.providers.smtp",
    "buttondown": "newsletter.providers.buttondown",
    "mailgun": "newsletter.providers.mailgun",
    "postmark": "newsletter.providers.postmark",
    "resend": "newsletter.providers.resend",
}
PROVIDER_NAMES = tuple(MODULES)


def spec_for(name: str) -> ProviderSpec:
    if name not in MODULES:
        raise ConfigError(
            f"Unknown provider {name!r}; provider.name must be one of {', '.join(MODULES)}."
        )
    spec: ProviderSpec = importlib.import_module(MODULES[name]).PROVIDER
    return spec


def traits_for(config: Config) -> Traits:
    return Setup(spec_for(config.provider.name), config).traits()


def create(
    config: Config,
    environ: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Jitter | None = None,
) -> Provider:
    """Build the configured adapter.

    `transport` replaces the network for every request it makes (an `httpx.MockTransport`
    in tests); `sleep` is how retries wait and `jitter` where their random spread comes
    from, so tests see each pause without waiting for it.
    """
    spec = spec_for(config.provider.name)

    def client(setup: Setup) -> ApiClient:
        from newsletter.config import DEFAULT_USER_AGENT
        from newsletter.providers.api import ApiClient

        assert spec.api is not None and spec.credential_env is not None
        options = config.provider.options
        return ApiClient(
            spec.api,
            secret=_secret(spec.name, spec.credential_env, environ),
            secret_env=spec.credential_env,
            base_url=spec.api.root(options.get("base_url"), options.get("region")),
            timeout=setup.option("timeout"),
            concurrency=setup.option("concurrency"),
            user_agent=DEFAULT_USER_AGENT,
            transport=transport,
            sleep=sleep,
            jitter=jitter,
        )

    return spec.build(Setup(spec, config, environ, client=client))


def _secret(name: str, variable: str, environ: Mapping[str, str]) -> str:
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

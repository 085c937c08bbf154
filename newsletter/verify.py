"""The provider's own settings the email relies on, checked through its API before a send.

Mailgun replaces its unsubscribe placeholder, and adds List-Unsubscribe, only when the
domain's unsubscribe tracking is on; Postmark does so only on a Broadcasts stream whose
unsubscribes it handles. Without that, every reader gets a dead unsubscribe link and the
send breaks the bulk-sender rules, so `send` refuses (exit 2) with a sentence naming the
setting and where to change it, and `check` says the same before the day of the send
(docs/providers.md#unsubscribe-settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from newsletter.providers import spec_for
from newsletter.providers.base import Provider, Verifies

if TYPE_CHECKING:
    import httpx

    from newsletter.config import Config


def verify(provider: Provider) -> tuple[str, ...]:
    """Check the provider's settings where it has any to check; return the warnings for
    what could not be checked (a ProviderSetupError stops the run)."""
    return provider.verify() if isinstance(provider, Verifies) else ()


def verify_configured(
    config: Config, environ: Mapping[str, str], transport: httpx.BaseTransport | None
) -> tuple[str, ...]:
    """`check`'s look at the same settings: with the provider's secret at hand, as `send`
    does; without it (a check on the author's computer), a warning that says so."""
    spec = spec_for(config.provider.name)
    if not spec.verifies:
        return ()
    variable = spec.credential_env
    if variable and not environ.get(variable, "").strip():
        return (
            f"Could not check {spec.name}'s unsubscribe settings: ${variable} is not set "
            "here (send checks them before it sends).",
        )
    from newsletter.providers import create

    provider = create(config, environ, transport=transport)
    try:
        return verify(provider)
    finally:
        provider.close()

"""Provider registry: traits from configuration alone, adapters with their secrets.

`traits_for` needs no secret, so `preview` and `check` render exactly what `send` would;
`create` reads the provider's secret from the environment it is handed.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path

from newsletter.config import Config
from newsletter.providers.base import Provider, Traits, Unsubscribe
from newsletter.providers.outbox import OutboxProvider


def traits_for(config: Config) -> Traits:
    name = config.provider.name
    options = config.provider.options
    if name == "outbox":
        address = parseaddr(config.newsletter.sender)[1]
        mailto = f"mailto:{address}?subject=unsubscribe"
        return Traits(
            name="outbox",
            destination="outbox",
            unsubscribe=Unsubscribe(url=mailto, list_unsubscribe=f"<{mailto}>"),
        )
    raise NotImplementedError(name)


def create(config: Config, environ: Mapping[str, str]) -> Provider:
    traits = traits_for(config)
    if traits.name == "outbox":
        directory = Path(config.provider.options.get("dir") or config.base_dir / "outbox")
        return OutboxProvider(traits, directory)
    raise NotImplementedError(traits.name)

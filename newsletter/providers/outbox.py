"""The no-account default: write each email as an `.eml` file into a local folder.

It lets an author try the whole pipeline without a mail provider and read the result in any
mail client. There is no list behind it, so the unsubscribe link is a mailto: to the sender.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from newsletter import checks
from newsletter.errors import ProviderError
from newsletter.models import Email, Receipt
from newsletter.providers.base import Option, ProviderSpec, Traits, mailto_sender


class OutboxProvider:
    def __init__(self, traits: Traits, directory: Path) -> None:
        self.traits = traits
        self.directory = directory

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        return self._write(email, to="subscribers@outbox.invalid")

    def send_test(self, email: Email, *, address: str) -> Receipt:
        # The "[Test] " subject prefix already names the file "...-test-...".
        return self._write(email, to=address)

    def close(self) -> None:
        """Nothing to release: each email is written and closed at once."""

    def _write(self, email: Email, *, to: str) -> Receipt:
        # Here, not at the top: a dry run loads this module for its traits and writes nothing.
        from newsletter.message import build_message

        message = build_message(email, to=to)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{slugify(email.subject)}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = _unused_path(self.directory, name)
            path.write_bytes(bytes(message))
        except OSError as error:
            raise ProviderError(
                f"Cannot write to the outbox folder {self.directory} ({error.strerror}); "
                "check that it is writable or set [provider] dir.",
                maybe_sent=False,
            ) from None
        return Receipt(provider="outbox", message_id=str(message["Message-ID"]), accepted=1)


def slugify(text: str, limit: int = 50) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "email"


def _unused_path(directory: Path, name: str) -> Path:
    path = directory / f"{name}.eml"
    counter = 2
    while path.exists():
        path = directory / f"{name}-{counter}.eml"
        counter += 1
    return path


PROVIDER = ProviderSpec(
    name="outbox",
    credential_env=None,
    options={"dir": Option(checks.path, default=Path("outbox"))},
    destination=lambda setup: "outbox",
    unsubscribe=mailto_sender,
    build=lambda setup: OutboxProvider(setup.traits(), setup.option("dir")),
)

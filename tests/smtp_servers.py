"""Real aiosmtpd servers on loopback for the SMTP tests, each behaving as one kind of server
does: refusing some readers, asking to come back later, hanging up after the data, holding
its answer, or echoing a login back.

Every server counts what each reader received (`Mailbox.received`), which is what the
exactly-once tests assert on.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOGIN = "author"
HANG_GUARD = 120
"""Seconds after which a held answer is given anyway (never reached when a test works)."""


class Mailbox:
    """Collects every message; refuses recipients at `refused.example.net`."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], Message]] = []
        self.raw: list[bytes] = []
        self.lock = threading.Lock()

    @property
    def received(self) -> Counter[str]:
        """How many messages each reader got."""
        with self.lock:
            return Counter(rcpt for _, rcpts, _ in self.envelopes for rcpt in rcpts)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example.net"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.keep(envelope)
        return "250 Message accepted for delivery"

    def keep(self, envelope: Any) -> None:
        raw = envelope.original_content or envelope.content
        with self.lock:
            self.raw.append(raw)
            self.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(raw))
            )


class RefusesEveryone(Mailbox):
    """A relay that wants a login first: every recipient is refused."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.7.1 Relaying denied"


class RefusesEveryMessage(Mailbox):
    """Takes every recipient, then refuses every message after its data."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "554 5.7.1 Message rejected as spam"


class RateLimited(Mailbox):
    """Takes `allowed` messages, then answers every RCPT with a temporary 451 (a hosted
    server's hourly limit), until `allowed` is raised again."""

    def __init__(
        self, allowed: int, *, reply: str = "451 4.7.1 Rate limit exceeded, try later"
    ) -> None:
        super().__init__()
        self.allowed = allowed
        self.reply = reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if len(self.envelopes) >= self.allowed:
            return self.reply
        return await super().handle_RCPT(server, session, envelope, address, options)


class HangsUpAfterData(Mailbox):
    """Takes the data of message number `which` (counting from 1), then drops the connection
    instead of answering, once: the client cannot know whether the message arrived. With
    `keeps`, the server delivers it anyway (as many do); without, it does not."""

    def __init__(self, which: int, *, keeps: bool = True) -> None:
        super().__init__()
        self.which = which
        self.keeps = keeps
        self.seen = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen += 1
        if self.seen != self.which:
            self.keep(envelope)
        else:
            if self.keeps:
                self.keep(envelope)
            server.transport.close()
        return "250 Message accepted for delivery"


class HoldsAnswer(Mailbox):
    """Keeps the message for reader number `which`, then holds the answer until `release`
    is set (a slow server, while the test kills the client)."""

    def __init__(self, which: int, *, delay: float | None = None) -> None:
        super().__init__()
        self.which = which
        self.delay = delay
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.keep(envelope)
        if len(self.envelopes) == self.which:
            self.arrived.set()
            if self.delay is not None:
                await asyncio.sleep(self.delay)
            else:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.release.wait, HANG_GUARD
                )
        return "250 Message accepted for delivery"


class EchoesLogin(Mailbox):
    """Refuses every login with a reply that repeats what the client sent, decoded too."""

    async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: list[str]) -> str:
        said = " ".join(args)
        decoded = base64.b64decode(args[1]).decode("utf-8", "replace") if len(args) > 1 else ""
        return f"535 5.7.8 Bad credentials: you sent AUTH {said} ({decoded!r})"


def authenticate(password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == LOGIN.encode()
            and data.password == password.encode()
        )
        # handled=False makes aiosmtpd answer a refusal with its standard 535 reply.
        return AuthResult(success=ok, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(mailbox: Mailbox, *, password: str = "", **options: Any) -> Iterator[int]:
    """Run `mailbox` on a free loopback port; yield the port."""
    port = free_port()
    if password:
        options = {
            "authenticator": authenticate(password),
            "auth_require_tls": False,
            **options,
        }
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        if isinstance(mailbox, HoldsAnswer):
            mailbox.release.set()
        controller.stop()

"""What a mail provider is to the rest of the program: its spec, its traits, its interface.

Each adapter module declares one `ProviderSpec` (name, secret, option schema, API facts,
unsubscribe placeholder, ledger key) next to the class that implements `Provider`; the
registry in `providers/__init__.py` only looks specs up by name. Nothing here imports httpx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from newsletter import checks
from newsletter.errors import ConfigError
from newsletter.ledger.progress import batch_id
from newsletter.models import Email, Receipt

if TYPE_CHECKING:
    from newsletter.config import Config
    from newsletter.ledger import InDoubt
    from newsletter.providers.api import ApiClient


@dataclass(frozen=True)
class Unsubscribe:
    """How the email lets a reader leave the list, as this provider wants it written."""

    url: str
    """What goes in the body link's href: the provider's own placeholder (e.g. Postmark's
    `{{{ pm:unsubscribe }}}`), which the provider replaces per recipient, or a plain URL."""
    list_unsubscribe: str | None = None
    """The `List-Unsubscribe` header value to set ourselves, or None where the provider adds
    `List-Unsubscribe` and `List-Unsubscribe-Post` itself."""
    one_click: bool = False
    """Whether to also set `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058,
    only valid with an https URL in List-Unsubscribe)."""


@dataclass(frozen=True)
class Traits:
    """What a provider can do; known from configuration alone (no secret needed), so that
    `preview` can render exactly what `send` would."""

    name: str
    destination: str
    """The ledger key: provider plus its list/audience/domain, so that sends to one list never
    count for another."""
    unsubscribe: Unsubscribe
    idempotent: bool = False
    """Retries with the same key are recognised by the provider (Buttondown, Resend)."""
    drafts: bool = False
    """`send --draft` is possible (Buttondown, Resend)."""
    drafts_page: str | None = None
    """Where the provider's dashboard lists the drafts, for the run's summary to link."""
    settles: bool = False
    """Its adapter implements `Settles`: an interrupted send is settled from the provider's
    own records (Postmark, Mailgun)."""
    per_recipient: bool = False
    """Hands over one message per recipient and reports each (`EachRecipient`, SMTP), so an
    interrupted send can be carried on for the readers it had not reached."""


class Provider(Protocol):
    traits: Traits

    def send(self, email: Email, *, idempotency_key: str) -> Receipt:
        """Send to the whole list. Raises ProviderError with one plain sentence on failure."""
        ...

    def send_test(self, email: Email, *, address: str) -> Receipt:
        """Send to one address only (the subject already carries the `[Test] ` prefix)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Drafts(Protocol):
    """The optional capability behind `send --draft`: a provider that keeps drafts."""

    def create_draft(self, email: Email, *, idempotency_key: str) -> Receipt:
        """Create a draft for review; nothing goes out."""
        ...


class Journal(Protocol):
    """Where an adapter that marks its batches says what it does, as it does it (the ledger's
    `Progress` of the send, kept by `delivery.py`). Recipients are fingerprints."""

    @property
    def served(self) -> frozenset[str]:
        """Recipients this send already reached in an earlier, interrupted run."""
        ...

    def posting(self, recipients: Sequence[str]) -> str:
        """Just before a batch's request: record it in doubt (durably) and return the id the
        messages must carry so the provider's records can be searched for it."""
        ...

    def answered(self, batch: str, reached: Sequence[str]) -> None:
        """The provider answered the batch; `reached` need the email no more."""
        ...

    def not_processed(self, batch: str) -> None:
        """The batch's request certainly did nothing (refused before it was acted on)."""
        ...


class Unrecorded:
    """A journal for a send made outside `Delivery` (a test, a benchmark): batch ids as the
    ledger would hand them out, nothing recorded."""

    served: frozenset[str] = frozenset()

    def __init__(self, key: str, began: datetime) -> None:
        self.key = key
        self.began = began
        self.count = 0
        self.lock = threading.Lock()

    def posting(self, recipients: Sequence[str]) -> str:
        with self.lock:
            self.count += 1
            return batch_id(self.key, self.began, self.count)

    def answered(self, batch: str, reached: Sequence[str]) -> None:
        """Nothing to record."""

    def not_processed(self, batch: str) -> None:
        """Nothing to record."""


@dataclass(frozen=True)
class Finding:
    """What a provider's own records say of one batch that was in doubt."""

    found: frozenset[str]
    """The batch's recipients (fingerprints) the records show the provider accepted."""
    conclusive: bool
    """Whether a recipient missing from the records was certainly not sent to: false too
    soon after the request (the records lag) or once they may have been deleted."""
    reason: str = ""
    """When not conclusive, why, as the end of a sentence ("and Postmark can take ...")."""
    again_at: datetime | None = None
    """When not conclusive but a later look will be: from when."""


def timely_finding(
    found: Iterable[str],
    *,
    now: datetime,
    listed_by: datetime,
    too_soon: str,
    kept_until: datetime,
    too_old: str,
) -> Finding:
    """What a completed look-up says, given when the vendor's records list an accepted batch
    (`listed_by`) and until when they keep it (`kept_until`): an absence proves nothing
    before the one or after the other, and `too_soon` / `too_old` say so."""
    if now < listed_by:
        return Finding(frozenset(found), conclusive=False, reason=too_soon, again_at=listed_by)
    if now > kept_until:
        return Finding(frozenset(found), conclusive=False, reason=too_old)
    return Finding(frozenset(found), conclusive=True)


@runtime_checkable
class Settles(Protocol):
    """A provider whose records can say whether a marked batch went out (Postmark, Mailgun):
    each batch carries an id, and an interrupted send is settled by looking the ids up."""

    traits: Traits
    vendor: str
    """The provider's name as the author reads it ("Postmark")."""

    def fingerprint(self, address: str) -> str:
        """A recipient (or a fixed text) as the journal records it, keyed with the secret."""
        ...

    def send_marked(self, email: Email, *, idempotency_key: str, journal: Journal) -> Receipt:
        """Send to every recipient the journal has not `served`, marking each batch."""
        ...

    def look_up(self, batch: InDoubt, *, now: datetime) -> Finding:
        """Search the provider's records for a batch left in doubt."""
        ...

    def owed(self, served: frozenset[str]) -> int:
        """How many recipients of the list are not in `served`."""
        ...


class RecipientLog(Protocol):
    """Where a provider that hands over one message per recipient reports each step, so the
    ledger knows whom an interrupted send reached (newsletter/ledger/reached.py)."""

    served_before: int
    """How many recipients earlier, interrupted runs of this send reached."""

    def owed(self, address: str) -> bool:
        """Whether to send to `address`: not served yet, and not in doubt from a run that
        stopped while handing it over."""
        ...

    def sending(self, address: str) -> None:
        """Called just before the message is handed over (it is in doubt until answered)."""
        ...

    def served(self, address: str) -> None:
        """The server accepted the message for `address`."""
        ...

    def declined(self, address: str) -> None:
        """The server answered and did not take it: nothing went out to `address`."""
        ...


@runtime_checkable
class Verifies(Protocol):
    """A provider whose own settings decide whether the email's unsubscribe link works
    (Mailgun's unsubscribe tracking, Postmark's stream type), checked through its API."""

    def verify(self) -> tuple[str, ...]:
        """Raise ProviderSetupError naming a setting that would break unsubscribing and where
        to change it; return warnings for what could not be checked."""
        ...


@runtime_checkable
class EachRecipient(Protocol):
    """The capability behind `Traits.per_recipient`: a send that reports every recipient."""

    def send_each(self, email: Email, *, idempotency_key: str, log: RecipientLog) -> Receipt:
        """Send to every recipient `log` says is owed, reporting each step to it."""
        ...


@dataclass(frozen=True)
class Option:
    """One `[provider]` key: how to check it, and its value when it is not written."""

    check: checks.Checker
    default: Any = None
    """A relative `Path` default resolves against the config file's folder."""


@dataclass(frozen=True)
class Api:
    """What the shared API client must know about one vendor's HTTP API."""

    vendor: str
    """The name the author reads in messages."""
    base_url: str
    error_message: Callable[[Any], str]
    """The vendor's own explanation out of an error body (decoded JSON, else the text)."""
    auth_headers: Callable[[str], dict[str, str]] = lambda secret: {}
    basic_user: str | None = None
    """HTTP Basic auth with this user name and the secret as password (Mailgun's `api`)."""
    regions: Mapping[str, str] = field(default_factory=dict)
    """`provider.region` values and their API roots."""
    idempotency_header: str | None = None
    """The header the vendor deduplicates requests by; only such requests (and GETs) are
    retried after a failure that may have been processed."""
    wait_hint: Callable[[str], float | None] | None = None
    """Reads a pause out of a 429's message, for a vendor that says it there."""
    explain: Callable[[int, Any], str | None] | None = None
    """The vendor's own sentence for a refusal its status code alone would blame on the
    wrong thing (Resend's 403 for an unverified domain, its spent daily quota), from the
    status and the decoded body; None keeps the shared sentence."""
    spent: Callable[[Any], bool] | None = None
    """Whether a 429's body says a quota is used up, which no retry within the run lifts."""
    path_prefix: str = ""
    """The version segment that starts every path the adapter uses (Buttondown's `/v1`). The
    vendor's own spec writes it into its server URL, so a `base_url` copied from there ends
    with it; it is taken off rather than doubled."""

    def root(self, configured: str | None, region: str | None = None) -> str:
        """The API root requests are made against: `base_url` as configured (without a
        trailing version segment the paths already carry), else the region's, else the
        vendor's."""
        if not configured:
            return self.regions.get(region or "", self.base_url)
        root = configured.rstrip("/")
        if self.path_prefix and root.endswith(self.path_prefix):
            root = root[: -len(self.path_prefix)]
        return root


TIMEOUT = Option(checks.seconds, default=30.0)
HTTP_OPTIONS: dict[str, Option] = {
    "base_url": Option(checks.http_url),
    "concurrency": Option(checks.int_range(1, 16), default=4),
    "timeout": TIMEOUT,
}
SUBSCRIBERS = Option(checks.path, default=Path("subscribers.csv"))


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the program knows about one provider, declared where its adapter lives."""

    name: str
    credential_env: str | None
    """The environment variable that holds its key or password."""
    options: Mapping[str, Option]
    """The `[provider]` keys it accepts (besides `name`)."""
    destination: Callable[[Setup], str]
    """The ledger key for this configuration."""
    unsubscribe: Callable[[Setup], Unsubscribe]
    build: Callable[[Setup], Provider]
    required: tuple[str, ...] = ()
    api: Api | None = None
    drafts: bool = False
    """Its adapter implements `Drafts`."""
    drafts_page: str | None = None
    """The dashboard page that lists its drafts (linked from the run summary of a draft)."""
    settles: bool = False
    """Its adapter implements `Settles`."""
    verifies: bool = False
    """Its adapter implements `Verifies`."""
    per_recipient: bool = False
    """Its adapter implements `EachRecipient`."""
    check: Callable[[Setup], None] | None = None
    """A rule across several options, checked before anything else."""

    @property
    def idempotent(self) -> bool:
        return self.api is not None and self.api.idempotency_header is not None


class Setup:
    """One provider's configuration as its spec reads it: options with their defaults, the
    secret from the environment handed over, and the API client."""

    def __init__(
        self,
        spec: ProviderSpec,
        config: Config,
        environ: Mapping[str, str] | None = None,
        *,
        client: Callable[[Setup], ApiClient] | None = None,
    ) -> None:
        self.spec = spec
        self.config = config
        self.environ: Mapping[str, str] = environ or {}
        self._client = client

    def option(self, key: str) -> Any:
        """The configured value, else the schema's default (paths made absolute)."""
        value = self.config.provider.options.get(key)
        if value is not None:
            return value
        default = self.spec.options[key].default
        if isinstance(default, Path):
            return self.config.base_dir / default
        return default

    def traits(self) -> Traits:
        """What the provider can do, checking the configuration first: keys it requires,
        and its rules across keys."""
        spec = self.spec
        for key in spec.required:
            if not self.config.provider.options.get(key):
                raise ConfigError(
                    f"The {spec.name} provider needs provider.{key} in newsletter.toml; add "
                    "it to the [provider] table."
                )
        if spec.check is not None:
            spec.check(self)
        return Traits(
            name=spec.name,
            destination=spec.destination(self),
            unsubscribe=spec.unsubscribe(self),
            idempotent=spec.idempotent,
            drafts=spec.drafts,
            drafts_page=spec.drafts_page,
            settles=spec.settles,
            per_recipient=spec.per_recipient,
        )

    def client(self) -> ApiClient:
        assert self._client is not None, "only `providers.create` builds adapters"
        return self._client(self)


def mailto_sender(setup: Setup) -> Unsubscribe:
    """Without a list service, a mailto: to the sender, which the author handles by hand."""
    address = parseaddr(setup.config.newsletter.sender)[1]
    mailto = f"mailto:{address}?subject=unsubscribe"
    return Unsubscribe(url=mailto, list_unsubscribe=f"<{mailto}>")


def placeholder(url: str) -> Callable[[Setup], Unsubscribe]:
    """A provider that fills its own unsubscribe link and headers in per recipient."""
    return lambda setup: Unsubscribe(url=url)


def message_field(*keys: str) -> Callable[[Any], str]:
    """Reads the first non-empty string among `keys` of a JSON error object, or the body
    itself when it is a bare string or plain text."""

    def read(body: Any) -> str:
        if isinstance(body, str):
            return body
        if isinstance(body, dict):
            for key in keys:
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value
        return ""

    return read

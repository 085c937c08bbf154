"""The ledger file's layout, written down once, and the reader that checks a file against it.

`LEDGER` below describes every field of the JSON; `read_document` walks a parsed file along
it and returns plain Python values (texts, `datetime`s, `Status`es), or raises `SchemaError`
naming the first wrong field by its JSON path, e.g. `$.destinations["outbox"].posts["x"].status`.
A new field is one line in the description; the store turns the values into records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsletter.ledger.entries import Status, utc

LEDGER_VERSION = 3
"""The newest layout this release reads. Version 2 added `sends` (how far a send got while
its posts are pending) and `reached` (whom an SMTP send reached); version 3 a post's `id`
field, for posts of different feeds that have the same id, which are then kept under
`"<id> (<feed>)"`. A file that needs neither is still written as version 1, so that it stays
the same bytes in git and readable by the releases before."""


class SchemaError(Exception):
    """A field that does not fit the layout: `path` should be `expected`, or is missing."""

    def __init__(self, path: str, expected: str | None) -> None:
        problem = "is missing" if expected is None else f"should be {expected}"
        super().__init__(f"{path} {problem}")
        self.path = path


Kind = Callable[[Any, str], Any]
"""How one kind of JSON value is read: `kind(value, path)` returns it or raises SchemaError."""


def member(path: str, name: str) -> str:
    """The JSON path of a field: `$.runs`, or `$["odd key"]` where a dot would be unclear."""
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(path, "text")
    return value


def _moment(value: Any, path: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(_text(value, path)))
    except (SchemaError, ValueError):
        raise SchemaError(path, "an ISO-8601 time like 2026-11-19T08:00:00Z") from None


def _version(value: Any, path: str) -> int:
    # bool is an int in Python but `true` is no version number.
    if type(value) is not int or value < 1:
        raise SchemaError(path, "a whole number from 1 up")
    return value


def _count(value: Any, path: str) -> int:
    if type(value) is not int or value < 0:
        raise SchemaError(path, "a whole number from 0 up")
    return value


def _status(value: Any, path: str) -> Status:
    if value not in set(Status):
        raise SchemaError(path, f"one of {', '.join(Status)}")
    return Status(value)


TEXT: Kind = _text
MOMENT: Kind = _moment
VERSION: Kind = _version
STATUS: Kind = _status
COUNT: Kind = _count


def list_of(item: Kind) -> Kind:
    def read(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise SchemaError(path, "a list")
        return [item(element, f"{path}[{index}]") for index, element in enumerate(value)]

    return read


def map_of(item: Kind) -> Kind:
    """An object whose keys are data (feed URLs, destinations, post ids), all of one kind."""

    def read(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaError(path, "an object")
        return {key: item(element, f"{path}[{json.dumps(key)}]") for key, element in value.items()}

    return read


@dataclass(frozen=True)
class Record:
    """An object with named fields: `required` must be there, `optional` may be absent or null."""

    required: Mapping[str, Kind]
    optional: Mapping[str, Kind] = field(default_factory=dict)

    def read(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaError(path, "an object")
        missing = [name for name in self.required if name not in value]
        if missing:
            raise SchemaError(member(path, missing[0]), None)
        unknown = sorted(value.keys() - self.required.keys() - self.optional.keys())
        if unknown:
            raise SchemaError(member(path, unknown[0]), "absent (it is not a ledger field)")
        fields = {
            name: kind(value[name], member(path, name)) for name, kind in self.required.items()
        }
        for name, kind in self.optional.items():
            present = value.get(name)
            fields[name] = None if present is None else kind(present, member(path, name))
        return fields


VALIDATORS = Record(required={}, optional={"etag": TEXT, "last_modified": TEXT})
POST = Record(
    required={"link": TEXT, "title": TEXT, "status": STATUS, "at": MOMENT},
    optional={
        "message_id": TEXT,
        "idempotency_key": TEXT,
        "reason": TEXT,
        "feed": TEXT,
        "id": TEXT,
    },
)
IN_DOUBT = Record(required={"batch": TEXT, "at": MOMENT, "recipients": list_of(TEXT)})
SEND = Record(
    required={
        "began": MOMENT,
        "check": TEXT,
        "batches": COUNT,
        "served": list_of(TEXT),
        "in_doubt": list_of(IN_DOUBT.read),
    }
)
"""How far one send got (`ledger/progress.py`), under its idempotency key."""
REACHED = Record(
    required={"started": MOMENT},
    optional={"served": list_of(TEXT), "in_doubt": list_of(TEXT), "journal": TEXT},
)
"""Whom one send, one message per reader, reached before it stopped (ledger/reached.py)."""
DESTINATION = Record(
    required={"posts": map_of(POST.read)},
    optional={
        "feeds": map_of(VALIDATORS.read),
        "sends": map_of(SEND.read),
        "reached": map_of(REACHED.read),
    },
)
"""A destination's records, the validators of each feed it read (by feed address), how far
each unfinished send got (by its key), and whom each unfinished SMTP send reached."""
RUN = Record(
    required={
        "at": MOMENT,
        "command": TEXT,
        "destination": TEXT,
        "result": TEXT,
        "posts": list_of(TEXT),
    },
    optional={"detail": TEXT, "slot": TEXT, "issue": TEXT},
)
LEDGER = Record(
    required={"version": VERSION},
    optional={
        # Validators kept for the whole file, before they were kept per destination: read,
        # so that such a file loads, and dropped, since no one knows which destination's
        # run they came from (the next run of each reads the feed whole once).
        "feeds": map_of(VALIDATORS.read),
        "destinations": map_of(DESTINATION.read),
        "runs": list_of(RUN.read),
    },
)
"""The whole file."""


class NewerLedger(Exception):
    """The file says it was written by a newer release (its `version`)."""

    def __init__(self, version: int) -> None:
        super().__init__(f"ledger version {version}")
        self.version = version


def read_document(document: Any) -> dict[str, Any]:
    """The file's values, checked against `LEDGER`; absent collections come back empty."""
    # The version comes first: a newer layout is to be upgraded for, not called damaged.
    version = document.get("version") if isinstance(document, dict) else None
    if type(version) is int and version > LEDGER_VERSION:
        raise NewerLedger(version)
    values = LEDGER.read(document, "$")
    return {
        "destinations": values["destinations"] or {},
        "runs": values["runs"] or [],
    }

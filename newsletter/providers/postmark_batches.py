"""Postmark's batch bodies, spliced together as bytes.

A batch carries a full copy of the email in every message (a 40 kB digest to 10,000
subscribers is ~500 MB of JSON), so the fields every message shares are encoded once per
send (`encode_json`) and each batch body is spliced around the recipients' `To` and the
batch's marks. Batches are cut at Postmark's two limits, 500 messages and 50 MB, measured
exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from newsletter.providers.subscribers import Subscriber

MAX_BATCH = 500
MAX_BATCH_BYTES = 50 * 1000 * 1000
"""Postmark's other batch limit, "50 MB" (read as decimal, the smaller): 500 copies of a
digest near Gmail's 102 kB clipping limit come to ~60 MB of JSON."""
MARK_SEND = "newsletter_send"
MARK_BATCH = "newsletter_batch"


def split_batches(
    shared: bytes,
    subscribers: Sequence[Subscriber],
    *,
    marks: bytes = b"",
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[Sequence[Subscriber]]:
    """Consecutive batches of at most MAX_BATCH messages whose `batch_body` is at most
    `max_bytes` (a single message over it still goes alone, for Postmark to refuse).
    `marks` are as long as any batch's will be."""
    return list(iter_batches(shared, subscribers, marks=marks, max_bytes=max_bytes))


def iter_batches(
    shared: bytes,
    subscribers: Sequence[Subscriber],
    *,
    marks: bytes = b"",
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[Sequence[Subscriber]]:
    """`split_batches`, each batch given as soon as it is measured: a send's first request
    need not wait for 10,000 subscribers' `To` to be worked out."""
    start, size = 0, 2  # the array's brackets
    marked = len(marks) + 1 if marks else 0
    for index, subscriber in enumerate(subscribers):
        message = len(b'{"To":,') + len(encode_text(subscriber.to_header)) + marked + len(shared)
        if index > start and (index - start == MAX_BATCH or size + 1 + message > max_bytes):
            yield subscribers[start:index]
            start, size = index, 2
        size += message + (1 if index > start else 0)  # and the comma between messages
    if start < len(subscribers):
        yield subscribers[start:]


def batch_body(shared: bytes, batch: Sequence[Subscriber], *, marks: bytes = b"") -> bytes:
    """The JSON array of one message per subscriber: `{"To":…,`, the batch's `marks` (a
    `"Metadata":{…}` member), then the shared members.

    JSON object members are unordered, so putting `To` first is the same message.
    """
    tos = [encode_text(subscriber.to_header) for subscriber in batch]
    return spliced_body(shared, tos, marks=marks)


def spliced_body(shared: bytes, tos: Sequence[bytes], *, marks: bytes = b"") -> bytes:
    """`batch_body` from each subscriber's `To` already encoded as JSON."""
    pieces = [b"["]
    marked = marks + b"," if marks else b""
    for index, to in enumerate(tos):
        if index:
            pieces.append(b",")
        pieces += (b'{"To":', to, b",", marked, shared)
    pieces.append(b"]")
    return b"".join(pieces)


def marks(key: str, batch: str) -> bytes:
    """The `Metadata` member every message of a batch carries: its send and its batch."""
    return b'"Metadata":' + encode_json({MARK_SEND: key, MARK_BATCH: batch})


def encode_json(value: Any) -> bytes:
    # As httpx encodes `json=`: UTF-8, compact.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def encode_text(text: str) -> bytes:
    """`encode_json` of a string, exactly (json.dumps hands a string with ensure_ascii=False to
    this same function), without building an encoder for each of 10,000 recipients."""
    return encode_basestring(text).encode()

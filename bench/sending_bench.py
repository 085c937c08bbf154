"""Sending: Postmark to a loopback fake with 50 ms per request, and SMTP to aiosmtpd.

The adapters are built by `newsletter.providers.create` from a config, as `send` builds them,
and run in a child process of their own; the servers run in theirs (bench/servers.py).

    python -m bench.sending_bench postmark PORT FOLDER EMAIL RUNS   # child, JSON on stdout
    python -m bench.sending_bench smtp PORT FOLDER RUNS             # child, JSON on stdout
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import Section, Table, ratio, run_json, seconds
from bench.servers import running

LATENCY = 0.05
POSTMARK_SUBSCRIBERS = 10_000
SMTP_SUBSCRIBERS = 1_000
GOAL = 1.3
SENDER = "Workshop Notes <news@workshop.example.org>"


def write_subscribers(path: Path, count: int) -> None:
    rows = ["email,name", *(f"reader{n}@example.org,Reader {n}" for n in range(1, count + 1))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_emails(folder: Path) -> dict[str, int]:
    """The digest of the ten newest generated posts, and a one-paragraph email; HTML bytes."""
    from bench.feedgen import wordpress_feed
    from bench.pipeline_bench import cut_posts, render_emails
    from newsletter.feed import parse
    from newsletter.models import Email

    feed = parse(wordpress_feed(10), url="https://workshop.example.org/feed/")
    digest = render_emails(feed, cut_posts(feed.posts))[0]
    small = Email(
        subject="A short note",
        preheader="",
        html="<p>A short note to every subscriber.</p>",
        text="A short note to every subscriber.\n",
        sender=SENDER,
        post_ids=("https://workshop.example.org/?p=1",),
    )
    sizes = {}
    for name, email in (("digest", digest), ("small", small)):
        (folder / f"{name}.json").write_text(json.dumps(asdict(email)), encoding="utf-8")
        sizes[name] = len(email.html.encode())
    return sizes


def _read_email(folder: Path, name: str) -> Any:
    from newsletter.models import Email

    fields = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return Email(**{**fields, "post_ids": tuple(fields["post_ids"])})


def _config(folder: Path, provider: dict[str, Any]) -> Any:
    from newsletter.config import parse_config

    raw = {"newsletter": {"from": SENDER}, "provider": provider}
    return parse_config(raw, path=folder / "newsletter.toml")


def time_postmark(port: int, folder: Path, email_name: str, runs: int) -> dict[str, Any]:
    from newsletter.providers import DEFAULT_CONCURRENCY, create
    from newsletter.providers.postmark import MAX_BATCH
    from newsletter.providers.subscribers import load_subscribers

    email = _read_email(folder, email_name)
    subscribers = folder / "postmark.csv"
    config = _config(
        folder,
        {
            "name": "postmark",
            "base_url": f"http://127.0.0.1:{port}",
            "subscribers": str(subscribers),
        },
    )
    environ = {"POSTMARK_SERVER_TOKEN": "bench-token"}
    walls: list[float] = []
    cpus: list[float] = []
    accepted = 0
    for _ in range(runs):
        provider = create(config, environ)
        cpu_start = time.process_time()
        start = time.perf_counter()
        receipt = provider.send(email, idempotency_key="bench")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        provider.close()
        accepted = receipt.accepted

    # The client work no transport can avoid: reading the list, and building and encoding
    # each batch body (as httpx encodes `json=`); timed apart, once each.
    start = time.perf_counter()
    listing = load_subscribers(subscribers)
    load_seconds = time.perf_counter() - start
    provider = create(config, environ)
    start = time.perf_counter()
    body_bytes = 0
    for first in range(0, len(listing.subscribers), MAX_BATCH):
        batch = listing.subscribers[first : first + MAX_BATCH]
        # _message is the adapter's own message builder: the bodies are exactly what it sends.
        messages = [provider._message(email, s.to_header) for s in batch]  # type: ignore[attr-defined]
        body_bytes += len(json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode())
    encode_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for first in range(0, len(listing.subscribers), MAX_BATCH):
        spliced_body(provider._message(email, ""), listing.subscribers[first : first + MAX_BATCH])  # type: ignore[attr-defined]
    splice_seconds = time.perf_counter() - start
    provider.close()
    batches = math.ceil(len(listing.subscribers) / MAX_BATCH)
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "accepted": accepted,
        "batches": batches,
        "concurrency": DEFAULT_CONCURRENCY,
        "load": load_seconds,
        "encode": encode_seconds,
        "splice": splice_seconds,
        "body_bytes": body_bytes,
    }


def spliced_body(message: dict[str, Any], batch: Any) -> bytes:
    """What-if: the same batch body with the email's fields encoded once and only each
    recipient's `To` encoded per message (JSON object key order does not matter)."""
    shared = json.dumps(
        {key: value for key, value in message.items() if key != "To"},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    parts = [b'{"To":' + json.dumps(s.to_header).encode() + b"," + shared[1:] for s in batch]
    return b"[" + b",".join(parts) + b"]"


def time_smtp(port: int, folder: Path, runs: int) -> dict[str, Any]:
    from newsletter.providers import create

    email = _read_email(folder, "digest")
    config = _config(
        folder,
        {
            "name": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "subscribers": str(folder / "smtp.csv"),
        },
    )
    walls: list[float] = []
    cpus: list[float] = []
    accepted = 0
    for _ in range(runs):
        provider = create(config, {})
        cpu_start = time.process_time()
        start = time.perf_counter()
        receipt = provider.send(email, idempotency_key="bench")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        provider.close()
        accepted = receipt.accepted
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "accepted": accepted}


def section(*, quick: bool) -> Section:
    runs = 1 if quick else 3
    emails = ("small",) if quick else ("small", "digest")
    smtp_subscribers = 200 if quick else SMTP_SUBSCRIBERS
    with tempfile.TemporaryDirectory(prefix="bench-sending-") as name:
        folder = Path(name)
        write_subscribers(folder / "postmark.csv", POSTMARK_SUBSCRIBERS)
        write_subscribers(folder / "smtp.csv", smtp_subscribers)
        sizes = write_emails(folder)
        postmark: dict[str, dict[str, Any]] = {}
        with running("postmark", str(LATENCY)) as port:
            for email in emails:
                postmark[email] = run_json(
                    "bench.sending_bench", "postmark", str(port), name, email, str(runs)
                )
        with running("smtp") as port:
            smtp = run_json("bench.sending_bench", "smtp", str(port), name, str(runs))
    return _report(postmark, smtp, sizes, runs)


def _report(
    postmark: dict[str, dict[str, Any]], smtp: dict[str, Any], sizes: dict[str, int], runs: int
) -> Section:
    small = postmark["small"]
    ideal = small["batches"] * LATENCY / small["concurrency"]
    table = Table(
        [
            "Email (HTML size)",
            "Accepted",
            "Wall time",
            "Ratio to ideal",
            "Reading the list",
            "Wall minus reading the list",
            "Its ratio to ideal",
            "Client CPU",
            "Building + encoding the bodies",
            "What-if: email encoded once",
            "JSON sent",
        ]
    )
    for name, r in postmark.items():
        transport = r["wall"] - r["load"]
        table.rows.append(
            [
                f"{name} ({_size(sizes[name])})",
                f"{r['accepted']:,}",
                seconds(r["wall"]),
                ratio(r["wall"] / ideal),
                seconds(r["load"]),
                seconds(transport),
                ratio(transport / ideal),
                seconds(r["cpu"]),
                seconds(r["encode"]),
                seconds(r["splice"]),
                f"{r['body_bytes'] / 1e6:.0f} MB",
            ]
        )
    smtp_table = Table(
        [
            "SMTP to aiosmtpd",
            "Accepted",
            "Wall time",
            "Messages per second",
            "Client CPU per message",
        ]
    )
    smtp_table.rows.append(
        [
            f"digest ({_size(sizes['digest'])} HTML), {smtp['accepted']:,} recipients",
            f"{smtp['accepted']:,}",
            seconds(smtp["wall"]),
            f"{smtp['accepted'] / smtp['wall']:.0f}",
            seconds(smtp["cpu"] / smtp["accepted"]),
        ]
    )
    whole = small["wall"] / ideal
    transport = (small["wall"] - small["load"]) / ideal
    verdict = (
        f"Postmark, small email: {ratio(whole)} the ideal, "
        f"{'within' if whole <= GOAL else 'NOT within'} the {GOAL}× goal. Reading and "
        f"validating the 10,000-row subscribers file takes {seconds(small['load'])} of it "
        f"(email-validator, about {small['load'] / POSTMARK_SUBSCRIBERS * 1e6:.0f} µs per "
        f"address); the rest, building and sending the batches, takes {ratio(transport)} "
        f"the ideal ({'within' if transport <= GOAL else 'above'} the goal)."
    )
    if "digest" in postmark:
        digest = postmark["digest"]
        verdict += (
            f" With the real digest it is {ratio(digest['wall'] / ideal)}: the client is "
            f"CPU-bound (CPU {seconds(digest['cpu'])} of {seconds(digest['wall'])} wall) "
            f"building and encoding {digest['body_bytes'] / 1e6:.0f} MB of JSON, because "
            "Postmark's batch API takes a full copy of the email per recipient, and "
            "json.dumps re-escapes the same HTML 10,000 times. Encoding the email's fields "
            f"once per send and splicing in each `To` takes {seconds(digest['splice'])} "
            f"instead of {seconds(digest['encode'])} (see PROFILE.md)."
        )
    method = (
        f"{POSTMARK_SUBSCRIBERS:,} subscribers in a CSV file, sent through the Postmark "
        "adapter built by `providers.create` (default concurrency "
        f"{small['concurrency']}) to a loopback fake of `/email/batch` in its own process "
        f"that sleeps {LATENCY * 1000:.0f} ms per request and answers one result per "
        f"message. *Ideal* = ceil({POSTMARK_SUBSCRIBERS:,} / 500) batches × "
        f"{LATENCY * 1000:.0f} ms ÷ {small['concurrency']} connections = {seconds(ideal)}. "
        "*Wall time*: `provider.send` (reading the subscribers file included), median of "
        f"{runs} run(s), a fresh adapter each time; *Client CPU*: `time.process_time` of "
        "that call. Timed apart, once each: *Reading the list* (`load_subscribers`), "
        "*Building + encoding the bodies* (the adapter's own messages through `json.dumps` "
        "and `.encode()`, as httpx does), and a what-if that encodes the shared fields "
        "once. The *small* email is one paragraph (the adapter's overhead); the *digest* "
        "is the real one for ten generated posts (--quick skips it). SMTP: the digest "
        f"to {SMTP_SUBSCRIBERS:,} subscribers (200 with --quick) through the SMTP adapter "
        '(security "none") to an aiosmtpd server in its own process that accepts every '
        "message; messages per second = accepted ÷ wall time of `provider.send`."
    )
    return Section("4. Sending", method, [table, smtp_table], verdict)


def _size(count: int) -> str:
    return f"{count} B" if count < 1000 else f"{count / 1000:.1f} kB"


def main(argv: list[str]) -> None:
    if argv[0] == "postmark":
        print(json.dumps(time_postmark(int(argv[1]), Path(argv[2]), argv[3], int(argv[4]))))
    elif argv[0] == "smtp":
        print(json.dumps(time_smtp(int(argv[1]), Path(argv[2]), int(argv[3]))))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

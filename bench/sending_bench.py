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
        "body_bytes": body_bytes,
    }


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
    with tempfile.TemporaryDirectory(prefix="bench-sending-") as name:
        folder = Path(name)
        write_subscribers(folder / "postmark.csv", POSTMARK_SUBSCRIBERS)
        write_subscribers(folder / "smtp.csv", SMTP_SUBSCRIBERS)
        sizes = write_emails(folder)
        postmark: dict[str, dict[str, Any]] = {}
        with running("postmark", str(LATENCY)) as port:
            for email in ("small", "digest"):
                postmark[email] = run_json(
                    "bench.sending_bench", "postmark", str(port), name, email, str(runs)
                )
        with running("smtp") as port:
            smtp = run_json("bench.sending_bench", "smtp", str(port), name, str(runs))
    return _report(postmark, smtp, sizes, runs)


def _report(
    postmark: dict[str, dict[str, Any]], smtp: dict[str, Any], sizes: dict[str, int], runs: int
) -> Section:
    first = postmark["digest"]
    ideal = first["batches"] * LATENCY / first["concurrency"]
    table = Table(
        [
            "Email (HTML size)",
            "Accepted",
            "Wall time",
            "Ideal",
            "Ratio to ideal",
            "Client CPU",
            "Reading the list",
            "Building + encoding the bodies",
            "Bytes sent",
        ]
    )
    for name in ("small", "digest"):
        r = postmark[name]
        table.rows.append(
            [
                f"{name} ({sizes[name] / 1000:.1f} kB)",
                f"{r['accepted']:,}",
                seconds(r["wall"]),
                seconds(ideal),
                ratio(r["wall"] / ideal),
                seconds(r["cpu"]),
                seconds(r["load"]),
                seconds(r["encode"]),
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
            f"digest ({sizes['digest'] / 1000:.1f} kB HTML), {SMTP_SUBSCRIBERS:,} recipients",
            f"{smtp['accepted']:,}",
            seconds(smtp["wall"]),
            f"{smtp['accepted'] / smtp['wall']:.0f}",
            seconds(smtp["cpu"] / smtp["accepted"]),
        ]
    )
    small, digest = postmark["small"]["wall"] / ideal, postmark["digest"]["wall"] / ideal
    verdict = (
        f"With a small email the Postmark adapter takes {ratio(small)} the ideal "
        f"({'within' if small <= GOAL else 'NOT within'} the {GOAL}× goal): the concurrency "
        f"works. With the real digest it takes {ratio(digest)}: {first['body_bytes'] / 1e6:.0f} "
        "MB of JSON have to be built, encoded, sent and parsed, because Postmark's batch API "
        "takes a full copy of the email for every recipient; the latency-only ideal leaves that "
        "out."
    )
    method = (
        f"{POSTMARK_SUBSCRIBERS:,} subscribers in a CSV file, sent through the Postmark "
        "adapter built by `providers.create` (default concurrency "
        f"{first['concurrency']}) to a loopback fake of `/email/batch` in its own process that "
        f"sleeps {LATENCY * 1000:.0f} ms per request and answers one result per message. "
        f"*Ideal* = ceil({POSTMARK_SUBSCRIBERS:,} / 500) batches × {LATENCY * 1000:.0f} ms ÷ "
        f"{first['concurrency']} connections. *Wall time*: `provider.send` alone (reading "
        f"the subscribers file included), median of {runs} run(s), a fresh adapter each "
        "time. *Client CPU*: `time.process_time` of the same call. The last columns time, "
        "apart, the two parts of the client's work no transport avoids. SMTP: "
        f'{SMTP_SUBSCRIBERS:,} subscribers through the SMTP adapter (security "none") to an '
        "aiosmtpd server in its own process that accepts every message; messages per second "
        "= accepted ÷ wall time of `provider.send`."
    )
    return Section("4. Sending", method, [table, smtp_table], verdict)


def main(argv: list[str]) -> None:
    if argv[0] == "postmark":
        print(json.dumps(time_postmark(int(argv[1]), Path(argv[2]), argv[3], int(argv[4]))))
    elif argv[0] == "smtp":
        print(json.dumps(time_smtp(int(argv[1]), Path(argv[2]), int(argv[3]))))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

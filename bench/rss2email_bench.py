"""Side by side with rss2email: the same 50-post feed, the same loopback SMTP server.

rss2email (GPL) is only a tool we compare against: it is installed into a throwaway
virtualenv (`/tmp/r2e-venv` by default, or $R2E), never imported, never a dependency.
Both programs run as whole processes from a fresh state each time:

- `r2e run` with a new, empty data file: it sends one email per entry (all 50 on its first
  run), to the one address in its config, as HTML (`html-mail = True`), opening an SMTP
  connection per email.
- `newsletter send` with no ledger, per-post mode, `max_posts`/`flood_limit` 50 and a
  first-run window that takes every post, the SMTP provider and a subscribers file of one:
  one multipart (text + HTML) email per post, cut at the break, over one SMTP connection.

Both fetch the feed over HTTP from a loopback file server.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import Section, Table, median, ratio, seconds, wall_times
from bench.feedgen import wordpress_feed
from bench.servers import running

POSTS = 50
R2E_VENV = Path(os.environ.get("R2E", "/tmp/r2e-venv"))
ADDRESS = "reader@example.org"
SENDER = "news@workshop.example.org"
R2E_SENDER = "r2e@workshop.example.org"
"""rss2email's own From, so the SMTP log tells whose each message is."""


def _r2e_config(port: int, feed_url: str) -> str:
    return "\n".join(
        [
            "[DEFAULT]",
            f"from = {R2E_SENDER}",
            f"to = {ADDRESS}",
            "html-mail = True",
            "email-protocol = smtp",
            "smtp-server = 127.0.0.1",
            f"smtp-port = {port}",
            "smtp-ssl = False",
            "smtp-auth = False",
            "same-server-fetch-interval = 0",
            "",
            "[feed.bench]",
            f"url = {feed_url}",
            "",
        ]
    )


def _newsletter_config(port: int, feed_url: str) -> str:
    return "\n".join(
        [
            "[feed]",
            f'url = "{feed_url}"',
            "[newsletter]",
            f'from = "Workshop Notes <{SENDER}>"',
            'mode = "per-post"',
            f"max_posts = {POSTS}",
            f"flood_limit = {POSTS}",
            "first_run_days = 3650",
            'postal_address = "1 Bench Lane, Exampleton"',
            "[provider]",
            'name = "smtp"',
            'host = "127.0.0.1"',
            f"port = {port}",
            'security = "none"',
            'subscribers = "subscribers.csv"',
            "[state]",
            'path = "state/ledger.json"',
            "",
        ]
    )


def section(*, quick: bool) -> Section:
    title = "5. Side by side with rss2email"
    r2e = R2E_VENV / "bin" / "r2e"
    if not r2e.exists():
        return Section(
            title,
            f"rss2email is not installed at {r2e} (see bench/README.md); not measured.",
        )
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-r2e-") as name:
        folder = Path(name)
        site, work = folder / "site", folder / "work"
        site.mkdir()
        work.mkdir()
        (site / "feed.xml").write_bytes(wordpress_feed(POSTS))
        (work / "subscribers.csv").write_text(f"email\n{ADDRESS}\n", encoding="utf-8")
        log = folder / "smtp.log"
        with running("files", str(site)) as http_port, running("smtp", str(log)) as smtp_port:
            feed_url = f"http://127.0.0.1:{http_port}/feed.xml"
            (work / "r2e.cfg").write_text(_r2e_config(smtp_port, feed_url), encoding="utf-8")
            (work / "newsletter.toml").write_text(
                _newsletter_config(smtp_port, feed_url), encoding="utf-8"
            )
            commands = {
                "newsletter": [
                    str(Path(sys.executable).with_name("newsletter")),
                    "--config",
                    str(work / "newsletter.toml"),
                    "send",
                ],
                "rss2email": [
                    str(r2e),
                    "-c",
                    str(work / "r2e.cfg"),
                    "-d",
                    str(work / "r2e.json"),
                    "run",
                ],
            }

            def fresh_state(_name: str) -> None:
                shutil.rmtree(work / "state", ignore_errors=True)
                (work / "r2e.json").unlink(missing_ok=True)

            samples = wall_times(commands, runs, cwd=work, prepare=fresh_state)
            delivered = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    counts = {
        who: sum(1 for line in delivered if line.split()[0] == sender) / runs
        for who, sender in (("newsletter", SENDER), ("rss2email", R2E_SENDER))
    }
    sizes = {
        who: median(
            [int(line.split()[1]) for line in delivered if line.split()[0] == sender] or [0]
        )
        for who, sender in (("newsletter", SENDER), ("rss2email", R2E_SENDER))
    }
    ours, theirs = median(samples["newsletter"]), median(samples["rss2email"])
    table = Table(
        ["Program", "Emails per run", "Median size", "Median wall time", "Fastest", "Ratio"]
    )
    for who, label, ratio_text in (
        ("newsletter", "`newsletter send`", ratio(ours / theirs)),
        ("rss2email", "`r2e run` (rss2email 3)", "1.00×"),
    ):
        table.rows.append(
            [
                label,
                f"{counts[who]:.0f}",
                f"{sizes[who] / 1000:.0f} kB",
                seconds(median(samples[who])),
                seconds(min(samples[who])),
                ratio_text,
            ]
        )
    method = (
        f"A generated {POSTS}-post WordPress-style feed served over loopback HTTP, and one "
        "aiosmtpd server (its own process) that accepts every message. Each program runs as "
        f"a whole process, {runs} times in alternation, each time from a fresh state (no "
        "ledger, a new rss2email data file); the figure is the median wall time from spawn "
        "to exit. rss2email sends one HTML email per entry (`html-mail = True`; it converts "
        "to text otherwise) to its one `to` address, connecting to the SMTP server once per "
        "email; `newsletter send` in per-post mode sends one multipart (text + HTML) email "
        "per post, cut at the break, to a subscribers file of one address, over one "
        "connection. *Emails per run* and *size* are what the SMTP server received. "
        "rss2email is installed in its own throwaway virtualenv; it is GPL-licensed and is "
        "never a dependency of this project."
    )
    verdict = (
        f"`newsletter send` takes {ratio(ours / theirs)} the wall time of `r2e run` for the "
        "same feed and the same number of emails; what the difference is made of (larger "
        "emails, crash-safe ledger saves) is in the profile notes below."
    )
    return Section(title, method, [table], verdict)

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

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import installed
from bench.common import Section, Table, ratio, seconds
from bench.feedgen import wordpress_feed
from bench.paired import paired
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
            ours = [installed.script(), "--config", str(work / "newsletter.toml"), "send"]
            theirs = [str(r2e), "-c", str(work / "r2e.cfg"), "-d", str(work / "r2e.json"), "run"]

            def fresh_state() -> None:
                shutil.rmtree(work / "state", ignore_errors=True)
                (work / "r2e.json").unlink(missing_ok=True)

            pairs = paired(
                ours, theirs, runs, cwd=work, env=installed.child_env(), prepare=fresh_state
            )
            delivered = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
            phases = _where_time_goes(work, fresh_state)
    counted_runs = runs + 1  # the warm-up pair sends too
    counts = {
        who: sum(1 for line in delivered if line.split()[0] == sender) / counted_runs
        for who, sender in (("newsletter", SENDER), ("rss2email", R2E_SENDER))
    }
    sizes = {
        who: statistics.median(
            [int(line.split()[1]) for line in delivered if line.split()[0] == sender] or [0]
        )
        for who, sender in (("newsletter", SENDER), ("rss2email", R2E_SENDER))
    }
    table = Table(
        [
            "Program",
            "Emails per run",
            "Median size",
            "Median wall",
            "Median CPU",
            "Ratio wall / CPU",
        ]
    )
    for who, side, ratio_text in (
        (
            "newsletter",
            "a",
            f"{ratio(pairs.ratio())} / {ratio(pairs.ratio('cpu'))}",
        ),
        ("rss2email", "b", "1.00×"),
    ):
        table.rows.append(
            [
                "`newsletter send`" if who == "newsletter" else "`r2e run` (rss2email 3)",
                f"{counts[who]:.0f}",
                f"{sizes[who] / 1000:.0f} kB",
                seconds(pairs.median(side)),
                seconds(pairs.median(side, "cpu")),
                ratio_text,
            ]
        )
    breakdown = Table(["Where `newsletter send` spends its CPU", "CPU", "Share"])
    total = phases["imports_cpu"] + phases["run_cpu"]
    breakdown.rows.append(
        [
            "importing what the run uses",
            seconds(phases["imports_cpu"]),
            _share(phases["imports_cpu"] / total),
        ]
    )
    breakdown.rows.append(
        ["the run itself", seconds(phases["run_cpu"]), _share(phases["run_cpu"] / total)]
    )
    for label, share in phases["shares"].items():
        breakdown.rows.append(
            [
                f"… {label}",
                seconds(share * phases["run_cpu"]),
                _share(share * phases["run_cpu"] / total),
            ]
        )
    method = (
        f"A generated {POSTS}-post WordPress-style feed served over loopback HTTP, and one "
        "aiosmtpd server (its own process) that accepts every message. Each program runs as "
        f"a whole process from a fresh pip install (bench/installed.py), {runs} pairs in "
        "alternation after one warm-up pair (bench/paired.py), each time from a fresh state "
        "(no ledger, a new rss2email data file); figures are medians, ratios the median of "
        "the per-pair ratios, CPU the kernel's user + system time of the process. "
        "rss2email sends one HTML email per entry (`html-mail = True`; it converts "
        "to text otherwise) to its one `to` address, connecting to the SMTP server once per "
        "email; `newsletter send` in per-post mode sends one multipart (text + HTML) email "
        "per post, cut at the break, to a subscribers file of one address, over one "
        "connection. *Emails per run* and *size* are what the SMTP server received. "
        "rss2email is installed in its own throwaway virtualenv; it is GPL-licensed and is "
        "never a dependency of this project."
    )
    method += (
        " The second table runs bench/where_time_goes.py once in the installed venv: the "
        "modules the send uses imported and timed first, then the send under cProfile, its "
        "CPU split by the cumulative time of each phase (approximate: cProfile slows Python "
        "more than system calls; the indented rows are parts of the row above them)."
    )
    verdict = (
        f"`newsletter send` takes {ratio(pairs.ratio())} the wall time and "
        f"{ratio(pairs.ratio('cpu'))} the CPU of `r2e run` for the same feed and the same "
        "number of emails; where its time goes is in the second table, and what is waste and "
        "what buys safety in the profile notes below."
    )
    return Section(title, method, [table, breakdown], verdict)


def _share(value: float) -> str:
    return f"{value * 100:.0f}%"


def _where_time_goes(work: Path, fresh_state: Callable[[], None]) -> dict[str, Any]:
    script = Path(__file__).with_name("where_time_goes.py")
    env = {**installed.child_env(), "WHERE_MODULES": str(work / "modules.json")}
    command = [installed.python(), str(script), "--config", str(work / "newsletter.toml"), "send"]
    result: dict[str, Any] = {}
    for _ in range(2):  # the first run lists the modules, the second measures
        fresh_state()
        done = subprocess.run(
            command, cwd=work, env=env, check=True, capture_output=True, text=True
        )
        if done.stdout.strip():
            result = json.loads(done.stdout.strip().splitlines()[-1])
    return result

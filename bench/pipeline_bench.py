"""The pipeline (parse, select, cut, render) against `feedparser.parse` alone, the floor.

Run by `bench/run.py` as a child process, once per feed size, so that each size starts from
the same state and its peak memory is that process's own:

    python -m bench.pipeline_bench setup SIZE FOLDER       # feed, ledger in FOLDER
    python -m bench.pipeline_bench time FOLDER REPETITIONS [all]   # JSON timings
    python -m bench.pipeline_bench memory floor|pipeline FOLDER    # JSON peak RSS

"The pipeline" is what `newsletter send` does before it talks to a provider, run as a dry
run through `pipeline.send`: read the ledger, read and parse the feed, select the new posts,
cut them, render the digest. The ledger already holds every post but the newest ten, so
`select_new` walks the whole feed while cut and render handle `max_posts = 10`, as in a real
weekly run. The stages are also timed one by one through their public functions.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import Section, Table, mebibytes, ratio, run_json, seconds
from bench.feedgen import wordpress_feed

NEW_POSTS = 10
FEED_URL = "https://workshop.example.org/feed/"


def write_setup(count: int, folder: Path) -> None:
    """The feed file and a ledger holding all but the newest NEW_POSTS of it."""
    from newsletter.feed import parse
    from newsletter.ledger import Ledger, Status

    body = wordpress_feed(count)
    (folder / "feed.xml").write_bytes(body)
    config, _ = load_setup(folder)
    feed = parse(body, url=(folder / "feed.xml").resolve().as_uri())
    ledger = Ledger(config.state.path)
    ledger.destination("outbox").mark(feed.posts[NEW_POSTS:], Status.SENT, at=datetime.now(UTC))
    ledger.save()


CONFIG_TOML = """\
[feed]
url = "feed.xml"

[newsletter]
from = "Workshop Notes <news@workshop.example.org>"
mode = "digest"
max_posts = {max_posts}
postal_address = "1 Bench Lane, Exampleton"

[provider]
name = "outbox"
dir = "outbox"

[state]
path = "ledger.json"
"""
"""The same settings as a newsletter.toml, for the whole-process runs of the command."""


def load_setup(folder: Path) -> tuple[Any, bytes]:
    """The Config of a folder written by `write_setup`, and the feed's bytes."""
    from newsletter.config import load_config

    path = folder / "newsletter.toml"
    path.write_text(CONFIG_TOML.format(max_posts=NEW_POSTS), encoding="utf-8")
    return load_config(str(path), {}), (folder / "feed.xml").read_bytes()


def floor(body: bytes) -> None:
    import feedparser

    feedparser.parse(body)


def dry_run(config: Any) -> Any:
    from newsletter.pipeline import SendOptions, send

    report = send(config, SendOptions(dry_run=True), {}, lambda _line: None)
    if report.plan is None or len(report.plan.to_send) != NEW_POSTS or len(report.emails) != 1:
        raise RuntimeError(f"the dry run did not select {NEW_POSTS} posts into one digest")
    return report


class Stages:
    """Parse and select on their own, through the public functions (cut and render below)."""

    def __init__(self, config: Any, body: bytes) -> None:
        self.config = config
        self.body = body
        self.url = Path(config.feed.url).resolve().as_uri()

    def parse(self) -> Any:
        from newsletter.feed import parse

        return parse(self.body, url=self.url)

    def select(self, feed: Any) -> Any:
        from newsletter.ledger import Ledger
        from newsletter.plan import select_new

        destination = Ledger.read(self.config.state.path).destination("outbox")
        return select_new(feed.posts, destination, now=datetime.now(UTC), first_run_days=7).new


def cut_posts(posts: Any) -> list[Any]:
    from newsletter.excerpt import cut

    return [(post, cut(post, fallback_words=200)) for post in posts]


def render_emails(feed: Any, items: list[Any], *, mode: str = "digest") -> list[Any]:
    """`build_emails` with the settings the pipeline derives from the bench's config."""
    from newsletter.providers.base import Unsubscribe
    from newsletter.render import RenderSettings, build_emails

    settings = RenderSettings(
        blog_title=feed.title,
        blog_url=feed.link,
        language=feed.language,
        mode=mode,  # type: ignore[arg-type]
        subject_template=None,
        read_more="Continue reading",
        postal_address="1 Bench Lane, Exampleton",
        utm={"utm_source": "newsletter", "utm_medium": "email"},
        templates_dir=None,
        sender="Workshop Notes <news@workshop.example.org>",
        reply_to=None,
    )
    unsubscribe = Unsubscribe(url="mailto:news@workshop.example.org?subject=unsubscribe")
    return build_emails(feed, items, settings, unsubscribe)


def _clock(work: Callable[[], Any], cpu: list[float] | None = None) -> tuple[float, Any]:
    """Wall seconds of one call (perf_counter); its CPU seconds go to `cpu` when given."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return elapsed, result


def time_size(folder: Path, repetitions: int, *, all_posts: bool) -> dict[str, Any]:
    """Median seconds of the floor and the pipeline, taken in alternation so that any drift
    in the machine's load falls on both alike; then each stage, and all-posts cut+render."""
    samples: dict[str, list[float]] = {
        key: []
        for key in (
            "floor",
            "pipeline",
            "floor_cpu",
            "pipeline_cpu",
            "parse",
            "select",
            "cut",
            "render",
        )
    }
    config, body = load_setup(folder)
    stages = Stages(config, body)
    dry_run(config)  # warm: imports, template compilation, caches
    floor(body)
    for _ in range(repetitions):
        samples["floor"].append(_clock(lambda: floor(body), samples["floor_cpu"])[0])
        samples["pipeline"].append(_clock(lambda: dry_run(config), samples["pipeline_cpu"])[0])
    for _ in range(repetitions):
        seconds, feed = _clock(stages.parse)
        samples["parse"].append(seconds)
        seconds, new = _clock(partial(stages.select, feed))
        samples["select"].append(seconds)
        seconds, items = _clock(partial(cut_posts, new))
        samples["cut"].append(seconds)
        samples["render"].append(_clock(partial(render_emails, feed, items))[0])
    result: dict[str, Any] = {
        "posts": len(feed.posts),
        "bytes": len(body),
        "repetitions": repetitions,
        **{key: statistics.median(values) for key, values in samples.items()},
    }
    if all_posts:
        # One pass: every post cut and rendered as its own email (per-post mode).
        everything = feed.posts
        cut_seconds, items = _clock(lambda: cut_posts(everything))
        render_seconds, emails = _clock(lambda: render_emails(feed, items, mode="per-post"))
        result.update(all_cut=cut_seconds, all_render=render_seconds, all_emails=len(emails))
    return result


def peak_memory(kind: str, folder: Path) -> dict[str, Any]:
    """One run of `kind` in this fresh process; ru_maxrss is the whole process's peak RSS."""
    config, body = load_setup(folder)
    if kind == "floor":
        import feedparser  # noqa: F401  (imported before the mark, like the pipeline's modules)
    else:
        import newsletter.pipeline  # noqa: F401
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "floor":
        floor(body)
    else:
        dry_run(config)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": kind, "peak_kib": after, "before_kib": before}


def main(argv: list[str]) -> None:
    if argv[0] == "setup":
        write_setup(int(argv[1]), Path(argv[2]))
        print(json.dumps({"folder": argv[2]}))
    elif argv[0] == "time":
        all_posts = len(argv) > 3 and argv[3] == "all"
        print(json.dumps(time_size(Path(argv[1]), int(argv[2]), all_posts=all_posts)))
    elif argv[0] == "memory":
        print(json.dumps(peak_memory(argv[1], Path(argv[2]))))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])


def whole_process(*, quick: bool) -> tuple[Table, str]:
    """`newsletter send --dry-run` against the like-for-like floor, whole processes, paired;
    and against the same floor with the run's other libraries imported (floor.py --libraries).
    Returns the table and the sentence that judges the 1.5x goal on it."""
    from bench import installed
    from bench.paired import paired

    table = Table(
        [
            "Posts in the feed (new)",
            "Floor: bench/floor.py",
            "`newsletter send --dry-run`",
            "Ratio (wall, per pair)",
            "Ratio (CPU, per pair)",
            "CPU floor / dry run",
            "Ratio (CPU) to the floor with the run's libraries imported",
        ]
    )
    floor = [installed.python(), str(Path(__file__).with_name("floor.py")), "feed.xml"]
    judged: list[str] = []
    for size in (11, 100, 1000):
        runs = 5 if quick or size >= 1000 else 15
        with tempfile.TemporaryDirectory(prefix=f"bench-weekly-{size}-") as name:
            folder = Path(name)
            run_json("bench.pipeline_bench", "setup", str(size), name)
            dry_run = [installed.script(), "-q", "send", "--dry-run"]
            pairs = paired(dry_run, floor, runs, cwd=folder, env=installed.child_env())
            libraries = paired(
                dry_run, [*floor, "--libraries"], runs, cwd=folder, env=installed.child_env()
            )
        table.rows.append(
            [
                f"{size:,} ({NEW_POSTS})",
                seconds(pairs.median("b")),
                seconds(pairs.median("a")),
                ratio(pairs.ratio()),
                ratio(pairs.ratio("cpu")),
                f"{seconds(pairs.median('b', 'cpu'))} / {seconds(pairs.median('a', 'cpu'))}",
                f"{ratio(libraries.ratio('cpu'))} (floor {seconds(libraries.median('b', 'cpu'))})",
            ]
        )
        cpu = pairs.ratio("cpu")
        judged.append(f"{size:,} posts {ratio(cpu)} ({'met' if cpu <= 1.5 else 'NOT met'})")
    return table, "Against the 1.5× goal (CPU, per pair): " + ", ".join(judged) + "."


def section(*, quick: bool) -> Section:
    sizes = (100, 1000) if quick else (100, 1000, 5000)
    results: list[dict[str, Any]] = []
    for size in sizes:
        repetitions = 3 if quick or size >= 5000 else 5
        every_post = size <= (100 if quick else 1000)
        with tempfile.TemporaryDirectory(prefix=f"bench-pipeline-{size}-") as folder:
            run_json("bench.pipeline_bench", "setup", str(size), folder)
            timing = run_json(
                "bench.pipeline_bench",
                "time",
                folder,
                str(repetitions),
                *(["all"] if every_post else []),
            )
            timing["floor_kib"] = run_json("bench.pipeline_bench", "memory", "floor", folder)[
                "peak_kib"
            ]
            timing["pipeline_kib"] = run_json("bench.pipeline_bench", "memory", "pipeline", folder)[
                "peak_kib"
            ]
        results.append(timing)
    report = _report(results)
    table, judged = whole_process(quick=quick)
    report.tables.insert(0, table)
    report.verdict = f"{judged} {report.verdict}"
    return report


def _report(results: list[dict[str, Any]]) -> Section:
    main_table = Table(
        [
            "Posts",
            "Feed",
            "Floor: feedparser.parse",
            "Pipeline: dry-run send",
            "Ratio (wall)",
            "Ratio (CPU)",
            "Pipeline per post",
            "Floor per post",
            "Peak RSS floor",
            "Peak RSS pipeline",
        ]
    )
    stages = Table(
        [
            "Posts",
            "parse (whole feed)",
            "select_new (whole feed)",
            "cut (10)",
            "render (10, one digest)",
        ]
    )
    everything = Table(
        ["Posts", "cut, per post", "render, per post (per-post mode)", "cut+render, per post"]
    )
    for r in results:
        n = r["posts"]
        main_table.rows.append(
            [
                f"{n:,}",
                mebibytes(r["bytes"] / 1024),
                seconds(r["floor"]),
                seconds(r["pipeline"]),
                ratio(r["pipeline"] / r["floor"]),
                ratio(r["pipeline_cpu"] / r["floor_cpu"]),
                seconds(r["pipeline"] / n),
                seconds(r["floor"] / n),
                mebibytes(r["floor_kib"]),
                mebibytes(r["pipeline_kib"]),
            ]
        )
        stages.rows.append(
            [
                f"{n:,}",
                seconds(r["parse"]),
                seconds(r["select"]),
                seconds(r["cut"]),
                seconds(r["render"]),
            ]
        )
        if "all_cut" in r:
            everything.rows.append(
                [
                    f"{n:,}",
                    seconds(r["all_cut"] / n),
                    seconds(r["all_render"] / n),
                    seconds((r["all_cut"] + r["all_render"]) / n),
                ]
            )
    worst = max(r["pipeline"] / r["floor"] for r in results)
    small, large = results[0], results[-1]
    growth = (large["pipeline"] / large["posts"]) / (small["pipeline"] / small["posts"])
    floor_growth = (large["floor"] / large["posts"]) / (small["floor"] / small["posts"])
    verdict = (
        "The 1.5× goal is judged on the first table: whole processes against the "
        "like-for-like floor (the CPU column; imports included). In one process against "
        f"feedparser's defaults (the second table) the worst ratio is {ratio(worst)}. From "
        f"{small['posts']:,} to "
        f"{large['posts']:,} posts the pipeline's time per post changes by {ratio(growth)} "
        f"(the floor's by {ratio(floor_growth)}); 1.00× would be perfectly linear."
    )
    method = (
        "*First table*: `newsletter send --dry-run` of the installed product against "
        "bench/floor.py, whole processes, paired (bench/paired.py); the last column against "
        "`floor.py --libraries`. *The other tables*, in one process: "
        "Generated WordPress-style RSS feeds (bench/feedgen.py: a few paragraphs, an image "
        'with srcset, a list and a `<span id="more-N">` break per post). *Floor*: '
        "`feedparser.parse(bytes)` with default arguments. *Pipeline*: `pipeline.send` as a "
        "dry run (what `newsletter send` does before the provider: read the ledger, read "
        "and parse the feed file, `select_new`, cut, render), with a ledger that already "
        "holds all but the newest 10 posts, so selection walks the whole feed and cut + "
        "render handle max_posts = 10 in one digest. Each size runs in its own child "
        "process; after one warm-up call of each, floor and pipeline alternate, and the "
        "figure is the median wall time (`time.perf_counter`) of 5 repetitions (3 for 5,000 "
        "posts, and for every size with --quick). *Ratio (CPU)* is the same ratio in "
        "`time.process_time`, which the other processes on the machine disturb less. "
        "*Peak RSS*: `ru_maxrss` of a fresh child process that imports the modules, then "
        "runs the floor or the pipeline once (the whole process, interpreter included). "
        "The stage table times each stage alone through its public function (median of "
        "the same repetitions); the last table cuts every post of the feed and renders "
        "each as its own email (one pass; per-post mode), which no weekly run does but "
        "shows the per-post cost of those stages."
    )
    tables = [main_table, stages]
    if everything.rows:
        tables.append(everything)
    return Section("1. Pipeline against feedparser alone", method, tables, verdict)

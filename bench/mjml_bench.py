"""MJML: mjml-python (what `newsletter` uses) against the Node `mjml` package, same text.

The MJML is the one our digest template produces for ten generated posts: the render stage
runs once with its compiler call intercepted, so both compilers get the exact same source.

    python -m bench.mjml_bench ITERATIONS FILE   # child: mjml-python on FILE, JSON on stdout
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Section, Table, ratio, run_json, seconds

NODE_DIR = ROOT / "bench" / "node"


def digest_mjml() -> str:
    """The MJML source the digest template renders for the newest ten generated posts."""
    import newsletter.render
    from bench.feedgen import wordpress_feed
    from bench.pipeline_bench import cut_posts, render_emails
    from newsletter.feed import parse

    feed = parse(wordpress_feed(10), url="https://workshop.example.org/feed/")
    render: Any = newsletter.render  # its compiler is swapped for a recording one, below
    captured: list[str] = []
    original = render.compile_mjml

    def capture(source: str, **kwargs: Any) -> str:
        captured.append(source)
        html: str = original(source, **kwargs)
        return html

    render.compile_mjml = capture
    try:
        render_emails(feed, cut_posts(feed.posts))
    finally:
        render.compile_mjml = original
    return captured[0]


def time_python(path: Path, iterations: int) -> dict[str, Any]:
    source = path.read_text(encoding="utf-8")
    start = time.perf_counter()
    import mjml

    load = time.perf_counter() - start
    html = mjml.mjml2html(source, disable_comments=True)
    for _ in range(5):
        mjml.mjml2html(source, disable_comments=True)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        mjml.mjml2html(source, disable_comments=True)
        samples.append(time.perf_counter() - start)
    return {
        "load_ms": load * 1000,
        "median_ms": statistics.median(samples) * 1000,
        "html_bytes": len(html.encode()),
    }


def time_node(path: Path, iterations: int) -> dict[str, Any] | str:
    """The Node figures, or why there are none."""
    node = shutil.which("node")
    if node is None:
        return "Node is not installed"
    if not (NODE_DIR / "node_modules" / "mjml").exists():
        return "the Node mjml package is not installed (run `npm ci` in bench/node)"
    finished = subprocess.run(
        [node, str(NODE_DIR / "compile.mjs"), str(path), str(iterations)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        return f"node failed: {finished.stderr.strip().splitlines()[-1:]}"
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    result["node"] = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return result


def section(*, quick: bool) -> Section:
    iterations = 20 if quick else 100
    import mjml

    with tempfile.TemporaryDirectory(prefix="bench-mjml-") as folder:
        path = Path(folder) / "digest.mjml"
        path.write_text(digest_mjml(), encoding="utf-8")
        size = path.stat().st_size
        python = run_json("bench.mjml_bench", str(iterations), str(path))
        node = time_node(path, iterations)
    table = Table(["Compiler", "Median per email", "Package load", "HTML out", "Ratio"])
    version = getattr(mjml, "__version__", "") or _distribution_version("mjml-python")
    table.rows.append(
        [
            f"mjml-python {version} (Rust MRML)",
            seconds(python["median_ms"] / 1000),
            seconds(python["load_ms"] / 1000),
            f"{python['html_bytes'] / 1000:.0f} kB",
            "1.00×",
        ]
    )
    if isinstance(node, str):
        table.rows.append(["Node mjml", node, "", "", ""])
        verdict = f"No Node comparison: {node}."
    else:
        table.rows.append(
            [
                f"Node mjml {node['version']} (Node {node['node']})",
                seconds(node["median_ms"] / 1000),
                seconds(node["load_ms"] / 1000),
                f"{node['html_bytes'] / 1000:.0f} kB",
                ratio(node["median_ms"] / python["median_ms"]),
            ]
        )
        verdict = (
            f"Node mjml takes {ratio(node['median_ms'] / python['median_ms'])} the time of "
            f"mjml-python per email, and {seconds(node['load_ms'] / 1000)} to load against "
            f"{seconds(python['load_ms'] / 1000)}."
        )
    method = (
        f"The digest template rendered with Jinja for ten generated posts ({size / 1000:.0f} "
        "kB of MJML, written to a file); each compiler runs in its own process, compiles it "
        f"6 times to warm up, then {iterations} times; the figure is the median of those "
        "single compilations (`time.perf_counter` / `performance.now`). mjml-python is "
        "called as `newsletter` calls it (`disable_comments=True`); Node mjml with "
        '`keepComments: false, validationLevel: "soft"` (awaited: mjml 5 is asynchronous). '
        "*Package load* is the time to import the package once."
    )
    return Section("2. MJML compile time", method, [table], verdict)


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


if __name__ == "__main__":
    print(json.dumps(time_python(Path(sys.argv[2]), int(sys.argv[1]))))

"""Where `feed.parse`, the pipeline's slowest stage, spends its time.

    python -m bench.profile_parse [POSTS]            # pyinstrument's call tree (default 1000)
    python -m bench.profile_parse --compare [POSTS]  # with and without the base-URI memo

`--compare` times `feed.parse` side by side, in alternation, with its memo of feedparser's
base-URI resolution and with that memo switched off (the code before the fix), and prints
the medians: the before and after of bench/PROFILE.md, reproducible at any time.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from typing import Any

from bench.feedgen import wordpress_feed

URL = "https://workshop.example.org/feed/"


def compare(posts: int, repetitions: int = 7) -> dict[str, float]:
    """Median CPU seconds of `feed.parse` with the memo and without it."""
    import newsletter.feed

    feed_stage: Any = newsletter.feed

    body = wordpress_feed(posts)
    memo = feed_stage._base_uri_memo
    samples: dict[str, list[float]] = {"before": [], "after": []}
    feed_stage.parse(body, url=URL)
    for _ in range(repetitions):
        for label in ("before", "after"):
            # "before" swaps the private memo for a no-op: the parse as it was.
            feed_stage._base_uri_memo = memo if label == "after" else contextlib.nullcontext
            start = time.process_time()
            feed_stage.parse(body, url=URL)
            samples[label].append(time.process_time() - start)
    feed_stage._base_uri_memo = memo
    return {label: statistics.median(values) for label, values in samples.items()}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--compare":
        for posts in [int(argv[1])] if len(argv) > 1 else [100, 1000, 5000]:
            result = compare(posts)
            change = result["after"] / result["before"] - 1
            print(
                f"{posts} posts: before {result['before']:.3f} s, after {result['after']:.3f} s "
                f"CPU ({change:+.0%})"
            )
        return
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("pyinstrument is not installed: pip install pyinstrument") from None
    from newsletter.feed import parse

    body = wordpress_feed(int(argv[0]) if argv else 1000)
    parse(body, url=URL)  # warm: imports and caches are not what we look for
    profiler = Profiler(interval=0.001)
    profiler.start()
    parse(body, url=URL)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=True))


if __name__ == "__main__":
    main(sys.argv[1:])

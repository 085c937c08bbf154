"""Where one `newsletter send` spends its CPU, by phase, in the installed product.

    python bench/where_time_goes.py CONFIG [ARG ...]     # prints JSON

Run with the installed venv's python (bench/installed.py). First every module the command
will use is imported, timed on its own (imports are paid once per process, whichever stage
triggers them); the list is what a first run of the same command left in `sys.modules`,
written by that run to the file named in $WHERE_MODULES. Then the command runs under cProfile,
and the run's CPU is split by the cumulative time of the functions below. cProfile slows
Python code more than system calls, so the shares of the run are approximate and the
import and run totals (process CPU) are the figures to quote.
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib
import io
import json
import os
import pstats
import sys
import time

PHASES = {
    "fetch the feed (HTTP)": ("newsletter/source.py", "fetch"),
    "parse the feed": ("newsletter/feed/parse.py", "parse"),
    "cut and render the emails": ("newsletter/compose.py", "compose"),
    "deliver each email (SMTP, and the ledger saves around it)": (
        "newsletter/delivery.py",
        "send",
    ),
    "… ledger saves (written, fsync'ed, renamed)": ("newsletter/ledger/store.py", "save"),
    "… … of which os.fsync": ("~", "<built-in method posix.fsync>"),
}


def main() -> None:
    modules_file = os.environ["WHERE_MODULES"]
    arguments = sys.argv[1:]
    if not os.path.exists(modules_file):
        from newsletter.cli import main as run

        with contextlib.redirect_stdout(io.StringIO()):
            run(arguments)
        with open(modules_file, "w", encoding="utf-8") as handle:
            json.dump(list(sys.modules), handle)
        return
    with open(modules_file, encoding="utf-8") as handle:
        wanted = [name for name in json.load(handle) if name not in sys.modules]
    start = time.process_time()
    for name in wanted:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    imports = time.process_time() - start
    from newsletter.cli import main as run

    profile = cProfile.Profile()
    start = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        profile.runcall(run, arguments)
    total = time.process_time() - start
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    profiled = max(entry[3] for entry in stats.values())
    shares = {}
    for label, (path, function) in PHASES.items():
        cumulative = sum(
            entry[3]
            for (filename, _line, name), entry in stats.items()
            if (name == function and filename.endswith(path)) or (path == "~" and name == function)
        )
        shares[label] = cumulative / profiled if profiled else 0.0
    print(json.dumps({"imports_cpu": imports, "run_cpu": total, "shares": shares}))


if __name__ == "__main__":
    main()

"""Loopback servers for the sending benchmarks, each in its own process.

Running them apart from the client keeps their work off the client's interpreter lock, so
what the benchmark measures is the client (they still share the machine's two cores).

    python -m bench.servers postmark LATENCY   # Postmark's /email/batch, LATENCY s per request
    python -m bench.servers smtp [LOG]         # aiosmtpd accepting every message (sender and
                                               # size of each appended to LOG, if given)
    python -m bench.servers files FOLDER       # static files over HTTP (the feed)

Each prints `READY <port>` once it listens, then serves until it is terminated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any

from bench.common import ROOT, child_env

_message_ids = count(1)


def _postmark_handler(latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as api.postmarkapp.com
        # Headers and body go out as two writes; with Nagle's algorithm on, the second waits
        # for the client's delayed ACK (up to 40 ms on Linux), which would be the fake's
        # latency, not the adapter's.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(latency)
            # Count the messages instead of parsing megabytes of JSON: a key's quotes are
            # bare only where it is a key (inside a string value they are escaped), and
            # parsing here would take the machine's second core away from the client.
            messages = body.count(b'"MessageStream":') if self.path == "/email/batch" else 1
            results = [
                {
                    "SubmittedAt": "2026-11-26T09:00:00Z",
                    "MessageID": f"bench-{next(_message_ids)}",
                    "ErrorCode": 0,
                    "Message": "OK",
                }
                for _ in range(messages)
            ]
            answer = json.dumps(results if self.path == "/email/batch" else results[0]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the benchmark reads stdout for the READY line only."""

    return Handler


def serve_postmark(latency: float) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _postmark_handler(latency))
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


def serve_smtp(log: Path | None) -> None:
    import socket

    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if log is not None:
                with log.open("a", encoding="utf-8") as handle:
                    handle.write(f"{envelope.mail_from} {len(envelope.content)}\n")
            return "250 OK"

    with socket.socket() as probe:  # a free port: Controller wants one up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # No Nagle here either: asyncio's transports set TCP_NODELAY on every TCP connection they
    # serve (checked on a connection aiosmtpd accepted: the option reads 1), and the SMTP
    # adapter sets it on its own socket.
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def serve_files(folder: Path) -> None:
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        disable_nagle_algorithm = True  # as for the Postmark fake: no delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:
            """Silent, like the others."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


@contextmanager
def running(kind: str, *args: str) -> Iterator[int]:
    """Start a server process and yield its port; stop it (that process only) afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", kind, *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the {kind} server did not start")
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    if sys.argv[1] == "postmark":
        serve_postmark(float(sys.argv[2]))
    elif sys.argv[1] == "smtp":
        serve_smtp(Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    elif sys.argv[1] == "files":
        serve_files(Path(sys.argv[2]))
    else:
        raise SystemExit(f"unknown server {sys.argv[1]!r}")

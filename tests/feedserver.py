"""A real HTTP server on 127.0.0.1 that serves scripted responses and records requests.

Tests script each path with a `Route` (status, headers, body, optional delay) and then read
`server.requests` to check what the client sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/rss+xml; charset=utf-8"}
    )
    delay: float = 0.0
    trickle: float = 0.0
    """Seconds between single bytes: a server that is slow but never silent."""
    send_length: bool = True
    """False: no Content-Length, the body ends when the connection closes (HTTP/1.0)."""
    respond: Callable[[dict[str, str]], Route] | None = None
    """Decide per request (e.g. 304 when If-None-Match matches)."""


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | list[Route]] = {}
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Request("GET", self.path, headers))
                route = server._route(self.path)
                if route.respond is not None:
                    route = route.respond(headers)
                time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.send_length and "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.trickle:
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(route.trickle)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _route(self, path: str) -> Route:
        route = self.routes.get(
            path.split("?")[0], Route(b"not found", 404, {"Content-Type": "text/plain"})
        )
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route

    def url(self, path: str = "/feed.xml") -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""A real HTTP server on 127.0.0.1 that records requests and answers like a vendor would.

Each vendor fake subclasses `FakeApi` and implements `handle`, checking the documented
contract (method, path, auth, content type, fields, limits) and answering with the vendor's
own status codes and error bodies. Tests can queue failures (`fail_next`) that are served
before the normal handling, e.g. a 429 with `Retry-After` or a 503.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_BOUNDARY = re.compile(r"boundary=([^;]+)")
_FIELD_NAME = re.compile(r'name="([^"]*)"')


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """The fields of a multipart/form-data body (RFC 7578), in order, names repeated.

        Parsed by hand rather than with `email.parser`, which takes a third of a second for
        a 1,000-recipient Mailgun batch and would make the fake, not the client, the
        bottleneck of the benchmark.
        """
        boundary = _BOUNDARY.search(self.header("content-type") or "")
        if boundary is None:
            raise ValueError("multipart/form-data without a boundary")
        delimiter = b"--" + boundary.group(1).strip('"').encode()
        fields = []
        for part in self.body.split(delimiter)[1:]:
            if part.startswith(b"--"):
                break
            # Each part sits between the CRLF ending the delimiter line and the CRLF
            # before the next delimiter; everything else is the value, byte for byte.
            head, _, value = part.removeprefix(b"\r\n").removesuffix(b"\r\n").partition(b"\r\n\r\n")
            name = _FIELD_NAME.search(head.decode("utf-8"))
            if name is None:
                raise ValueError("form-data part without a name")
            fields.append((name.group(1), value.decode("utf-8")))
        return fields


@dataclass
class Reply:
    status: int
    body: Any = None
    """JSON-encoded unless bytes."""
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """Start with `with Fake(...) as fake:`; `fake.url` is the base_url to configure."""

    def __init__(self, *, latency: float = 0.0, slow_paths: tuple[str, ...] = ()) -> None:
        self.latency = latency
        self.slow_paths = slow_paths
        """Where `latency` applies (every path when empty): a send may be slow while the
        settings and records it reads first answer at once."""
        self.requests: list[Request] = []
        self._failures: deque[tuple[str | None, Reply]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests (to `path` only, when given) with this reply."""
        for _ in range(times):
            self._failures.append((path, Reply(status, body, headers or {})))

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            failure = self._take_failure(request.path)
        if self.latency and (not self.slow_paths or request.path in self.slow_paths):
            time.sleep(self.latency)
        if failure is not None:
            return failure
        with self._lock:
            return self.handle(request)

    def _take_failure(self, path: str) -> Reply | None:
        for entry in self._failures:
            if entry[0] in (None, path):
                self._failures.remove(entry)
                return entry[1]
        return None


def _handler_for(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = api._answer(request)
            payload = (
                reply.body
                if isinstance(reply.body, bytes)
                else (b"" if reply.body is None else json.dumps(reply.body).encode())
            )
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test): the request still counts

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean."""

    return Handler

"""A small HTTP proxy in front of the LRS that can misbehave: answer 500, or be slow; and
that remembers the request headers it saw (to test at the HTTP boundary)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FlakyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"  # "pass", "500" or "slow"
        self.delay = 3.0
        self.headers: list[dict[str, str]] = []
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.requests += 1
                proxy.headers.append(dict(self.headers.items()))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                if proxy.mode == "500":
                    self._answer(500, b'{"message":"internal error"}')
                    return
                if proxy.mode == "slow":
                    time.sleep(proxy.delay)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,  # noqa: S310
                                                 headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                        self._answer(response.status, response.read())
                except urllib.error.HTTPError as err:
                    self._answer(err.code, err.read())

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = _forward  # noqa: N815

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

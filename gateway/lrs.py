"""The county LRS over HTTP: POST batches of statements, GET one back. Basic auth, the
``X-Experience-API-Version`` header (1.0.3 by default, 2.0.0 as a setting). Transport
trouble and 5xx answers become :class:`LrsUnavailable`; 4xx answers are returned.

Every 2xx answer means the LRS holds the statements (xAPI: 200 with their ids, or 204 when
it holds them already — Ralph answers 204 to a batch it has stored before)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError

VERSIONS = ("1.0.3", "2.0.0")


class LrsUnavailable(GatewayError):
    """The LRS did not answer, or answered 5xx: try again later."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    text: str

    @property
    def ok(self) -> bool:
        """Any 2xx: the LRS holds what was sent."""
        return 200 <= self.status < 300


class LrsClient:
    def __init__(self, endpoint: str, username: str, password: str, version: str = "1.0.3",
                 timeout: float = 30.0) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise GatewayError(f"lrs.endpoint {endpoint!r} must be an http(s) URL")
        if version not in VERSIONS:
            raise GatewayError(f"lrs.version must be one of {', '.join(VERSIONS)}")
        self.endpoint = endpoint.rstrip("/")
        self.statements_url = self.endpoint + "/statements"
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.headers = {"Authorization": f"Basic {token}", "X-Experience-API-Version": version,
                        "Content-Type": "application/json"}
        self.timeout = timeout

    def _send(self, method: str, url: str, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
            raise LrsUnavailable(f"the LRS did not answer: {err}") from err
        text = raw.decode("utf-8", "replace")
        if status >= 500:
            raise LrsUnavailable(f"the LRS answered {status}: {text[:200]}")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return Answer(status, parsed, text)

    def post(self, statements: list[dict[str, Any]]) -> Answer:
        return self._send("POST", self.statements_url, statements)

    def get(self, statement_id: str) -> dict[str, Any] | None:
        answer = self._send("GET", f"{self.statements_url}?statementId={statement_id}")
        return answer.body if answer.status == 200 and isinstance(answer.body, dict) else None

    def get_all(self, since_url: str | None = None) -> list[dict[str, Any]]:
        """Every statement (following ``more`` links) — for tests and the demo's summary."""
        out: list[dict[str, Any]] = []
        url = since_url or self.statements_url + "?limit=500"
        base = self.statements_url.rsplit("/xAPI/", 1)[0] if "/xAPI/" in self.statements_url else ""
        while url:
            answer = self._send("GET", url)
            if answer.status != 200 or not isinstance(answer.body, dict):
                break
            out += answer.body.get("statements", [])
            more = answer.body.get("more") or ""
            url = (base + more) if more.startswith("/") else more
        return out

"""The agent's control socket: versioned JSON lines over a local Unix socket.

See ``docs/control-socket.md``. Each connection gets a ``hello`` with a state snapshot,
then any number of requests (answered with the same ``id``) and every event.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

from kiosk.agent import VERSION, Agent
from kiosk.errors import ControlError, KioskError

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def setup(self) -> None:
        super().setup()
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"
        with self._send_lock:
            self.wfile.write(data)
            self.wfile.flush()

    def handle(self) -> None:
        agent = self.server.agent
        self.send({"v": 1, "event": "hello", "agent": VERSION, "state": agent.snapshot()})
        agent.add_listener(self.send)
        try:
            while True:
                line = self.rfile.readline(MAX_LINE + 1)
                if not line:
                    return
                if len(line) > MAX_LINE:
                    self.send({"v": 1, "id": None, "ok": False,
                               "error": {"code": "bad-request", "zh_CN": "请求太长", "en": "request too long"}})
                    return
                if line.strip():
                    self.send(self.answer(agent, line))
        except (BrokenPipeError, ConnectionResetError):
            return
        finally:
            agent.remove_listener(self.send)

    @staticmethod
    def answer(agent: Agent, line: bytes) -> dict[str, Any]:
        request_id = None
        try:
            try:
                request = json.loads(line)
            except ValueError as err:
                raise ControlError("请求格式不对", "the request is not JSON", code="bad-request") from err
            if not isinstance(request, dict) or request.get("v") != 1 or not isinstance(request.get("op"), str):
                raise ControlError("请求格式不对", 'a request is {"v": 1, "id": …, "op": …}', code="bad-request")
            request_id = request.get("id")
            args = {k: v for k, v in request.items() if k not in ("v", "id", "op")}
            result = agent.request(request["op"], args)
            return {"v": 1, "id": request_id, "ok": True, "result": result}
        except KioskError as err:
            error: dict[str, Any] = {"code": err.code, **err.message()}
            for extra in ("attempts_left", "retry_after"):  # numbers a screen counts down or shows
                if hasattr(err, extra):
                    error[extra] = getattr(err, extra)
            return {"v": 1, "id": request_id, "ok": False, "error": error}
        except Exception:  # the agent answers every request, whatever went wrong  # noqa: BLE001
            log.exception("control request failed")
            return {"v": 1, "id": request_id, "ok": False,
                    "error": {"code": "internal", "zh_CN": "内部错误", "en": "internal error (see the agent's log)"}}


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, agent: Agent) -> None:
        self.agent = agent
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket():
            path.unlink()  # a stale socket from a killed agent
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="control", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        try:
            self.path.unlink()
        except OSError:
            pass


class ControlClient:
    """A blocking client for the CLI, the demo and the tests."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except OSError as err:
            self.sock.close()
            raise ControlError("签到机服务没有运行", f"the kiosk agent is not running at {path} ({err.strerror})",
                               code="no-agent") from err
        self.file = self.sock.makefile("rwb")
        self.events: list[dict[str, Any]] = []
        self.hello = self._read()
        self._next = 0

    def _read(self) -> dict[str, Any]:
        line = self.file.readline()
        if not line:
            raise ControlError("签到机服务断开了连接", "the kiosk agent closed the connection", code="no-agent")
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request; returns its result or raises ControlError with the agent's code."""
        self._next += 1
        request_id = f"c{self._next}"
        self.file.write(json.dumps({"v": 1, "id": request_id, "op": op, **args}).encode() + b"\n")
        self.file.flush()
        while True:
            message = self._read()
            if "event" in message:
                self.events.append(message)
                continue
            if message.get("id") != request_id:
                continue
            if message.get("ok"):
                result: dict[str, Any] = message["result"]
                return result
            error = message.get("error", {})
            err = ControlError(error.get("zh_CN", ""), error.get("en", ""), code=error.get("code", "internal"))
            if "attempts_left" in error:
                err.attempts_left = error["attempts_left"]  # type: ignore[attr-defined]
            raise err

    def next_event(self, name: str) -> dict[str, Any]:
        """Wait for the next event called ``name`` (already received ones first)."""
        for i, message in enumerate(self.events):
            if message.get("event") == name:
                return self.events.pop(i)
        while True:
            message = self._read()
            if message.get("event") == name:
                return message
            if "event" in message:
                self.events.append(message)

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

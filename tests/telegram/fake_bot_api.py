"""A local HTTP server that speaks enough of the Bot API for the real python-telegram-bot client.

It serves queued updates to getUpdates (confirming those below `offset`, as Telegram does),
records every call, keeps files for getFile/download, and can be told to answer 403 for a
chat or 429 (with retry_after) for the next sends.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

BOT = {"id": 4242, "is_bot": True, "first_name": "Desk", "username": "desk_test_bot"}


@dataclass
class BotApiState:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    flood: list[int] = field(default_factory=list)  # retry_after for the next sends, in order
    offsets: list[int] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def push(self, update: dict[str, Any]) -> int:
        with self.lock:
            if "update_id" not in update:
                update = {"update_id": next(self.update_ids), **update}
            self.updates.append(update)
            self.lock.notify_all()
            return int(update["update_id"])

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [p for m, p, _ in self.calls if m == method
                    and (chat_id is None or int(p.get("chat_id", 0)) == chat_id)]

    def wait_sent(self, predicate: Any, timeout: float = 15.0, method: str = "sendMessage",
                  chat_id: int | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for params in self.sent(method, chat_id):
                if predicate(params):
                    return params
            time.sleep(0.05)
        raise AssertionError(f"no {method} matching within {timeout} s; sent: "
                             f"{[p.get('text', '')[:80] for p in self.sent(method, chat_id)]}")

    def get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.lock:
            self.offsets.append(offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            return list(self.updates[:100])


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = unquote(urlparse(self.path).path)
        prefix = f"/file/bot{self.server.state.token}/"
        data = self.server.state.files.get(path[len(prefix):]) if path.startswith(prefix) else None
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            params = json.loads(body or b"{}")
        else:
            params = {k: _decode(v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}
        method = urlparse(self.path).path.rsplit("/", 1)[-1]
        with state.lock:
            state.calls.append((method, params, time.monotonic()))
        status, result = self.server.answer(method, params)
        payload = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: BotApiState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (the gateway was killed) is no error here

    def answer(self, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.state
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method == "getUpdates":
            updates = state.get_updates(int(p.get("offset") or 0), float(p.get("timeout") or 0))
            return 200, {"ok": True, "result": updates}
        if method in ("setWebhook", "deleteWebhook", "answerCallbackQuery"):
            return 200, {"ok": True, "result": True}
        if method == "getFile":
            file_id = str(p["file_id"])
            data = state.files.get(file_id)
            if data is None:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
            return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id,
                                                "file_size": len(data), "file_path": file_id}}
        if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            return self._send(p)
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _send(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.state
        chat_id = int(p["chat_id"])
        with state.lock:
            if state.flood:
                wait = state.flood.pop(0)
                return 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": wait},
                             "description": f"Too Many Requests: retry after {wait}"}
        if chat_id in state.blocked:
            return 403, {"ok": False, "error_code": 403,
                         "description": "Forbidden: bot was blocked by the user"}
        message = {"message_id": next(state.ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT,
                   "text": str(p.get("text", ""))}
        with state.lock:
            p["message_id"] = message["message_id"]
        return 200, {"ok": True, "result": message}


@contextmanager
def running(token: str = "123:TEST") -> Iterator[tuple[BotApiState, str]]:
    """(state, base_url) of a server on 127.0.0.1 for the lifetime of the block."""
    state = BotApiState(token)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        with state.lock:
            state.lock.notify_all()
        server.shutdown()
        server.server_close()

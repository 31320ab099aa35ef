"""taosAdapter's REST front (§8) on 127.0.0.1: routes, Basic auth, body checks, JSON shapes, faults.

A real `ThreadingHTTPServer`, so clients (taospy's `taosrest`, `requests`) hit real sockets, real
timeouts and real refused connections. Every request is logged, in arrival order, with what it got.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.sim import codes, ops, sql
from tests.sim.codes import SqlError
from tests.sim.faults import Faults
from tests.sim.model import Cluster, Trans

_ROUTE = re.compile(r"/rest/sql(?:/(?P<db>[^/]+))?/?")


@dataclass(frozen=True)
class RequestRecord:
    """One REST request. `http_status` 0 means still running; `fault` names an injected fault."""

    sql: str
    http_status: int
    code: int | None
    desc: str
    started: float
    elapsed: float
    fault: str = ""


class RestFront:
    """Turns (path, headers, body) into (status, JSON bytes), executing SQL against the model."""

    def __init__(self, cluster: Cluster, faults: Faults) -> None:
        self.cluster = cluster
        self.faults = faults
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._records: dict[int, RequestRecord] = {}

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return [self._records[k] for k in sorted(self._records)]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        started = time.time()
        text = body.decode("utf-8", errors="replace")
        with self._lock:
            seq = next(self._seq)
            self._records[seq] = RequestRecord(text, 0, None, "", started, 0.0)
        status, payload, fault = self._answer(method, path.split("?", 1)[0], headers, text, started)
        delay = self.faults.take_delay(text) if status != 404 else None
        if delay:
            fault = (fault + f" delay:{delay}s").strip()
            time.sleep(delay)
        code = payload.get("code") if isinstance(payload, dict) else None
        desc = payload.get("desc", "") if isinstance(payload, dict) else str(payload)
        with self._lock:
            self._records[seq] = RequestRecord(text, status, code, desc, started, time.time() - started, fault)
        if isinstance(payload, dict):
            return status, json.dumps(payload, separators=(",", ":")).encode(), "application/json; charset=utf-8"
        return status, str(payload).encode(), "text/plain; charset=utf-8"

    def _answer(
        self, method: str, path: str, headers: dict[str, str], text: str, started: float
    ) -> tuple[int, dict[str, Any] | str, str]:
        route = _ROUTE.fullmatch(path)
        if method != "POST" or route is None:
            return 404, "404 page not found", ""
        status = self.faults.take_http_error(text)
        if status is not None:
            return status, f"simulated HTTP {status}", f"http_error:{status}"
        auth = headers.get("authorization")
        if not auth:
            return 401, {"code": 4357, "desc": "no auth info input"}, ""
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() != "basic":
            return 401, {"code": 4386, "desc": "invalid type of Authorization"}, ""
        try:
            user, sep, password = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not sep:
            return 401, {"code": 4388, "desc": "invalid basic Authorization"}, ""
        if text == "":
            return 400, {"code": 4358, "desc": "request is empty", "timing": _ns(started)}, ""
        if not text.strip():
            return 400, {"code": 4359, "desc": "no sql input", "timing": _ns(started)}, ""
        box = [""]
        try:
            ops.check_auth(self.cluster, user, password)
            injected = self.faults.take_sql_error(text)
            if injected is not None:
                box[0] = f"sql_error:{injected}"
                raise SqlError(injected)
            result = sql.execute(self.cluster, text, route.group("db"), on_drop=self._drop_waiter(box))
        except SqlError as e:
            return 200, {"code": e.code, "desc": e.desc, "timing": _ns(started)}, box[0]
        if result.columns is None:
            affected = [["affected_rows", "INT", 4]]
            return 200, {"code": 0, "column_meta": affected, "data": [[result.affected]], "rows": 1}, box[0]
        rows = result.rows or []
        return 200, {"code": 0, "column_meta": result.columns, "data": rows, "rows": len(rows)}, box[0]

    def _drop_waiter(self, box: list[str]) -> Callable[[Trans], None]:
        """Wait for a started drop; with a background-error fault pending, give up after its delay."""

        def wait(t: Trans) -> None:
            fault = self.faults.take_background_error()
            if fault is None:
                t.done.wait()
                return
            code, after = fault
            box[0] = f"drop_background_error:{code} (transaction finished first)"
            if not t.done.wait(after):
                box[0] = f"drop_background_error:{code}"
                raise SqlError(code, codes.MESSAGES.get(code, codes.MESSAGES[codes.TRANS_UNKNOWN_ERROR]))

        return wait


def _ns(started: float) -> int:
    return int((time.time() - started) * 1e9)


class _Handler(BaseHTTPRequestHandler):
    front: RestFront  # set on the per-server subclass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, ctype = self.front.handle(self.command, self.path, headers, body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its own timeout); the statement already ran

    do_POST = do_GET = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RestServer:
    """Listens on 127.0.0.1:<port>; `close_listener`/`reopen` implement the `unreachable` fault."""

    def __init__(self, front: RestFront) -> None:
        self.front = front
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            handler = type("Handler", (_Handler,), {"front": self.front})
            server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
            server.daemon_threads = True
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def set_unreachable(self, on: bool) -> None:
        if on:
            self.stop()
        elif self._server is None:
            self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

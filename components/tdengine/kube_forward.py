"""The local end of a port-forward: a listener on 127.0.0.1 whose every accepted connection gets a stream of
its own to the pod (`dial`), bytes piped both ways until either side closes.

Only sockets and threads: `kube.py` supplies `dial`, which opens one port-forward stream through the
Kubernetes API (and raises `KubeError` when it cannot).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from components.tdengine.errors import KubeError

log = logging.getLogger(__name__)


@contextmanager
def serve(action: str, port: int, dial: Callable[[], Any]) -> Iterator[str]:
    """Listen on 127.0.0.1:<free port>; the context yields `http://127.0.0.1:<that port>`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # how often the acceptor checks `stop`
    stop = threading.Event()
    open_socks: set[Any] = set()
    socks_lock = threading.Lock()

    def relay(conn: socket.socket) -> None:
        try:
            forward = dial()
        except KubeError as e:
            log.warning("%s", e)
            conn.close()
            return
        remote = forward.socket(port)
        with socks_lock:
            open_socks.update((conn, remote))
        closed = threading.Event()

        def pipe(src: Any, dst: Any) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            if not closed.is_set():  # either side ending ends the connection (HTTP never half-closes)
                closed.set()
                with socks_lock:
                    open_socks.difference_update((conn, remote))
                for s in (conn, remote):
                    close(s)
                if forward.error(port):
                    log.warning("%s: %s", action, forward.error(port))

        threading.Thread(target=pipe, args=(remote, conn), daemon=True).start()
        pipe(conn, remote)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=relay, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept_loop, name=action, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(timeout=1)
        listener.close()
        with socks_lock:
            for s in open_socks:
                close(s)


def close(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

"""A local TCP relay standing in for a `kubectl port-forward`, so that a test can make the forward die.

It listens on 127.0.0.1:<free port> and pipes each connection to the REST server. `close()` is the
forward dying: the listener closes (new connections are refused) and every open connection is cut. The
server side is untouched, so a statement it already received keeps running.
"""

from __future__ import annotations

import socket
import threading


class Relay:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.connections = 0
        self.dead = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # how often the acceptor checks `dead`
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, name=f"relay {self.url}", daemon=True).start()

    def _accept(self) -> None:
        while not self.dead:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            remote = socket.create_connection(self.target)
        except OSError:
            conn.close()
            return
        with self._lock:
            if self.dead:
                conn.close()
                remote.close()
                return
            self.connections += 1
            self._open.update((conn, remote))
        threading.Thread(target=self._pipe, args=(remote, conn), daemon=True).start()
        self._pipe(conn, remote)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        """Either side ending ends the connection (HTTP never half-closes)."""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.difference_update((src, dst))
        for s in (src, dst):
            _cut(s)

    def close(self) -> None:
        with self._lock:
            self.dead = True
            socks, self._open = list(self._open), set()
        self._listener.close()
        for s in socks:
            _cut(s)


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

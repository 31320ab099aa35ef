"""Server side of a Kubernetes port-forward WebSocket (RFC 6455, subprotocol `v4.channel.k8s.io`).

Just enough for `kubernetes.stream.portforward` with one port: binary frames whose first byte is the
channel (0 data, 1 error); the first frame on each channel carries the port, 2 bytes little-endian.
Like the kubelet, it dials the target only after the upgrade, and a failed dial is reported on the
error channel.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler
from typing import BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "v4.channel.k8s.io"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked (server-to-client) final frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


def read_frame(rfile: BinaryIO) -> tuple[int, bytes] | None:
    """(opcode, unmasked payload) of the next frame, or None at end of stream."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, n = head[0] & 0x0F, head[1] & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", rfile.read(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", rfile.read(8))
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = rfile.read(n)
    if len(data) < n:
        return None
    key = (mask * (n // 4 + 1))[:n]  # XOR as one big integer: fast for megabyte frames
    return opcode, (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def accept_upgrade(handler: BaseHTTPRequestHandler, subprotocol: str | None) -> None:
    """Answer the WebSocket handshake (RFC 6455) with 101, naming `subprotocol` when given."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    if subprotocol:
        handler.send_header("Sec-WebSocket-Protocol", subprotocol)
    handler.end_headers()


def serve_port_forward(handler: BaseHTTPRequestHandler, port: int, target: tuple[str, int] | None, pod: str) -> None:
    """Upgrade `handler`'s connection and bridge channel 0 to `target` until either side closes."""
    offered = [p.strip() for p in handler.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    accept_upgrade(handler, SUBPROTOCOL if SUBPROTOCOL in offered else None)

    conn = handler.connection
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames back to back: no Nagle delay
    send_lock = threading.Lock()

    def send(opcode: int, payload: bytes) -> None:
        with send_lock:
            conn.sendall(encode_frame(opcode, payload))

    port_bytes = struct.pack("<H", port)
    send(OP_BINARY, b"\x00" + port_bytes)
    send(OP_BINARY, b"\x01" + port_bytes)
    try:
        upstream = socket.create_connection(target, timeout=5) if target else None
    except OSError as e:
        upstream, reason = None, str(e)
    else:
        reason = "no forward target configured"
    if upstream is None:
        message = f"error forwarding port {port} to pod {pod}: dial tcp {target}: {reason}"
        send(OP_BINARY, b"\x01" + message.encode())
        send(OP_CLOSE, struct.pack("!H", 1000))
        _drain_until_close(handler.rfile)
        return
    upstream.settimeout(None)

    def pump_upstream() -> None:
        try:
            while data := upstream.recv(65536):
                send(OP_BINARY, b"\x00" + data)
        except OSError:
            pass
        try:
            send(OP_CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass

    threading.Thread(target=pump_upstream, name=f"fake port-forward {pod}:{port}", daemon=True).start()
    try:
        while (frame := read_frame(handler.rfile)) is not None:
            opcode, data = frame
            if opcode == OP_CLOSE:
                break
            if opcode == OP_PING:
                send(OP_PONG, data)
            elif opcode in (OP_BINARY, OP_TEXT, OP_CONT) and data[:1] == b"\x00" and len(data) > 1:
                upstream.sendall(data[1:])
    except OSError:
        pass
    finally:
        try:
            upstream.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        upstream.close()


def _drain_until_close(rfile: BinaryIO) -> None:
    try:
        while (frame := read_frame(rfile)) is not None and frame[0] != OP_CLOSE:
            pass
    except OSError:
        pass

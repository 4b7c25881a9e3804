"""A real TCP proxy on loopback between the broker and a Livy, which misbehaves on demand.

It reads HTTP/1.1 requests off each client connection (the broker's httpx pool keeps them alive, so
faults must apply per request, not per connection) and, depending on the fault in force:

- passes the request to Livy and the reply back (``heal``);
- ``hang``: takes the request and never answers (Livy stuck, or a dropped packet path);
- ``hang_replies``: passes the request to Livy but never returns the reply (Livy acted, the answer
  was lost: the case where a retried create would duplicate a session);
- ``reset``: resets the connection (TCP RST), as a crashed or firewalled Livy does;
- ``fail(status, count)``: answers ``count`` requests with ``status`` (502, 503...) itself, then
  passes again: a gateway in front of Livy going through a bad patch;
- ``slow_start``: passes everything, but sessions Livy reports ``idle`` are reported ``starting``,
  as a cluster with no room for a new driver keeps them.

It runs its own event loop in a thread, so it serves the broker whatever the test's loop is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

PASS, HANG, HANG_REPLIES, RESET, FAIL, SLOW_START = (
    "pass",
    "hang",
    "hang_replies",
    "reset",
    "fail",
    "slow_start",
)
# Replies that carry a session's state: rewritten under slow_start.
_SESSION_PATHS = re.compile(r"^/sessions(/[^/?]+(/state)?)?(\?.*)?$")


@dataclass
class Message:
    """One HTTP request or reply, parsed enough to route, rewrite and re-send it."""

    start_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def to_bytes(self) -> bytes:
        kept = [(k, v) for k, v in self.headers if k.lower() not in _FRAMING]
        kept.append(("Content-Length", str(len(self.body))))
        head = "\r\n".join([self.start_line, *(f"{k}: {v}" for k, v in kept)]) + "\r\n\r\n"
        return head.encode("latin-1") + self.body


_FRAMING = {"content-length", "transfer-encoding"}


class FaultProxy:
    """``proxy = FaultProxy(livy_url); proxy.start(); ... proxy.hang(); ... proxy.heal()``."""

    def __init__(self, upstream_url: str):
        self.upstream = _host_port(upstream_url)
        self.url = ""
        self.seen: list[tuple[str, str, str]] = []  # (method, path, fault applied) per request
        self._fault = PASS
        self._fail_status = 503
        self._fail_left: int | None = None  # None: every request, while the fault lasts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    # -- control, from any thread ---------------------------------------------------------------

    def start(self) -> str:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self.url

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def heal(self) -> None:
        self._set(PASS)

    def hang(self) -> None:
        self._set(HANG)

    def hang_replies(self) -> None:
        self._set(HANG_REPLIES)

    def reset(self) -> None:
        self._set(RESET)

    def slow_start(self) -> None:
        self._set(SLOW_START)

    def fail(self, status: int = 503, count: int | None = None) -> None:
        """Answer ``status`` to the next ``count`` requests (every one if None), then pass."""

        def apply() -> None:
            self._fault, self._fail_status, self._fail_left = FAIL, status, count

        self._on_loop(apply)

    def retarget(self, upstream_url: str) -> None:
        """Send later requests to another Livy; connections to the old one are dropped."""

        def apply() -> None:
            self.upstream = _host_port(upstream_url)

        self._on_loop(apply)

    def _set(self, fault: str) -> None:
        def apply() -> None:
            self._fault, self._fail_left = fault, None

        self._on_loop(apply)

    def _on_loop(self, change) -> None:
        """Apply a change on the proxy's loop and return once it holds for the next request."""

        async def run() -> None:
            change()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def count(self, fault: str) -> int:
        return sum(1 for _, _, applied in list(self.seen) if applied == fault)

    # -- serving, on the proxy's loop -----------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter, tuple[str, int]] | None = None
        try:
            while True:
                request = await _read_message(reader)
                if request is None:
                    return
                method, target = request.start_line.split(" ")[:2]
                fault = self._take_fault()
                self.seen.append((method, target, fault))
                if fault == RESET:
                    _reset(writer)
                    return
                if fault == HANG:
                    await reader.read()  # until the client gives up and closes
                    return
                if fault == FAIL:
                    writer.write(_error_reply(self._fail_status).to_bytes())
                    await writer.drain()
                    continue
                if upstream is None or upstream[2] != self.upstream or upstream[0].at_eof():
                    if upstream is not None:
                        upstream[1].close()
                    try:
                        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
                    except OSError:  # Livy is down: the client sees its connection drop
                        _reset(writer)
                        return
                    upstream = (up_reader, up_writer, self.upstream)
                upstream[1].write(request.to_bytes())
                await upstream[1].drain()
                reply = await _read_message(upstream[0], request_method=method)
                if reply is None:  # Livy went away mid-request
                    _reset(writer)
                    return
                if fault == HANG_REPLIES:
                    await reader.read()
                    return
                if fault == SLOW_START and method == "GET" and _SESSION_PATHS.match(target):
                    reply = _report_starting(reply)
                writer.write(reply.to_bytes())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(writer)
            if upstream is not None:
                upstream[1].close()
            writer.close()

    def _take_fault(self) -> str:
        if self._fault == FAIL and self._fail_left is not None:
            if self._fail_left <= 0:
                self._fault = PASS
            else:
                self._fail_left -= 1
        return self._fault


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _read_message(
    reader: asyncio.StreamReader, *, request_method: str | None = None
) -> Message | None:
    """One request (``request_method`` None) or reply; None if the peer closed between messages."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    message = Message(lines[0], headers, b"")  # type: ignore[arg-type]
    if (message.header("Transfer-Encoding") or "").lower() == "chunked":
        message.body = await _read_chunked(reader)
    elif (length := message.header("Content-Length")) is not None:
        message.body = await reader.readexactly(int(length))
    elif request_method is not None and request_method != "HEAD":
        status = int(lines[0].split(" ")[1])
        if status >= 200 and status not in (204, 304):
            message.body = await reader.read()  # a reply without framing ends with the connection
    return message


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent by Livy
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: the client sees "connection reset by peer"."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


def _error_reply(status: int) -> Message:
    body = f"<html><head><title>{status} injected by the fault proxy</title></head></html>"
    return Message(
        f"HTTP/1.1 {status} Injected",
        [("Content-Type", "text/html"), ("Connection", "keep-alive")],
        body.encode(),
    )


def _report_starting(reply: Message) -> Message:
    try:
        body = json.loads(reply.body)
    except ValueError:
        return reply
    sessions = body.get("sessions", [body]) if isinstance(body, dict) else []
    for session in sessions:
        if isinstance(session, dict) and session.get("state") == "idle":
            session["state"] = "starting"
    return Message(reply.start_line, reply.headers, json.dumps(body).encode())

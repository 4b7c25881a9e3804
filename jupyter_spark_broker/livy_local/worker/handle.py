"""The server's handle on one session's worker process (:mod:`.main`).

The two talk JSON lines over a socketpair, so nothing the user's code prints can corrupt the channel.

server -> worker: ``start {conf, ui_key}`` first, then ``execute {id, code, kind}``, ``cancel {id}``,
``complete {req, code, cursor}``, ``shutdown``. The Spark conf comes over the socket, not in argv: it may
hold secrets (a Connect token), and any OS user reads a process's argv with ``ps``.
worker -> server: ``ready {spark, detail, app_id?, spark_ui_url?}``, ``failed {detail}``,
``started {id}``, ``progress {id, progress}``, ``done {id, output, cancelled, session_ends}``,
``completion {req, candidates}``.

The worker's stdout and stderr (its own prints outside statements, the JVM's log) arrive line by line as
the session's log, a very long line in pieces. Statement output is cut by the worker past
``max_output`` characters, so every message fits the reader's limit; a channel that breaks anyway (junk
written to the socket) kills the worker, and the session ends ``dead`` with the reason in its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..config import without_secrets
from .scratch import make_scratch

MessageHandler = Callable[[dict[str, Any]], None]
LineHandler = Callable[[str], None]
ExitHandler = Callable[[int], Awaitable[None]]

_WORKER_MODULE = f"{__package__}.main"
_MATPLOTLIB_BACKEND = f"module://{__package__}.matplotlib_backend"
LOG_PIECE = 16 * 1024  # bytes: a longer log line is split into pieces of this size


def message_limit(max_output: int) -> int:
    """Bytes one JSON line from the worker may take: output cut at ``max_output`` characters, each
    at most six bytes once JSON-escaped, plus room for the rest of the message."""
    return 8 * max_output + (1 << 20)


class WorkerProcess:
    def __init__(
        self,
        *,
        session_id: int,
        spark: str,
        spark_conf: dict[str, str],
        ui_key: str | None = None,
        scala: bool = False,
        max_output: int = 1_000_000,
        on_message: MessageHandler,
        on_log_line: LineHandler,
        on_exit: ExitHandler,
    ):
        self.session_id = session_id
        self._spark = spark
        self._spark_conf = spark_conf
        self._ui_key = ui_key
        self._scala = scala
        self._max_output = max_output
        self._on_message = on_message
        self._on_log_line = on_log_line
        self._on_exit = on_exit
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task] = []
        # Made and removed here, not by the worker: a worker killed with SIGKILL leaves nothing.
        self._scratch: str | None = None
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        self._scratch = make_scratch(self.session_id)
        ours, theirs = socket.socketpair()
        env = without_secrets(os.environ)  # user code runs here: no Jupyter or broker secret
        env.setdefault("MPLBACKEND", _MATPLOTLIB_BACKEND)
        # A local SparkSession serves its UI and driver on loopback only, like the server itself.
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                _WORKER_MODULE,
                "--fd",
                str(theirs.fileno()),
                "--session-id",
                str(self.session_id),
                "--spark",
                self._spark,
                "--scratch",
                self._scratch,
                "--max-output",
                str(self._max_output),
                *(["--scala"] if self._scala else []),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(
            sock=ours, limit=message_limit(self._max_output)
        )
        await self.send(op="start", conf=self._spark_conf, ui_key=self._ui_key)
        self._tasks = [
            asyncio.create_task(self._read_messages(reader)),
            asyncio.create_task(self._read_log(self._process.stdout)),
            asyncio.create_task(self._watch_exit()),
        ]

    async def send(self, **message: Any) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        self._writer.write((json.dumps(message) + "\n").encode("utf-8"))
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    async def stop(self, grace: float = 5.0) -> None:
        """Ask the worker to stop, then terminate, then kill: it is gone when this returns."""
        self.stopping = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        await self.send(op="shutdown")
        if self._writer is not None:
            self._writer.close()
        for send_signal in (None, process.terminate, process.kill):
            if send_signal is not None:
                with contextlib.suppress(ProcessLookupError):
                    send_signal()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
                return

    async def _read_messages(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    self._on_log_line(f"livy-local: unreadable message from worker: {line[:200]!r}")
                    continue
                self._on_message(message)
        except (ValueError, OSError) as error:  # over the line limit, or a broken socket
            self._channel_broke(error)

    def _channel_broke(self, error: BaseException) -> None:
        """A worker the server can no longer hear would leave the session waiting for ever: end it."""
        if self.stopping or self._process is None or self._process.returncode is not None:
            return
        self._on_log_line(
            f"livy-local: the worker's message channel broke ({type(error).__name__}: {error}); "
            "stopping the session"
        )
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    async def _read_log(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        pending = b""
        while chunk := await stream.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._log_bytes(line)
            while len(pending) >= LOG_PIECE:  # a line without end: log it in pieces
                self._log_bytes(pending[:LOG_PIECE])
                pending = pending[LOG_PIECE:]
        if pending:
            self._log_bytes(pending)

    def _log_bytes(self, line: bytes) -> None:
        for start in range(0, max(len(line), 1), LOG_PIECE):
            self._on_log_line(line[start : start + LOG_PIECE].decode("utf-8", errors="replace"))

    async def _watch_exit(self) -> None:
        assert self._process is not None
        code = await self._process.wait()
        # Let the pipes drain so the log ends with the worker's last words.
        await asyncio.gather(*self._tasks[:2], return_exceptions=True)
        if self._scratch is not None:
            await asyncio.to_thread(shutil.rmtree, self._scratch, ignore_errors=True)
        await self._on_exit(code)


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exited with code {code}"

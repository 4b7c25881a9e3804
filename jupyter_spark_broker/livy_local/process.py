"""Start the local Livy as a child process and know its URL: used by the broker and by the tests."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from .config import AUTH_BASIC_ENV, EMBEDDED_ENV, READY_PREFIX


class LocalLivyStartError(RuntimeError):
    pass


class LocalLivyProcess:
    """``with LocalLivyProcess(["--spark", "off"]) as livy: livy.url``: a free loopback port each time."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        basic_auth: tuple[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        stderr=None,
    ):
        self.args = list(args)
        self.basic_auth = basic_auth
        self.env = dict(env) if env is not None else None
        self.stderr = stderr
        self.url = ""
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> str:
        self.spawn()
        return self.wait_until_ready(timeout)

    def spawn(self) -> None:
        """Start the process. Call it from a long-lived thread: the child ends when that thread does."""
        env = dict(self.env if self.env is not None else os.environ)
        env[EMBEDDED_ENV] = "1"
        if self.basic_auth is not None:
            env[AUTH_BASIC_ENV] = ":".join(self.basic_auth)  # not argv: `ps` would show it
        command = [
            sys.executable,
            "-m",
            __package__,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *self.args,
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL, env=env
        )

    def wait_until_ready(self, timeout: float = 60.0) -> str:
        """Block until the server announces its URL (safe to call from a worker thread)."""
        self.url = self._read_url(timeout)
        return self.url

    def _read_url(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not selector.select(remaining):
                    break
                line = self.process.stdout.readline().decode("utf-8", errors="replace")
                if not line:
                    self.stop()
                    raise LocalLivyStartError(
                        f"the local Livy exited during start-up (code {self.process.returncode})"
                    )
                if line.startswith(READY_PREFIX):
                    return line[len(READY_PREFIX) :].strip()
        self.stop()
        raise LocalLivyStartError(f"the local Livy did not announce its URL within {timeout:g} s")

    def stop(self, timeout: float = 20.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalLivyProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""A real ``jupyter server`` subprocess with the broker, for tools that need a server that is always
running (the schemathesis run, the overhead benchmark), not one that runs only inside an async test."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import config_sections, wait_until_serving


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveJupyter:
    """``with LiveJupyter(workdir, livy_url) as server: server.url, server.token``."""

    def __init__(
        self,
        workdir: Path,
        livy_url: str,
        *,
        db_path: Path | None = None,
        server_config: dict | None = None,
        **broker_config,
    ):
        self.workdir = workdir
        self.livy_url = livy_url
        self.db_path = db_path or workdir / "registry.sqlite"
        self.server_config = server_config or {}  # more ServerApp traits
        self.broker_config = broker_config
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LiveJupyter:
        config_dir = self.workdir / "config"
        config_dir.mkdir(exist_ok=True)
        broker = {
            "endpoints": {"live": {"url": self.livy_url}},
            "default_endpoint": "live",
            "db_url": f"sqlite:///{self.db_path}",
            "local_livy_args": ["--spark", "off"],
            "warm_pool": {},  # none unless asked (None: the shipped default)
            **self.broker_config,
        }
        (config_dir / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "ServerApp": {
                        "jpserver_extensions": {"jupyter_spark_broker": True},
                        **self.server_config,
                    },
                    **config_sections(broker),
                }
            )
        )
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(self.workdir / "data"),
        }
        command = [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.workdir}",
        ]  # fmt: skip
        log = (self.workdir / "jupyter.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            self._wait_until_up()
        except BaseException:  # too slow to start on a busy host: never leave it running
            self.__exit__()
            raise
        return self

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/api/status", headers=self.headers).status_code == 200
            except httpx.TransportError:
                return False

        what = f"jupyter server (log: {self.workdir / 'jupyter.log'})"
        wait_until_serving(up, process=self.process, what=what, timeout=timeout)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

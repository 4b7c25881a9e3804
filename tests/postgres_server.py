"""A real PostgreSQL server in a temporary directory, on a free loopback port, for the registry tests
on the database meant for several Jupyter servers.

Needs Debian's postgresql package (``scripts/setup.sh`` installs it with the ``test`` extra) and the
``postgresql`` extra (psycopg). PostgreSQL refuses to run as root: as root, the server runs as the
``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from tests.helpers import wait_until_serving
from tests.live_server import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


class PostgresServer:
    """``with PostgresServer(directory) as pg: pg.new_database()`` gives a SQLAlchemy URL."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        # Run as postgres directly (not through runuser), so that signals reach the server itself.
        self._user = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}

    def __enter__(self) -> PostgresServer:
        data = self.dir / "data"
        data.mkdir()
        if self._user:
            shutil.chown(self.dir, "postgres")
            shutil.chown(data, "postgres")
        made = subprocess.run(
            [_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
            capture_output=True,
            text=True,
            cwd=self.dir,
            **self._user,
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")
        log = (self.dir / "postgres.log").open("wb")
        self._process = subprocess.Popen(
            [_bin("postgres"), "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.dir), "-c", "fsync=off"],
            stdout=log,
            stderr=log,
            cwd=self.dir,
            **self._user,
        )  # fmt: skip
        self._wait_until_accepting()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            self._process.wait(timeout=30)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database: one per test, so no test sees another's rows."""
        import psycopg

        name = f"registry_{secrets.token_hex(6)}"
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def _dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _wait_until_accepting(self) -> None:
        import psycopg

        def accepting() -> bool:
            try:
                psycopg.connect(self._dsn(), connect_timeout=2).close()
            except psycopg.OperationalError:
                return False
            return True

        what = f"postgres (log: {self.dir / 'postgres.log'})"
        wait_until_serving(accepting, process=self._process, what=what)

"""The Livy a benchmark talks to: the shipped local Livy, or Apache Livy (``--livy apache``).

Apache Livy comes from ``scripts/apache-livy.sh`` (run ``prepare`` first) and, like every Spark
driver here, should run in a loopback-only network namespace:
``unshare --net bash -c 'ip link set lo up && .venv/bin/python benchmarks/... --livy apache'``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from jupyter_spark_broker.livy_local import LocalLivyProcess
from tests.apache_livy import ApacheLivyProcess


@contextlib.contextmanager
def livy_server(which: str, *, spark: bool) -> Iterator[str]:
    """Start the server, yield its URL, stop it (with its sessions) at the end."""
    if which == "apache":
        with tempfile.TemporaryDirectory() as tmp:
            server = ApacheLivyProcess(Path(tmp) / "livy.log")
            server.start()
            try:
                yield server.url
            finally:
                server.stop()
        return
    with LocalLivyProcess(["--spark", "on" if spark else "off"]) as local:
        yield local.url

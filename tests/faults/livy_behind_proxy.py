"""A local Livy reached only through a :class:`FaultProxy`, and restartable behind it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jupyter_spark_broker.livy_local import LocalLivyProcess
from tests.faults.proxy import FaultProxy


class LivyBehindProxy:
    """The broker is given ``url`` (the proxy's); the Livy behind it may be restarted at will."""

    def __init__(self, args: Sequence[str], log_dir: Path):
        self.args = list(args)
        self.log_dir = log_dir
        self.restarts = 0
        self.livy = self._start_livy()
        self.proxy = FaultProxy(self.livy.url)
        self.url = self.proxy.start()

    def _start_livy(self) -> LocalLivyProcess:
        log = (self.log_dir / f"livy-{self.restarts}.log").open("wb")
        livy = LocalLivyProcess(self.args, stderr=log)
        livy.start()
        return livy

    @property
    def livy_url(self) -> str:
        """Livy itself, past the proxy: what the tests check against."""
        return self.livy.url

    def restart_livy(self) -> None:
        """Stop Livy and start a fresh one (no recovery mode): it forgets every session it had."""
        self.livy.stop()
        self.restarts += 1
        self.livy = self._start_livy()
        self.proxy.retarget(self.livy.url)

    def stop(self) -> None:
        self.proxy.stop()
        self.livy.stop()

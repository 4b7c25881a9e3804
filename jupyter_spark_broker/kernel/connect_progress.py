"""Progress of a Spark Connect operation, drawn as the Livy kernels draw a statement's (``progress.py``).

pyspark 4's Connect client reports the server's progress messages to handlers registered with
``SparkSession.registerProgressHandler``: the operation's stages (tasks done of tasks), the tasks
running, and ``done`` at its end. This handler turns them into one status line per operation, updated in
place: an HTML bar and the Spark UI link where the front end renders HTML, text elsewhere. pyspark's
own bar (printed to stdout with carriage returns) stays off.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from .progress import RunningJob, StatementProgress

# pyspark's printed bar: our line replaces it (pyspark.sql.connect.shell.PROGRESS_BAR_ENABLED).
PYSPARK_BAR = "SPARK_CONNECT_PROGRESS_BAR_ENABLED"


class ConnectProgress:
    """A progress handler for ``spark.registerProgressHandler``: one line per operation that runs
    past its first second (a quick one shows nothing), ending on a one-line summary."""

    def __init__(
        self, spark_ui_url: str | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.spark_ui_url = spark_ui_url.rstrip("/") + "/" if spark_ui_url else None
        self._clock = clock
        self._running: dict[str | None, StatementProgress] = {}

    def __call__(
        self,
        stages: Iterable[Any] | None,
        inflight_tasks: int,
        operation_id: str | None,
        done: bool,
    ) -> None:
        if done:
            # Called from pyspark's ``finally``-like exits too: an exception on its way out says
            # how the operation ended. (A second ``done`` for the same operation finds nothing.)
            line = self._running.pop(operation_id, None)
            if line is not None:
                line.finish({"state": _outcome(sys.exc_info()[1])})
            return
        line = self._running.get(operation_id)
        if line is None:
            line = self._running[operation_id] = StatementProgress(self.spark_ui_url, self._clock)
        stages = list(stages or [])
        total = sum(stage.num_tasks for stage in stages)
        completed = sum(stage.num_completed_tasks for stage in stages)
        line.update(
            {"state": "running", "progress": completed / total if total else 0.0},
            self._job(stages, completed, total, inflight_tasks),
        )

    def _job(
        self, stages: list[Any], completed: int, total: int, running: int
    ) -> RunningJob | None:
        if not stages:
            return None
        active = [stage for stage in stages if not stage.done] or stages
        stage = max(active, key=lambda s: s.stage_id)
        text = f"stage {stage.stage_id}: {completed}/{total} tasks, {running} running"
        link = None
        if self.spark_ui_url:
            link = f"{self.spark_ui_url}stages/stage/?id={stage.stage_id}&attempt=0"
        return RunningJob(text, link)


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "available"
    return "cancelled" if isinstance(error, KeyboardInterrupt) else "error"


def use_our_progress(spark: Any, spark_ui_url: str | None) -> ConnectProgress:
    """Replace whatever progress reporting ``spark`` has with ours."""
    os.environ[PYSPARK_BAR] = "0"
    handler = ConnectProgress(spark_ui_url)
    spark.clearProgressHandlers()
    spark.registerProgressHandler(handler)
    return handler

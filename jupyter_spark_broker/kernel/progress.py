"""Status lines of a Spark cell, updated in place: Spark starting, a statement running.

Each is one display output with a ``display_id``, so the front end replaces it instead of appending.
It carries HTML (a bar and a link, where the front end renders HTML) and plain text (a console,
nbconvert). It ends on a short summary rather than empty, so a saved notebook holds no empty outputs.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.display import display

# A statement that ends sooner shows nothing at all.
QUIET_FOR = 1.0
BAR_WIDTH = 30


class StatusLine:
    """One output updated in place; nothing is shown until the first ``show``."""

    def __init__(self) -> None:
        self._handle: Any = None

    @property
    def shown(self) -> bool:
        return self._handle is not None

    def show(self, text: str, html_text: str | None = None) -> None:
        bundle = {"text/plain": text}
        if html_text is not None:
            bundle["text/html"] = html_text
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


class StatementProgress:
    """Elapsed time, progress and the Spark UI link of a running statement, from its first second."""

    def __init__(
        self, spark_ui_url: str | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.spark_ui_url = spark_ui_url
        self._clock = clock
        self._started = clock()
        self._line = StatusLine()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def showing(self) -> bool:
        """Past its first second: worth asking Spark which job runs."""
        return self.elapsed >= QUIET_FOR

    def update(self, statement: dict[str, Any], job: RunningJob | None = None) -> None:
        """After each long-poll; ``job`` is the running Spark job and stage, when known."""
        elapsed = self.elapsed
        if elapsed < QUIET_FOR:
            return
        progress = float(statement.get("progress") or 0.0)
        state = "waiting" if statement.get("state") == "waiting" else "running"
        words = f"Spark: {state} {_duration(elapsed)}" + (f" · {job.text}" if job else "")
        link = job.link if job else self.spark_ui_url
        text = f"{words}  {_text_bar(progress)}" + (f"  Spark UI: {link}" if link else "")
        self._line.show(text, _html_bar(words, progress, link))

    def finish(self, statement: dict[str, Any]) -> None:
        """A line that was shown becomes a one-line summary; a quick statement leaves nothing."""
        if not self._line.shown:
            return
        outcome = {"available": "done in", "cancelled": "cancelled after", "error": "failed after"}
        state = statement.get("state", "")
        if (statement.get("output") or {}).get("status") == "error":
            state = "error"  # Livy says "available" for code that raised
        words = f"Spark: {outcome.get(state, 'stopped after')} " + _duration(self.elapsed)
        text = words + (f"  Spark UI: {self.spark_ui_url}" if self.spark_ui_url else "")
        self._line.show(text, f"<span>{html.escape(words)}</span>{_ui_link(self.spark_ui_url)}")


@dataclass(frozen=True)
class RunningJob:
    text: str  # "job 3, stage 5: 12/16 tasks"
    link: str | None  # the job's page in the Spark UI


def running_job(spark_ui: Callable[..., Any], session: dict[str, Any]) -> RunningJob | None:
    """The newest running Spark job of the session and its active stage, from the Spark UI's REST
    API (``spark_ui(session, path, **params)``); None when there is none or no UI to ask."""
    app = session.get("app_id")
    if not app:
        return None
    jobs = spark_ui(session, f"api/v1/applications/{app}/jobs", status="running")
    if not jobs:
        return None
    job = max(jobs, key=lambda j: j["jobId"])
    text = f"job {job['jobId']}"
    stages = spark_ui(session, f"api/v1/applications/{app}/stages", status="active") or []
    mine = [s for s in stages if s["stageId"] in job.get("stageIds", [])]
    if mine:
        stage = max(mine, key=lambda s: s["stageId"])
        text += f", stage {stage['stageId']}: {stage['numCompleteTasks']}/{stage['numTasks']} tasks"
    else:
        text += f": {job['numCompletedTasks']}/{job['numTasks']} tasks"
    link = f"{session['spark_ui_url']}jobs/job/?id={job['jobId']}"
    return RunningJob(text, link)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _text_bar(progress: float) -> str:
    done = round(progress * BAR_WIDTH)
    return f"[{'#' * done}{'.' * (BAR_WIDTH - done)}] {progress:4.0%}"


def _html_bar(words: str, progress: float, spark_ui_url: str | None) -> str:
    # Plain divs with inline widths: they survive JupyterLab's sanitizer, unlike <progress>.
    percent = f"{progress:.0%}"
    return (
        '<div style="display:flex;align-items:center;gap:0.6em">'
        f"<span>{html.escape(words)}</span>"
        '<div style="width:16em;height:0.9em;border:1px solid #999;border-radius:3px">'
        f'<div style="width:{percent};height:100%;background:#4c9be8"></div></div>'
        f"<span>{percent}</span>{_ui_link(spark_ui_url)}</div>"
    )


def _ui_link(spark_ui_url: str | None) -> str:
    if not spark_ui_url:
        return ""
    href = html.escape(spark_ui_url, quote=True)
    return f' <a href="{href}" target="_blank" rel="noopener">Spark UI</a>'

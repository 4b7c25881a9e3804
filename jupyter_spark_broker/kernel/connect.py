"""Spark Connect in a kernel: ``spark`` bound to this notebook's Connect session, through the broker.

The broker owns the session: it runs (or knows) the Connect server and fixes the session's id, so a
restarted kernel that attaches again lands in the same server-side session, temp views included. The
kernel asks the broker for the session's ``sc://`` URL (token inside, never printed) and hands it to
pyspark's own Connect client; cells then run here, in the kernel, with the DataFrame API.

``%spark connect`` binds ``spark`` in any IPython kernel; the "PySpark Connect (broker)" kernel binds
it from the start, connecting on first use. An interrupt interrupts the session's running operations;
a Spark error shows as ``Name: message`` first, with pyspark's and gRPC's frames hidden; a long
operation shows a progress line and its Spark UI link (``connect_progress.py``).
"""

from __future__ import annotations

import html
import itertools
import os
import re
import time
import traceback
from typing import Any

from ipykernel.ipkernel import IPythonKernel
from IPython.display import display

from .client import BrokerClient
from .connect_progress import use_our_progress
from .progress import StatusLine
from .session_words import attached_line
from .settings import KernelSettings

STARTING = ("not_started", "starting", "recovering")
# Frames of these libraries are plumbing, hidden from the first view of an error.
_PLUMBING = ("/pyspark/", "/grpc/", "/google/protobuf/", "/IPython/core/")
# How much of a Spark error's message to show (plans and server-side stacks can run to hundreds).
MESSAGE_LINES = 12


class SparkConnectUnavailable(Exception):
    """The Connect session cannot be used: one sentence, and what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"SparkConnectUnavailable: {self}"]


class ConnectBinding:
    """This notebook's Connect session. Its own broker client: a Livy attachment of the same notebook
    (``%%spark``) is another attachment, and both may live side by side."""

    def __init__(self, client: BrokerClient | None = None):
        self._client = client
        self.session: dict[str, Any] | None = None
        self.spark: Any = None

    @property
    def client(self) -> BrokerClient:
        if self._client is None:
            self._client = BrokerClient(KernelSettings.from_environment())
        return self._client

    def connect(self) -> Any:
        """Attach (get-or-create), wait while the server starts, and open pyspark's Connect client."""
        attached = self.client.attach(protocol="connect")
        session = attached["session"]
        print(attached_line(attached, "Spark Connect session"))
        session = self._wait_for_start(session)
        url = self.client.connect_url(session["id"])
        try:
            from pyspark.sql.connect.session import SparkSession
        except ImportError as error:
            raise SparkConnectUnavailable(
                f"pyspark's Connect client is not installed here ({error}); install "
                "jupyter-spark-broker[connect] in the kernel's environment"
            ) from None
        # As pyspark's own builder does for a remote session: without it, pyspark.sql.functions
        # (udf, pandas_udf) take this process for classic Spark and want a SparkContext.
        os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
        # create(), not getOrCreate(): after a kill, the next binding must not reuse the old client.
        self.spark = SparkSession.builder.remote(url).create()
        self.session = session
        use_our_progress(self.spark, session.get("spark_ui_url"))
        _show_ready(self.spark.conf.get("spark.app.id"), session.get("spark_ui_url"))
        return self.spark

    def _wait_for_start(self, session: dict[str, Any]) -> dict[str, Any]:
        started, stage = time.monotonic(), None
        while session["state"] in STARTING:
            text = f"Starting Spark Connect ({time.monotonic() - started:.0f} s) …"
            stage = stage or display({"text/plain": text}, raw=True, display_id=True)
            stage.update({"text/plain": text}, raw=True)
            time.sleep(1.0)
            session = self.client.describe(session["id"])
        if stage is not None:
            stage.update({"text/plain": ""}, raw=True)
        if session["state"] not in ("idle", "busy"):
            raise SparkConnectUnavailable(
                f"the Spark Connect session ended while starting ({session['state']}: "
                f"{session.get('message') or 'no reason given'}); run the cell again to retry"
            )
        return session

    def interrupt(self) -> list[str]:
        """Interrupt every running operation of this session (not only this client's)."""
        if self.spark is None:
            return []
        return list(self.spark.interruptAll())


def _show_ready(app_id: str, spark_ui_url: str | None) -> None:
    words = f"Spark Connect ready: application {app_id}"
    if not spark_ui_url:
        StatusLine().show(words)
        return
    href = html.escape(spark_ui_url, quote=True)
    StatusLine().show(
        f"{words}, Spark UI {spark_ui_url}",
        f'<span>{html.escape(words)}</span>, <a href="{href}" target="_blank" rel="noopener">'
        "Spark UI</a>",
    )


class LazySpark:
    """Stands for ``spark`` until first used: then connects, and puts the real session in its place."""

    def __init__(self, shell: Any, binding: ConnectBinding):
        self._shell, self._binding = shell, binding

    def __getattr__(self, name: str) -> Any:
        spark = self._binding.spark or self._binding.connect()
        if self._shell.user_ns.get("spark") is self:
            self._shell.user_ns["spark"] = spark
        return getattr(spark, name)

    def __repr__(self) -> str:
        return "<spark: this notebook's Spark Connect session, connected on first use>"


def bind_spark(
    shell: Any, binding: ConnectBinding | None = None, *, lazy: bool = False
) -> ConnectBinding:
    """Bind ``spark`` in ``shell`` to the notebook's Connect session, and its error and interrupt
    handling. ``lazy`` waits for the first use of ``spark`` to connect."""
    binding = binding or ConnectBinding()
    shell.user_ns["spark"] = LazySpark(shell, binding) if lazy else binding.connect()
    shell.set_custom_exc(_handled_exceptions(), _exception_handler(binding))
    return binding


def _handled_exceptions() -> tuple[type[BaseException], ...]:
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # the first use of `spark` says what to install
        return (KeyboardInterrupt,)
    return (KeyboardInterrupt, PySparkException)


def _exception_handler(binding: ConnectBinding):
    def handle(
        shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> list[str]:
        if isinstance(value, KeyboardInterrupt):
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
            try:
                interrupted = binding.interrupt()
            except Exception as error:  # the interrupt must not hide the KeyboardInterrupt
                stb.append(f"(could not interrupt the Spark Connect session: {error})")
            else:
                if interrupted:
                    stb.append(
                        f"Interrupted {len(interrupted)} Spark operation(s) of this session."
                    )
        else:
            stb = trimmed_traceback(etype, value, tb)
        shell._showtraceback(etype, value, stb)
        return stb

    return handle


def trimmed_traceback(etype: type, value: BaseException, tb: Any) -> list[str]:
    """``Name: first line`` first, then the user's own frames and the head of Spark's message."""
    message = str(value).strip().splitlines() or [""]
    lines = [f"{etype.__name__}: {message[0]}"]
    frames = traceback.extract_tb(tb)
    kept = [frame for frame in frames if not any(part in frame.filename for part in _PLUMBING)]
    lines.extend(_frame_line(frame) for frame in kept)
    rest = list(itertools.takewhile(lambda line: not _JVM_TRACE.match(line), message[1:]))
    lines.extend(rest[:MESSAGE_LINES])
    hidden = len(frames) - len(kept)
    notes = []
    if len(rest) > MESSAGE_LINES:
        notes.append(f"{len(rest) - MESSAGE_LINES} more lines of the message")
    if hidden:
        notes.append(f"{hidden} pyspark/gRPC frames")
    if notes:
        lines.append(f"({' and '.join(notes)} hidden)")
    return lines


# Where the JVM's stack begins in a Spark Connect error's message: hidden with what follows.
_JVM_TRACE = re.compile(r"\s*(JVM stacktrace:|at [\w$.]+\(|\.\.\. \d+ more)")


def _frame_line(frame: traceback.FrameSummary) -> str:
    """A frame of the notebook's cell as the Livy kernels show it (``cell line 2, in f: ...``); a
    frame of a module the user wrote, with its file."""
    where = f"line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"
    if "ipykernel_" in frame.filename:  # the cell's code, compiled to a file of IPython's
        return f"cell {where}"
    return f"{frame.filename} {where}"


class PySparkConnectKernel(IPythonKernel):
    """ "PySpark Connect (broker)": an IPython kernel whose ``spark`` is this notebook's Spark Connect
    session. Cells run here; DataFrame operations run in the broker's Spark application."""

    implementation = "spark_broker_connect"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        bind_spark(self.shell, lazy=True)

    @property  # as IPythonKernel.banner, where ipykernel's Kernel has an attribute
    def banner(self) -> str:  # type: ignore[override]
        return (
            "Python with `spark` bound to this notebook's Spark Connect session, through the Jupyter "
            "server's Spark broker. A kernel restart finds the same session (temp views included)."
        )

"""One local Livy session: a process that runs the session's statements, one at a time, in order.

Started by :mod:`.handle` as ``python -m jupyter_spark_broker.livy_local.worker.main --fd N ...``.
It talks to the server over the socket ``N`` in JSON lines (see ``handle.py`` for the messages);
its own stdout and stderr (Spark's JVM included) are the session's log.

Output is captured as Livy's Python REPL does (``repl/.../fake_shell.py``): every top-level node but the
last runs in ``exec`` mode and the last in ``single`` mode, so a trailing expression prints its repr;
``text/plain`` is what the code wrote to stdout and stderr, right-stripped. ``%json``, ``%table`` and
``%matplot`` lines work as in Livy.
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import datetime
import decimal
import io
import json
import os
import queue
import re
import rlcompleter
import signal
import socket
import subprocess
import sys
import threading
import traceback
import urllib.request
import warnings
from typing import TYPE_CHECKING, Any

from .. import ui_guard
from ..config import PYTHON_CONF, is_secret_conf_key, spark_missing, spark_python_conf
from ..lifeline import die_with_parent
from .output_cap import cap_output

if TYPE_CHECKING:  # pyspark is imported when a session starts Spark (it may not be installed)
    from pyspark.sql import SparkSession

    from .scala import ScalaInterpreter

SQL_ROW_LIMIT = 1000  # livy.rsc.sql.num-rows
OOM_EXIT_CODE = 52  # SparkExitCode.OOM: a JVM of Spark's that ran out of memory exits with it
# An OutOfMemoryError in a task fails its job at once; the JVM's exit follows (Spark's handler of
# uncaught errors). Seconds to wait for that exit before taking the JVM as alive.
OOM_EXIT_WAIT = 15.0
_TOP_FRAME = re.compile(r'\s*File "<stdin>".*in <module>')


class Channel:
    """JSON lines over the socket to the server; writes come from several threads."""

    def __init__(self, fd: int):
        self._socket = socket.socket(fileno=fd)
        self._reader = self._socket.makefile("r", encoding="utf-8")
        self._lock = threading.Lock()

    def send(self, **message: Any) -> None:
        data = (json.dumps(message, default=str) + "\n").encode("utf-8")
        with self._lock:
            self._socket.sendall(data)

    def messages(self):
        for line in self._reader:
            yield json.loads(line)

    def start_message(self) -> dict[str, Any]:
        """The server's first message: ``start {conf}`` (an empty one if the channel closed)."""
        line = self._reader.readline()
        message = json.loads(line) if line else {}
        return message if message.get("op") == "start" else {}


class Interpreter:
    """Runs statements in one namespace, with or without a local SparkSession."""

    def __init__(
        self, channel: Channel, session_id: int, scratch: str, max_output: int = 1_000_000
    ):
        self.channel = channel
        self.max_output = max_output
        self.session_id = session_id
        self.scratch = scratch  # the server removes it when this process ends, however it ends
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        self.spark: SparkSession | None = None
        self.spark_reason = "Spark was not requested for this session"
        self.ui_authorization: str | None = None  # what the Spark UI's JWSFilter asks of a request
        # Started with the session (kind spark) or on its first Scala statement.
        self.scala: ScalaInterpreter | None = None
        # The JVM of the SparkSession (spark-submit execs into it): its driver and, under local[*],
        # its executors; an OutOfMemoryError in a task ends it, and the session with it.
        self.jvm: subprocess.Popen | None = None
        # Classes compiled by the Scala REPL, served to executors (spark.repl.class.outputDir).
        self.class_dir: str | None = None
        # Cancel bookkeeping, shared with the reader thread.
        self._lock = threading.Lock()
        self._running_id: int | None = None
        self._in_user_code = False
        self._cancel_id: int | None = None
        self._cancelled_early: set[int] = set()  # cancels that came before their statement ran

    # -- start-up -------------------------------------------------------------------------------

    def start_spark(self, conf: dict[str, str], ui_key: str | None = None) -> None:
        # Imported here: plain sessions must not need pyspark.
        import pyspark
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession

        self.class_dir = os.path.join(self.scratch, "repl-classes")
        os.makedirs(self.class_dir)
        # The console progress bar would fill the session log; progress is reported per statement.
        defaults = {
            "spark.master": "local[*]",
            "spark.app.name": f"livy-session-{self.session_id}",
            "spark.ui.showConsoleProgress": "false",
            "spark.repl.class.outputDir": self.class_dir,
        }
        settings = {**defaults, **conf}
        settings.update(spark_python_conf(settings, os.environ))
        # pyspark hands its workers PYSPARK_PYTHON of this process (the conf reaches only the JVM),
        # and the JVM launched below inherits it for the UDFs of Connect clients (livy+connect).
        os.environ["PYSPARK_PYTHON"] = settings[PYTHON_CONF]
        if ui_key is not None and ui_guard.spark_has_filter(pyspark.__version__):
            settings = ui_guard.filter_conf(ui_key, settings)
            self.ui_authorization = ui_guard.authorization(ui_key)
        elif ui_key is not None:  # the session's log says so: an operator may want Spark 4
            print(
                f"livy-local: Spark {pyspark.__version__} has no JWSFilter (Spark 4.0+): this "
                "session's Spark UI answers any local process",
                file=sys.stderr,
            )
        # pyspark hands the conf it launches the JVM with to spark-submit as `--conf KEY=VALUE`, where
        # any OS user reads it with `ps`. The JVM starts with the rest; secrets (a Connect token) go to
        # the SparkContext's conf over py4j, before the context (and its plugins) start.
        launch = {key: value for key, value in settings.items() if not is_secret_conf_key(key)}
        gateway = launch_gateway(SparkConf(loadDefaults=False).setAll(list(launch.items())))
        self.jvm = gateway.proc
        # Livy's Python REPL appends stderr to text/plain, where clients parse it (sparkmagic's %%sql
        # reads toJSON's rows). pyspark 4 warns about its own API there (toJSON's coming return
        # type, pandas 3); Livy's pyspark 3.5 did not. The user's own warnings still show.
        warnings.filterwarnings("ignore", module=r"pyspark(\.|$)")
        SparkContext(
            conf=SparkConf(loadDefaults=False).setAll(list(settings.items())), gateway=gateway
        )
        spark = SparkSession.builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        self.spark = spark
        self.namespace.update(spark=spark, sc=spark.sparkContext, sqlContext=_sql_context(spark))
        threading.Thread(
            target=_warm_rest_api, args=(spark.sparkContext, self.ui_authorization), daemon=True
        ).start()

    def start_scala(self) -> ScalaInterpreter:
        from .scala import ScalaInterpreter

        if self.spark is None or self.class_dir is None:  # its callers check Spark runs first
            raise RuntimeError("Scala needs the session's Spark")
        self.scala = ScalaInterpreter(self.spark, self.class_dir)
        return self.scala

    def close(self) -> None:
        if self.jvm_exit_code() is not None:
            return  # nothing to stop, and py4j would only fail trying
        if self.scala is not None:
            self.scala.close()
        if self.spark is not None:
            self.spark.stop()

    def jvm_exit_code(self, after: dict[str, Any] | None = None) -> int | None:
        """The exit code of the session's JVM once it has ended, else None; ``after`` a statement's
        output that tells of an OutOfMemoryError, once the JVM had time to end."""
        if self.jvm is None:
            return None
        if after is not None and after.get("status") == "error":
            told = [str(after.get("evalue")), *map(str, after.get("traceback") or [])]
            # A job can also fail of the JVM's own shutdown (a NullPointerException, say) before
            # the OutOfMemoryError is told: a stopped SparkContext says the JVM is ending.
            if any("OutOfMemoryError" in text for text in told) or self._spark_stopping():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.jvm.wait(OOM_EXIT_WAIT)
        return self.jvm.poll()

    def _spark_stopping(self) -> bool:
        if self.spark is None:
            return False
        try:
            return bool(self.spark.sparkContext._jsc.sc().isStopped())
        except Exception:  # py4j: the gateway goes with its JVM
            return True

    def ready_message(self) -> dict[str, Any]:
        if self.spark is None:
            return {"spark": False, "detail": self.spark_reason}
        sc = self.spark.sparkContext
        return {
            "spark": True,
            "detail": f"Spark {self.spark.version} {sc.master} is ready",
            "app_id": sc.applicationId,
            "spark_ui_url": sc.uiWebUrl,
        }

    # -- statements -----------------------------------------------------------------------------

    def execute(self, statement_id: int, code: str, kind: str) -> None:
        with self._lock:
            early = statement_id in self._cancelled_early
            self._cancelled_early.discard(statement_id)
        if early:
            self.channel.send(op="done", id=statement_id, output=None, cancelled=True)
            return
        with self._lock:
            self._running_id = statement_id
            self._cancel_id = None
        self.channel.send(op="started", id=statement_id)
        progress = None
        if self.spark is not None:
            progress = _ProgressReporter(self, statement_id)
            self.spark.sparkContext.setJobGroup(
                _job_group(statement_id), f"Livy statement {statement_id}", True
            )
            progress.start()
        interrupted = False
        try:
            try:
                output = self._run(statement_id, code, kind)
            except KeyboardInterrupt:
                # Only raised by the cancel signal; the statement ends as cancelled, without output.
                output, interrupted = None, True
            exit_code = self.jvm_exit_code(after=output)
            if exit_code is not None:
                output = _jvm_died_reply(statement_id, exit_code)  # not py4j's lost connection
        finally:
            if progress is not None:
                progress.stop()
            with self._lock:
                cancelled = self._cancel_id == statement_id
                self._running_id = None
        self.channel.send(
            op="done",
            id=statement_id,
            output=cap_output(output, self.max_output),
            cancelled=cancelled or interrupted,
            session_ends=exit_code is not None,  # this worker stops after it: see main()
        )

    def _run(self, statement_id: int, code: str, kind: str) -> dict[str, Any]:
        if kind == "sql":
            return self._run_sql(statement_id, code)
        if kind == "spark":
            return self._run_scala(statement_id, code)
        if kind != "pyspark":
            return _error_reply(
                statement_id,
                "InterpreterError",
                f"Fail to start interpreter: this local Livy has no {kind} interpreter "
                "(pyspark, spark and sql run here)",
            )
        return self._run_python(statement_id, code)

    def _run_python(self, statement_id: int, code: str) -> dict[str, Any]:
        try:
            chunks = _split_magics(code)
        except SyntaxError as error:
            return _exception_reply(statement_id, error, with_traceback=False)
        data: dict[str, Any] = {}
        stdout, stderr = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        try:
            for chunk in chunks:
                if isinstance(chunk, str):
                    data = self._magic(chunk)
                else:
                    self._exec_nodes(chunk)
        except _MagicError as error:
            return _exception_reply(statement_id, error.cause, with_traceback=False)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - user code may raise anything, SystemExit too
            return _exception_reply(statement_id, error, with_traceback=True)
        finally:
            sys.stdout, sys.stderr = saved
        data.update(_take_shown_figures())
        text = (str(data.pop("text/plain", "")) + stdout.getvalue() + stderr.getvalue()).rstrip()
        if text or not data:
            data["text/plain"] = text
        return {"status": "ok", "execution_count": statement_id, "data": data}

    def _exec_nodes(self, module: ast.Module) -> None:
        body = module.body
        compiled = [compile(ast.Module([node], []), "<stdin>", "exec") for node in body[:-1]]
        compiled += [compile(ast.Interactive([node]), "<stdin>", "single") for node in body[-1:]]
        for code in compiled:
            with self._user_code():
                exec(code, self.namespace)  # noqa: S102 - running the user's code is the job

    def _magic(self, line: str) -> dict[str, Any]:
        name, _, argument = line[1:].partition(" ")
        argument = argument.strip()
        if name not in ("json", "table", "matplot"):
            raise _MagicError(UnknownMagic(f"unknown magic command '{name}'"))
        try:
            value = self.namespace[argument]
        except KeyError as error:
            raise _MagicError(error) from None
        if name == "json":
            return {"application/json": value}
        if name == "table":
            return {"application/vnd.livy.table.v1+json": _as_table(value)}
        figure = value.gcf()
        return {"image/png": _png_of(figure), "text/plain": ""}

    def _run_sql(self, statement_id: int, code: str) -> dict[str, Any]:
        if self.spark is None:
            return _error_reply(
                statement_id, "SparkUnavailable", f"sql needs Spark, and {self.spark_reason}"
            )
        try:
            with self._user_code():
                frame = self.spark.sql(code)
                rows = frame.take(SQL_ROW_LIMIT)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - Spark analysis and runtime errors
            # As Livy's SQL interpreter (JVM side): ename Error, the JVM's message and frames.
            trace = getattr(error, "_stackTrace", None) or ""
            frames = [line.strip()[3:] for line in trace.splitlines() if line.strip()[:3] == "at "]
            return _error_reply(statement_id, "Error", str(error), frames)
        schema = json.loads(frame.schema.json())
        data = [_jsonable(list(row)) for row in rows]
        return {
            "status": "ok",
            "execution_count": statement_id,
            "data": {"application/json": {"schema": schema, "data": data}},
        }

    def _run_scala(self, statement_id: int, code: str) -> dict[str, Any]:
        from .scala import livy_reply

        if self.spark is None:
            return _error_reply(
                statement_id,
                "InterpreterError",
                f"Fail to start interpreter: Scala runs in the local SparkSession's JVM, and "
                f"{self.spark_reason}",
            )
        scala = self.scala
        if scala is None:
            try:
                scala = self.start_scala()
            except Exception as error:  # noqa: BLE001 - reported as Livy reports it
                return _error_reply(
                    statement_id, "InterpreterError", f"Fail to start interpreter: {error}"
                )
        # Not inside _user_code: as in Livy, cancel stops the statement's Spark jobs, and a JVM
        # thread is not interrupted.
        return livy_reply(statement_id, scala.run(code))

    @contextlib.contextmanager
    def _user_code(self):
        """Marks where a cancel may interrupt: inside the user's code, never in our bookkeeping."""
        with self._lock:
            self._in_user_code = True
        try:
            yield
        finally:
            with self._lock:
                self._in_user_code = False

    # -- called from the reader thread ----------------------------------------------------------

    def cancel(self, statement_id: int) -> None:
        with self._lock:
            if self._running_id != statement_id:
                self._cancelled_early.add(statement_id)  # queued here, or already done: harmless
                return
            self._cancel_id = statement_id
            interrupt = self._in_user_code
        if self.spark is not None:
            self.spark.sparkContext.cancelJobGroup(_job_group(statement_id))
        if interrupt:
            # A real signal, not _thread.interrupt_main: it also wakes time.sleep and blocking reads.
            os.kill(os.getpid(), signal.SIGINT)

    def on_sigint(self, signum: int, frame: Any) -> None:
        with self._lock:
            wanted = (
                self._in_user_code
                and self._running_id is not None
                and self._cancel_id == self._running_id
            )
        if wanted:
            raise KeyboardInterrupt

    def complete(self, code: str, cursor: int) -> list[str]:
        text = code[:cursor]
        word = re.split(r"[^\w.]", text)[-1] if text else ""
        completer = rlcompleter.Completer(self.namespace)
        found: list[str] = []
        for index in range(1000):
            candidate = completer.complete(word, index)
            if candidate is None:
                break
            found.append(candidate)
        return sorted(set(found))


class _ProgressReporter:
    """Reports the running statement's Spark task progress (``progress`` in 0..1) every half second."""

    def __init__(self, interpreter: Interpreter, statement_id: int):
        self.interpreter = interpreter
        self.statement_id = statement_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        spark = self.interpreter.spark
        if spark is None:  # made for sessions with Spark only
            return
        tracker = spark.sparkContext.statusTracker()
        last = -1.0
        while not self._stop.wait(0.5):
            try:
                total = done = 0
                for job_id in tracker.getJobIdsForGroup(_job_group(self.statement_id)):
                    job = tracker.getJobInfo(job_id)
                    for stage_id in job.stageIds if job else ():
                        stage = tracker.getStageInfo(stage_id)
                        if stage:
                            total += stage.numTasks
                            done += stage.numCompletedTasks
            except Exception:  # noqa: BLE001 - progress is best effort; the statement matters
                continue
            progress = round(done / total, 4) if total else 0.0
            if progress != last:
                last = progress
                self.interpreter.channel.send(
                    op="progress", id=self.statement_id, progress=progress
                )


class UnknownMagic(Exception):
    pass


class _MagicError(Exception):
    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def _split_magics(code: str) -> list[ast.Module | str]:
    """The code as one parsed module or, if it has ``%magic`` lines, as code and magic chunks."""
    try:
        return [ast.parse(code, "<stdin>")]
    except SyntaxError:
        pass
    chunks: list[ast.Module | str] = []
    normal: list[str] = []
    for line in code.rstrip().split("\n"):
        if line.startswith("%"):
            if normal:
                chunks.append(ast.parse("\n".join(normal), "<stdin>"))
                normal = []
            chunks.append(line)
        else:
            normal.append(line)
    if normal:
        chunks.append(ast.parse("\n".join(normal), "<stdin>"))
    return chunks


def _job_group(statement_id: int) -> str:
    return f"livy-statement-{statement_id}"


def _warm_rest_api(sc: Any, authorization: str | None) -> None:
    """The Spark UI's REST API answers its first call only after ~15 s (Jersey starting up): make
    that call now, while the user reads "Spark ready", so a running job's progress line can name
    its job and stage from the first second."""
    url = sc.uiWebUrl
    if url:
        with contextlib.suppress(Exception):  # only a warm-up: the UI may be off
            request = urllib.request.Request(
                f"{url}/api/v1/applications/{sc.applicationId}/jobs",
                headers={"Authorization": authorization} if authorization else {},
            )
            urllib.request.urlopen(request, timeout=120)


def _sql_context(spark: Any) -> Any:
    try:
        from pyspark.sql import SQLContext

        return SQLContext(spark.sparkContext, spark)
    except Exception:  # noqa: BLE001 - SQLContext is deprecated; spark.sql serves the same calls
        return spark


def _error_reply(statement_id: int, ename: str, evalue: str, tb: list[str] | None = None) -> dict:
    return {
        "status": "error",
        "execution_count": statement_id,
        "ename": ename,
        "evalue": evalue,
        "traceback": tb or [],
    }


def _jvm_death(exit_code: int) -> str:
    if exit_code == OOM_EXIT_CODE:
        return "the Spark driver ran out of memory (java.lang.OutOfMemoryError) and stopped"
    return f"the Spark driver (its JVM) stopped with exit code {exit_code}"


def _jvm_died_reply(statement_id: int, exit_code: int) -> dict:
    """The statement's error when Spark's JVM died under it: this session has ended."""
    ename = "OutOfMemoryError" if exit_code == OOM_EXIT_CODE else "SparkDriverStopped"
    evalue = f"{_jvm_death(exit_code)}: this Spark session has ended, and its Spark state with it"
    return _error_reply(statement_id, ename, evalue)


def _exception_reply(statement_id: int, error: BaseException, *, with_traceback: bool) -> dict:
    lines = traceback.format_exception(
        type(error), error, error.__traceback__ if with_traceback else None, chain=False
    )
    # Drop the worker's own frames: keep the header, then from the frame after "<stdin> in <module>".
    for index, line in enumerate(lines):
        if _TOP_FRAME.match(line):
            lines = lines[:1] + lines[index + 1 :]
            break
    return _error_reply(statement_id, type(error).__name__, str(error), lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


_TABLE_TYPES: list[tuple[type | tuple[type, ...], str]] = [
    (bool, "BOOLEAN_TYPE"),
    (int, "INT_TYPE"),
    (float, "DOUBLE_TYPE"),
    (datetime.datetime, "TIMESTAMP_TYPE"),
    (datetime.date, "DATE_TYPE"),
    (decimal.Decimal, "DECIMAL_TYPE"),
    (str, "STRING_TYPE"),
    ((list, tuple), "ARRAY_TYPE"),
    (dict, "MAP_TYPE"),
]


def _table_type(value: Any) -> str:
    if value is None:
        return "NULL_TYPE"
    for python_type, livy_type in _TABLE_TYPES:
        if isinstance(value, python_type):
            return livy_type
    return "STRING_TYPE"


def _as_table(value: Any) -> dict[str, Any]:
    """``%table``: rows (lists, tuples, dicts or Spark Rows) as Livy's table MIME shape."""
    rows = value if isinstance(value, (list, tuple)) else [value]
    headers: dict[Any, dict[str, str]] = {}
    data = []
    for row in rows:
        if type(row).__name__ == "Row":
            row = row.asDict()
        if not isinstance(row, (list, tuple, dict)):
            row = [row]
        cells = sorted(row.items()) if isinstance(row, dict) else list(enumerate(row))
        converted = []
        for name, cell in cells:
            cell_type = _table_type(cell)
            header = headers.setdefault(name, {"name": str(name), "type": cell_type})
            if header["type"] == "NULL_TYPE":
                header["type"] = cell_type
            elif cell_type not in ("NULL_TYPE", header["type"]):
                raise _MagicError(ValueError("table rows have different types"))
            converted.append(_jsonable(cell) if cell_type != "STRING_TYPE" else str(cell))
        data.append(converted)
    return {"headers": [headers[key] for key in sorted(headers, key=str)], "data": data}


def _png_of(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _take_shown_figures() -> dict[str, Any]:
    """PNG of the figures ``plt.show()`` handed to the worker's matplotlib backend, if any."""
    backend = sys.modules.get("jupyter_spark_broker.livy_local.worker.matplotlib_backend")
    shown = backend.take_shown() if backend is not None else []
    return {"image/png": shown[-1]} if shown else {}


def _reader(channel: Channel, interpreter: Interpreter, work: queue.Queue) -> None:
    for message in channel.messages():
        op = message.get("op")
        if op == "execute":
            work.put(message)
        elif op == "cancel":
            interpreter.cancel(int(message["id"]))
        elif op == "complete":
            candidates = interpreter.complete(message["code"], int(message["cursor"]))
            channel.send(op="completion", req=message["req"], candidates=candidates)
        elif op == "shutdown":
            break
    work.put(None)  # the server closed the channel or asked us to stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--session-id", type=int, required=True)
    parser.add_argument("--spark", choices=("auto", "on", "off"), default="off")
    parser.add_argument("--scala", action="store_true", help="start the Scala REPL (kind spark)")
    parser.add_argument("--max-output", type=int, default=1_000_000)
    parser.add_argument(
        "--scratch", required=True, help="a directory for this session's files, removed after it"
    )
    options = parser.parse_args(argv)

    die_with_parent(signal.SIGKILL)  # the server is gone: so is every session
    channel = Channel(options.fd)
    interpreter = Interpreter(channel, options.session_id, options.scratch, options.max_output)
    signal.signal(signal.SIGINT, interpreter.on_sigint)
    sys.stdin = io.StringIO()  # user code must not block on the server's stdin

    start = channel.start_message()
    try:
        if options.spark == "off":
            interpreter.spark_reason = "Spark is switched off on this local Livy (--spark off)"
        elif options.spark == "auto" and (missing := spark_missing()):
            interpreter.spark_reason = f"{missing} (--spark auto)"
        else:
            try:
                interpreter.start_spark(start.get("conf") or {}, start.get("ui_key"))
            except Exception as error:  # noqa: BLE001 - any start-up failure is reported, not hidden
                # As Apache Livy: the session is dead, and its log says why (the JVM's own
                # lines, "Invalid maximum heap size: -Xmxlots", are in it already).
                reason = f"the local SparkSession could not start: {type(error).__name__}: {error}"
                channel.send(op="failed", detail=reason)
                return
        if options.scala:
            try:
                interpreter.start_scala()
            except Exception as error:  # noqa: BLE001 - Livy: the interpreter could not start
                channel.send(
                    op="failed", detail=f"the Scala interpreter could not start: {error!r}"
                )
                return
        channel.send(op="ready", **interpreter.ready_message())

        work: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(channel, interpreter, work), daemon=True).start()
        while (message := work.get()) is not None:
            interpreter.execute(int(message["id"]), message["code"], message["kind"])
            if (exit_code := interpreter.jvm_exit_code()) is not None:
                # As Livy's REPL whose driver died: the session ends (dead), saying why in its log.
                print(f"livy-local: {_jvm_death(exit_code)}; the session ends", file=sys.stderr)
                break
    finally:
        interpreter.close()


if __name__ == "__main__":
    main()

"""Sessions and statements of the local Livy, with Livy's state machines (``livy-rest-protocol.md`` §4–§6).

Session: ``starting`` -> ``idle`` <-> ``busy``; a worker that fails to start -> ``error`` -> ``dead``;
a worker that dies -> ``dead``; DELETE, idle timeout, TTL or heartbeat expiry stop the session
(``shutting_down`` -> ``dead``) and remove it, so it then answers 404. Finished sessions stay visible for
``state_retain`` seconds.

Statement: ``waiting`` -> ``running`` -> ``available`` (a failed run is ``available`` with
``output.status == "error"``); ``running`` -> ``cancelling`` -> ``cancelled``; ``waiting`` ->
``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict, deque
from typing import Any

from ...livy.names import SESSION_STARTING_STATES, STATEMENT_FINISHED_STATES
from ..config import LocalLivyConfig, parse_duration
from ..messages import CreateInteractiveRequest, normalise_kind
from ..ui_guard import session_key
from ..worker.handle import WorkerProcess, describe_exit

log = logging.getLogger("livy_local")

# Livy's SessionState.isActive: a session in ``error`` still counts until it is stopped.
ACTIVE_STATES = SESSION_STARTING_STATES | {"idle", "busy", "error"}
# Livy itself never ends a statement in ``error``.
STATEMENT_DONE = STATEMENT_FINISHED_STATES - {"error"}


class Rejected(Exception):
    """Create-time refusal: Livy answers 400 ``{"msg": "Rejected, ..."}``."""


class NotRunning(Exception):
    """A statement call on a session that is not running: Livy answers 500 with a JSON string."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class LocalStatement:
    def __init__(self, statement_id: int, code: str, kind: str):
        self.id = statement_id
        self.code = code
        self.kind = kind
        self.state = "waiting"
        self.sent = False  # handed to the worker: a cancel must go there, even before it starts
        self.output: dict[str, Any] | None = None
        self.progress = 0.0
        self.started = 0
        self.completed = 0
        self.done = asyncio.Event()

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "state": self.state,
            "output": self.output,
            "progress": self.progress,
            "started": self.started,
            "completed": self.completed,
        }

    def finish(self, state: str, output: dict[str, Any] | None) -> None:
        if self.state in STATEMENT_DONE:
            return
        self.state = state
        self.output = output
        self.progress = 1.0  # Livy forces 1.0 once available or cancelled
        self.completed = _now_ms()
        self.done.set()


class LocalSession:
    def __init__(
        self,
        session_id: int,
        request: CreateInteractiveRequest,
        *,
        kind: str,
        owner: str | None,
        proxy_user: str | None = None,
        config: LocalLivyConfig,
        server_url: str,
    ):
        self.id = session_id
        self.request = request
        self.kind = kind
        self.owner = owner
        # Recorded and reported as Livy does; the worker still runs as this server's OS user.
        self.proxy_user = proxy_user
        self.config = config
        self.server_url = server_url
        self.state = "starting"
        self.app_id: str | None = None
        self.spark_ui_url: str | None = None
        self.log: deque[str] = deque(maxlen=config.log_lines)
        self.statements: OrderedDict[int, LocalStatement] = OrderedDict()
        self._statement_ids = itertools.count()
        self._queue: asyncio.Queue[LocalStatement] = asyncio.Queue()
        self._runner: asyncio.Task | None = None
        self._stopping: asyncio.Task | None = None
        self._completions: dict[int, asyncio.Future] = {}
        self._completion_ids = itertools.count()
        self.started_on = time.monotonic()
        self.last_activity = time.monotonic()
        self.heartbeat_deadline: float | None = None
        self.finished_on: float | None = None
        self.ttl = parse_duration(request.ttl) if request.ttl else None
        self.idle_timeout = parse_duration(request.idleTimeout) if request.idleTimeout else None
        self.worker = WorkerProcess(
            session_id=session_id,
            spark="on" if kind == "spark" else config.spark,  # Scala runs in Spark's JVM
            spark_conf=spark_conf_of(request),
            ui_key=(
                session_key(config.spark_ui_secret, session_id) if config.spark_ui_secret else None
            ),
            scala=kind == "spark",
            max_output=config.max_output,
            on_message=self._on_worker_message,
            on_log_line=self.log.append,
            on_exit=self._on_worker_exit,
        )
        self.heartbeat()

    # -- views ----------------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        return self.request.name

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def view(self) -> dict[str, Any]:
        """``SessionInfo`` in Livy's field order; unset numbers are 0, not null."""
        request = self.request
        return {
            "id": self.id,
            "name": request.name,
            "appId": self.app_id,
            "owner": self.owner,
            "proxyUser": self.proxy_user,  # null unless impersonation is on, whatever was asked
            "state": self.state,
            "kind": self.kind,
            "appInfo": {
                "driverLogUrl": f"{self.server_url}/sessions/{self.id}/log",
                "sparkUiUrl": self.spark_ui_url,
                "executorLogUrls": None,
            },
            "log": list(self.log)[-10:],
            "ttl": request.ttl,
            "idleTimeout": request.idleTimeout,
            "driverMemory": request.driverMemory,
            "driverCores": request.driverCores or 0,
            "executorMemory": request.executorMemory,
            "executorCores": request.executorCores or 0,
            "conf": dict(request.conf or {}),
            "archives": list(request.archives or []),
            "files": list(request.files or []),
            "heartbeatTimeoutInSecond": request.heartbeatTimeoutInSecond,
            "jars": list(request.jars or []),
            "numExecutors": request.numExecutors or 0,
            "pyFiles": list(request.pyFiles or []),
            "queue": request.queue,
        }

    # -- activity -------------------------------------------------------------------------------

    def record_activity(self) -> None:
        self.last_activity = time.monotonic()

    def heartbeat(self) -> None:
        if self.request.heartbeatTimeoutInSecond > 0:
            self.heartbeat_deadline = time.monotonic() + self.request.heartbeatTimeoutInSecond

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.log.append(f"livy-local: starting session {self.id} (kind {self.kind})")
        try:
            await self.worker.start()
        except OSError as error:
            self.log.append(f"livy-local: could not start the worker process: {error}")
            self._set_state("error")
            await self.stop()
            return
        self._runner = asyncio.create_task(self._run_statements())

    async def stop(self) -> None:
        """``shutting_down`` -> ``dead``; the worker is gone when this returns."""
        if self.state not in ("dead", "killed"):
            self._set_state("shutting_down")
        await self.worker.stop()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._fail_pending("the session was stopped")
        self._set_state("dead")

    def _set_state(self, state: str) -> None:
        # Livy's transition guard: once inactive, never active again.
        if not self.is_active and state in ACTIVE_STATES:
            return
        if self.state != state:
            log.debug("session %s: %s -> %s", self.id, self.state, state)
        self.state = state
        if not self.is_active and self.finished_on is None:
            self.finished_on = time.monotonic()

    # -- statements -----------------------------------------------------------------------------

    def submit(self, code: str, kind: str | None) -> LocalStatement:
        if self.state not in ("idle", "busy"):
            raise NotRunning(f"java.lang.IllegalStateException: Session is in state {self.state}")
        if kind is None:
            if self.kind == "shared":
                raise NotRunning(
                    "java.util.concurrent.ExecutionException: java.lang.IllegalArgumentException: "
                    "Code type should be specified if session kind is shared"
                )
            kind = self.kind
        statement = LocalStatement(next(self._statement_ids), code.replace("\r\n", "\n"), kind)
        self.statements[statement.id] = statement
        while len(self.statements) > self.config.retained_statements:
            self.statements.popitem(last=False)
        self._set_state("busy")
        self.record_activity()
        self._queue.put_nowait(statement)
        return statement

    async def cancel(self, statement_id: int) -> None:
        self.record_activity()
        statement = self.statements.get(statement_id)
        if statement is None or statement.state in STATEMENT_DONE:
            return  # Livy ignores unknown and finished statements
        if statement.state == "waiting" and not statement.sent:
            statement.finish("cancelled", None)
            self._after_statement()
        elif statement.state in ("waiting", "running"):  # sent: the worker has it, or soon will
            statement.state = "cancelling"
            await self.worker.send(op="cancel", id=statement_id)
            asyncio.get_running_loop().call_later(
                self.config.cancel_timeout, self._force_cancelled, statement
            )

    def _force_cancelled(self, statement: LocalStatement) -> None:
        if statement.state == "cancelling":
            self.log.append(
                f"livy-local: statement {statement.id} ignored its cancel for "
                f"{self.config.cancel_timeout:g} s; marked cancelled"
            )
            statement.finish("cancelled", None)
            self._after_statement()

    async def complete(self, code: str, kind: str, cursor: int) -> list[str]:
        self.record_activity()
        if self.state not in ("idle", "busy"):
            raise NotRunning(f"java.lang.IllegalStateException: Session is in state {self.state}")
        if normalise_kind(kind) != "pyspark":
            return []
        request_id = next(self._completion_ids)
        future = asyncio.get_running_loop().create_future()
        self._completions[request_id] = future
        try:
            await self.worker.send(op="complete", req=request_id, code=code, cursor=cursor)
            return await asyncio.wait_for(future, 10)
        finally:
            self._completions.pop(request_id, None)

    async def _run_statements(self) -> None:
        while True:
            statement = await self._queue.get()
            if statement.state != "waiting":
                continue  # cancelled while it waited
            statement.sent = True
            await self.worker.send(
                op="execute", id=statement.id, code=statement.code, kind=statement.kind
            )
            await statement.done.wait()

    def _after_statement(self) -> None:
        if self.state == "busy" and all(
            s.state in STATEMENT_DONE for s in self.statements.values()
        ):
            self._set_state("idle")
            self.record_activity()  # the REPL going busy -> idle counts as activity

    def _fail_pending(self, reason: str) -> None:
        for statement in self.statements.values():
            if statement.state == "running":
                statement.finish(
                    "available",
                    {
                        "status": "error",
                        "execution_count": statement.id,
                        "ename": "Error",
                        "evalue": f"Interpreter died:\n{reason}",
                        "traceback": [],
                    },
                )
            elif statement.state in ("waiting", "cancelling"):
                statement.finish("cancelled", None)

    # -- worker events --------------------------------------------------------------------------

    def _on_worker_message(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ready":
            self.app_id = message.get("app_id")
            self.spark_ui_url = message.get("spark_ui_url")
            if message.get("spark"):
                self.log.append(f"livy-local: {message.get('detail')}")
            else:
                detail = message.get("detail")
                self.log.append(f"livy-local: spark, sc and sqlContext are not bound: {detail}")
            if self.state == "starting":
                self._set_state("idle")
        elif op == "failed":
            self.log.append(f"livy-local: session failed to start: {message.get('detail')}")
            self._set_state("error")
            # Kept on the session: the loop holds tasks only weakly.
            self._stopping = asyncio.get_running_loop().create_task(self.stop())
        elif op == "started":
            statement = self.statements.get(message["id"])
            if statement is not None and statement.state == "waiting":
                statement.state = "running"
                statement.started = _now_ms()
        elif op == "progress":
            statement = self.statements.get(message["id"])
            if statement is not None and statement.state in ("running", "cancelling"):
                statement.progress = float(message["progress"])
        elif op == "done":
            statement = self.statements.get(message["id"])
            if statement is None:
                return
            cancelled = message.get("cancelled") or statement.state == "cancelling"
            statement.finish("cancelled" if cancelled else "available", message.get("output"))
            if message.get("session_ends"):
                # Its Spark driver died, and the worker stops: dead now, as Livy's session is once
                # its driver is, so no statement is taken in the meantime to fail later.
                self._set_state("dead")
            self._after_statement()
        elif op == "completion":
            future = self._completions.get(message["req"])
            if future is not None and not future.done():
                future.set_result(list(message.get("candidates") or []))

    async def _on_worker_exit(self, code: int) -> None:
        if self.worker.stopping:
            return
        what = f"livy-local: the session's worker process {describe_exit(code)}"
        self.log.append(what)
        if self._runner is not None:
            self._runner.cancel()
        self._fail_pending(what)
        self._set_state("dead")


def spark_conf_of(request: CreateInteractiveRequest) -> dict[str, str]:
    """The SparkConf a session request asks for, as spark-submit would build it. ``archives`` are
    Spark's ``spark.archives`` (unpacked in every executor's working directory on any cluster
    manager), where Apache Livy sets YARN's ``spark.yarn.dist.archives``."""
    conf = dict(request.conf or {})
    named = {
        "spark.driver.memory": request.driverMemory,
        "spark.executor.memory": request.executorMemory,
        "spark.driver.cores": request.driverCores,
        "spark.executor.cores": request.executorCores,
        "spark.jars": ",".join(request.jars or []),
        "spark.submit.pyFiles": ",".join(request.pyFiles or []),
        "spark.files": ",".join(request.files or []),
        "spark.archives": ",".join(request.archives or []),
    }
    for key, value in named.items():
        if value:
            conf.setdefault(key, str(value))
    return conf

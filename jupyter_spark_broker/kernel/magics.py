"""IPython magics that run cells in this notebook's Spark session, through the broker.

Names follow sparkmagic so users can switch: ``%%spark``, ``%%sql``, ``%%configure``, ``%%info``,
``%%logs``, ``%%delete``, ``%%cleanup``, ``%%local``, ``%%send_to_spark``, ``%%help``, and
``%spark attach|detach|sessions|info|logs``.
"""

from __future__ import annotations

import functools
import json
import shlex
import time
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..livy.names import (
    RECORD_FINISHED_STATES,
    SESSION_STARTING_STATES,
    STATEMENT_FINISHED_STATES,
)
from .client import BrokerClient, BrokerRefused, BrokerUnavailable
from .settings import KernelSettings, NotConfigured

STARTING = SESSION_STARTING_STATES
STATEMENT_DONE = STATEMENT_FINISHED_STATES
FINISHED = RECORD_FINISHED_STATES
# While a statement runs, each long-poll returns after this long at most, to refresh the progress bar.
PROGRESS_EVERY = 1.0
# Traceback lines of the JVM and py4j plumbing, hidden from the first view of an error.
_NOISE = ("py4j/", "pyspark/errors/", "at org.apache.", "at java.", "at scala.", "at sun.")

# IPython refuses a cell magic with an empty body, so the commands without a body are line magics
# too, and ``bodiless_cell_magics`` turns sparkmagic's bare ``%%info`` into ``%info``.
BODILESS = ("info", "logs", "delete", "cleanup", "help", "send_to_spark")
HELP = """\
%%spark                 run the cell in this notebook's Spark session
%%sql [-o VAR] [--maxrows N] [-q]
                        run Spark SQL; show the result as a table; -o keeps it as a pandas DataFrame
%%configure [-f]        session settings as JSON (driverMemory, executorMemory, conf, ...);
                        -f recreates a running session with them
%info                   session, state, application id, Spark UI, driver log, attached notebooks
%logs                   the driver log
%delete                 kill this notebook's Spark session
%cleanup [-f]           kill every Spark session of yours (-f to do it; without, lists them)
%%local                 run the cell here, in the kernel
%send_to_spark -i VAR [-t str|df] [-n NAME]
                        send a local string or pandas DataFrame to the Spark side
%spark attach NAME | --session ID   share a named session, or attach to a given one
%spark detach | sessions | info | logs
%help                   this list
"""


class SparkStatementError(Exception):
    """A remote statement failed. Subclassed per remote ``ename``, so the cell fails with that name."""

    def __init__(self, ename: str, evalue: str, traceback: list[str]):
        super().__init__(evalue)
        self.ename, self.evalue, self.remote_traceback = ename, evalue, traceback

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a local traceback
        kept = [
            line.rstrip("\n")
            for line in self.remote_traceback
            if not any(n in line for n in _NOISE)
        ]
        hidden = len(self.remote_traceback) - len(kept)
        headline = f"{self.ename}: {self.evalue}"
        # Python's traceback ends with the headline already shown first; without frames, its
        # "Traceback (most recent call last):" header has nothing under it.
        if kept and kept[-1].strip() == headline:
            kept.pop()
        if kept == ["Traceback (most recent call last):"]:
            kept = []
        lines = [headline, *kept]
        if hidden:
            lines.append(f"({hidden} lines of JVM/py4j frames hidden; %%logs shows the driver log)")
        return lines


class SparkUnavailable(Exception):
    """The broker or the session cannot be used: one clear sentence, and what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"SparkUnavailable: {self}"]


def _remote_error(output: dict[str, Any]) -> SparkStatementError:
    ename = str(output.get("ename") or "SparkError")
    cls = type(ename if ename.isidentifier() else "SparkError", (SparkStatementError,), {})
    return cls(ename, str(output.get("evalue") or ""), list(output.get("traceback") or []))


def _friendly(method):
    """Broker failures become one sentence; a session that ended is forgotten, so the next cell
    attaches again instead of hanging on a dead one."""

    @functools.wraps(method)
    def wrapper(self: SparkMagics, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except BrokerRefused as error:
            if error.reason in ("session_finished", "session_lost"):
                self.client.session = None
                raise SparkUnavailable(
                    f"{error} The next Spark cell starts or attaches a new session."
                ) from None
            raise SparkUnavailable(f"the Spark broker refused: {error}") from None
        except (BrokerUnavailable, NotConfigured) as error:
            raise SparkUnavailable(str(error)) from None

    return wrapper


@magics_class
class SparkMagics(Magics):
    def __init__(self, shell: Any, client: BrokerClient | None = None, kind: str | None = None):
        super().__init__(shell)
        self._client = client
        # The Livy kind of %%spark cells and of new sessions; None leaves it to the broker (pyspark).
        self.kind = kind
        self._pending_settings: dict[str, Any] = {}  # from %%configure, for the next new session

    @property
    def attached_session(self) -> dict[str, Any] | None:
        """The session this notebook is attached to, without reaching for the broker."""
        return None if self._client is None else self._client.session

    @property
    def client(self) -> BrokerClient:
        if self._client is None:
            self._client = BrokerClient(KernelSettings.from_environment())
        return self._client

    # -- attach and start-up --------------------------------------------------------------------

    def _session(self) -> dict[str, Any]:
        """This notebook's session, attached on first use, waited for while Spark starts."""
        if self.client.session is None:
            settings = dict(self._pending_settings)
            attached = self.client.attach(kind=settings.pop("kind", self.kind), **settings)
            self._pending_settings = {}
            session = attached["session"]
            verb = "Starting a new" if attached["created"] else "Attached to the"
            print(f"{verb} Spark session {session['id'][:8]} on endpoint {session['endpoint']!r}")
            self._wait_for_start(session)
        return self.client.session

    def _wait_for_start(self, session: dict[str, Any]) -> None:
        started, stage = time.monotonic(), None
        while session["state"] in STARTING or session["livy_id"] is None:
            text = f"Starting Spark ({time.monotonic() - started:.0f} s) …"
            stage = stage or display({"text/plain": text}, raw=True, display_id=True)
            stage.update({"text/plain": text}, raw=True)
            time.sleep(1.0)
            session = self.client.describe(session["id"])
        if stage is not None:
            stage.update({"text/plain": ""}, raw=True)
        if session["state"] not in ("idle", "busy"):
            self.client.session = None
            raise SparkUnavailable(
                f"the Spark session ended while starting ({session['state']}: "
                f"{session['message'] or 'no reason given'}). %%logs shows the driver log; "
                "the next Spark cell tries again."
            )
        self.client.session = session
        links = (
            f"application {session['app_id'] or '-'}, Spark UI {session['spark_ui_url'] or '-'}, "
            f"driver log {session['driver_log_url'] or '-'}"
        )
        print(f"Spark ready: {links}")

    # -- running code ---------------------------------------------------------------------------

    def _execute(self, code: str, kind: str | None = None) -> dict[str, Any]:
        """Run code remotely and return the finished statement; an interrupt cancels it."""
        session_id = self._session()["id"]
        statement = self.client.submit(session_id, code, kind)
        bar = None
        try:
            while statement["state"] not in STATEMENT_DONE:
                statement = self.client.wait(session_id, statement["id"], wait=PROGRESS_EVERY)
                if statement["state"] == "running" and statement["progress"] > 0:
                    bar = bar or display({"text/plain": ""}, raw=True, display_id=True)
                    bar.update({"text/plain": _progress_bar(statement["progress"])}, raw=True)
        except KeyboardInterrupt:
            self.client.cancel(session_id, statement["id"])
            print("Spark statement cancelled.")
            raise
        finally:
            if bar is not None:
                bar.update({"text/plain": ""}, raw=True)  # the bar disappears when done
        return statement

    def _run(self, code: str, kind: str | None = None) -> None:
        self._show(self._execute(code, kind))

    def _show(self, statement: dict[str, Any]) -> None:
        output = statement.get("output")
        if statement["state"] == "cancelled" or output is None:
            print("Spark statement cancelled.")
            return
        if output["status"] == "error":
            raise _remote_error(output)
        data = dict(output.get("data") or {})
        if "application/json" in data and _is_table(data["application/json"]):
            display(_table(data.pop("application/json")))
        if data:
            display(data, raw=True)

    # -- cell magics ----------------------------------------------------------------------------

    @cell_magic
    @_friendly
    def spark(self, line: str, cell: str) -> None:
        """Run the cell in this notebook's Spark session."""
        self._run(cell, self.kind)

    @magic_arguments()
    @argument("-o", "--output", help="keep the result in this local variable (a pandas DataFrame)")
    @argument("--maxrows", type=int, default=2500, help="rows to bring back (default 2500)")
    @argument("-q", "--quiet", action="store_true", help="do not display the result")
    @cell_magic
    @_friendly
    def sql(self, line: str, cell: str) -> Any:
        """Run Spark SQL remotely; the rows come back as a pandas DataFrame."""
        options = parse_argstring(self.sql, line)
        # Livy's %json magic sends the rows as JSON; toJSON() keeps Spark's own rendering of types.
        code = (
            f"_jsb_sql = spark.sql({cell.strip()!r})\n"
            f"_jsb_rows = {{'columns': _jsb_sql.columns, "
            f"'rows': _jsb_sql.limit({int(options.maxrows)}).toJSON().collect()}}\n"
            "%json _jsb_rows"
        )
        statement = self._execute(code, "pyspark")
        output = statement.get("output") or {}
        if output.get("status") == "error":
            raise _remote_error(output)
        result = output.get("data", {}).get("application/json") or {"columns": [], "rows": []}
        frame = _frame(result["columns"], [json.loads(row) for row in result["rows"]])
        if options.output:
            self.shell.user_ns[options.output] = frame
        if not options.quiet:
            display(frame)

    @cell_magic
    @_friendly
    def configure(self, line: str, cell: str) -> None:
        """Session settings as JSON; ``-f`` recreates a running session with them."""
        try:
            settings = json.loads(cell or "{}")
        except ValueError as error:
            raise SparkUnavailable(f"%%configure needs a JSON object: {error}") from None
        if not isinstance(settings, dict):
            raise SparkUnavailable(
                '%%configure needs a JSON object, such as {"driverMemory": "2g"}'
            )
        force = "-f" in line.split()
        live = self._notebook_sessions()
        if live and not force:
            print(
                f"A Spark session is running for this notebook ({live[0]['id'][:8]}); its settings "
                "stay as they are. Use %%configure -f to recreate it with these settings."
            )
            return
        for session in live:
            self.client.kill(session["id"])
        self.client.session = None
        self._pending_settings = settings
        self._session()

    @line_cell_magic
    @_friendly
    def info(self, line: str, cell: str | None = None) -> None:
        self._info()

    @line_cell_magic
    @_friendly
    def logs(self, line: str, cell: str | None = None) -> None:
        print("\n".join(self.client.log(self._session()["id"], size=-1)))

    @line_cell_magic
    @_friendly
    def delete(self, line: str, cell: str | None = None) -> None:
        """Kill this notebook's Spark session (never another notebook's or user's)."""
        killed = self._notebook_sessions()
        for session in killed:
            self.client.kill(session["id"])
        self.client.session = None
        print(f"Killed {len(killed)} Spark session(s)." if killed else "No Spark session to kill.")

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="kill them; without it, only list them")
    @line_cell_magic
    @_friendly
    def cleanup(self, line: str, cell: str | None = None) -> None:
        """Kill every live Spark session of this user (never another user's, even for an admin)."""
        force = parse_argstring(self.cleanup, line).force
        live = [s for s in self.client.sessions(mine=True) if s["state"] not in FINISHED]
        if not force:
            for session in live:
                print(f"  {session['id'][:8]}  {session['state']:<9} {session['endpoint']}")
            print(f"{len(live)} live Spark session(s) of yours; %cleanup -f kills them all.")
            return
        for session in live:
            self.client.kill(session["id"])
        self.client.session = None
        print(f"Killed {len(live)} Spark session(s) of yours.")

    @cell_magic
    def local(self, line: str, cell: str) -> None:
        """Run the cell here, in the kernel (the default of a plain IPython kernel)."""
        self.shell.run_cell(cell)

    @magic_arguments()
    @argument("-i", "--input", required=True, help="the local variable to send")
    @argument("-t", "--type", choices=("str", "df"), default="str")
    @argument("-n", "--name", help="its name on the Spark side (default: the same)")
    @line_cell_magic
    @_friendly
    def send_to_spark(self, line: str, cell: str | None = None) -> None:
        options = parse_argstring(self.send_to_spark, line)
        if options.input not in self.shell.user_ns:
            raise SparkUnavailable(f"there is no local variable {options.input!r} to send")
        value, name = self.shell.user_ns[options.input], options.name or options.input
        if not name.isidentifier():
            raise SparkUnavailable(f"{name!r} is not a valid Python name")
        self._show(self._execute(_assignment(self.kind, name, options.type, value), self.kind))
        print(f"Sent {options.input!r} to the Spark side as {name!r}.")

    @line_cell_magic
    def help(self, line: str, cell: str | None = None) -> None:
        print(HELP)

    # -- %spark line magic ----------------------------------------------------------------------

    @line_magic("spark")
    @_friendly
    def spark_line(self, line: str) -> None:
        """%spark attach NAME | --session ID · detach · sessions · info · logs"""
        words = shlex.split(line)
        command, args = (words[0], words[1:]) if words else ("info", [])
        if command == "attach":
            self._attach(args)
        elif command == "detach":
            self.client.detach()
            print("Detached; the next Spark cell attaches this notebook's own session again.")
        elif command == "sessions":
            self._sessions()
        elif command == "info":
            self._info()
        elif command == "logs":
            print("\n".join(self.client.log(self._session()["id"], size=-1)))
        else:
            print(f"Unknown %spark command {command!r}: attach, detach, sessions, info or logs.")

    def _attach(self, args: list[str]) -> None:
        if args[:1] == ["--session"] and len(args) == 2:
            attached = self.client.attach(session_id=args[1])
        elif len(args) == 1:
            attached = self.client.attach(name=args[0])
        else:
            print("Usage: %spark attach NAME  or  %spark attach --session ID")
            return
        print(
            f"Attached to Spark session {attached['session']['id'][:8]} ({attached['session']['state']})."
        )

    def _sessions(self) -> None:
        for session in self.client.sessions():
            mine = self.client.session is not None and session["id"] == self.client.session["id"]
            print(
                f"{'*' if mine else ' '} {session['id'][:8]}  {session['state']:<9} "
                f"{session['endpoint']:<12} {session['share_key'] or ''}"
            )

    def _info(self) -> None:
        session = self.client.describe(self._session()["id"])
        attached = ", ".join(a["path"] for a in session["attachments"]) or "none"
        print(
            f"Spark session {session['id']} ({session['state']}) on endpoint {session['endpoint']!r}\n"
            f"  application id: {session['app_id'] or '-'}\n"
            f"  Spark UI:       {session['spark_ui_url'] or '-'}\n"
            f"  driver log:     {session['driver_log_url'] or '-'}\n"
            f"  notebooks:      {attached}"
        )

    def _notebook_sessions(self) -> list[dict[str, Any]]:
        """Live sessions this notebook is attached to."""
        sessions = self.client.sessions(path=self.client.settings.notebook_path)
        return [s for s in sessions if s["state"] not in FINISHED]


def _assignment(kind: str | None, name: str, type_: str, value: Any) -> str:
    """Code that binds ``name`` to a local string or pandas DataFrame in the remote interpreter."""
    if type_ == "str":
        text = str(value)
        if kind == "spark":
            return f"val {name} = {json.dumps(text, ensure_ascii=False)}"
        if kind == "sparkr":
            return f"{name} <- {json.dumps(text, ensure_ascii=False)}"
        return f"{name} = {text!r}"
    rows = [row for row in value.to_json(orient="records", lines=True).splitlines() if row]
    if kind == "spark":
        literals = ", ".join(json.dumps(row, ensure_ascii=False) for row in rows)
        return (
            f"val {name} = spark.read.json(spark.createDataset(Seq[String]({literals}))"
            "(org.apache.spark.sql.Encoders.STRING))"
        )
    if kind == "sparkr":
        raise SparkUnavailable(
            "%send_to_spark -t df is not supported for R; send strings, or use a Python notebook"
        )
    return f"{name} = spark.read.json(sc.parallelize({rows!r}))"


def bodiless_cell_magics(lines: list[str]) -> list[str]:
    """An IPython input transformer: a cell that is only ``%%info`` (sparkmagic's spelling) becomes
    the line magic ``%info``, since IPython refuses a cell magic with an empty body."""
    text = "".join(lines).strip()
    if text.startswith("%%") and "\n" not in text and text[2:].split(" ", 1)[0] in BODILESS:
        return [text[1:] + "\n"]
    return lines


def _progress_bar(progress: float, width: int = 30) -> str:
    done = round(progress * width)
    return f"[{'#' * done}{'.' * (width - done)}] {progress:4.0%}"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and "schema" in value and "data" in value


def _table(value: dict[str, Any]) -> Any:
    """A Spark SQL (``sql`` kind) result as a pandas DataFrame when pandas is there, else as JSON."""
    columns = [field["name"] for field in value["schema"].get("fields", [])]
    try:
        import pandas
    except ImportError:
        return value
    return pandas.DataFrame(value["data"], columns=columns)


def _frame(columns: list[str], records: list[dict[str, Any]]) -> Any:
    try:
        import pandas
    except ImportError:
        raise SparkUnavailable("%%sql needs pandas in the kernel's environment") from None
    return pandas.DataFrame.from_records(records, columns=columns)

"""IPython magics that run cells in this notebook's Spark session, through the broker.

Names and options follow sparkmagic so users can switch: ``%%spark``, ``%%sql``, ``%%configure``,
``%%info``, ``%%logs``, ``%%delete``, ``%%cleanup``, ``%%local``, ``%%send_to_spark``, ``%%help``, and
``%spark attach|detach|sessions|info|logs|profile|add|endpoint|delete|connect``. An option a magic
does not know is an error.
"""

from __future__ import annotations

import contextlib
import html
import json
import shlex
import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

from ..livy.names import (
    RECORD_FINISHED_STATES,
    STATEMENT_FINISHED_STATES,
)
from .client import BrokerClient, BrokerRefused, BrokerUnavailable
from .configure import settings_problem
from .endpoint_commands import add_command, delete_command, endpoint_command
from .errors import (
    SESSION_ENDED,
    Interrupted,
    SparkStatementError,
    SparkUnavailable,
    StartupInterrupted,
    StatementCancelled,
    friendly,
    remote_error,
    sentence,
)
from .profile_command import profile_command
from .progress import StatementProgress, StatusLine, running_job
from .session_words import attached_line, session_row, starting
from .settings import KernelSettings
from .tables import (
    Sampling,
    Table,
    coerce_flag,
    fetch_code,
    has_pandas,
    require_pandas,
    sql_dataframe,
)

STATEMENT_DONE = STATEMENT_FINISHED_STATES
FINISHED = RECORD_FINISHED_STATES
# Kinds not every endpoint runs (the embedded local Livy has no R, and Scala only with Spark).
LANGUAGES = {"sparkr": ("SparkR (broker)", "R"), "spark": ("Spark (broker)", "Scala")}
# While a statement runs, each long-poll returns after this long at most, to refresh its progress.
PROGRESS_EVERY = 1.0

# IPython refuses a cell magic with an empty body, so the commands without a body are line magics
# too, and ``bodiless_cell_magics`` turns sparkmagic's bare ``%%info`` into ``%info``.
BODILESS = ("info", "logs", "delete", "cleanup", "help", "send_to_spark")
HELP = """\
%%spark [-o VAR [-m take|sample] [-n MAXROWS] [-r FRACTION] [-c True|False]]
                        run the cell in this notebook's Spark session; -o brings the remote
                        DataFrame VAR back as a local pandas DataFrame VAR (a sample of it)
%%sql [-o VAR] [-q] [-m take|sample] [-n MAXROWS] [-r FRACTION] [-c True|False]
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
%spark attach NAME | --create NAME | --session ID
                        join the live session of that name (an unknown name is an error), start
                        one of that name for other notebooks to join, or attach to a given one
%spark sessions        your sessions: id, state, endpoint, name and notebooks (* this one's)
%spark detach | info | logs
%spark profile [NAME [-f]]          list the profiles, or pick one for this notebook's new sessions
%spark add -u URL [-s NAME] [-a USER] [-p PASSWORD] [-t AUTH] [-l python|scala|r]
                        add a Livy endpoint of yours (the broker keeps the credentials; without -p
                        the password is asked for, so it stays out of the history) and use it;
                        AUTH: None, Basic_Access (the default with a user), Kerberos
%spark endpoint [NAME]  list the endpoints, or use NAME for this notebook's new sessions
%spark delete -e NAME   remove an endpoint you added (your sessions on it are killed first);
                        %spark delete alone is %delete
%spark connect          bind `spark` to this notebook's Spark Connect session (cells then run here)
%help                   this list

Sampling (-m, -n, -r) as in sparkmagic: take the first MAXROWS rows (default 2500, -1 for all), or
sample a FRACTION (default 0.1) first. -c False keeps dates and times as Spark renders them (text).
"""


def _sampling_options(magic):
    """sparkmagic's options for bringing a DataFrame back: -m, -n, -r and -c."""
    for decorate in (
        argument("-c", "--coerce", help="True (default): dates and times become datetimes"),
        argument("-r", "--samplefraction", type=float, help="fraction for -m sample (0.1)"),
        argument("-n", "--maxrows", type=int, help="rows to bring back (2500; -1 for all)"),
        argument("-m", "--samplemethod", help="take (the first rows, default) or sample"),
    ):
        magic = decorate(magic)
    return magic


def _no_options(magic_name: str, line: str) -> None:
    if line.strip():
        raise UsageError(f"%{magic_name} takes no options; got {line.strip()!r}")


@magics_class
class SparkMagics(Magics):
    shell: InteractiveShell  # the one given to __init__ (IPython's Magics may have none)

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
        try:
            if self.client.session is None:
                self._attach_notebook()
            if starting(self._held()):
                self._wait_for_start()
        except KeyboardInterrupt:
            raise StartupInterrupted() from None
        return self._held()

    def _held(self) -> dict[str, Any]:
        """The session the client holds, once ``_attach_notebook`` has attached one (or raised)."""
        session = self.client.session
        if session is None:
            raise SparkUnavailable("this notebook is not attached to a Spark session")
        return session

    def _attach_notebook(self) -> None:
        """The broker's answer: the session this kernel was attached to before a restart (so
        ``%spark attach NAME`` holds), else the notebook's own, get-or-create by path."""
        settings = dict(self._pending_settings)
        kind = settings.pop("kind", self.kind)
        try:
            attached = self.client.attach(kind=kind, **settings)
        except BrokerRefused as error:
            if error.reason == "livy_rejected" and kind in LANGUAGES:
                raise SparkUnavailable(_no_interpreter(kind, error)) from None
            if self._pending_settings and error.status in (400, 403):
                # Refused settings are not kept, or every later cell would be refused the same.
                self._pending_settings = {}
                raise SparkUnavailable(
                    f"Spark refused the %%configure settings: {sentence(error)} They are "
                    "dropped: the next Spark cell starts a session without them."
                ) from None
            raise
        self._pending_settings = {}
        session = attached["session"]
        print(attached_line(attached))
        if not starting(session):
            self._ready_line(StatusLine(), session)

    def _wait_for_start(self) -> None:
        session = self._held()
        started, line = time.monotonic(), StatusLine()
        try:
            while starting(session):
                line.show(f"Starting Spark ({time.monotonic() - started:.0f} s) …")
                time.sleep(1.0)
                session = self.client.describe(session["id"])
        except KeyboardInterrupt:
            line.show(
                f"Spark still starting (interrupted after {time.monotonic() - started:.0f} s)"
            )
            raise
        if session["state"] not in ("idle", "busy"):
            self.client.forget()
            line.show(f"Spark did not start ({session['state']})")
            raise SparkUnavailable(
                f"the Spark session ended while starting ({session['state']}: "
                f"{session['message'] or 'no reason given'}). %logs shows the driver log; "
                "the next Spark cell tries again."
            )
        self.client.session = session
        self._ready_line(line, session)

    @staticmethod
    def _ready_line(line: StatusLine, session: dict[str, Any]) -> None:
        ui, log = session["spark_ui_url"], session["driver_log_url"]
        text = (
            f"Spark ready: application {session['app_id'] or '-'}, Spark UI {ui or '-'}, "
            f"driver log {log or '-'}"
        )
        links = "".join(
            f', <a href="{url}" target="_blank" rel="noopener">{label}</a>'
            for label, url in (("Spark UI", ui), ("driver log", log))
            if url
        )
        line.show(text, f"Spark ready: application <code>{session['app_id'] or '-'}</code>{links}")

    # -- running code ---------------------------------------------------------------------------

    def _execute(self, code: str, kind: str | None = None) -> dict[str, Any]:
        """Run code remotely and return the finished statement; an interrupt cancels it."""
        session = self._session()
        try:
            try:
                statement = self.client.submit(session["id"], code, kind)
            except BrokerRefused as error:
                if error.reason not in SESSION_ENDED:
                    raise
                # It ended before this cell (killed from the panel, reaped, lost) and nothing ran:
                # the cell runs in the notebook's next session.
                self.client.forget()
                print(
                    f"Spark session {session['id'][:8]} has ended ({self._end_of(session)}), and "
                    "its Spark state (DataFrames, cached tables, variables) is gone: starting a "
                    "new one."
                )
                session = self._session()
                statement = self.client.submit(session["id"], code, kind)
        except KeyboardInterrupt:
            raise Interrupted() from None
        progress = StatementProgress(session["spark_ui_url"])
        try:
            while statement["state"] not in STATEMENT_DONE:
                statement = self.client.wait(session["id"], statement["id"], wait=PROGRESS_EVERY)
                running = statement["state"] not in STATEMENT_DONE and progress.showing
                job = running_job(self.client.spark_ui, session) if running else None
                progress.update(statement, job)
        except KeyboardInterrupt:
            self._cancel(session["id"], statement["id"])
            progress.finish({"state": "cancelled"})
            raise StatementCancelled() from None
        progress.finish(statement)
        return statement

    def _end_of(self, session: dict[str, Any]) -> str:
        """How the session ended, in a word (killed, dead, lost); its message stays in %info."""
        with contextlib.suppress(BrokerRefused, BrokerUnavailable):
            return str(self.client.describe(session["id"])["state"])
        return "gone"

    def _cancel(self, session_id: str, statement_id: int) -> None:
        # It may have finished meanwhile, or a second interrupt comes: the cell stops either way.
        with contextlib.suppress(BrokerRefused, BrokerUnavailable, KeyboardInterrupt):
            self.client.cancel(session_id, statement_id)

    def _show(self, statement: dict[str, Any], cell: str | None) -> None:
        """The statement's output; ``cell`` is the user's code (None for code of ours), so an
        error can point at the line that failed."""
        output = statement.get("output")
        if statement["state"] == "cancelled" or output is None:
            print("Spark statement cancelled.")
            return
        if output["status"] == "error":
            raise remote_error(output, cell)
        data = dict(output.get("data") or {})
        if "application/json" in data and _is_table(data["application/json"]):
            self._display_table(Table.from_schema(**_schema_and_rows(data.pop("application/json"))))
        if data.get("text/plain") == "" and len(data) == 1:
            return  # nothing to show: no empty output in the notebook
        if data:
            display(data, raw=True)

    @staticmethod
    def _display_table(table: Table, coerce: bool = True) -> None:
        if has_pandas():
            display(table.to_pandas(coerce))
        else:
            display(table.display_bundle(), raw=True)

    def _fetch(self, dataframe: str, sampling: Sampling, kind: str | None) -> Table:
        """A sample of a remote DataFrame expression, as a local table."""
        statement = self._execute(fetch_code(kind, dataframe, sampling), kind)
        output = statement.get("output") or {}
        if statement["state"] == "cancelled" or not output:
            raise StatementCancelled()
        if output.get("status") == "error":
            raise remote_error(output, None)
        return Table.from_text(str(output.get("data", {}).get("text/plain", "")))

    # -- cell magics ----------------------------------------------------------------------------

    @magic_arguments()
    @argument("-o", "--output", help="bring the remote DataFrame VAR back as local pandas VAR")
    @_sampling_options
    @cell_magic
    @friendly
    def spark(self, line: str, cell: str) -> None:
        """Run the cell in this notebook's Spark session."""
        options = parse_argstring(self.spark, line)
        sampling = Sampling.of(options.samplemethod, options.maxrows, options.samplefraction)
        coerce = coerce_flag(options.coerce)
        if options.output:
            if not options.output.isidentifier():
                raise UsageError(f"-o {options.output!r} is not a variable name")
            require_pandas("%%spark -o")  # before the cell runs, not after
        self._show(self._execute(cell, self.kind), cell)
        if options.output:
            try:
                table = self._fetch(options.output, sampling, self.kind)
            except SparkStatementError as error:
                if type(error).__name__ != "NameError":
                    raise
                raise UsageError(
                    f"-o {options.output}: the cell ran, but no {options.output!r} is defined on "
                    "the Spark side to bring back"
                ) from None
            self.shell.user_ns[options.output] = table.to_pandas(coerce)

    @magic_arguments()
    @argument("-o", "--output", help="keep the result in this local variable (a pandas DataFrame)")
    @argument("-q", "--quiet", action="store_true", help="do not display the result")
    @_sampling_options
    @cell_magic
    @friendly
    def sql(self, line: str, cell: str) -> None:
        """Run Spark SQL remotely; a sample of the rows comes back as a table."""
        options = parse_argstring(self.sql, line)
        sampling = Sampling.of(options.samplemethod, options.maxrows, options.samplefraction)
        coerce = coerce_flag(options.coerce)
        if options.output:
            require_pandas("%%sql -o")  # before the query runs, not after
        # Python statements whatever the session's kind: Livy sessions run any kind since 0.5.
        table = self._fetch(sql_dataframe("pyspark", cell.strip()), sampling, "pyspark")
        if options.output:
            self.shell.user_ns[options.output] = table.to_pandas(coerce)
        if not options.quiet:
            self._display_table(table, coerce)

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="recreate a running session")
    @cell_magic
    @friendly
    def configure(self, line: str, cell: str) -> None:
        """Session settings as JSON; ``-f`` recreates a running session with them."""
        force = parse_argstring(self.configure, line).force
        try:
            settings = json.loads(cell or "{}")
        except ValueError as error:
            raise UsageError(f"%%configure needs a JSON object: {error}") from None
        if not isinstance(settings, dict):
            raise UsageError('%%configure needs a JSON object, such as {"driverMemory": "2g"}')
        problem = settings_problem(settings)
        if problem:  # before -f ends the running session, not after
            raise UsageError(f"%%configure: {problem}. Nothing was changed.")
        live = self._notebook_sessions()
        if live and not force:
            print(
                f"A Spark session is running for this notebook ({live[0]['id'][:8]}); its settings "
                "stay as they are. Use %%configure -f to recreate it with these settings."
            )
            return
        for session in live:
            self.client.kill(session["id"])
        self.client.forget()
        self._pending_settings = settings
        self._session()

    @line_cell_magic
    @friendly
    def info(self, line: str, cell: str | None = None) -> None:
        _no_options("info", line)
        self._info()

    @line_cell_magic
    @friendly
    def logs(self, line: str, cell: str | None = None) -> None:
        _no_options("logs", line)
        print("\n".join(self.client.log(self._session()["id"], size=-1)))

    @line_cell_magic
    @friendly
    def delete(self, line: str, cell: str | None = None) -> None:
        """Kill this notebook's Spark session (never another notebook's or user's)."""
        _no_options("delete", line)
        self._delete()

    def _delete(self) -> None:
        killed = self._notebook_sessions()
        for session in killed:
            self.client.kill(session["id"])
        self.client.forget()
        print(f"Killed {len(killed)} Spark session(s)." if killed else "No Spark session to kill.")

    @magic_arguments()
    @argument("-f", "--force", action="store_true", help="kill them; without it, only list them")
    @line_cell_magic
    @friendly
    def cleanup(self, line: str, cell: str | None = None) -> None:
        """Kill every live Spark session of this user (never another user's, even for an admin)."""
        force = parse_argstring(self.cleanup, line).force
        live = [s for s in self.client.sessions(mine=True) if s["state"] not in FINISHED]
        if not force:
            notebooks = self.client.notebooks() if live else {}
            for session in live:
                print(session_row(session, notebooks.get(session["id"], [])))
            print(f"{len(live)} live Spark session(s) of yours; %cleanup -f kills them all.")
            return
        for session in live:
            self.client.kill(session["id"])
        self.client.forget()
        print(f"Killed {len(live)} Spark session(s) of yours.")

    @cell_magic
    def local(self, line: str, cell: str) -> None:
        """Run the cell here, in the kernel (the default of a plain IPython kernel)."""
        _no_options("%local", line)
        self.shell.run_cell(cell)

    @magic_arguments()
    @argument("-i", "--input", required=True, help="the local variable to send")
    @argument("-t", "--type", choices=("str", "df"), default="str")
    @argument("-n", "--name", help="its name on the Spark side (default: the same)")
    @line_cell_magic
    @friendly
    def send_to_spark(self, line: str, cell: str | None = None) -> None:
        options = parse_argstring(self.send_to_spark, line)
        if options.input not in self.shell.user_ns:
            raise SparkUnavailable(f"there is no local variable {options.input!r} to send")
        value, name = self.shell.user_ns[options.input], options.name or options.input
        if not name.isidentifier():
            raise SparkUnavailable(f"{name!r} is not a valid Python name")
        self._show(
            self._execute(_assignment(self.kind, name, options.type, value), self.kind), None
        )
        print(f"Sent {options.input!r} to the Spark side as {name!r}.")

    @line_cell_magic
    def help(self, line: str, cell: str | None = None) -> None:
        _no_options("help", line)
        print(HELP)

    # -- %spark line magic ----------------------------------------------------------------------

    @line_magic("spark")
    @friendly
    def spark_line(self, line: str) -> None:
        """%spark attach NAME | --create NAME | --session ID · detach · sessions · info · logs ·
        profile · add · endpoint · delete · connect · help"""
        words = shlex.split(line)
        command, args = (words[0], words[1:]) if words else ("info", [])
        if command == "attach":
            self._attach(args)
        elif command == "detach" and not args:
            self.client.detach()
            print("Detached; the next Spark cell attaches this notebook's own session again.")
        elif command == "sessions" and not args:
            self._sessions()
        elif command == "info" and not args:
            self._info()
        elif command == "logs" and not args:
            print("\n".join(self.client.log(self._session()["id"], size=-1)))
        elif command == "profile":
            profile_command(self.client, args)
        elif command == "add":
            add_command(self, args)
        elif command == "endpoint":
            endpoint_command(self, args)
        elif command == "delete":
            if not delete_command(self, args):
                self._delete()
        elif command == "connect":
            from .connect import bind_spark

            bind_spark(self.shell)
        elif command == "help" and not args:
            print(HELP)
        else:
            raise UsageError(
                f"%spark {line.strip()!r}: the commands are attach [--create] NAME, attach --session ID, "
                "detach, sessions, info, logs, profile, add, endpoint, delete, connect and help"
            )

    def _attach(self, args: list[str]) -> None:
        target: dict[str, Any]
        if args[:1] == ["--session"] and len(args) == 2:
            target = {"session_id": args[1]}
        elif args[:1] == ["--create"] and len(args) == 2 and not args[1].startswith("-"):
            target = {"name": args[1], "create": True}
        elif len(args) == 1 and not args[0].startswith("-"):
            target = {"name": args[0]}
        else:
            raise UsageError(
                "usage: %spark attach NAME  or  %spark attach --create NAME  or  "
                "%spark attach --session ID"
            )
        # One attachment per notebook: the one it leaves ends (its session is reaped when unused),
        # so after a kernel restart the notebook comes back here, not to its old session.
        previous = self.client.attachment_id
        try:
            attached = self.client.attach(kind=self.kind, **target)
        except KeyboardInterrupt:
            raise StartupInterrupted() from None
        if previous is not None and previous != attached["id"]:
            self.client.delete_attachment(previous)
        print(attached_line(attached))
        if attached["created"] and "name" in target:
            print(f"Other notebooks join it with %spark attach {target['name']}.")
        self._session()  # waits, saying so, while it starts

    def _sessions(self) -> None:
        sessions = self.client.sessions()
        notebooks = self.client.notebooks() if sessions else {}
        held = self.client.session
        for session in sessions:
            mine = held is not None and session["id"] == held["id"]
            print(session_row(session, notebooks.get(session["id"], []), "*" if mine else " "))
        if not sessions:
            print("No Spark sessions.")

    def _info(self) -> None:
        """The session's facts; its links are links where the front end renders HTML."""
        session = self.client.describe(self._session()["id"])
        facts = [
            ("name", session["name"] or "-", None),
            ("application id", session["app_id"] or "-", None),
            ("Spark UI", session["spark_ui_url"] or "-", session["spark_ui_url"]),
            ("driver log", session["driver_log_url"] or "-", session["driver_log_url"]),
            ("notebooks", ", ".join(a["path"] for a in session["attachments"]) or "none", None),
        ]
        title = f"Spark session {session['id']} ({session['state']}) on endpoint {session['endpoint']!r}"
        text = "\n".join([title, *(f"  {label + ':':<16}{value}" for label, value, _ in facts)])
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{_link_or_text(value, url)}</td></tr>"
            for label, value, url in facts
        )
        page = f"<p>{html.escape(title)}</p><table>{rows}</table>"
        display({"text/plain": text, "text/html": page}, raw=True)

    def _notebook_sessions(self) -> list[dict[str, Any]]:
        """Live sessions this notebook is attached to."""
        sessions = self.client.sessions(path=self.client.settings.notebook_path)
        return [s for s in sessions if s["state"] not in FINISHED]


def _link_or_text(value: str, url: str | None) -> str:
    if url is None:
        return html.escape(value)
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(value)}</a>'


def _no_interpreter(kind: str, error: BrokerRefused) -> str:
    kernel, language = LANGUAGES[kind]
    return (
        f"{kernel} cells need a Livy endpoint that runs {language}, and this one refused "
        f"({error}). Use PySpark (broker), which every endpoint runs, add a Livy with "
        f"{language} of your own (%spark add -u URL), or ask your Jupyter administrator for one "
        "(c.SparkEndpoints.endpoints)."
    )


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


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and "schema" in value and "data" in value


def _schema_and_rows(value: dict[str, Any]) -> dict[str, Any]:
    """A ``sql``-kind result (``{"schema", "data"}``) as ``Table.from_schema`` takes it."""
    return {"schema": value["schema"], "rows": value["data"]}

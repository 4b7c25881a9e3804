"""IPython magics that run cells in this notebook's Spark session, through the broker.

``%%spark`` runs a cell remotely. ``%spark attach NAME | --session ID``, ``%spark detach``,
``%spark sessions`` and ``%spark info`` manage the attachment. Names follow sparkmagic.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from .client import BrokerClient, BrokerRefused, BrokerUnavailable
from .settings import KernelSettings, NotConfigured

# Traceback lines of the JVM and py4j plumbing, hidden from the first view of an error.
_NOISE = ("py4j/", "pyspark/errors/", "at org.apache.", "at java.", "at scala.", "at sun.")


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
        lines = [f"{self.ename}: {self.evalue}", *kept]
        if hidden:
            lines.append(
                f"({hidden} lines of JVM/py4j frames hidden; %spark logs shows the driver log)"
            )
        return lines


def _remote_error(output: dict[str, Any]) -> SparkStatementError:
    ename = str(output.get("ename") or "SparkError")
    cls = type(ename if ename.isidentifier() else "SparkError", (SparkStatementError,), {})
    return cls(ename, str(output.get("evalue") or ""), list(output.get("traceback") or []))


@magics_class
class SparkMagics(Magics):
    def __init__(self, shell: Any, client: BrokerClient | None = None):
        super().__init__(shell)
        self._client = client

    # -- the client, made on first use --------------------------------------------------------

    @property
    def client(self) -> BrokerClient:
        if self._client is None:
            self._client = BrokerClient(KernelSettings.from_environment())
        return self._client

    def _session_id(self) -> str:
        if self.client.session is None:
            attached = self.client.attach()
            session = attached["session"]
            starting = session["state"] in ("not_started", "starting")
            note = " (the first cell waits for it to start)" if starting else ""
            where = f"Spark session {session['id'][:8]} on endpoint {session['endpoint']!r}"
            print(f"{where}: {session['state']}{note}")
        return self.client.session["id"]

    # -- magics ---------------------------------------------------------------------------------

    @cell_magic
    def spark(self, line: str, cell: str) -> None:
        """Run the cell in this notebook's Spark session."""
        self._run(cell, kind=None)

    @line_magic("spark")
    def spark_line(self, line: str) -> Any:
        """%spark attach NAME | --session ID · %spark detach · %spark sessions · %spark info · %spark logs"""
        words = shlex.split(line)
        command, args = (words[0], words[1:]) if words else ("info", [])
        try:
            if command == "attach":
                return self._attach(args)
            if command == "detach":
                self.client.detach()
                print("Detached; the next Spark cell attaches this notebook's own session again.")
                return None
            if command == "sessions":
                return self._sessions()
            if command == "info":
                return self._info()
            if command == "logs":
                print("\n".join(self.client.log(self._session_id())))
                return None
        except (BrokerRefused, BrokerUnavailable, NotConfigured) as error:
            print(f"Spark: {error}")
            return None
        print(f"Unknown %spark command {command!r}: attach, detach, sessions, info or logs.")
        return None

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
        session = self.client.describe(self._session_id())
        attached = ", ".join(a["path"] for a in session["attachments"]) or "none"
        print(
            f"Spark session {session['id']} ({session['state']}) on endpoint {session['endpoint']!r}\n"
            f"  application id: {session['app_id'] or '-'}\n"
            f"  Spark UI:       {session['spark_ui_url'] or '-'}\n"
            f"  driver log:     {session['driver_log_url'] or '-'}\n"
            f"  notebooks:      {attached}"
        )

    # -- running code ---------------------------------------------------------------------------

    def _run(self, code: str, kind: str | None) -> None:
        try:
            session_id = self._session_id()
            statement = self.client.submit(session_id, code, kind)
            try:
                while statement["state"] not in ("available", "cancelled", "error"):
                    statement = self.client.wait(session_id, statement["id"])
            except KeyboardInterrupt:
                # Interrupting the kernel cancels the remote statement; the session stays usable.
                self.client.cancel(session_id, statement["id"])
                print("Spark statement cancelled.")
                raise
        except BrokerRefused as error:
            if error.reason in ("session_finished", "session_lost"):
                self.client.session = None
                raise RuntimeError(
                    f"{error} The next Spark cell starts or attaches a new session."
                ) from None
            raise RuntimeError(f"Spark broker: {error}") from None
        except (BrokerUnavailable, NotConfigured) as error:
            raise RuntimeError(str(error)) from None
        self._show(statement)

    def _show(self, statement: dict[str, Any]) -> None:
        output = statement.get("output")
        if statement["state"] == "cancelled" or output is None:
            print("Spark statement cancelled." if statement["state"] == "cancelled" else "")
            return
        if output["status"] == "error":
            raise _remote_error(output)
        data = dict(output.get("data") or {})
        if "application/json" in data and _is_table(data["application/json"]):
            display(_table(data.pop("application/json")))
        if data:
            display(data, raw=True)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and "schema" in value and "data" in value


def _table(value: dict[str, Any]) -> Any:
    """A Spark SQL result as a pandas DataFrame when pandas is there, else as its JSON."""
    try:
        import pandas
    except ImportError:
        return value
    columns = [field["name"] for field in value["schema"].get("fields", [])]
    return pandas.DataFrame(value["data"], columns=columns or None)

"""``jupyter spark-broker``: commands around the broker that are not the server itself.

``sessions``, ``kill`` and ``endpoints`` talk to a running Jupyter server's broker API, as a
notebook's kernel does: found through ``--url`` and ``--token``, else ``SPARK_BROKER_URL`` and
``SPARK_BROKER_TOKEN``, else the server this user is running (its runtime file holds URL and token).
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import Bool, Unicode

from ._version import __version__

API = "spark-broker/api/"
LIVE = ("not_started", "starting", "recovering", "idle", "busy")


class InstallKernelsApp(JupyterApp):
    name = "jupyter-spark-broker-install-kernels"
    version = __version__
    description = (
        'Install the kernelspecs "PySpark (broker)", "Spark (broker)", "SparkR (broker)" and '
        '"PySpark Connect (broker)". '
        "By default into this Python's prefix, as pip install does."
    )
    user = Bool(False, config=True, help="Install for the current user only.")
    prefix = Unicode(None, allow_none=True, config=True, help="Install under this prefix.")
    profile = Unicode(
        None,
        allow_none=True,
        config=True,
        help='Kernels of this broker profile: "PySpark (broker) – NAME" and so on.',
    )
    flags = {"user": ({"InstallKernelsApp": {"user": True}}, user.help)}
    aliases = {"prefix": "InstallKernelsApp.prefix", "profile": "InstallKernelsApp.profile"}

    def start(self) -> None:
        from .kernel.install import install_kernels

        try:
            # jupyter_client logs each one
            install_kernels(user=self.user, prefix=self.prefix, profile=self.profile)
        except ValueError as error:
            self.exit(str(error))


class BrokerAPICommand(JupyterApp):
    """A command that calls the running server's broker API."""

    version = __version__
    url = Unicode(
        "",
        config=True,
        help="The Jupyter server's URL, base_url included (env SPARK_BROKER_URL; default: the "
        "running server of this user).",
    )
    token = Unicode("", config=True, help="The Jupyter server's token (env SPARK_BROKER_TOKEN).")
    as_json = Bool(False, config=True, help="Print the API's JSON instead of a table.")
    aliases = {
        **JupyterApp.aliases,
        "url": "BrokerAPICommand.url",
        "token": "BrokerAPICommand.token",
    }
    flags = {**JupyterApp.flags, "json": ({"BrokerAPICommand": {"as_json": True}}, as_json.help)}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        url, token = self._server()
        headers = {"Authorization": f"token {token}"} if token else {}
        try:
            response = httpx.request(
                method, url + API + path, headers=headers, timeout=30.0, **kwargs
            )
        except httpx.TransportError as error:
            self.exit(f"The Jupyter server at {url} does not answer ({error}).")
        if response.status_code == 403 and not token:
            self.exit(f"The Jupyter server at {url} wants a token: give --token.")
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text[:300]
            self.exit(f"The broker refused ({response.status_code}): {message}")
        return response.json() if response.content else None

    def _server(self) -> tuple[str, str]:
        url = self.url or os.environ.get("SPARK_BROKER_URL", "")
        token = self.token or os.environ.get("SPARK_BROKER_TOKEN", "")
        if not url:
            from jupyter_server.serverapp import list_running_servers

            running = list(list_running_servers())
            if not running:
                self.exit(
                    "No running Jupyter server found for this user: start one "
                    "(scripts/run.sh), or give --url and --token."
                )
            if len(running) > 1:
                urls = ", ".join(server["url"] for server in running)
                self.exit(f"Several Jupyter servers are running ({urls}): pick one with --url.")
            url, token = running[0]["url"], token or running[0].get("token", "")
        return (url if url.endswith("/") else url + "/"), token

    def print_json(self, value: Any) -> None:
        print(json.dumps(value, indent=2))


class SessionsApp(BrokerAPICommand):
    name = "jupyter-spark-broker-sessions"
    description = "List the Spark sessions of the running server (yours; an admin's: all)."
    all = Bool(False, config=True, help="Finished sessions too (killed, dead, lost).")
    flags = {
        **BrokerAPICommand.flags,
        "all": ({"SessionsApp": {"all": True}}, all.help),
    }

    def start(self) -> None:
        sessions = self.call("GET", "sessions", params={"limit": 1000})["sessions"]
        if not self.all:
            sessions = [s for s in sessions if s["state"] in LIVE]
        if self.as_json:
            self.print_json(sessions)
            return
        rows = [
            [
                s["id"][:8],
                s["state"],
                s["kind"],
                s["endpoint"],
                s["owner"],
                s["created"][:19].replace("T", " "),
                _purpose(s.get("share_key")),
            ]
            for s in sessions
        ]
        _print_table(["ID", "STATE", "KIND", "ENDPOINT", "OWNER", "CREATED", "FOR"], rows)
        if not sessions:
            print("No live Spark sessions." if not self.all else "No Spark sessions.")


class KillApp(BrokerAPICommand):
    name = "jupyter-spark-broker-kill"
    description = "Kill Spark sessions by id (the first characters are enough, as listed)."

    def start(self) -> None:
        if not self.extra_args:
            self.exit("Give the ids of the sessions to kill (jupyter spark-broker sessions).")
        sessions = self.call("GET", "sessions", params={"limit": 1000})["sessions"]
        targets = [_resolve(prefix, sessions, self.exit) for prefix in self.extra_args]
        for session in targets:
            self.call("DELETE", f"sessions/{session['id']}")
            print(f"Killed {session['id'][:8]} ({session['kind']} on {session['endpoint']}).")


class EndpointsApp(BrokerAPICommand):
    name = "jupyter-spark-broker-endpoints"
    description = "List the Livy endpoints the running server's broker knows (without secrets)."

    def start(self) -> None:
        endpoints = self.call("GET", "endpoints")["endpoints"]
        if self.as_json:
            self.print_json(endpoints)
            return
        rows = [
            [
                e["name"] + (" *" if e["default"] else ""),
                e["url"] or "(starts on first use)",
                e["auth"],
                "embedded local Livy" if e["embedded"] else e["source"],
            ]
            for e in endpoints
        ]
        _print_table(["NAME", "URL", "AUTH", "FROM"], rows)
        print("* the default endpoint")


class SparkBrokerCommand(JupyterApp):
    name = "jupyter-spark-broker"
    version = __version__
    description = "Commands of the Jupyter Spark broker."
    subcommands = {
        "install-kernels": (InstallKernelsApp, InstallKernelsApp.description),
        "sessions": (SessionsApp, SessionsApp.description),
        "kill": (KillApp, KillApp.description),
        "endpoints": (EndpointsApp, EndpointsApp.description),
        # By name: the service's tornado, JupyterHub and registry load only when it runs.
        "hub-service": (
            "jupyter_spark_broker.hub.app.HubServiceApp",
            "The JupyterHub service: every user's Spark sessions for the Hub's admins, and the "
            "reaper for servers the Hub stopped (run by the Hub: c.JupyterHub.services).",
        ),
    }

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit("Give a command: " + ", ".join(self.subcommands))
        super().start()


def _purpose(share_key: str | None) -> str:
    """What a session is for, from its share key: a notebook, a name, or a user's notebooks (the
    same for a Spark Connect session, whose key is one of those after ``connect:``)."""
    if not share_key:
        return "-"
    scope, _, rest = share_key.removeprefix("connect:").partition(":")
    if scope == "notebook":
        return rest.partition(":")[2]
    if scope == "name":
        return f"name {rest}"
    if scope == "user":
        return f"all notebooks of {rest.rpartition(':')[0]}"
    return share_key


def _resolve(prefix: str, sessions: list[dict[str, Any]], fail: Any) -> dict[str, Any]:
    matches = [s for s in sessions if s["id"].startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    fail(f"{prefix!r} names {'no' if not matches else 'more than one'} Spark session of yours.")
    raise AssertionError("unreachable")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [max(len(str(v)) for v in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


main = SparkBrokerCommand.launch_instance

if __name__ == "__main__":
    main()

"""``%spark add``, ``%spark endpoint`` and ``%spark delete``: Livy endpoints at run time, as
sparkmagic's ``%spark add -s NAME -l LANGUAGE -u URL -a USER -p PASSWORD -t AUTH``.

The broker keeps an added endpoint and its credentials (sealed in its registry); the kernel sends the
password once and keeps it nowhere. Without ``-p`` a password is asked for (``getpass``), so it stays
out of the notebook and the kernel's history. Registered by the ``%spark`` line magic (``magics.py``).
"""

from __future__ import annotations

import getpass
from typing import Protocol

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..livy.names import RECORD_FINISHED_STATES
from .client import BrokerClient


class SparkCommandHost(Protocol):
    """What these commands use of the ``%spark`` magics: the broker's client, the cells' kind."""

    @property
    def client(self) -> BrokerClient: ...

    kind: str | None


# sparkmagic's -l values, and the Livy kind each is: a kernel's cells have one kind.
LANGUAGES = {"python": "pyspark", "scala": "spark", "r": "sparkr"}
ASKS_PASSWORD = ("Basic_Access",)  # Kerberos without a password uses the server's ticket


def _add_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%spark add",
        description="Add a Livy endpoint of your own (the broker keeps its credentials) and use it "
        "for this notebook's new Spark sessions.",
    )
    parser.add_argument("-u", "--url", required=True, help="the Livy URL")
    # sparkmagic's -s names its session; here the endpoint, which the notebook's session then uses.
    parser.add_argument("-s", "-n", "--name", dest="name", help="its name (default: USER@URL)")
    parser.add_argument("-a", "--username", "--user", dest="username", default="")
    parser.add_argument(
        "-p", "--password", help="kept in the notebook and the history: leave it out to be asked"
    )
    auths = "None, Basic_Access (the default with a user), Kerberos, or a name the server set"
    parser.add_argument("-t", "--auth", help=auths)
    parser.add_argument("-l", "--language", choices=sorted(LANGUAGES), help="this kernel's")
    return parser


def _delete_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%spark delete",
        description="Without options: kill this notebook's Spark session (as %delete). With -e: "
        "remove an endpoint you added, after killing your sessions on it.",
    )
    parser.add_argument("-e", "--endpoint", help="the endpoint to remove")
    return parser


def add_command(magics: SparkCommandHost, args: list[str]) -> None:
    options = _add_parser().parse_args(args)
    kind = magics.kind or "pyspark"
    if options.language and LANGUAGES[options.language] != kind:
        raise UsageError(
            f"-l {options.language}: this kernel runs {kind} cells; use a kernel of that "
            "language, or leave -l out"
        )
    auth = options.auth or ("Basic_Access" if options.username or options.password else "None")
    password = options.password
    if password is None and auth in ASKS_PASSWORD:
        password = _ask_password(options.username)
    fields = {"auth": auth, "username": options.username, "password": password or ""}
    if options.name:
        fields["name"] = options.name
    added = magics.client.add_endpoint(options.url, **fields)
    verb = "Added" if added["created"] else "Replaced"
    who = f" as {added['username']}" if added["username"] else ""
    print(f"{verb} endpoint {added['name']!r}: {added['url']} ({added['auth']}{who}).")
    if options.password:
        print("The password is kept by the broker; it also stays in this notebook's history.")
    choose_endpoint(magics, added["name"])


def _ask_password(username: str) -> str:
    # ipykernel routes getpass through the front end's password box (a notebook's input field).
    try:
        return getpass.getpass(f"Livy password for {username or 'you'}: ")
    except StdinNotImplementedError:
        raise UsageError(
            "this front end cannot ask for a password; give it with -p (it then stays in the "
            "history), or use -t None or -t Kerberos"
        ) from None


def endpoint_command(magics: SparkCommandHost, args: list[str]) -> None:
    """``%spark endpoint``: list them; ``%spark endpoint NAME``: use it for new sessions."""
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        raise UsageError("usage: %spark endpoint  (list them)  or  %spark endpoint NAME")
    listing = magics.client.endpoints()
    names = [endpoint["name"] for endpoint in listing["endpoints"]]
    if args:
        if args[0] not in names:
            raise UsageError(
                f"no endpoint {args[0]!r}; yours: {', '.join(names)}. %spark add adds one."
            )
        choose_endpoint(magics, args[0])
        return
    current = _current(magics) or listing["default"]
    for endpoint in listing["endpoints"]:
        mark = "*" if endpoint["name"] == current else " "
        where = "embedded local Livy" if endpoint["embedded"] else endpoint["url"]
        print(f"{mark} {endpoint['name']:<24} {where}  ({endpoint['auth']}, {endpoint['source']})")


def choose_endpoint(magics: SparkCommandHost, name: str) -> None:
    """New sessions of this notebook go to ``name``. A session on another endpoint is left (not
    killed: switching back finds it), so the next Spark cell attaches on ``name``."""
    client = magics.client
    client.endpoint = name
    session = client.session
    if session is not None and session["endpoint"] != name:
        client.detach()
        print(
            f"Left Spark session {session['id'][:8]} on {session['endpoint']!r} (it ends when "
            "unused; %spark endpoint with its name comes back to it)."
        )
    print(f"Endpoint {name!r}: the next Spark cell runs there.")


def delete_command(magics: SparkCommandHost, args: list[str]) -> bool:
    """``%spark delete -e NAME``; False when it is ``%spark delete`` alone (the session's kill)."""
    options = _delete_parser().parse_args(args)
    if options.endpoint is None:
        return False
    client, name = magics.client, options.endpoint
    live = [
        session
        for session in client.sessions(mine=True)
        if session["endpoint"] == name and session["state"] not in RECORD_FINISHED_STATES
    ]
    for session in live:  # nothing could reach them once their endpoint is gone
        client.kill(session["id"])
    if client.session is not None and client.session["endpoint"] == name:
        client.forget()
    client.delete_endpoint(name)
    if _current(magics) == name:
        client.endpoint = None
    killed = f", after killing {len(live)} Spark session(s) on it" if live else ""
    print(f"Removed endpoint {name!r}{killed}.")
    return True


def _current(magics: SparkCommandHost) -> str | None:
    client = magics.client
    return client.endpoint or (client.session or {}).get("endpoint")

"""Share keys: how a notebook finds its live session on an endpoint (the registry's ``share_key``).

``notebook:{owner}:{path}`` (the default scope), ``user:{owner}:{kind}`` (scope ``user``),
``name:{name}`` (a session shared by name: ``%spark attach NAME``), ``run:{owner}:{run}`` (a headless
run's own session, broker/runs.py), each with ``connect:`` before it for a Spark Connect session; the
warm pool's own keys until a notebook claims a pooled session. Written and read here only.
"""

from __future__ import annotations

NOTEBOOK = "notebook:"
NAME = "name:"
RUN = "run:"
CONNECT = "connect:"


def notebook_key(owner: str, path: str) -> str:
    # The owner is part of the key: two users' notebooks at one path never share a session.
    return f"{NOTEBOOK}{owner}:{path}"


def user_key(owner: str, kind: str) -> str:
    return f"user:{owner}:{kind}"


def name_key(name: str) -> str:
    return f"{NAME}{name}"


def run_key(owner: str, run: str) -> str:
    return f"{RUN}{owner}:{run}"


def connect_key(key: str) -> str:
    """The key of the Spark Connect session for what ``key`` finds a Livy session for."""
    return f"{CONNECT}{key}"


def share_name(share_key: str | None) -> str | None:
    """The name a session is shared by, if it was started for a name."""
    key = (share_key or "").removeprefix(CONNECT)
    return key.removeprefix(NAME) if key.startswith(NAME) else None


def run_name(share_key: str | None, owner: str) -> str | None:
    """The run of ``owner`` a session was started for, if it was."""
    key, prefix = (share_key or "").removeprefix(CONNECT), run_key(owner, "")
    return key.removeprefix(prefix) if key.startswith(prefix) else None

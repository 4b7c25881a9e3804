"""How the magics name a session to a person: its short id, its share name, its notebooks; never
the broker's internal share key."""

from __future__ import annotations

from typing import Any

from ..livy.names import SESSION_STARTING_STATES


def starting(session: dict[str, Any]) -> bool:
    return session["state"] in SESSION_STARTING_STATES or session["livy_id"] is None


def attached_line(attached: dict[str, Any], what: str = "Spark session") -> str:
    """What an attach did: joined a live session, took one from the warm pool (ready, or started
    ahead of time and nearer to ready than a new one), or started a new one."""
    session = attached["session"]
    named = f" {session['name']!r}" if session.get("name") else ""
    where = f"{what} {session['id'][:8]}{named} on endpoint {session['endpoint']!r}"
    if attached["origin"] == "live":
        return f"Attached to the {where}"
    if attached["origin"] == "warm_pool":
        if starting(session):
            return f"Taking the {where} from the warm pool; it is still starting"
        return f"Ready: the {where}, started ahead of time (the warm pool)"
    return f"Starting a new {where}"


def session_row(session: dict[str, Any], notebooks: list[str], mark: str = " ") -> str:
    """One line of ``%spark sessions`` and ``%cleanup``: id, state, endpoint, name, notebooks."""
    named = f"name {session['name']!r}; " if session.get("name") else ""
    used = f"notebooks: {', '.join(notebooks)}" if notebooks else "no notebook attached"
    return (
        f"{mark} {session['id'][:8]}  {session['state']:<9} {session['endpoint']:<12} {named}{used}"
    )

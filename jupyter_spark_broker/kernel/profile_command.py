"""``%spark profile [NAME] [-f]``: list the broker's profiles, or pick the one of this notebook's new
sessions. Registered by the ``%spark`` line magic (``magics.py``)."""

from __future__ import annotations

from ..livy.names import RECORD_FINISHED_STATES
from .client import BrokerClient

USAGE = (
    "Usage: %spark profile            (list them)\n"
    "       %spark profile NAME [-f]  (-f: recreate a running session with it)"
)


def profile_command(client: BrokerClient, args: list[str]) -> None:
    profiles = {profile["name"]: profile for profile in client.profiles()}
    force = "-f" in args
    names = [arg for arg in args if arg != "-f"]
    if not names:
        for name, profile in profiles.items():
            chosen = "*" if name == (client.profile or "default") else " "
            print(
                f"{chosen} {name:<16} {profile['display_name']:<24} endpoint {profile['endpoint']}, "
                f"{profile['warm']} warm  {profile['description']}"
            )
        return
    if len(names) != 1:
        print(USAGE)
        return
    name = names[0]
    if name not in profiles:
        print(f"No profile {name!r}; the broker has: {', '.join(profiles)}.")
        return
    client.profile = name
    running = [
        session
        for session in client.sessions(path=client.settings.notebook_path)
        if session["state"] not in RECORD_FINISHED_STATES and session["profile"] != name
    ]
    if running and not force:
        print(
            f"Profile {name!r} is for this notebook's next new Spark session; the running one "
            f"({running[0]['id'][:8]}, profile {running[0]['profile']!r}) stays. "
            f"%spark profile {name} -f recreates it with {name!r}."
        )
        return
    for session in running:
        client.kill(session["id"])
    if running or (client.session is not None and client.session.get("profile") != name):
        client.session = None
    print(f"Profile {name!r}: {profiles[name]['display_name']}. The next Spark cell uses it.")

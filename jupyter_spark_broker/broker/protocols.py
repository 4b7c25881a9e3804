"""The protocols a session speaks, as the API and the registry's rows name them.

A ``livy`` session is a Livy REPL session; a ``connect`` session is a Spark Connect session on a
Connect server (no Livy behind it); ``livy+connect`` is asked for by attach or create and makes a Livy
session whose driver also serves Connect clients: its row says ``livy`` (``livy_connect.py``).
"""

LIVY = "livy"
CONNECT = "connect"
LIVY_AND_CONNECT = "livy+connect"


def base_protocol(protocol: str) -> str:
    """The protocol of the registry row an attach asks for: livy+connect is a Livy session."""
    return LIVY if protocol == LIVY_AND_CONNECT else protocol

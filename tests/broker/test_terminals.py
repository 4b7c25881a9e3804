"""A terminal of the server (JupyterLab's Terminal) finds ``jupyter spark-broker``: the command the
README shows, from the environment the server runs in, through a login shell's profile."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

DONE = re.compile(r"JSB-EXIT-(\d+)")


async def _run_in_terminal(socket, command: str, deadline: float = 60.0) -> str:
    """Everything the terminal printed until ``command`` finished (and said its exit status)."""
    socket.write_message(json.dumps(["stdin", f"{command}; echo JSB-EXIT-$?\r"]))
    printed = ""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not DONE.search(printed):
        message = await asyncio.wait_for(socket.read_message(), max(0.1, end - loop.time()))
        assert message is not None, f"the terminal closed; it printed: {printed!r}"
        kind, *payload = json.loads(message)
        if kind == "stdout":
            printed += payload[0]
    return printed


async def test_a_terminal_of_the_server_runs_the_broker_cli(api, jp_ws_fetch):
    created = await api.request("POST", "api/terminals", api=False, validate=False)
    assert created.status == 200, created.body
    name = created.json["name"]
    socket = await jp_ws_fetch("terminals", "websocket", name)
    try:
        where = await _run_in_terminal(socket, 'echo "JSB-WHICH:$(command -v jupyter)"')
        expected = Path(sys.executable).parent / "jupyter"
        assert f"JSB-WHICH:{expected}" in where, where
        printed = await _run_in_terminal(socket, "jupyter spark-broker --help")
        assert DONE.search(printed).group(1) == "0", printed
        assert "Commands of the Jupyter Spark broker" in printed and "sessions" in printed
    finally:
        socket.close()
        await api.request("DELETE", f"api/terminals/{name}", api=False, validate=False)

"""The server's terminals find this environment's commands (``jupyter spark-broker ...``).

A server started as ``.venv/bin/jupyter lab`` (scripts/run.sh) has the venv's ``bin`` on no PATH, and
jupyter_server_terminals starts a login shell (``-l``) when the server has no terminal of its own,
whose profile (Debian's ``/etc/profile``) sets PATH anew. So the ``bin`` goes first twice: in the
terminals' environment, and again after a login shell's profile, which then continues as the same
shell, interactive (as a login shell would be; it reads its ``~/.bashrc``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

BIN_ENV = "SPARK_BROKER_BIN"
# Runs after the login profile, in the shell itself: $0 is the shell.
AFTER_PROFILE = f'PATH="${BIN_ENV}:$PATH"; export PATH; exec "$0" -i'


def environment_bin() -> str:
    """The ``bin`` directory of the Python this server runs on, where its commands are."""
    return os.path.dirname(sys.executable)


def put_bin_on_terminal_path(terminal_manager: Any, bin_dir: str) -> None:
    """Give terminado's manager (jupyter_server_terminals') ``bin_dir`` first on the PATH."""
    env = dict(terminal_manager.extra_env or {})
    path = os.environ.get("PATH", os.defpath).split(os.pathsep)
    env[BIN_ENV] = bin_dir
    env["PATH"] = os.pathsep.join([bin_dir, *(p for p in path if p != bin_dir)])
    terminal_manager.extra_env = env
    shell = list(terminal_manager.shell_command)
    if shell[-1:] == ["-l"]:
        terminal_manager.shell_command = [*shell, "-c", AFTER_PROFILE]

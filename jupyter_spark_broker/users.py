"""Who owns what the broker makes."""

from __future__ import annotations

import getpass

# The owner of everything on a server that serves one person (jupyter_server's own token or password
# login): the OS user it runs as.
SERVER_OWNER = getpass.getuser()

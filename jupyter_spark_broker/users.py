"""Who owns what the broker makes."""

from __future__ import annotations

import getpass
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

# The owner of everything on a server that serves one person (jupyter_server's own token or password
# login): the OS user it runs as.
SERVER_OWNER = getpass.getuser()

_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


def broker_user(identity_provider: Any, current_user: Any) -> str:
    """Who owns what a request of ``current_user`` creates (and whose events a subscriber receives).

    jupyter_server's own identity providers (token or password) make up a new anonymous username per
    browser or token request: every such user is the one person the server runs for, so the owner is
    the server's OS user. Any other provider (JupyterHub's, for one) names real users.
    """
    if type(identity_provider) in _SINGLE_USER_PROVIDERS:
        return SERVER_OWNER
    return current_user.username

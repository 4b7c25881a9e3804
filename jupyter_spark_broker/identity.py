"""Who a request's user is to the broker: the name sessions are owned by."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

from .orm import SERVER_OWNER

_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


def broker_user(identity_provider: Any, current_user: Any) -> str:
    """The owner name of what a request of ``current_user`` creates.

    jupyter_server's own identity providers (token or password) make up a new anonymous username per
    browser or token request: every such user is the one person the server runs for, so the owner is
    the server's OS user. Any other provider (JupyterHub's, for one) names real users.
    """
    if type(identity_provider) in _SINGLE_USER_PROVIDERS:
        return SERVER_OWNER
    return current_user.username

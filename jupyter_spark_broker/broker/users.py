"""Who owns what the broker makes. Loads nothing of jupyter_server until a request asks who it is from,
so the broker stays importable without tornado."""

from __future__ import annotations

import getpass
import os
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .errors import Forbidden

if TYPE_CHECKING:
    from jupyter_server.auth.identity import IdentityProvider, User

# The owner of everything on a server that serves one person (jupyter_server's own token or password
# login): the OS user it runs as.
SERVER_OWNER = getpass.getuser()


def serves_one_person(identity_provider: IdentityProvider) -> bool:
    """jupyter_server's own token or password login: everyone logged in is the one person."""
    from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

    return type(identity_provider) in (IdentityProvider, PasswordIdentityProvider)


# Set in the environment of a server JupyterHub spawns: such a machine hosts several users' servers,
# and older jupyterhub-singleuser versions patch jupyter_server's own identity provider instead of
# naming their own.
JUPYTERHUB_ENV = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_SERVICE_PREFIX")


def serves_several_users(identity_provider: IdentityProvider, admin_users: Collection[str]) -> bool:
    """Whether users of this server must be kept from one another and from the machine: any
    identity provider but jupyter_server's own (which makes every login the one person), admin
    users configured (there are others to administer), or a server JupyterHub spawned (the
    machine holds other users' servers and the Hub's API on loopback)."""
    if admin_users or any(os.environ.get(name) for name in JUPYTERHUB_ENV):
        return True
    return not serves_one_person(identity_provider)


def broker_user(identity_provider: IdentityProvider, current_user: User) -> str:
    """Who owns what a request of ``current_user`` creates (and whose events a subscriber receives).

    jupyter_server's own identity providers (token or password) make up a new anonymous username per
    browser or token request: every such user is the one person the server runs for, so the owner is
    the server's OS user. Any other provider (JupyterHub's, for one) names real users.
    """
    from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

    if type(identity_provider) in (IdentityProvider, PasswordIdentityProvider):
        return SERVER_OWNER
    return current_user.username


def proxy_user_for(user: str, requested: str | None, *, admin: bool) -> str:
    """Livy's proxyUser under ``impersonate``: the Jupyter user; another name only for admins."""
    if requested and requested != user and not admin:
        raise Forbidden(
            f"proxyUser {requested!r}: Spark sessions here run as their Jupyter user ({user!r}); "
            "only admin users may name another",
            reason="proxy_user_forbidden",
        )
    return requested or user


def hub_user_model(current_user: object) -> Mapping[str, Any] | None:
    """JupyterHub's model of the request's user (``jupyterhub.singleuser`` keeps it as the user's
    ``hub_user``: ``name``, ``admin``, ``scopes``...), or None on a server the Hub did not spawn."""
    model = getattr(current_user, "hub_user", None)
    return model if isinstance(model, Mapping) else None

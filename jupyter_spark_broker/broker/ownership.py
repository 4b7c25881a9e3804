"""Who may do what to whose session: its owner, and the admins (``SparkBroker.admin_users``, and
under JupyterHub the Hub's admins and holders of ``SparkBroker.hub_admin_scope``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .errors import Forbidden


class AdminSettings(Protocol):
    """The settings these rules read (the broker's traits, read live: a changed setting applies)."""

    @property
    def admin_users(self) -> Sequence[str]: ...

    @property
    def hub_admin_scope(self) -> str: ...


def hub_grants_admin(hub_user: Mapping[str, Any], scope: str) -> bool:
    """Whether JupyterHub's model of a user or service (``/hub/api/user``: ``kind``, ``admin``,
    ``scopes``) makes them a broker admin: a Hub admin (a user), or a holder of ``scope`` unfiltered,
    user or service (a scope narrowed with ``!`` does not reach every user's sessions)."""
    if hub_user.get("kind", "user") == "user" and hub_user.get("admin"):
        return True
    return bool(scope and scope in hub_user.get("scopes", ()))


class Ownership:
    def __init__(self, settings: AdminSettings):
        self.settings = settings
        # Users the Hub said are admins, as of their latest request (a revoked admin loses it on
        # their next request, as the Hub's token check follows the Hub's roles).
        self._hub_admins: set[str] = set()

    def is_admin(self, user: str) -> bool:
        admins = self.settings.admin_users
        return "*" in admins or user in admins or user in self._hub_admins

    def hub_says(self, user: str, hub_user: Mapping[str, Any]) -> None:
        """Record what JupyterHub says of ``user`` on a request of theirs."""
        if hub_grants_admin(hub_user, self.settings.hub_admin_scope):
            self._hub_admins.add(user)
        else:
            self._hub_admins.discard(user)

    def check_owner(self, user: str, owner: str, what: str) -> None:
        """Forbidden unless ``user`` owns ``what`` or is an admin."""
        if owner != user and not self.is_admin(user):
            raise Forbidden(f"{what} belongs to another user")

    def owner_filter(self, user: str, mine: bool = False) -> str | None:
        """The owner a listing is narrowed to: the user, or nobody for an admin who wants all."""
        return None if self.is_admin(user) and not mine else user

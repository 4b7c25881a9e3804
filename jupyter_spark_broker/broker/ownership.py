"""Who may do what to whose session: its owner, and the admins (``SparkBroker.admin_users``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .errors import Forbidden


class AdminSettings(Protocol):
    """The one setting these rules read (the broker's trait, read live: a changed setting applies)."""

    @property
    def admin_users(self) -> Sequence[str]: ...


class Ownership:
    def __init__(self, settings: AdminSettings):
        self.settings = settings

    def is_admin(self, user: str) -> bool:
        admins = self.settings.admin_users
        return "*" in admins or user in admins

    def check_owner(self, user: str, owner: str, what: str) -> None:
        """Forbidden unless ``user`` owns ``what`` or is an admin."""
        if owner != user and not self.is_admin(user):
            raise Forbidden(f"{what} belongs to another user")

    def owner_filter(self, user: str, mine: bool = False) -> str | None:
        """The owner a listing is narrowed to: the user, or nobody for an admin who wants all."""
        return None if self.is_admin(user) and not mine else user

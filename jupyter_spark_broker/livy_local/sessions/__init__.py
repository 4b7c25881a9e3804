"""Sessions and statements of the local Livy: their state machines and their manager."""

from .manager import SessionManager
from .session import LocalSession, NotRunning, Rejected

__all__ = ["LocalSession", "NotRunning", "Rejected", "SessionManager"]

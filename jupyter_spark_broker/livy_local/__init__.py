"""A Livy-compatible REST server shipped with the package: the broker's embedded default endpoint."""

from .config import LocalLivyConfig
from .process import LocalLivyProcess, LocalLivyStartError

__all__ = ["LocalLivyConfig", "LocalLivyProcess", "LocalLivyStartError"]

"""jupyter-spark-broker: a Jupyter Server extension that owns Apache Livy sessions."""

from ._version import __version__

__all__ = ["__version__"]

"""Kernel side: ``%load_ext jupyter_spark_broker.kernel`` gives ``%%spark`` and ``%spark`` in IPython,
and ``wrapper`` holds the kernels whose cells run in Spark by default.

Talks only to the broker's REST API; imports nothing server-side (no tornado, no SQLAlchemy).
"""

from __future__ import annotations


def load_ipython_extension(ipython, kind: str | None = None) -> None:
    from .magics import SparkMagics, bodiless_cell_magics

    ipython.register_magics(SparkMagics(ipython, kind=kind))
    if bodiless_cell_magics not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(bodiless_cell_magics)


def unload_ipython_extension(ipython) -> None:
    magics = ipython.magics_manager.registry.get("SparkMagics")
    if magics is not None and magics._client is not None:
        magics._client.close()

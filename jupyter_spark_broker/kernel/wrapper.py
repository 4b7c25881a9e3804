"""The wrapper kernels "PySpark (broker)", "Spark (broker)" and "SparkR (broker)".

Each is an IPython kernel with the Spark magics loaded, whose cells run in the notebook's Spark session
by default: a cell that does not start with a magic is run as ``%%spark``. ``%%local`` runs a cell in
the kernel itself, and every other magic (``%%sql``, ``%%info``, ``%spark attach`` ...) works as in
``%load_ext jupyter_spark_broker.kernel``. Started by ``python -m ipykernel_launcher
--IPKernelApp.kernel_class=jupyter_spark_broker.kernel.wrapper.PySparkKernel`` (see ``kernelspecs/``).
"""

from __future__ import annotations

import re
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from . import load_ipython_extension
from .client import BrokerRefused, BrokerUnavailable


def remote_by_default(code: str) -> str:
    """The cell as IPython should run it: Spark code unless it starts with a magic."""
    stripped = code.lstrip()
    if not stripped or stripped.startswith("%"):
        return code
    return "%%spark\n" + code


def completion_reply(code: str, cursor: int, candidates: list[str]) -> dict[str, Any]:
    """A Jupyter complete_reply from Livy's candidates. Python's interpreter offers whole dotted names
    (``spark.sql``), Scala's only the member after the last dot (``compare``): replace what matches."""
    found = re.search(r"[\w.]*$", code[:cursor])
    dotted = found.group() if found else ""  # always found: the pattern matches the empty string
    if all(candidate.startswith(dotted) for candidate in candidates):
        replaced = dotted
    else:
        replaced = dotted.rpartition(".")[2]
    return {
        "status": "ok",
        "matches": candidates,
        "cursor_start": cursor - len(replaced),
        "cursor_end": cursor,
        "metadata": {},
    }


class _BrokerKernel(IPythonKernel):
    implementation = "spark_broker"
    kind: str  # the Livy kind of this kernel's cells and of the sessions it starts

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        load_ipython_extension(self.shell, kind=self.kind)

    async def do_execute(self, code: str, silent: bool, *args: Any, **kwargs: Any) -> dict:
        return await super().do_execute(remote_by_default(code), silent, *args, **kwargs)

    # Not async, as IPythonKernel.do_complete (ipykernel's Kernel declares it async, and takes both).
    def do_complete(self, code: str, cursor_pos: int | None) -> dict[str, Any]:  # type: ignore[override]
        """Remote cells complete against the Spark session, once attached (a Tab key never starts
        Spark); magics and %%local cells, or a broker that does not answer, complete locally."""
        cursor = len(code) if cursor_pos is None else cursor_pos
        assert self.shell is not None  # made by IPythonKernel.__init__
        magics = self.shell.magics_manager.registry["SparkMagics"]
        session = magics.attached_session
        if session is not None and not code.lstrip().startswith("%"):
            try:
                candidates = magics.client.complete(session["id"], code, cursor, self.kind)
            except (BrokerRefused, BrokerUnavailable):
                pass
            else:
                return completion_reply(code, cursor, candidates)
        return super().do_complete(code, cursor_pos)

    @property  # as IPythonKernel.banner, where ipykernel's Kernel has an attribute
    def banner(self) -> str:  # type: ignore[override]
        return (
            f"{self.language_info['name']} cells run in this notebook's Spark session, through the "
            "Jupyter server's Spark broker. %%local runs a cell here; %help lists the magics."
        )


class PySparkKernel(_BrokerKernel):
    kind = "pyspark"
    # Python's language_info: highlighting, nbconvert and Papermill's parameter cells all apply.


class SparkKernel(_BrokerKernel):
    kind = "spark"
    language_info = {
        "name": "scala",
        "mimetype": "text/x-scala",
        "codemirror_mode": "text/x-scala",
        "pygments_lexer": "scala",
        "file_extension": ".sc",
    }


class SparkRKernel(_BrokerKernel):
    kind = "sparkr"
    language_info = {
        "name": "R",
        "mimetype": "text/x-rsrc",
        "codemirror_mode": "text/x-rsrc",
        "pygments_lexer": "r",
        "file_extension": ".r",
    }

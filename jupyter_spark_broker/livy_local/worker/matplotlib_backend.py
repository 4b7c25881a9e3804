"""Matplotlib backend of local Livy workers: ``plt.show()`` hands its figures to the running statement.

The worker sets ``MPLBACKEND=module://jupyter_spark_broker.livy_local.worker.matplotlib_backend`` (unless the
user chose another), renders with Agg, and after each statement sends the last shown figure as
``image/png``, as Livy's ``%matplot`` does.
"""

from __future__ import annotations

import base64
import io

from matplotlib._pylab_helpers import Gcf
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
_shown: list[str] = []


def show(*args: object, **kwargs: object) -> None:
    for manager in Gcf.get_all_fig_managers():
        buffer = io.BytesIO()
        manager.canvas.figure.savefig(buffer, format="png")
        _shown.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    Gcf.destroy_all()


def take_shown() -> list[str]:
    """The PNGs (base64) shown since the last call."""
    taken = list(_shown)
    _shown.clear()
    return taken

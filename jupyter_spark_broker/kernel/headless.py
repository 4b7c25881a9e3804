"""A headless run's kernel: started by papermill, ``jupyter nbconvert --execute``, a scheduler or a CI
job, outside any Jupyter server's sessions, so without ``JPY_SESSION_NAME``. It attaches as a run
(the broker's ``broker/runs.py``): under a run name, labelled with the notebook it runs where that can
be known, with the profile the notebook's metadata names.

Nothing here is told which notebook runs; it is found, best first: ``SPARK_BROKER_NOTEBOOK``; the
notebook on the command line of the process that started the kernel (papermill's input,
nbconvert's notebook); the one notebook in the kernel's working directory (jupyter-scheduler runs a
copy of the notebook in a staging directory of its own).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..support.notebook_metadata import profile_in_metadata

RUN_ENV = "SPARK_BROKER_RUN"  # a run name the caller gives (a scheduler's job id, a CI build)
NOTEBOOK_ENV = "SPARK_BROKER_NOTEBOOK"  # the notebook the run runs, when nothing else tells
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass(frozen=True)
class HeadlessRun:
    name: str
    notebook: Path | None  # None: not known

    @property
    def label(self) -> str:
        """What the broker shows as the run's notebook: its path, or the run's name."""
        return str(self.notebook) if self.notebook else f"run {self.name}"

    def profile(self) -> str | None:
        """The profile the notebook's metadata names, when the notebook can be read."""
        if self.notebook is None:
            return None
        try:
            return profile_in_metadata(self.notebook.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None


def this_run(kernel_id: str | None) -> HeadlessRun:
    name = os.environ.get(RUN_ENV) or kernel_id or uuid.uuid4().hex
    return HeadlessRun(name=name, notebook=_notebook())


def _notebook() -> Path | None:
    given = os.environ.get(NOTEBOOK_ENV)
    if given:
        return Path(given).absolute()
    return _notebook_of_parent() or _only_notebook_in(Path.cwd())


def _notebook_of_parent() -> Path | None:
    """papermill IN OUT ...: the first notebook that exists (OUT may exist from an earlier run).
    nbconvert A B runs one kernel per notebook, which its arguments alone cannot tell apart."""
    proc = Path("/proc", str(os.getppid()))
    try:
        arguments = (proc / "cmdline").read_bytes().split(b"\0")
        parent_dir = (proc / "cwd").resolve()
    except OSError:  # not Linux, or the parent is gone or another user's
        return None
    notebooks = [
        path
        for argument in arguments
        if argument.endswith(NOTEBOOK_SUFFIX.encode())
        and (path := parent_dir / os.fsdecode(argument)).is_file()
    ]
    # python .../bin/papermill ..., or python -m papermill ...
    papermill = any(Path(os.fsdecode(a)).name == "papermill" for a in arguments[:3])
    if notebooks and (papermill or len(notebooks) == 1):
        return notebooks[0].resolve()
    return None


def _only_notebook_in(directory: Path) -> Path | None:
    try:
        notebooks = [path for path in directory.glob("*" + NOTEBOOK_SUFFIX) if path.is_file()]
    except OSError:
        return None
    return notebooks[0].resolve() if len(notebooks) == 1 else None

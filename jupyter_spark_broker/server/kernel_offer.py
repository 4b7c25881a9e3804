"""Which of the broker's kernels JupyterLab offers: "SparkR (broker)" only where some endpoint runs R,
"Spark (broker)" only where one runs Scala. The launcher and the kernel picker list
``GET /api/kernelspecs``, which is the kernel spec manager's ``get_all_specs()``.

Why wrap that one method of the server's own kernel spec manager, at load:

- ``KernelSpecManager.allowed_kernelspecs`` is an allow-list fixed at start: setting it would hide
  every kernel installed while the server runs, and override the user's own list.
- Replacing the manager's class (``ServerApp.kernel_spec_manager_class``) is the user's choice (a
  gateway, nb_conda_kernels): an extension loads after the manager exists, and must keep theirs.
- The wrapper asks the endpoints each time; the user's ``allowed_kernelspecs`` still applies first.
  Only configured endpoints count: one user's run-time endpoint (``%spark add``) would change the
  launcher of every user of the server. Such a user opens the kernel by name (a saved notebook,
  ``/reconnectsparkmagic``'s ``kernelname``).
- ``get_kernel_spec(name)`` is left alone: a notebook saved with "SparkR (broker)" still opens, and
  its first cell says in words what it needs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from typing import Any

from ..kernel.install import KERNEL_CLASS_OPTION, KINDS_OF_KERNEL_CLASSES

RunnableKinds = Callable[[], Collection[str]]


def broker_kernel_kind(spec: dict[str, Any]) -> str | None:
    """The Livy kind of one of the broker's wrapper kernels (by the class its argv starts), else
    None: another kernel, or the Connect kernel, which needs no Livy."""
    for arg in spec.get("argv") or ():
        if isinstance(arg, str) and arg.startswith(KERNEL_CLASS_OPTION):
            return KINDS_OF_KERNEL_CLASSES.get(arg[len(KERNEL_CLASS_OPTION) :])
    return None


def runnable_only(specs: dict[str, Any], kinds: Collection[str]) -> dict[str, Any]:
    """``get_all_specs()``'s answer without the broker's kernels of kinds no endpoint runs."""
    return {
        name: model
        for name, model in specs.items()
        if broker_kernel_kind(model.get("spec") or {}) in (None, *kinds)
    }


def offer_runnable_kernels(kernel_spec_manager: Any, runnable_kinds: RunnableKinds) -> None:
    """Wrap ``kernel_spec_manager.get_all_specs`` (sync, or async as a gateway's is); calling it
    again (a restarted broker) replaces the kinds it asks, never wraps twice."""
    stop_offering(kernel_spec_manager)
    original = kernel_spec_manager.get_all_specs

    @functools.wraps(original)
    def get_all_specs(*args: Any, **kwargs: Any) -> Any:
        specs = original(*args, **kwargs)
        if inspect.isawaitable(specs):
            return _runnable_later(specs, runnable_kinds)
        return runnable_only(specs, runnable_kinds())

    # A mark on the function, which functools.wraps' type does not declare.
    get_all_specs.offers_runnable_kernels = True  # type: ignore[attr-defined]
    kernel_spec_manager.get_all_specs = get_all_specs


def stop_offering(kernel_spec_manager: Any) -> None:
    """Back to the manager's own method (the extension stops, or wraps it anew)."""
    wrapper = vars(kernel_spec_manager).get("get_all_specs")
    if getattr(wrapper, "offers_runnable_kernels", False):
        del kernel_spec_manager.get_all_specs


async def _runnable_later(specs: Any, runnable_kinds: RunnableKinds) -> dict[str, Any]:
    return runnable_only(await specs, runnable_kinds())

"""The package's layers: what importing each part loads (checked in a fresh interpreter)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

# tornado is not here: ipykernel itself loads it in every kernel.
SERVER_SIDE = ("jupyter_server", "sqlalchemy", "jupyter_spark_broker.broker.broker")


def modules_loaded_by(statement: str) -> set[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_the_broker_loads_no_tornado():
    loaded = modules_loaded_by("import jupyter_spark_broker.broker.broker")
    assert "tornado" not in loaded and "jupyter_server" not in loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import jupyter_spark_broker.kernel.magics",
        "import jupyter_spark_broker.kernel.wrapper",
        "import jupyter_spark_broker.kernel.client",
        "import jupyter_spark_broker.kernel.connect",
    ],
)
def test_the_kernel_side_loads_nothing_of_the_server(statement):
    loaded = modules_loaded_by(statement)
    assert not loaded & set(SERVER_SIDE)
    ours = {m for m in loaded if m.startswith("jupyter_spark_broker.")}
    # The kernel side's own modules, Livy's names (their package loads nothing else: PEP 562), and
    # what a notebook's metadata says (support/ loads nothing of the package).
    allowed = ("jupyter_spark_broker.kernel", "jupyter_spark_broker._version")
    allowed += ("jupyter_spark_broker.livy.names", "jupyter_spark_broker.support.notebook_metadata")
    packages = {"jupyter_spark_broker.livy", "jupyter_spark_broker.support"}
    assert {m for m in ours if not m.startswith(allowed)} <= packages


def test_livy_names_load_alone():
    loaded = modules_loaded_by("import jupyter_spark_broker.livy.names")
    assert "httpx" not in loaded and "pydantic" not in loaded


# -- the import graph, read from the source: every import counts, annotation-only ones included ----

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_spark_broker"

# Each part of the package (a subpackage or a top-level module) and the parts it may import: the
# layers of docs/architecture.md, from the web layer down. The tree tells the architecture.
MAY_IMPORT = {
    "__init__": {"_version", "server"},  # the extension point names the app
    "server": {"broker", "registry", "events", "livy", "support", "_version", "kernel"},
    # the JupyterHub service: the domain without a Jupyter server, and the servers' API models
    "hub": {"broker", "registry", "server", "livy", "support", "_version"},
    "broker": {"registry", "connect", "livy_local", "livy", "events", "metrics", "support"},
    "registry": {"livy", "support"},
    "connect": {"livy_local", "metrics", "support"},
    "livy_local": {"livy", "support", "_version"},
    "metrics": {"livy"},
    "events": {"support"},
    "livy": {"support"},
    "kernel": {"livy", "support", "_version"},  # a kernel loads nothing server-side
    "cli": {"kernel", "hub", "_version"},  # nothing else imports hub
    "support": set(),
    "_version": set(),
}


def module_names() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts:
            continue
        parts = ("jupyter_spark_broker", *path.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its source (``from X import name``
    counts as importing the module ``X.name`` when there is one, else ``X``)."""
    modules = module_names()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: package.count(".") + 2 - node.level]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def part_of(module: str) -> str:
    return (module.split(".") + ["__init__"])[1]


def test_the_package_has_no_import_circles():
    graph, circles = import_graph(), []
    state: dict[str, str] = {}  # "open" while on the walk's path, "done" after

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                walk(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_each_layer_imports_only_the_layers_below_it():
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if part_of(target) != part_of(module) and part_of(target) not in MAY_IMPORT[part_of(module)]
    )
    assert not wrong, "\n".join(wrong)


def test_the_package_top_is_small():
    entries = [p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    # 16: the layers of docs/architecture.md (hub/ among them) and the built labextension/
    assert len(entries) <= 16, sorted(entries)

"""The package's layers: what importing each part loads (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# tornado is not here: ipykernel itself loads it in every kernel.
SERVER_SIDE = ("jupyter_server", "sqlalchemy", "jupyter_spark_broker.broker")


def modules_loaded_by(statement: str) -> set[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_the_broker_loads_no_tornado():
    loaded = modules_loaded_by("import jupyter_spark_broker.broker")
    assert "tornado" not in loaded and "jupyter_server" not in loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import jupyter_spark_broker.kernel.magics",
        "import jupyter_spark_broker.kernel.wrapper",
        "import jupyter_spark_broker.kernel.client",
    ],
)
def test_the_kernel_side_loads_nothing_of_the_server(statement):
    loaded = modules_loaded_by(statement)
    assert not loaded & set(SERVER_SIDE)
    ours = {m for m in loaded if m.startswith("jupyter_spark_broker.")}
    # The kernel side's own modules, and Livy's names (their package loads nothing else: PEP 562).
    allowed = ("jupyter_spark_broker.kernel", "jupyter_spark_broker._version")
    allowed += ("jupyter_spark_broker.livy.names",)
    assert {m for m in ours if not m.startswith(allowed)} <= {"jupyter_spark_broker.livy"}


def test_livy_names_load_alone():
    loaded = modules_loaded_by("import jupyter_spark_broker.livy.names")
    assert "httpx" not in loaded and "pydantic" not in loaded

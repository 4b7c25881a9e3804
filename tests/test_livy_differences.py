"""The docs' table (docs/developers/two-livys.md) of the differences between Apache Livy and the
local Livy names exactly those the tests assert (tests/livy_differences.py), each with its kind."""

from __future__ import annotations

import re
from pathlib import Path

from tests.livy_differences import DIFFERENCES, KINDS


def test_readme_lists_every_difference():
    # The table moved from README.md into the developers' docs; the test keeps its name.
    readme = (Path(__file__).resolve().parents[1] / "docs/developers/two-livys.md").read_text()
    section = readme[readme.index("| difference | Apache Livy 0.9.0 |") :].split("\n\n")[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \|.*\| \*\*([^*]+)\*\*[^|]*\|$", section, re.MULTILINE)
    assert sorted(name for name, _ in rows) == sorted(DIFFERENCES)
    for name, kind in rows:  # the "why" column starts with the difference's kind
        assert kind == KINDS[DIFFERENCES[name].kind], name
    for name in DIFFERENCES:  # and each one is asserted somewhere under its name
        used = [
            path
            for path in Path(__file__).parent.rglob("test_*.py")
            if path.name != Path(__file__).name and name in path.read_text()
        ]
        assert used, f"no test asserts the difference {name}"

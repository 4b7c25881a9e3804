"""What Livy clients written elsewhere rely on, held on both servers: the root redirect they probe,
and a version they can parse."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.both_livys


async def test_root_redirects_to_the_ui(livy_url):
    async with httpx.AsyncClient(base_url=livy_url) as http:
        root = await http.get("/")
        assert root.status_code == 302
        assert root.headers["Location"] == f"{livy_url}/ui"
        ui = await http.get("/", follow_redirects=True)
        assert ui.status_code == 200 and ui.headers["Content-Type"].startswith("text/html")


async def test_version_parses_as_x_y_z(livy, livy_backend):
    version = await livy.get_version()
    assert set(version) == {"version", "user", "revision", "branch", "date", "url"}
    assert all(isinstance(value, str) for value in version.values())
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", version["version"]), version
    assert version["version"].startswith("0.9.0")  # the protocol both speak
    build = [version[field] for field in ("user", "revision", "branch", "date")]
    if livy_backend == "apache":  # difference version_build_fields: its build's, the date at least
        assert version["date"], version
    else:
        assert build == ["", "", "", ""], version


async def test_a_bad_kind_is_a_400_that_names_it(livy_url, livy_backend):
    async with httpx.AsyncClient(base_url=livy_url) as http:
        reply = await http.post("/sessions", json={"kind": "nope"})
    assert reply.status_code == 400
    message = reply.json()  # a JSON string, not {"msg": ...}: Jackson's own mapping error
    assert message.startswith("Invalid kind: nope")
    if livy_backend == "apache":  # difference bad_kind_message
        assert message.endswith(
            "(through reference chain: "
            'org.apache.livy.server.interactive.CreateInteractiveRequest["kind"])'
        )
    else:
        assert message == "Invalid kind: nope"

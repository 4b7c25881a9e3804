"""A session follows its notebook (issue 11, item 1): renamed or moved, the notebook keeps its
session across a kernel restart; a new notebook that takes the old name starts its own; a deleted
notebook releases its session. Real notebooks, Jupyter sessions and kernels, renamed and deleted
through jupyter_server's contents API, as JupyterLab does it."""

from __future__ import annotations

import json

import pytest

from tests.helpers import eventually
from tests.kernel.conftest import Kernel

EMPTY_NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def jupyter(api):
    """jupyter_server's own REST API (contents, sessions), with the same token."""

    async def call(method: str, path: str, body: dict | None = None):
        reply = await api.request(method, f"api/{path}", body=body, api=False, validate=False)
        assert reply.status < 300, (method, path, reply.status, reply.body)
        return reply.json if reply.body else None

    return call


@pytest.fixture
def open_notebook(jp_serverapp, jupyter, kernel_env, monkeypatch, jp_root_dir):
    """Create a notebook and open it as Lab does: a Jupyter session starts its kernel."""
    # Under pytest the extension's start hook does not run: the server's environment gets what it
    # would put there, so the kernels jupyter_server starts find the broker.
    for name in ("SPARK_BROKER_URL", "SPARK_BROKER_TOKEN"):
        monkeypatch.setenv(name, kernel_env[name])
    (jp_root_dir / "work").mkdir(exist_ok=True)
    opened: list[Kernel] = []

    async def open_(path: str) -> tuple[Kernel, str]:
        (jp_root_dir / path).write_text(json.dumps(EMPTY_NOTEBOOK))
        session = await jupyter(
            "POST", "sessions", {"path": path, "type": "notebook", "kernel": {"name": "python3"}}
        )
        kernel = Kernel(jp_serverapp, session["kernel"]["id"])
        await kernel.connect()
        opened.append(kernel)
        reply, _, _ = await kernel.run("%load_ext jupyter_spark_broker.kernel")
        assert reply["status"] == "ok"
        return kernel, session["id"]

    yield open_
    for kernel in opened:
        kernel.client.stop_channels()


async def attachments_at(api, path: str) -> list[dict]:
    return (await api.get("attachments", params={"path": path})).json["attachments"]


async def test_a_renamed_notebook_keeps_its_session_and_the_old_name_starts_afresh(
    jp_serverapp, api, jupyter, open_notebook
):
    kernel, jupyter_session = await open_notebook("work/Untitled.ipynb")
    await kernel.run("%%spark\nkept = 'from before the rename'")
    [session] = (await api.get("sessions", params={"path": "work/Untitled.ipynb"})).json["sessions"]

    # Lab's rename: the file, then the Jupyter session's path. The kernel keeps its old
    # JPY_SESSION_NAME, even across a restart.
    await jupyter("PATCH", "contents/work/Untitled.ipynb", {"path": "work/analysis.ipynb"})
    await jupyter("PATCH", f"sessions/{jupyter_session}", {"path": "work/analysis.ipynb"})

    async def moved():
        return await attachments_at(api, "work/analysis.ipynb")

    await eventually(moved, what="the attachment to follow the rename")
    assert await attachments_at(api, "work/Untitled.ipynb") == []
    assert (
        (await api.get(f"sessions/{session['id']}"))
        .json["share_key"]
        .endswith(":work/analysis.ipynb")
    )

    await jp_serverapp.kernel_manager.restart_kernel(kernel.id)
    kernel.client.stop_channels()
    await kernel.connect()
    await kernel.run("%load_ext jupyter_spark_broker.kernel")
    reply, shown, _ = await kernel.run("%%spark\nkept")
    assert reply["status"] == "ok" and "'from before the rename'" in shown, shown
    assert "Attached to the Spark session" in shown

    # The launcher's next Untitled.ipynb: a notebook of its own, not the renamed one's session.
    newcomer, _ = await open_notebook("work/Untitled.ipynb")
    reply, shown, _ = await newcomer.run("%%spark\nkept")
    assert reply["status"] == "error" and reply["ename"] == "NameError"
    assert "Starting a new Spark session" in shown
    listed = (await api.get("sessions", params={"path": "work/Untitled.ipynb"})).json["sessions"]
    assert [s["id"] for s in listed] != [session["id"]]


async def test_a_folder_moved_takes_its_notebooks_sessions_along(api, jupyter, open_notebook):
    kernel, _ = await open_notebook("work/report.ipynb")
    await kernel.run("%%spark\n1")
    await jupyter("PATCH", "contents/work", {"path": "archive"})

    async def moved():
        return await attachments_at(api, "archive/report.ipynb")

    await eventually(moved, what="the attachment to follow its folder")
    [session] = (await api.get("sessions", params={"path": "archive/report.ipynb"})).json[
        "sessions"
    ]
    assert session["share_key"].endswith(":archive/report.ipynb")


async def test_a_deleted_notebook_releases_its_session(api, jupyter, open_notebook):
    kernel, _ = await open_notebook("work/scratch.ipynb")
    await kernel.run("%%spark\nsecret = 'of the deleted notebook'")
    [session] = (await api.get("sessions", params={"path": "work/scratch.ipynb"})).json["sessions"]

    await jupyter("DELETE", "contents/work/scratch.ipynb")

    async def released():
        return not await attachments_at(api, "work/scratch.ipynb")

    await eventually(released, what="the deleted notebook's attachment to end")
    described = (await api.get(f"sessions/{session['id']}")).json
    assert described["share_key"] is None  # nobody can inherit it; the reaper ends it unused
    assert described["attachments"] == []

    # A new notebook under the same name starts its own session.
    attached = await api.post("attachments", {"path": "work/scratch.ipynb"})
    assert attached.status == 201 and attached.json["session_id"] != session["id"]

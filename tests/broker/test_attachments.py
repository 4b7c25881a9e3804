"""Attach by notebook path: get-or-create, race-free, shared by name, detach."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_spark_broker.broker.paths import normalise_notebook_path
from jupyter_spark_broker.livy import LivyClient
from tests.conftest import SESSION_START_TIMEOUT


async def livy_sessions_named(livy_url: str, name: str) -> int:
    async with LivyClient(livy_url) as livy:
        return sum(1 for s in await livy.iter_all_sessions() if s.name == name)


@pytest.mark.both_livys
async def test_fifty_concurrent_attaches_create_one_livy_session(api, livy_url):
    replies = await asyncio.gather(
        *(api.post("attachments", {"path": "race/notebook.ipynb"}) for _ in range(50))
    )
    assert sorted({r.status for r in replies}) == [200, 201]
    assert [r.status for r in replies].count(201) == 1
    sessions = {r.json["session"]["id"] for r in replies}
    assert len(sessions) == 1
    session = replies[0].json["session"]
    assert await livy_sessions_named(livy_url, session["livy_name"]) == 1
    # One attachment per notebook path and session, however many requests asked.
    described = await api.get(f"sessions/{session['id']}")
    assert [a["path"] for a in described.json["attachments"]] == ["race/notebook.ipynb"]
    listed = await api.get("sessions", params={"path": "race/notebook.ipynb"})
    assert [s["id"] for s in listed.json["sessions"]] == [session["id"]]


@pytest.mark.both_livys
async def test_reattach_after_kernel_restart_reuses_the_live_session(api):
    # No kernel ids here: made-up ones would be reaped as "kernel gone" (see test_lifecycle.py).
    first = await api.post("attachments", {"path": "work/a.ipynb"})
    assert first.status == 201
    sid = first.json["session_id"]
    run = await api.post(
        f"sessions/{sid}/statements",
        {"code": "cached = 'still here'"},
        params={"wait": SESSION_START_TIMEOUT},  # difference session_start_time
    )
    assert run.status == 201 and run.json["state"] == "available", run.json

    # The same notebook again (as after a kernel restart), in another spelling of its path.
    again = await api.post("attachments", {"path": "/work/./a.ipynb"})
    assert again.status == 200
    assert again.json["session_id"] == sid and again.json["id"] == first.json["id"]
    check = await api.post(f"sessions/{sid}/statements", {"code": "cached"})
    done = await api.get(f"sessions/{sid}/statements/{check.json['id']}", params={"wait": 30})
    assert done.json["output"]["data"] == {"text/plain": "'still here'"}


@pytest.mark.both_livys
async def test_two_notebooks_share_a_named_session(api):
    one = await api.post("attachments", {"path": "a.ipynb", "name": "shared-cache", "create": True})
    two = await api.post("attachments", {"path": "b.ipynb", "name": "shared-cache"})
    assert (one.status, two.status) == (201, 200)
    assert one.json["session_id"] == two.json["session_id"]
    session = await api.get(f"sessions/{one.json['session_id']}")
    assert sorted(a["path"] for a in session.json["attachments"]) == ["a.ipynb", "b.ipynb"]
    assert session.json["name"] == one.json["session"]["name"] == "shared-cache"
    # Attach to a given session by its broker id.
    three = await api.post("attachments", {"path": "c.ipynb", "session": one.json["session_id"]})
    assert three.status == 200 and three.json["session_id"] == one.json["session_id"]


async def test_notebooks_get_their_own_sessions(api):
    one = await api.post("attachments", {"path": "x.ipynb"})
    two = await api.post("attachments", {"path": "y.ipynb"})
    assert one.json["session_id"] != two.json["session_id"]
    assert one.json["session"]["name"] is None  # a notebook's own session has no share name


async def test_an_unknown_name_starts_nothing_and_says_how_to_create_it(api):
    held = await api.post("attachments", {"path": "held.ipynb", "name": "team", "create": True})
    before = (await api.get("sessions")).json["total"]

    typo = await api.post("attachments", {"path": "a.ipynb", "name": "teem"})
    assert typo.status == 404 and typo.json["reason"] == "unknown_name"
    assert "no live Spark session is named 'teem'" in typo.json["message"]
    assert "%spark attach --create teem" in typo.json["message"]
    assert (await api.get("sessions")).json["total"] == before  # no session was started
    assert (await api.get("attachments", params={"path": "a.ipynb"})).json["total"] == 0

    joined = await api.post("attachments", {"path": "a.ipynb", "name": "team"})
    assert joined.status == 200 and joined.json["session_id"] == held.json["session_id"]

    nameless = await api.post("attachments", {"path": "a.ipynb", "create": True})
    assert nameless.status == 400 and "create: only with name" in nameless.json["message"]


async def test_detach_and_list(api):
    attached = await api.post("attachments", {"path": "detach/me.ipynb"})
    listed = await api.get("attachments", params={"path": "detach/me.ipynb"})
    assert [a["id"] for a in listed.json["attachments"]] == [attached.json["id"]]
    assert (await api.delete(f"attachments/{attached.json['id']}")).status == 204
    after = await api.get("attachments", params={"path": "detach/me.ipynb"})
    assert after.json["attachments"] == [] and after.json["total"] == 0
    session = await api.get(f"sessions/{attached.json['session_id']}")
    assert session.json["attachments"] == []
    assert session.json["state"] not in (
        "killed",
        "lost",
    )  # detaching does not kill; the reaper may


async def test_attach_to_a_killed_session_id_is_a_conflict(api):
    created = await api.post("sessions", {})
    await api.delete(f"sessions/{created.json['id']}")
    reply = await api.post("attachments", {"path": "n.ipynb", "session": created.json["id"]})
    assert reply.status == 409


@pytest.mark.both_livys
async def test_after_a_kill_the_notebook_gets_a_new_session(api):
    first = await api.post("attachments", {"path": "again.ipynb"})
    await api.delete(f"sessions/{first.json['session_id']}")
    second = await api.post("attachments", {"path": "again.ipynb"})
    assert second.status == 201 and second.json["session_id"] != first.json["session_id"]


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/srv/root/dir/k.ipynb", "/srv/root", "dir/k.ipynb"),
        ("dir/k.ipynb", "/srv/root", "dir/k.ipynb"),
        ("/dir/./k.ipynb", "/srv/root", "dir/k.ipynb"),
        ("dir\\k.ipynb", None, "dir/k.ipynb"),
        ("/elsewhere/k.ipynb", None, "/elsewhere/k.ipynb"),
    ],
)
def test_one_normal_form_for_notebook_paths(path, root, expected):
    assert normalise_notebook_path(path, root) == expected


@pytest.mark.parametrize("path", ["", "  ", "../x.ipynb", "a/../../x.ipynb"])
def test_paths_leaving_the_root_are_refused(path):
    with pytest.raises(ValueError):
        normalise_notebook_path(path, "/srv/root")


async def test_a_kernels_notebook_as_jupyter_knows_it_wins_over_the_path_it_sends(
    api, jp_serverapp
):
    model = await jp_serverapp.session_manager.create_session(
        path="renamed/now.ipynb", name="now.ipynb", type="notebook", kernel_name="python3"
    )
    kernel_id = model["kernel"]["id"]
    try:
        stale = {"path": "Untitled.ipynb", "kernel_id": kernel_id}  # the name it started with
        first = await api.post("attachments", stale)
        assert first.status == 201 and first.json["path"] == "renamed/now.ipynb"
        # The same kernel again (a restart keeps its id): the session it was attached to.
        named = await api.post("attachments", {"path": "x.ipynb", "name": "team", "create": True})
        assert named.status == 201
        joined = await api.post(
            "attachments", {"path": "renamed/now.ipynb", "kernel_id": kernel_id, "name": "team"}
        )
        again = await api.post("attachments", stale)
        assert again.status == 200
        assert again.json["session_id"] == joined.json["session_id"] == named.json["session_id"]
    finally:
        await jp_serverapp.session_manager.delete_session(model["id"])

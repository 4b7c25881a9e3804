"""What the broker does to the server's kernels, sessions and contents for a user, the server's
authorizer is asked first, as jupyter_server's own handlers ask it (issue 20, items 2, 5 and 10).

Three users through an identity provider (``Authorization: token NAME``): alice, bob, whom the
authorizer keeps off kernels and contents (not off the event feed, which JupyterLab's Spark panel
needs), and carol, allowed everything but no admin. Real kernels, started through ``/api/sessions``.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from jupyter_server.auth.authorizer import Authorizer

from tests.broker.api_client import BrokerAPI
from tests.broker.test_ownership import TokenNamesUser

CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"
KERNEL_EVENTS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


class BobMayNotTouchKernelsOrContents(Authorizer):
    """A site's rules, as a JupyterHub role might give them: bob reaches neither kernels nor files."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (user.username == "bob" and resource in ("kernels", "contents"))


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": f"{TokenNamesUser.__module__}.TokenNamesUser",
            "authorizer_class": f"{__name__}.BobMayNotTouchKernelsOrContents",
        },
        "SparkBroker": {**jp_server_config.get("SparkBroker", {}), "admin_users": ["root-admin"]},
    }


@pytest.fixture
def as_user(http_server_client, jp_base_url):
    return lambda name: BrokerAPI(http_server_client, jp_base_url, name)


async def server_api(client: BrokerAPI, method: str, path: str, body=None):
    """jupyter_server's own REST API (not in the broker's spec), as this user."""
    return await client.request(method, path, api=False, body=body, validate=False)


async def start_notebook_kernel(client: BrokerAPI, path: str) -> dict:
    """The Jupyter session (and real kernel) of a notebook, as JupyterLab opens it."""
    body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
    reply = await server_api(client, "POST", "api/sessions", body)
    assert reply.status == 201, reply.body
    return reply.json


async def reconnect(client: BrokerAPI, livy_url: str, path: str, **fields):
    body = {"path": path, "username": "", "password": "", "endpoint": livy_url, **fields}
    return await client.request("POST", "reconnectsparkmagic", api=False, body=body)


async def test_reconnect_leaves_a_notebook_whose_kernel_the_caller_may_not_touch(
    as_user, jp_serverapp, livy_url, other_kernelspec
):
    """Unfixed, the same kernel name restarted her kernel, another one replaced it."""
    alice, bob = as_user("alice"), as_user("bob")
    session = await start_notebook_kernel(alice, "alice.ipynb")
    kernel_id = session["kernel"]["id"]
    pid = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.pid
    restart = await server_api(bob, "POST", f"api/kernels/{kernel_id}/restart", {})
    assert restart.status == 403  # the server's own rule for bob

    for fields in ({}, {"kernelname": "python3", "auth": "None"}, {"kernelname": other_kernelspec}):
        refused = await reconnect(bob, livy_url, "alice.ipynb", **fields)
        assert refused.status == 403, refused.json
        assert refused.json["success"] is False and refused.json["reason"] == "not_authorized"
        assert "'bob'" in refused.json["error"] and "kernels" in refused.json["error"]

    # Her kernel is the same process, in the same Jupyter session; bob gained no endpoint.
    sessions = (await server_api(alice, "GET", "api/sessions")).json
    assert [(s["path"], s["kernel"]["id"]) for s in sessions] == [("alice.ipynb", kernel_id)]
    assert jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.pid == pid
    bobs_endpoints = (await bob.get("endpoints")).json["endpoints"]
    assert [e["name"] for e in bobs_endpoints if e["source"] != "config"] == []


async def test_reconnect_leaves_a_kernel_another_users_notebook_is_attached_through(
    as_user, jp_serverapp, livy_url
):
    """carol may use kernels, but alice's notebook is attached to Spark through this one."""
    alice, carol = as_user("alice"), as_user("carol")
    session = await start_notebook_kernel(alice, "shared/alice.ipynb")
    kernel_id = session["kernel"]["id"]
    attached = await alice.post("attachments", {"path": "ignored.ipynb", "kernel_id": kernel_id})
    assert attached.status == 201 and attached.json["path"] == "shared/alice.ipynb"

    refused = await reconnect(carol, livy_url, "shared/alice.ipynb", kernelname="python3")
    assert refused.status == 403 and refused.json["reason"] == "notebook_forbidden"
    assert kernel_id in jp_serverapp.kernel_manager
    # Her own reconnect still restarts it.
    mine = await reconnect(alice, livy_url, "shared/alice.ipynb", kernelname="python3")
    assert mine.status == 200 and mine.json["kernel_id"] == kernel_id, mine.json


async def test_bob_may_not_attach_through_a_kernel_he_may_not_see(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    kernel_id = (await start_notebook_kernel(alice, "k.ipynb"))["kernel"]["id"]
    refused = await bob.post("attachments", {"path": "b.ipynb", "kernel_id": kernel_id})
    assert refused.status == 403 and refused.json["reason"] == "not_authorized"
    assert "k.ipynb" not in refused.body.decode()


async def emit_as(client: BrokerAPI, data: dict):
    body = {"schema_id": CONTENTS_EVENTS, "version": 1, "data": data}
    return await server_api(client, "POST", "api/events", body)


async def test_a_contents_event_the_contents_manager_does_not_confirm_changes_nothing(
    as_user, jp_serverapp
):
    alice, bob = as_user("alice"), as_user("bob")
    notebook = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4,
                                                "nbformat_minor": 5}}  # fmt: skip
    for path in ("alice.ipynb", "elsewhere.ipynb"):
        assert (await server_api(alice, "PUT", f"api/contents/{path}", notebook)).status == 201
    attached = await alice.post("attachments", {"path": "alice.ipynb"})
    assert attached.status == 201

    async def alices_attachments(path: str) -> list[str]:
        listed = await alice.get("attachments", params={"path": path})
        return [a["id"] for a in listed.json["attachments"]]

    # Bob may use the event feed: the bus takes his forged events, the broker does not act on them.
    forged = [
        {"action": "delete", "path": "alice.ipynb"},
        {"action": "rename", "source_path": "alice.ipynb", "path": "elsewhere.ipynb"},
    ]
    for data in forged:
        assert (await emit_as(bob, data)).status == 204
        await jp_serverapp.event_logger.gather_listeners()  # the broker's listener has run
        assert await alices_attachments("alice.ipynb") == [attached.json["id"]], data
    again = await alice.post("attachments", {"path": "alice.ipynb"})
    assert again.status == 200 and again.json["session_id"] == attached.json["session_id"]

    # A real rename, then a real delete, are followed (the contents manager confirms them).
    moved = await server_api(alice, "PATCH", "api/contents/alice.ipynb", {"path": "moved.ipynb"})
    assert moved.status == 200
    await jp_serverapp.event_logger.gather_listeners()
    assert await alices_attachments("moved.ipynb") == [attached.json["id"]]
    assert (await server_api(alice, "DELETE", "api/contents/moved.ipynb")).status == 204
    await jp_serverapp.event_logger.gather_listeners()
    assert await alices_attachments("moved.ipynb") == []


async def test_the_event_feed_gives_kernel_events_only_to_users_allowed_on_kernels(
    as_user, jp_ws_fetch
):
    def subscribe(name: str):
        return jp_ws_fetch("api", "events", "subscribe", headers={"Authorization": f"token {name}"})

    alice_socket, bob_socket = await subscribe("alice"), await subscribe("bob")
    kernel_id = (await start_notebook_kernel(as_user("alice"), "feed.ipynb"))["kernel"]["id"]
    # Then an event bob does get: his socket keeps the bus's order, so it comes after hers.
    bobs = (await as_user("bob").post("sessions", {})).json

    async def until(socket, seen) -> list[dict]:
        messages = []
        while not seen(messages[-1] if messages else {}):
            messages.append(json.loads(await asyncio.wait_for(socket.read_message(), 30)))
        return messages

    alices = await until(
        alice_socket, lambda m: m.get("schema_id") == KERNEL_EVENTS and m["kernel_id"] == kernel_id
    )
    assert alices[-1]["action"] == "start"
    bobs_messages = await until(bob_socket, lambda m: m.get("session_id") == bobs["id"])
    assert [m for m in bobs_messages if m["schema_id"] == KERNEL_EVENTS] == []
    assert kernel_id not in json.dumps(bobs_messages)
    for socket in (alice_socket, bob_socket):
        socket.close()

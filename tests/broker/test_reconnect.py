"""``POST /reconnectsparkmagic`` against sparkmagic's own handler checklist (sparkmagic-behaviour.md §5),
with real kernels started by the Jupyter server."""

from __future__ import annotations

import pytest

from tests.conftest import SESSION_START_TIMEOUT


def body(livy_url: str, **fields) -> dict:
    return {
        "path": "nb/spark.ipynb",
        "username": "",
        "password": "",
        "endpoint": livy_url,
        **fields,
    }


async def reconnect(api, payload=None, raw=None):
    return await api.request("POST", "reconnectsparkmagic", api=False, body=payload, raw=raw)


async def jupyter_sessions(jp_serverapp, path: str) -> list[dict]:
    return [s for s in await jp_serverapp.session_manager.list_sessions() if s["path"] == path]


async def test_invalid_json_is_400(api):
    reply = await reconnect(api, raw=b"{{}")
    assert reply.status == 400
    assert reply.json["success"] is False and "not valid JSON" in reply.json["error"]


async def test_missing_keys_are_named_in_sparkmagic_order(api, livy_url):
    assert (await reconnect(api, {})).json["error"] == "Missing argument path"
    partial = {"path": "x.ipynb", "username": "", "endpoint": livy_url}
    assert (await reconnect(api, partial)).json["error"] == "Missing argument password"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"[]", "must be a JSON object, not an array"),
        (b'{"path": 1, "username": "", "password": "", "endpoint": "http://x"}', "path"),
        (b'{"path": "a", "username": "", "password": "", "endpoint": "ftp://x"}', "endpoint"),
        (b'{"path": "a", "username": "", "password": "", "endpoint": "http://"}', "with a host"),
        (
            b'{"path": "a", "username": "", "password": "", "endpoint": "http://x", "kernelname": "nope"}',
            "no kernel named 'nope'",
        ),
        (
            b'{"path": "a", "username": "u", "password": "", "endpoint": "http://x"}',
            "Basic_Access needs",
        ),
    ],
)
async def test_bad_bodies_are_400_json(api, payload, fragment):
    reply = await reconnect(api, raw=payload)
    assert reply.status == 400 and reply.content_type.startswith("application/json")
    assert fragment in reply.json["error"]


async def test_empty_credentials_mean_auth_none_and_a_new_notebook_session(
    api, jp_serverapp, livy_url
):
    reply = await reconnect(api, body(livy_url))
    assert reply.status == 200, reply.json
    assert reply.json["success"] is True and reply.json["error"] is None
    assert reply.json["kept_session"] is False
    endpoints = {e["name"]: e for e in (await api.get("endpoints")).json["endpoints"]}
    assert endpoints[reply.json["endpoint"]]["auth"] == "None"
    # A Jupyter session was created for the notebook, named (sparkmagic leaves the name null).
    sessions = await jupyter_sessions(jp_serverapp, "nb/spark.ipynb")
    assert len(sessions) == 1
    assert sessions[0]["name"] == "spark.ipynb" and sessions[0]["type"] == "notebook"
    assert sessions[0]["kernel"]["id"] == reply.json["kernel_id"]
    # The notebook is bound to a Livy session on that endpoint, started already.
    attached = await api.get("attachments", params={"path": "nb/spark.ipynb"})
    assert attached.json["attachments"][0]["session_id"] == reply.json["session_id"]


@pytest.mark.both_livys
async def test_reconnect_to_the_same_endpoint_keeps_spark_state_and_restarts_the_kernel(
    api, jp_serverapp, livy_url
):
    first = await reconnect(api, body(livy_url))
    session_id = first.json["session_id"]
    statement = await api.post(
        f"sessions/{session_id}/statements",
        {"code": "df_cache = [1, 2, 3]"},
        params={"wait": SESSION_START_TIMEOUT},  # difference session_start_time
    )
    assert statement.status == 201 and statement.json["state"] == "available", statement.json
    kernel = jp_serverapp.kernel_manager.get_kernel(first.json["kernel_id"])
    pid_before = kernel.provisioner.pid

    second = await reconnect(api, body(livy_url))
    assert second.status == 200
    assert second.json["kept_session"] is True and second.json["session_id"] == session_id
    # Same kernel name: the kernel was restarted in place, not replaced.
    assert second.json["kernel_id"] == first.json["kernel_id"]
    assert (
        jp_serverapp.kernel_manager.get_kernel(second.json["kernel_id"]).provisioner.pid
        != pid_before
    )
    assert len(await jupyter_sessions(jp_serverapp, "nb/spark.ipynb")) == 1
    check = await api.post(f"sessions/{session_id}/statements", {"code": "df_cache"})
    done = await api.get(
        f"sessions/{session_id}/statements/{check.json['id']}", params={"wait": 30}
    )
    assert done.json["output"]["data"] == {"text/plain": "[1, 2, 3]"}


async def test_other_kernel_name_replaces_the_jupyter_session(
    api, jp_serverapp, livy_url, other_kernelspec
):
    first = await reconnect(api, body(livy_url))
    old_session = (await jupyter_sessions(jp_serverapp, "nb/spark.ipynb"))[0]
    second = await reconnect(api, body(livy_url, kernelname=other_kernelspec))
    assert second.status == 200
    sessions = await jupyter_sessions(jp_serverapp, "nb/spark.ipynb")
    assert len(sessions) == 1 and sessions[0]["id"] != old_session["id"]
    assert sessions[0]["kernel"]["name"] == other_kernelspec
    assert first.json["kernel_id"] not in jp_serverapp.kernel_manager
    assert second.json["session_id"] == first.json["session_id"]  # Spark is kept all the same


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("analyst", "Recon-Pass-789"))


async def test_credentials_mean_basic_access(api, secured_livy):
    payload = body(
        secured_livy.url, username="analyst", password="Recon-Pass-789", path="nb/basic.ipynb"
    )
    reply = await reconnect(api, payload)
    assert reply.status == 200, reply.json
    endpoint = next(
        e
        for e in (await api.get("endpoints")).json["endpoints"]
        if e["name"] == reply.json["endpoint"]
    )
    assert endpoint["auth"] == "Basic_Access" and endpoint["source"] == "reconnect"
    session = await api.get(f"sessions/{reply.json['session_id']}")
    assert session.json["state"] != "error"


async def test_explicit_auth_is_used_as_given(api, secured_livy):
    wrong = body(
        secured_livy.url,
        username="analyst",
        password="Recon-Pass-789",
        auth="None",
        path="nb/x.ipynb",
    )
    refused = await reconnect(api, wrong)  # no credentials sent: Livy answers 401, the broker 502
    assert refused.status == 502 and refused.json["success"] is False
    assert "401" in refused.json["error"]
    right = body(
        secured_livy.url,
        username="analyst",
        password="Recon-Pass-789",
        auth="Basic_Access",
        path="nb/x.ipynb",
    )
    assert (await reconnect(api, right)).status == 200


async def test_moving_a_notebook_to_another_endpoint(api, livy_url, secured_livy):
    first = await reconnect(api, body(livy_url, path="nb/move.ipynb"))
    moved = await reconnect(
        api,
        body(secured_livy.url, username="analyst", password="Recon-Pass-789", path="nb/move.ipynb"),
    )
    assert moved.status == 200 and moved.json["session_id"] != first.json["session_id"]
    attachments = await api.get("attachments", params={"path": "nb/move.ipynb"})
    assert [a["session_id"] for a in attachments.json["attachments"]] == [moved.json["session_id"]]
    # A kernel attaching without naming an endpoint lands on the notebook's new one.
    attached = await api.post("attachments", {"path": "nb/move.ipynb"})
    assert attached.status == 200 and attached.json["session_id"] == moved.json["session_id"]


async def test_unreachable_endpoint_is_503(api):
    reply = await reconnect(api, body("http://127.0.0.1:9", path="nb/down.ipynb"))
    assert reply.status == 503 and reply.json["success"] is False
    assert "unreachable" in reply.json["error"]

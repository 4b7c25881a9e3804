"""Profiles and guard rails through the REST API, on a real Jupyter server and a real local Livy:
picking a profile (request, notebook metadata), per-profile limits (403), the per-user cap (429), the
max lifetime (Livy ttl), Spark conf naming whose a session is, and the idempotent create."""

from __future__ import annotations

import asyncio
import json

import pytest

from jupyter_spark_broker.broker.users import SERVER_OWNER
from jupyter_spark_broker.livy import LivyClient
from tests.broker.conftest import restart_broker

PROFILES = {
    "small": {
        "display_name": "Small",
        "description": "one core, little memory",
        "settings": {"driverMemory": "1g", "conf": {"spark.sql.shuffle.partitions": "4"}},
        "limits": {
            "max_driver_memory": "2g",
            "max_executor_memory": "2g",
            "max_executor_cores": 2,
            "max_executors": 4,
            "allowed_conf": ["spark.sql.*"],
            "max_lifetime": "2h",
        },
    },
    "other-endpoint": {"endpoint": "second", "settings": {"queue": "batch"}},
}


@pytest.fixture
def broker_config(broker_config, livy_url) -> dict:
    broker_config["endpoints"]["second"] = {"url": livy_url}
    return {**broker_config, "profiles": PROFILES}


async def attach(api, path: str, **body) -> dict:
    reply = await api.post("attachments", {"path": path, **body})
    assert reply.status in (200, 201), reply.json
    return reply.json["session"]


async def test_profiles_are_listed_with_the_built_in_default_first(api):
    reply = await api.get("profiles")
    assert reply.status == 200
    profiles = {p["name"]: p for p in reply.json["profiles"]}
    assert [p["name"] for p in reply.json["profiles"]][0] == "default"
    assert profiles["default"]["endpoint"] == "test" and profiles["default"]["limits"] == {}
    small = profiles["small"]
    assert (small["display_name"], small["description"]) == ("Small", "one core, little memory")
    assert small["endpoint"] == "test"  # none named: the default endpoint
    assert small["limits"]["max_executors"] == 4 and small["warm"] == 0
    assert profiles["other-endpoint"]["endpoint"] == "second"
    assert profiles["other-endpoint"]["display_name"] == "other-endpoint"


async def test_an_attach_picks_its_profile_and_the_session_reports_it(api, livy_url):
    session = await attach(api, "prof/a.ipynb", profile="small")
    assert session["profile"] == "small"
    assert session["settings"]["driver_memory"] == "1g"  # the profile's settings
    assert session["settings"]["ttl"] == "2h"  # the profile's max lifetime, as Livy's ttl
    conf = session["settings"]["conf"]
    assert conf["spark.sql.shuffle.partitions"] == "4"
    # Whose it is, for YARN and the Spark UI.
    assert conf["spark.jupyter.user"] == SERVER_OWNER
    assert conf["spark.jupyter.notebook"] == "prof/a.ipynb"
    assert conf["spark.jupyter.profile"] == "small"
    assert conf["spark.app.name"] == f"jupyter {SERVER_OWNER}: prof/a.ipynb"
    async with LivyClient(livy_url) as livy:
        in_livy = await livy.get_session(session["livy_id"])
    assert in_livy.ttl == "2h" and in_livy.driver_memory == "1g"
    assert in_livy.conf["spark.jupyter.notebook"] == "prof/a.ipynb"

    elsewhere = await attach(api, "prof/b.ipynb", profile="other-endpoint")
    assert (elsewhere["profile"], elsewhere["endpoint"]) == ("other-endpoint", "second")
    plain = await attach(api, "prof/c.ipynb")
    assert plain["profile"] == "default" and "ttl" not in plain["settings"]
    listed = (await api.get("sessions", params={"path": "prof/a.ipynb"})).json["sessions"]
    assert listed[0]["profile"] == "small"


async def test_an_unknown_profile_is_a_404_naming_the_known_ones(api):
    reply = await api.post("attachments", {"path": "prof/x.ipynb", "profile": "huge"})
    assert reply.status == 404 and reply.json["reason"] == "unknown_profile"
    assert "'huge'" in reply.json["message"] and "small" in reply.json["message"]


async def test_the_notebook_metadata_names_the_profile(api, jp_root_dir):
    notebook = {
        "cells": [],
        "metadata": {"spark_broker": {"profile": "small"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (jp_root_dir / "meta").mkdir()
    (jp_root_dir / "meta" / "picked.ipynb").write_text(json.dumps(notebook))
    session = await attach(api, "meta/picked.ipynb")
    assert session["profile"] == "small"
    # The request's own profile comes first.
    (jp_root_dir / "meta" / "asked.ipynb").write_text(json.dumps(notebook))
    assert (await attach(api, "meta/asked.ipynb", profile="default"))["profile"] == "default"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"executorMemory": "3g"}, "max_executor_memory = 2g"),
        ({"driverMemory": "4096m"}, "max_driver_memory = 2g"),
        ({"numExecutors": 200}, "max_executors = 4"),
        ({"executorCores": 3}, "max_executor_cores = 2"),
        ({"ttl": "3h"}, "max_lifetime = 2h"),
        ({"conf": {"spark.executor.instances": "200"}}, "allowed_conf: spark.sql.*"),
    ],
)
async def test_settings_beyond_a_limit_are_a_403_naming_it(api, settings, named):
    for path, body in (
        ("attachments", {"path": "limits/over.ipynb", "profile": "small", "settings": settings}),
        ("sessions", {"profile": "small", "settings": settings}),
    ):
        reply = await api.post(path, body)
        assert reply.status == 403, reply.json
        assert reply.json["reason"] == "over_limit" and named in reply.json["message"]
    assert (await api.get("sessions")).json["total"] == 0  # nothing was started


async def test_settings_within_the_limits_pass(api):
    settings = {
        "executorMemory": "2g",
        "numExecutors": 4,
        "ttl": "30m",
        "conf": {"spark.sql.x": "1"},
    }
    reply = await api.post("sessions", {"profile": "small", "settings": settings})
    assert reply.status == 201, reply.json
    assert reply.json["settings"]["ttl"] == "30m"  # a shorter lifetime than the most is kept


async def test_admins_pass_the_limits(api, broker_app):
    await restart_broker(broker_app, admin_users=[SERVER_OWNER])
    reply = await api.post("sessions", {"profile": "small", "settings": {"numExecutors": 200}})
    assert reply.status == 201, reply.json


@pytest.mark.parametrize("key", ["spark.master", "spark.submit.deployMode"])
async def test_no_request_picks_the_spark_master_not_even_an_admins(api, broker_app, key):
    """Livy's default blacklist, kept by the broker for every endpoint (the embedded Livy lets
    profiles set spark.master, and leaves users' requests to the broker)."""
    await restart_broker(broker_app, admin_users=[SERVER_OWNER])
    for path, body in (
        ("attachments", {"path": "limits/master.ipynb", "settings": {"conf": {key: "local[2]"}}}),
        ("sessions", {"settings": {"conf": {key: "local[2]"}}}),
    ):
        reply = await api.post(path, body)
        assert reply.status == 403, reply.json
        assert reply.json["reason"] == "over_limit"
        assert f"conf key {key!r} may not be set by a request" in reply.json["message"]
    assert (await api.get("sessions")).json["total"] == 0  # nothing was started


async def test_the_per_user_cap_counts_live_sessions_only(api, broker_app):
    await restart_broker(broker_app, max_sessions_per_user=2)
    first = await api.post("sessions", {})
    await attach(api, "cap/a.ipynb")
    over = await api.post("attachments", {"path": "cap/b.ipynb"})
    assert over.status == 429 and over.json["reason"] == "session_cap"
    assert "max_sessions_per_user = 2" in over.json["message"]
    assert (await api.post("sessions", {})).status == 429
    # An existing notebook's session is no new one: re-attaching is fine at the cap.
    assert (await api.post("attachments", {"path": "cap/a.ipynb"})).status == 200

    assert (await api.delete(f"sessions/{first.json['id']}")).status == 204
    assert (await api.post("attachments", {"path": "cap/b.ipynb"})).status == 201


async def test_concurrent_creates_cannot_pass_the_per_user_cap_together(api, broker_app):
    await restart_broker(broker_app, max_sessions_per_user=2)
    replies = await asyncio.gather(*(api.post("sessions", {}) for _ in range(6)))
    assert sorted(r.status for r in replies) == [201, 201, 429, 429, 429, 429]
    assert (await api.get("sessions")).json["total"] == 2


async def test_a_create_retried_with_its_request_id_makes_one_session(api):
    body = {"request_id": "retry-1", "settings": {"conf": {"spark.x": "1"}}}
    first = await api.post("sessions", body)
    again = await api.post("sessions", body)
    assert (first.status, again.status) == (201, 200)
    assert again.json["id"] == first.json["id"]
    assert again.headers["Location"] == first.headers["Location"]

    # Concurrent retries of another request: one session.
    replies = await asyncio.gather(
        *(api.post("sessions", {"request_id": "retry-2"}) for _ in range(5))
    )
    assert sorted(r.status for r in replies) == [200, 200, 200, 200, 201]
    assert len({r.json["id"] for r in replies}) == 1
    assert (await api.get("sessions")).json["total"] == 2


async def test_a_bad_profile_config_names_the_profile_and_field():
    from traitlets.config import TraitError

    from jupyter_spark_broker.broker.profiles import SparkProfiles

    with pytest.raises(TraitError, match="profile 'bad'.*max_executors"):
        SparkProfiles(
            default_endpoint="test", profiles={"bad": {"limits": {"max_executors": "many"}}}
        )
    with pytest.raises(TraitError, match="profile name 'no way'"):
        SparkProfiles(default_endpoint="test", profiles={"no way": {}})

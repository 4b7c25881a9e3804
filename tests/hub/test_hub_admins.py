"""Who the Hub makes a broker admin, from its model of a user (no Hub needed)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from jupyter_spark_broker.broker.errors import Conflict
from jupyter_spark_broker.broker.ownership import Ownership, hub_grants_admin
from jupyter_spark_broker.hub.app import HubServiceApp
from jupyter_spark_broker.hub.site import registry_location, site_broker

SCOPE = "custom:spark-broker:admin"


@pytest.mark.parametrize(
    ("model", "admin"),
    [
        ({"name": "ops", "kind": "user", "admin": True, "scopes": []}, True),
        ({"name": "dana", "kind": "user", "admin": False, "scopes": [SCOPE]}, True),
        ({"name": "alice", "kind": "user", "admin": False, "scopes": ["access:servers"]}, False),
        # narrowed to some users, the scope does not reach every user's sessions
        ({"name": "eve", "kind": "user", "admin": False, "scopes": [f"{SCOPE}!group=x"]}, False),
        # a service (a site's monitoring, say) by the scope its role grants, not by a flag
        ({"name": "bot", "kind": "service", "admin": False, "scopes": [SCOPE]}, True),
        ({"name": "bot", "kind": "service", "admin": True, "scopes": []}, False),
    ],
)
def test_hub_grants_admin(model, admin):
    assert hub_grants_admin(model, SCOPE) is admin


def test_without_a_scope_the_hubs_admins_only():
    assert not hub_grants_admin({"name": "dana", "admin": False, "scopes": [SCOPE]}, "")
    assert hub_grants_admin({"name": "ops", "admin": True, "scopes": []}, "")


def test_the_hub_says_on_each_request_and_admin_users_still_add():
    settings = SimpleNamespace(admin_users=["root"], hub_admin_scope=SCOPE)
    owners = Ownership(settings)
    owners.hub_says("ops", {"name": "ops", "admin": True, "scopes": []})
    assert owners.is_admin("ops") and owners.is_admin("root") and not owners.is_admin("alice")
    owners.hub_says(
        "ops", {"name": "ops", "admin": False, "scopes": []}
    )  # no longer the Hub's admin
    assert not owners.is_admin("ops")
    owners.hub_says("root", {"name": "root", "admin": False, "scopes": []})
    assert owners.is_admin("root")  # configured


def test_the_service_finds_the_registry_where_the_servers_do(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_BROKER_DB_URL", raising=False)
    config = Config({"SparkBrokerApp": {"db_url": f"sqlite:///{tmp_path}/r.sqlite"}})
    assert registry_location(config) == (
        f"sqlite:///{tmp_path}/r.sqlite",
        str(tmp_path / "secret.key"),
    )
    config.SparkBrokerApp.secret_key_file = "/etc/key"
    assert registry_location(config)[1] == "/etc/key"
    monkeypatch.setenv("SPARK_BROKER_DB_URL", "postgresql+psycopg://db/broker")
    db_url, key_file = registry_location(Config())
    assert db_url == "postgresql+psycopg://db/broker" and key_file.endswith(
        "spark_broker/secret.key"
    )


def test_the_service_outside_a_hub_says_what_it_misses(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "hub-service"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode != 0
    assert "JUPYTERHUB_API_TOKEN" in result.stderr + result.stdout


def test_the_services_broker_keeps_no_warm_pool_and_no_embedded_livy(tmp_path):
    app = HubServiceApp()
    app.config = Config(
        {
            "SparkBrokerApp": {"db_url": f"sqlite:///{tmp_path}/r.sqlite"},
            "SparkProfiles": {"warm_pool": {"default": 2}},
        }
    )
    broker = site_broker(app)
    assert broker.registry.url == f"sqlite:///{tmp_path}/r.sqlite"
    assert broker.profile_catalog.warm_pool == {}
    assert broker.endpoints.is_embedded("local")
    with pytest.raises(Conflict, match="embedded local Livy"):
        asyncio.run(broker.endpoints.client("local"))

"""No server-side request forgery through run-time endpoints. On a server of several users (an identity
provider and admin_users, as tests/broker/test_ownership.py has) a user may not point the broker at
this machine (loopback, link-local, its own addresses: the Jupyter server's API, the embedded Livy,
any port) unless the operator allows it; a server of one person keeps its "Livy on localhost". The
health of a URL a user chose says whether it answered, nothing of what answered."""

from __future__ import annotations

import pytest

from tests.broker.api_client import BrokerAPI
from tests.broker.conftest import restart_broker
from tests.broker.test_ownership import TokenNamesUser  # noqa: F401 - the identity provider

OUTSIDE_URL = "http://192.0.2.10:8998"  # TEST-NET-1: outside this machine
INTERNAL = "endpoint_url_not_allowed"


def internal_urls(jupyter_port: int, livy_url: str) -> list[str]:
    return [
        f"http://127.0.0.1:{jupyter_port}",  # the Jupyter server's own API
        livy_url,  # a Livy on loopback, which a configured endpoint may use
        "http://localhost:22",
        "http://127.8.9.10:80",
        "http://[::1]:8888",
        "http://0.0.0.0:8888",
        "http://169.254.169.254",  # a cloud's metadata service
        "http://[::ffff:127.0.0.1]:8888",
    ]


class TestServerOfSeveralUsers:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {
            **jp_server_config,
            "ServerApp": {
                **jp_server_config["ServerApp"],
                "identity_provider_class": "tests.broker.test_ownership.TokenNamesUser",
            },
            "SparkBroker": {
                **jp_server_config.get("SparkBroker", {}),
                "admin_users": ["root-admin"],
            },
        }

    @pytest.fixture
    def as_user(self, http_server_client, jp_base_url):
        return lambda name: BrokerAPI(http_server_client, jp_base_url, name)

    async def test_run_time_endpoints_inside_the_machine_are_refused(
        self, as_user, jp_http_port, livy_url
    ):
        for user in (as_user("alice"), as_user("root-admin")):
            for url in internal_urls(jp_http_port, livy_url):
                refused = await user.post("endpoints", {"url": url, "name": "mine"})
                assert refused.status == 403 and refused.json["reason"] == INTERNAL, url
                assert "SparkEndpoints.internal_endpoint_urls" in refused.json["message"]
            body = {"path": "a.ipynb", "endpoint": f"http://127.0.0.1:{jp_http_port}"}
            body.update(username="someone", password="anything")
            reconnect = await user.request("POST", "reconnectsparkmagic", api=False, body=body)
            assert reconnect.status == 403 and reconnect.json["reason"] == INTERNAL
        names = {
            e["name"] for e in (await as_user("root-admin").get("endpoints")).json["endpoints"]
        }
        assert names == {"test", "local"}  # nothing was added
        outside = await as_user("alice").post("endpoints", {"url": OUTSIDE_URL, "name": "mine"})
        assert outside.status == 201

    async def test_an_operator_may_allow_them(self, as_user, broker_app, livy_url):
        await restart_broker(broker_app, internal_endpoint_urls="allow")
        added = await as_user("alice").post("endpoints", {"url": livy_url, "name": "mine"})
        assert added.status == 201


async def test_a_server_of_one_person_allows_them_unless_refused(api, broker_app, livy_url):
    assert (await api.post("endpoints", {"url": livy_url, "name": "mine"})).status == 201
    await restart_broker(broker_app, internal_endpoint_urls="refuse")
    refused = await api.post("endpoints", {"url": livy_url, "name": "other"})
    assert refused.status == 403 and refused.json["reason"] == INTERNAL


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("analyst", "Health-Pass-3310"))


async def test_the_health_of_a_users_url_says_whether_it_answered_and_nothing_more(
    api, secured_livy
):
    # A Livy that refuses these (absent) credentials, and a port where nothing listens.
    assert (await api.post("endpoints", {"url": secured_livy.url, "name": "refuses"})).status == 201
    assert (
        await api.post("endpoints", {"url": "http://127.0.0.1:1", "name": "closed"})
    ).status == 201
    health = {e["name"]: e for e in (await api.get("endpoints/health")).json["endpoints"]}
    assert health["refuses"] == {
        "name": "refuses",
        "reachable": True,
        "version": None,
        "sessions": None,
        "error": None,
    }
    assert health["closed"] == {
        "name": "closed",
        "reachable": False,
        "version": None,
        "sessions": None,
        "error": "no answer from this URL",
    }
    # A configured endpoint, the operator's, keeps its details.
    assert health["test"]["reachable"] is True and health["test"]["version"]

"""Where the broker's settings are written: each in the class that uses it."""

from __future__ import annotations

import logging

import pytest

from tests.broker.conftest import restart_broker
from tests.helpers import config_sections


@pytest.fixture
def jp_server_config(broker_config):
    """The endpoints' and the profiles' settings written the old way (the issue's), under the app."""
    sections = config_sections({**broker_config, "profiles": {"small": {}}})
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_spark_broker": True}},
        "SparkBrokerApp": {
            **sections["SparkBrokerApp"],
            **sections["SparkEndpoints"],
            **sections["SparkProfiles"],
        },
        "SparkBroker": sections["SparkBroker"],
    }


async def test_settings_written_under_the_app_still_apply_with_a_warning(api, broker_app):
    listed = await api.get("endpoints")
    assert listed.json["default"] == "test"
    assert "test" in {endpoint["name"] for endpoint in listed.json["endpoints"]}
    warnings = RecordingHandler()
    broker_app.log.addHandler(warnings)
    try:
        await restart_broker(broker_app)  # the app reads its config again, as at server start
    finally:
        broker_app.log.removeHandler(warnings)
    assert (
        "c.SparkBrokerApp.endpoints has moved: write c.SparkEndpoints.endpoints" in warnings.lines
    )
    assert broker_app.broker.endpoints.default_endpoint == "test"
    assert "c.SparkBrokerApp.profiles has moved: write c.SparkProfiles.profiles" in warnings.lines
    profiles = (await api.get("profiles")).json["profiles"]
    assert [p["name"] for p in profiles] == ["default", "small"]


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_every_setting_belongs_to_one_class():
    from jupyter_spark_broker.app import SparkBrokerApp
    from jupyter_spark_broker.broker import SparkBroker
    from jupyter_spark_broker.endpoints import SparkEndpoints
    from jupyter_spark_broker.profiles import SparkProfiles

    classes = (SparkBrokerApp, SparkBroker, SparkEndpoints, SparkProfiles)
    ours = [set(c.class_own_traits(config=True)) for c in classes]
    for i, one in enumerate(ours):
        for other in ours[i + 1 :]:
            assert not one & other


def test_an_endpoint_may_not_take_a_name_the_api_routes_elsewhere():
    from traitlets.config import TraitError

    from jupyter_spark_broker.endpoints import SparkEndpoints

    with pytest.raises(TraitError, match="endpoint 'health': the name is taken"):
        SparkEndpoints(endpoints={"health": {"url": "http://livy.example.com:8998"}})

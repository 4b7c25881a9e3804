"""Where the broker's settings are written: each in the class that uses it."""

from __future__ import annotations

import logging

import pytest

from tests.broker.conftest import restart_broker
from tests.helpers import config_sections


@pytest.fixture
def jp_server_config(broker_config):
    """The endpoints' settings written the old way, under the app."""
    sections = config_sections(broker_config)
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_spark_broker": True}},
        "SparkBrokerApp": {**sections["SparkBrokerApp"], **sections["SparkEndpoints"]},
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

    ours = [
        set(c.class_own_traits(config=True)) for c in (SparkBrokerApp, SparkBroker, SparkEndpoints)
    ]
    assert not (ours[0] & ours[1]) and not (ours[0] & ours[2]) and not (ours[1] & ours[2])

"""Kernel tests run against the same real Jupyter server + broker + local Livy as the broker tests."""

from tests.broker.conftest import api, broker_app, broker_config, jp_server_config  # noqa: F401

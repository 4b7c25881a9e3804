"""A real Jupyter server (pytest-jupyter) with the broker, talking to a real local Livy over loopback.

The broker's endpoint ``test`` is a local Livy started by the test session, so its sessions outlive a
broker restart; the embedded ``local`` endpoint is exercised on its own.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.broker.api_client import BrokerAPI
from tests.helpers import config_sections

FAST_LOOPS = {
    "poll_interval": 0.2,
    "keepalive_interval": 0.5,
    "reap_interval": 0.2,
}


@pytest.fixture
def broker_config(livy_url, tmp_path) -> dict:
    """The broker's config as one flat dict (``config_sections`` splits it by class); tests change it
    before the server starts by overriding this fixture."""
    return {
        "endpoints": {"test": {"url": livy_url}},
        "default_endpoint": "test",
        "db_url": f"sqlite:///{tmp_path}/registry/registry.sqlite",
        "local_livy_args": ["--spark", "off"],
        "default_kernel_name": "python3",
        # No warm pool unless a test asks for one (None: the shipped default, one session of the
        # default profile on the embedded Livy).
        "warm_pool": {},
        **FAST_LOOPS,
    }


@pytest.fixture
def jp_server_config(broker_config):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_spark_broker": True}},
        **config_sections(broker_config),
    }


@pytest.fixture
def other_kernelspec(jp_data_dir):
    """A second kernel name, to see a notebook's session replaced when the kernel name changes."""
    target = jp_data_dir / "kernels" / "python-other"
    target.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (other)",
        "language": "python",
    }
    (target / "kernel.json").write_text(json.dumps(spec))
    return "python-other"


@pytest.fixture
def broker_app(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["jupyter_spark_broker"].app


@pytest.fixture
def api(jp_serverapp, http_server_client, jp_base_url) -> BrokerAPI:
    # Synchronous on purpose: the server runs on pytest-jupyter's loop, which also runs the tests.
    return BrokerAPI(http_server_client, jp_base_url, jp_serverapp.identity_provider.token)


async def restart_broker(app, **traits) -> None:
    """Stop the broker as a server shutdown would, change config, and start a fresh one on the same DB."""
    await app.stop_extension()
    for section, values in config_sections(traits).items():
        app.config[section].update(values)
        if section == "SparkBrokerApp":
            app.update_config(app.config)
    app.initialize_settings()
    await app.ensure_started()

"""Where the broker's settings are written: each in the class that uses it."""

from __future__ import annotations

import pytest


def test_every_setting_belongs_to_one_class():
    from jupyter_spark_broker.broker.broker import SparkBroker
    from jupyter_spark_broker.broker.endpoints import SparkEndpoints
    from jupyter_spark_broker.broker.profiles import SparkProfiles
    from jupyter_spark_broker.server.app import SparkBrokerApp

    classes = (SparkBrokerApp, SparkBroker, SparkEndpoints, SparkProfiles)
    ours = [set(c.class_own_traits(config=True)) for c in classes]
    for i, one in enumerate(ours):
        for other in ours[i + 1 :]:
            assert not one & other


def test_an_endpoint_may_not_take_a_name_the_api_routes_elsewhere():
    from traitlets.config import TraitError

    from jupyter_spark_broker.broker.endpoints import SparkEndpoints

    with pytest.raises(TraitError, match="endpoint 'health': the name is taken"):
        SparkEndpoints(endpoints={"health": {"url": "http://livy.example.com:8998"}})

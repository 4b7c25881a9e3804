"""Reading the server's /metrics in tests: every ``spark_broker_`` sample, and how much one grew."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


async def scrape(api) -> Samples:
    """Every ``spark_broker_`` sample of jupyter_server's /metrics, by name and labels."""
    reply = await api.get("metrics", api=False, validate=False)
    assert reply.status == 200, reply.body
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
        if sample.name.startswith("spark_broker_")
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)

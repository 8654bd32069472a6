"""Reading a node's /metrics as Prometheus would: the text format parsed into samples."""

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, **headers: str) -> tuple[Samples, set[str]]:
    """(every sample by name and labels, every metric family name) of one scrape."""
    response = await client.get("/metrics", headers=headers or None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    families: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families


def value(samples: Samples, metric: str, /, **labels: Any) -> float | None:
    return samples.get((metric, frozenset((k, str(v)) for k, v in labels.items())))

"""Reading the metrics endpoint from a test: an HTTP GET run off the event loop, and the text parsed."""

from __future__ import annotations

import urllib.error
import urllib.request

import gevent
from prometheus_client.parser import text_string_to_metric_families


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """Status and body; runs in a real thread so a gevent server in this thread keeps serving."""

    def fetch() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    result: tuple[int, str] = gevent.get_hub().threadpool.apply(fetch)
    return result


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and label set."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return out


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)

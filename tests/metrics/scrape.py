"""Read /metrics the way Prometheus does: the official parser, samples by name and labels."""

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


def parsed(text: str) -> Samples:
    """Return {(sample name, labels): value} of an exposition, parsed by prometheus_client."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return the sum of the samples named `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """Return how much the samples moved between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def families(text: str) -> Mapping[str, str]:
    """Return {family name: type} of an exposition."""
    return {family.name: family.type for family in text_string_to_metric_families(text)}

"""Static partitions cover every site exactly once; shared mode subscribes with $share."""

from __future__ import annotations

import pytest

from gateway.ingest.config import ScaleConfig
from gateway.ingest.partition import Partition, subscriptions


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_site_has_exactly_one_owner(count: int) -> None:
    workers = [Partition(k, count) for k in range(count)]
    sites = [(f"ent-{e}", f"site-{s}") for e in range(5) for s in range(40)]
    owners = [sum(w.owns(e, s) for w in workers) for e, s in sites]
    assert owners == [1] * len(sites)
    if count > 1:
        assert all(any(w.owns(e, s) for e, s in sites) for w in workers)


@pytest.mark.parametrize("text", ["2/2", "-1/2", "x/2", "1"])
def test_bad_partitions_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"partition|invalid literal"):
        Partition.parse(text)


def test_subscriptions_per_mode() -> None:
    assert subscriptions(ScaleConfig()) == ["hazard/v1/#"]
    shared = ScaleConfig(mode="shared", group="ing")
    assert subscriptions(shared) == ["$share/ing/hazard/v1/#"]
    assert Partition.of(ScaleConfig(mode="partition", partition="1/4")) == Partition(1, 4)

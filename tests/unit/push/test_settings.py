"""Backoff is capped and exponential; Retry-After wins; its two forms are parsed."""

from __future__ import annotations

import email.utils

import pytest

from gateway.contracts import AlarmKind
from gateway.httputil import retry_after_s as retry_after
from gateway.push.settings import Delivery, Filters


@pytest.mark.parametrize(
    ("failures", "after", "expected"),
    [
        (1, None, 1.0),
        (2, None, 2.0),
        (4, None, 8.0),
        (30, None, 60.0),
        (3, 17.0, 17.0),
        (1, 99999.0, 3600.0),
    ],
)
def test_backoff(failures: int, after: float | None, expected: float) -> None:
    delivery = Delivery(backoff_initial_s=1.0, backoff_max_s=60.0)
    assert delivery.backoff(failures, after) == expected


def test_retry_after_forms() -> None:
    assert retry_after("120") == 120.0
    date = email.utils.formatdate(1000.0 + 30, usegmt=True)
    assert retry_after(date, now=1000.0) == pytest.approx(30.0)
    assert retry_after("soon") is None and retry_after(None) is None


def test_backoff_initial_above_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="backoff_initial_s"):
        Delivery(backoff_initial_s=10, backoff_max_s=5)


@pytest.mark.parametrize(
    ("filters", "kind", "level", "ok"),
    [
        (Filters(), AlarmKind.H, 1, True),
        (Filters(min_level=2), AlarmKind.H, 1, False),
        (Filters(min_level=2), AlarmKind.HH, 2, True),
        (Filters(kinds=(AlarmKind.FAULT,)), AlarmKind.H, 1, False),
    ],
)
def test_alarm_filters(filters: Filters, kind: AlarmKind, level: int, ok: bool) -> None:
    assert filters.alarm_ok(kind, level) is ok


def test_site_filters() -> None:
    f = Filters(enterprises=("a",), sites=("s1",))
    assert f.site_ok("a", "s1") and not f.site_ok("b", "s1") and not f.site_ok("a", "s2")

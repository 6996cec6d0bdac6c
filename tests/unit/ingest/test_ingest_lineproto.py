"""Line-protocol escaping and number forms (the rules in gateway/ingest/lineproto.py)."""

from __future__ import annotations

import math

import pytest

from gateway.ingest.lineproto import FieldValue, escape_tag, field_text, line, series_prefix


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("gas-01", "gas-01"),
        ("a b", r"a\ b"),
        ("a,b", r"a\,b"),
        ("a=b", r"a\=b"),
        ("line\nbreak", "line break"),
    ],
)
def test_tags_are_escaped(text: str, escaped: str) -> None:
    assert escape_tag(text) == escaped


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (1e-07, "1e-07"),
        (3, "3i"),
        (True, "true"),
        (False, "false"),
        ('say "hi" \\ bye', r'"say \"hi\" \\ bye"'),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
    ],
)
def test_field_values_take_their_line_protocol_form(value: FieldValue, text: str | None) -> None:
    assert field_text(value) == text


def test_series_prefix_sorts_tags_and_leaves_out_empty_ones() -> None:
    prefix = series_prefix("alarm", [("site", "s"), ("device", "d"), ("kind", "")])
    assert prefix == "alarm,device=d,site=s"


def test_a_line_without_any_value_is_none() -> None:
    assert line("m,t=1", {"a": None, "b": math.nan}, 5) is None
    assert line("m,t=1", {"a": 1, "b": math.nan}, 5) == "m,t=1 a=1i 5"

"""Wrapper and config validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from edge_core import ChannelConfig, Detector


@pytest.fixture
def det() -> Detector:
    return Detector([ChannelConfig(h=1.0), ChannelConfig()])


GOOD = np.zeros((2, 8), np.float32)


@pytest.mark.parametrize(
    ("block", "match"),
    [
        (np.zeros((2, 8), np.float64), "dtype is float64, expected float32"),
        (np.zeros(8, np.float32), "shape"),
        (np.zeros((3, 8), np.float32), "shape"),
        (np.zeros((2, 16), np.float32)[:, ::2], "C-contiguous"),
        (np.zeros((8, 2), np.float32).T, "C-contiguous"),
    ],
)
def test_block_errors(det: Detector, block: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        det.process(block, 0.0, 0.1)


@pytest.mark.parametrize(
    ("quality", "match"),
    [
        (np.zeros((2, 8), np.int32), "quality dtype"),
        (np.zeros((2, 7), np.uint8), "quality shape"),
        (np.zeros((2, 16), np.uint8)[:, ::2], "quality is not C-contiguous"),
    ],
)
def test_quality_errors(det: Detector, quality: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        det.process(GOOD, 0.0, 0.1, quality)


@pytest.mark.parametrize("dt", [0.0, -1.0, float("nan"), float("inf")])
def test_dt_must_be_positive(det: Detector, dt: float) -> None:
    with pytest.raises(ValueError, match="dt="):
        det.process(GOOD, 0.0, dt)


def test_dt_change_and_time_backwards(det: Detector) -> None:
    det.process(GOOD, 0.0, 0.1)
    with pytest.raises(ValueError, match="differs"):
        det.process(GOOD, 0.8, 0.2)
    with pytest.raises(ValueError, match="backwards"):
        det.process(GOOD, 0.0, 0.1)
    det.process(GOOD, 0.8 + 0.04, 0.1)  # jitter under dt/2 is continuity


def test_gap_reanchors_timestamps() -> None:
    det = Detector([ChannelConfig(h=1.0)])
    det.process(np.zeros((1, 4), np.float32), 0.0, 1.0)
    res = det.process(np.array([[0, 2]], np.float32), 100.0, 1.0)
    assert res.transitions["ts"].tolist() == [101.0]


def test_not_an_array(det: Detector) -> None:
    with pytest.raises(TypeError, match="numpy array"):
        det.process([[0.0]], 0.0, 0.1)  # type: ignore[arg-type]


def test_acknowledge_range(det: Detector) -> None:
    with pytest.raises(ValueError, match="channel=5"):
        det.acknowledge(5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"l": 3.0, "h": 1.0}, "limits out of order"),
        ({"deadband": -1.0}, "deadband"),
        ({"window_s": 0.0}, "window_s"),
        ({"valid_lo": 5.0, "valid_hi": 1.0}, "valid_lo"),
        ({"h": "7"}, "must be a number"),
    ],
)
def test_config_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ChannelConfig(**kwargs)  # type: ignore[arg-type]


def test_empty_block_and_state(det: Detector) -> None:
    res = det.process(np.zeros((2, 0), np.float32), 0.0, 0.1)
    assert res.transitions.size == 0 and res.aggregates.size == 0
    det.process(np.array([[2.0], [0.0]], np.float32), 0.0, 0.1)
    assert det.state()[0].tolist() == [False, False, True, False, False, False, False]

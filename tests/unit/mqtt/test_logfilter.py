"""Log floods: the first message loud, repeats counted and summarised (issue 9)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.mqtt.logfilter import RepeatSummary
from gateway.mqtt.publisher import MQTT_LOG, MqttPublisher, MqttSettings
from gateway.outbox import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, name: str = "mqtt") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_repeats_of_one_template_are_counted_then_summarised() -> None:
    clock = Clock()
    summary = RepeatSummary(window_s=60.0, clock=clock)
    passed = [summary.filter(_record("There are %d pending publish calls.", n)) for n in range(900)]
    assert passed == [True] + [False] * 899 and summary.suppressed == 899
    assert summary.filter(_record("another message"))  # other templates are not held back
    clock.now = 61.0
    late = _record("There are %d pending publish calls.", 12)
    assert summary.filter(late)
    assert "repeated 899 times in the last 61 s" in late.getMessage()


def test_the_publishers_mqtt_log_is_summarised(caplog: pytest.LogCaptureFixture) -> None:
    assert any(isinstance(f, RepeatSummary) for f in MQTT_LOG.filters)
    caplog.set_level(logging.WARNING, logger=MQTT_LOG.name)
    for n in range(50):
        MQTT_LOG.warning("There are %d pending publish calls.", n + 11)
    shown = [r for r in caplog.records if "pending publish" in r.getMessage()]
    assert len(shown) <= 1


async def test_the_mqtt_client_logs_through_the_summary_logger(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", quota_bytes=1 << 20)
    client = MqttPublisher("ent", "site", MqttSettings(), outbox)._client()
    assert client._logger is MQTT_LOG  # aiomqtt keeps no public accessor
    outbox.close()

"""A broker password given in an MQTT URL never reaches the terminal or a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.mqtt.publisher import MqttSettings
from gateway.netutil import free_port, redact_url

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"mqtt://edge:{SECRET}@broker:1883", "mqtt://edge:***@broker:1883"),
        (f"mqtts://edge:{SECRET}@[::1]:8883", "mqtts://edge:***@[::1]:8883"),
        ("mqtt://edge@broker:1883", "mqtt://edge@broker:1883"),
        ("mqtt://broker", "mqtt://broker"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_settings_repr_hides_the_password() -> None:
    settings = MqttSettings.from_url(f"mqtt://edge:{SECRET}@broker:1883")
    assert settings.password == SECRET and SECRET not in repr(settings)


def test_edge_banner_hides_the_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: ent\nsite: site-a\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.25\n",
        encoding="utf-8",
    )
    url = f"mqtt://edge:{SECRET}@127.0.0.1:{free_port()}"
    args = ["edge", "--site", str(site), "--mqtt", url, "--state-dir", str(tmp_path / "state")]
    assert main([*args, "--duration", "0.3"]) == 0
    out, err = capsys.readouterr()
    assert "mqtt://edge:***@127.0.0.1" in out
    assert SECRET not in out + err

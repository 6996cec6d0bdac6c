"""The commands against real servers: the pymodbus simulator over TCP, and Mosquitto.

Each test here fails on the behaviour the issue "every command tells the truth" found:
a second simulator said READY on a taken port, probe printed no registers, and there
was no way to acknowledge an alarm without the panel.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.alarms.lifecycle import IsaState
from gateway.config import Device, DeviceConfig, TcpEndpoint, load_site, resolve_profile
from gateway.contracts.command import CommandRequest, reply_body, sign_command
from gateway.mqtt.publisher import MqttSettings
from gateway.netutil import free_port
from gateway.simulator.server import Simulator
from gateway.site import EdgeSite
from tests.harness import Mosquitto
from tests.integration.edge.wiretypes import WIRE_CASES, FixedValues, write_profile
from tests.integration.sites import make_site

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _device(profile_ref: str, port: int) -> Device:
    profile = resolve_profile(profile_ref)
    config = DeviceConfig(
        name="dev", profile=profile_ref, tcp=TcpEndpoint(host="127.0.0.1", port=port)
    )
    return Device(config, profile, profile.points)


def _rows(text: str) -> dict[str, list[str]]:
    """Table rows by point key: point, table, addr, type, register words..., value, unit, q."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("point ")) + 1
    return {line.split()[0]: line.split() for line in lines[start:] if line and " " in line}


async def test_probe_prints_raw_registers_beside_the_value_in_every_word_order(
    tmp_path: Path,
) -> None:
    profile = write_profile(tmp_path)
    port = free_port()
    async with Simulator(make_site([_device(str(profile), port)]), source=FixedValues()):
        code, out, err = await _cli(
            "probe", "--profile", str(profile), "--host", "127.0.0.1", "--port", str(port)
        )
    assert code == 0, out + err
    rows = _rows(out)
    for key in ("f32", "f32_ws", "f32_bs", "f32_bs_ws"):  # every byte and word order
        _type, byte_order, word_order, _table, _addr, value, words = WIRE_CASES[key]
        row = rows[key]
        assert row[4:6] == [f"{w:04X}" for w in words], (key, byte_order, word_order)
        assert float(row[6]) == value and row[-1] == "good"
    assert rows["f64"][4:8] == ["C004", "0000", "0000", "0000"] and rows["f64"][8] == "-2.5"
    assert rows["coil_on"][4:6] == ["bit", "1"]


async def test_probe_names_a_modbus_exception(tmp_path: Path) -> None:
    """A point outside the device's register map: exception 2, by name, once."""
    far = tmp_path / "far.yaml"
    point = "{key: %s, name: n, kind: pressure_kpa, table: holding, address: %d, type: uint16}"
    far.write_text(
        "vendor: test\nmodel: far\npoints:\n"
        f"  - {point % ('near', 0)}\n  - {point % ('far', 9000)}\n",
        encoding="utf-8",
    )
    port = free_port()
    near = tmp_path / "near.yaml"
    near.write_text(
        "vendor: test\nmodel: near\npoints:\n"
        "  - {key: near, name: n, kind: pressure_kpa, table: holding, address: 0, type: uint16}\n",
        encoding="utf-8",
    )
    async with Simulator(make_site([_device(str(near), port)]), source=FixedValues()):
        code, out, _err = await _cli(
            "probe", "--profile", str(far), "--host", "127.0.0.1", "--port", str(port)
        )
    assert code == 1
    rows = _rows(out)
    assert rows["near"][-1] == "good" and rows["far"][-1] == "error"
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors == ["error: Modbus exception 2 illegal data address reading holding 9000+1 (far)"]


class _Silent(FixedValues):
    """A device that accepts the connection and never answers."""

    def device_down(self, device: Device, elapsed: float) -> bool:
        return True


async def test_probe_of_a_silent_device_names_the_timeout() -> None:
    port = free_port()
    async with Simulator(make_site([_device("generic-oxygen", port)]), source=_Silent()):
        code, out, _err = await _cli(
            "probe", "--profile", "generic-oxygen", "--host", "127.0.0.1", "--port", str(port),
            "--timeout", "0.5",
        )  # fmt: skip
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors == ["error: timeout: unit 1 did not answer within 0.5 s"]


async def test_a_second_simulator_on_a_taken_port_fails_before_ready(tmp_path: Path) -> None:
    port = free_port()
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: e\nsite: s\ndevices:\n  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {port}}}\n",
        encoding="utf-8",
    )
    first = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "simulate",
        "--site",
        str(site),
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert first.stdout is not None
        while b"READY" not in (line := await asyncio.wait_for(first.stdout.readline(), 120)):
            assert line, "the first simulator ended before READY"
        code, out, err = await _cli("simulate", "--site", str(site), "--duration", "5")
    finally:
        first.terminate()
        await first.wait()
    assert code == 2
    assert "READY" not in out and "serving" not in out
    assert err.strip() == (
        f"error: simulator endpoint tcp:127.0.0.1:{port} (gas-01): cannot listen on port "
        f"{port}: Address already in use (another simulator or program holds it?)"
    )


async def test_demo_keep_ports_refuses_a_port_another_program_holds(tmp_path: Path) -> None:
    """`demo --keep-ports` used to poll whatever answered on the site file's ports."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        site = tmp_path / "site.yaml"
        site.write_text(
            "enterprise: e\nsite: s\ndevices:\n  - name: gas-01\n"
            f"    profile: generic-combustible-gas\n    tcp: {{host: 127.0.0.1, port: {port}}}\n",
            encoding="utf-8",
        )
        code, _out, err = await _cli("demo", "--site", str(site), "--keep-ports", "--duration", "5")
    assert code == 2
    assert f"error: simulator endpoint tcp:127.0.0.1:{port} (gas-01): cannot listen" in err


async def test_the_simulator_stops_what_it_started_when_a_later_port_is_taken() -> None:
    taken, free = free_port(), free_port()
    async with Simulator(make_site([_device("generic-oxygen", taken)])):
        both = make_site([_device("generic-oxygen", free), _device("generic-oxygen", taken)])
        with pytest.raises(OSError, match=f"cannot listen on port {taken}"):
            await Simulator(both).start()
    # the first endpoint was released: a new simulator can bind it at once
    async with Simulator(make_site([_device("generic-oxygen", free)])):
        pass


def _responder(broker: Mosquitto, key: bytes, accept: bool) -> mqtt.Client:
    """Stands in for the edge agent's command reader: checks the signature, replies."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-stand-in")

    def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        request = CommandRequest.from_payload(bytes(message.payload))
        assert message.topic == "hazard/v1/e/s/cmd/ack"
        assert sign_command(body, key) == request.sig
        reply = (
            reply_body(request.request_id, event={"seq": 7, "state": "acknowledged"})
            if accept
            else reply_body(request.request_id, code="stale_activation", message="newer one")
        )
        topic = f"hazard/v1/e/s/reply/{request.request_id}"
        client.publish(topic, json.dumps(reply), qos=1)

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.subscribe("hazard/v1/e/s/cmd/+", qos=1)
    client.loop_start()
    time.sleep(0.2)
    return client


@pytest.mark.parametrize(
    ("accept", "code", "said"),
    [
        (True, 0, "acknowledged gas-01/gas H by alice: event #7 state acknowledged"),
        (False, 1, "refused: stale_activation: newer one"),
    ],
)
async def test_ack_sends_a_signed_command_and_prints_the_reply(
    tmp_path: Path, mosquitto: Mosquitto, accept: bool, code: int, said: str
) -> None:
    key = b"alice-secret-0123456789"
    keys = tmp_path / "operators"
    keys.write_text(f"alice:{key.decode()}\n", encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: e\nsite: s\ndevices:\n  - name: gas-01\n    profile: generic-combustible-gas\n"
        "    tcp: {host: 127.0.0.1, port: 1502}\n",
        encoding="utf-8",
    )
    responder = _responder(mosquitto, key, accept)
    try:
        result = await _cli(
            "ack",
            "--site",
            str(site),
            "--mqtt",
            f"mqtt://{mosquitto.host}:{mosquitto.port}",
            "--operator",
            "alice",
            "--operator-keys",
            str(keys),
            "--device",
            "gas-01",
            "--point",
            "gas",
            "--kind",
            "H",
            "--timeout",
            "10",
        )
    finally:
        responder.loop_stop()
        responder.disconnect()
    assert result[0] == code, result
    assert result[1].strip() == said


async def test_ack_without_an_edge_agent_says_nobody_replied(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    keys = tmp_path / "operators"
    keys.write_text("alice:alice-secret-0123456789\n", encoding="utf-8")
    code, out, _err = await _cli(
        "ack",
        "--site",
        str(REPO / "examples" / "site-demo.yaml"),
        "--mqtt",
        f"mqtt://{mosquitto.host}:{mosquitto.port}",
        "--operator",
        "alice",
        "--operator-keys",
        str(keys),
        "--device",
        "gas-01",
        "--point",
        "gas",
        "--kind",
        "H",
        "--timeout",
        "0.5",
    )
    assert code == 1
    assert out.startswith("no reply within 0.5 s to request ")
    assert "(is the edge agent running with --mqtt and --operator-keys?)" in out


async def test_ack_acknowledges_a_real_alarm_of_the_edge_agent(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """README's acknowledgement path, end to end: simulator, edge agent, broker, `ack`."""
    key = b"li-wei-secret-0123456789"
    keys = tmp_path / "operators"
    keys.write_text(f"li.wei:{key.decode()}\n", encoding="utf-8")
    site_file = tmp_path / "site.yaml"
    site_file.write_text(
        "enterprise: ent\nsite: site-a\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.25\n",
        encoding="utf-8",
    )
    site = load_site(site_file)
    settings = MqttSettings.from_url(f"mqtt://{mosquitto.host}:{mosquitto.port}", client_id="edge")
    service = EdgeSite(site, tmp_path / "state", settings, operator_keys={"li.wei": key})
    stop = asyncio.Event()
    async with Simulator(site, "gas-leak"):
        runner = asyncio.create_task(service.run(stop))
        try:
            for _ in range(300):  # H rises at ~10.7 s of the scenario
                await asyncio.sleep(0.1)
                if service.manager.alarms:
                    break
            alarm = next(iter(service.manager.alarms), None)
            assert alarm is not None, "no alarm was raised"
            code, out, err = await _cli(
                "ack",
                "--site",
                str(site_file),
                "--mqtt",
                f"mqtt://{mosquitto.host}:{mosquitto.port}",
                "--operator",
                "li.wei",
                "--operator-keys",
                str(keys),
                "--device",
                "gas-01",
                "--point",
                "gas",
                "--kind",
                alarm.kind.value,
                "--note",
                "on my way",
            )
            state = service.manager.alarms[alarm].state
        finally:
            stop.set()
            await asyncio.wait_for(runner, timeout=10)
            service.close()
    assert code == 0, out + err
    assert out.startswith(f"acknowledged gas-01/gas {alarm.kind.value} by li.wei: event #")
    assert out.strip().endswith("state acknowledged")
    assert state in (IsaState.ACKED, IsaState.NORMAL)

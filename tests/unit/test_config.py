"""Site files: devices, endpoints, profile resolution and per-point overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_site
from gateway.errors import ConfigError, ProfileError, SiteError
from gateway.profiles import builtin_profiles_dir

SITE = "enterprise: acme-chem\nsite: plant-1\ndevices:\n"

GAS_TCP = """\
  - name: gas-01
    profile: generic-combustible-gas
    tcp: {host: 10.0.0.5, port: 502}
"""


def _write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _serial(name: str, unit: int, port: str = "/dev/ttyS1", extra: str = "") -> str:
    return (
        f"  - name: {name}\n    profile: generic-toxic-gas-h2s\n"
        f"    serial: {{port: {port}, baudrate: 9600{extra}}}\n    unit: {unit}\n"
    )


# (case id, site file text, [(field path, words of the rule)]) - every line marked `# <-`
BROKEN: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "unknown profile",
        SITE + GAS_TCP.replace("profile: generic-combustible-gas", "profile: no-such  # <-"),
        [("devices[0].profile", "profile 'no-such' not found (looked in")],
    ),
    (
        "profile path that does not exist",
        SITE + GAS_TCP.replace("profile: generic-combustible-gas", "profile: x/p.yaml  # <-"),
        [("devices[0].profile", "profile 'x/p.yaml' not found")],
    ),
    (
        "override of an unknown point",
        SITE + GAS_TCP + "    points:\n      gass:  # <-\n        alarms: {H: 10}\n",
        [("devices[0].points.gass", "has no point 'gass' (it has ['fault', 'gas', 'status'])")],
    ),
    (
        "unknown field in an override",
        SITE + GAS_TCP + "    points:\n      gas:\n        adress: 4  # <-\n",
        [("devices[0].points.gas.adress", "unknown field")],
    ),
    (
        "both tcp and serial",
        SITE
        + GAS_TCP.replace("name: gas-01", "name: gas-01  # <-")
        + "    serial: {port: /dev/ttyS0}\n",
        [("devices[0]", "give exactly one of `tcp` (host, port) or `serial`")],
    ),
    (
        "neither tcp nor serial",
        SITE + "  - name: gas-01  # <-\n    profile: generic-combustible-gas\n",
        [("devices[0]", "give exactly one of `tcp`")],
    ),
    (
        "duplicate device names",
        SITE
        + GAS_TCP
        + GAS_TCP.replace("name: gas-01", "name: gas-01  # <-").replace("10.0.0.5", "10.0.0.6"),
        [("devices[1].name", "duplicate device name 'gas-01' (also devices[0])")],
    ),
    (
        "two devices with the same unit on one serial port",
        SITE + _serial("h2s-1", 3) + _serial("h2s-2", 3).replace("unit: 3", "unit: 3  # <-"),
        [("devices[1].unit", "unit 3 is already used on /dev/ttyS1 by devices[0]")],
    ),
    (
        "two devices with the same unit behind one TCP gateway",
        SITE + GAS_TCP + GAS_TCP.replace("gas-01", "gas-02") + "    unit: 1  # <-\n",
        [("devices[1].unit", "unit 1 is already used on 10.0.0.5:502 by devices[0]")],
    ),
    (
        "mismatching serial line settings",
        SITE
        + _serial("h2s-1", 1)
        + _serial("h2s-2", 2, extra=", parity: E").replace("parity: E}", "parity: E}  # <-"),
        [("devices[1].serial", "is shared with devices[0] but its line settings differ")],
    ),
    (
        "override alarms above the GB/T 50493 ceiling",
        SITE + GAS_TCP + "    points:\n      gas:\n        alarms:\n          H: 30  # <-\n",
        [("devices[0].points.gas.alarms.H", "exceeds the GB/T 50493-2019 first-level")],
    ),
    (
        "override HH below the profile's H",
        SITE + GAS_TCP + "    points:\n      gas:\n        alarms:\n          HH: 15  # <-\n",
        [("devices[0].points.gas.alarms.HH", "H=20.0 is not below HH=15.0")],
    ),
    (
        "override with a zero scale and a reversed valid range",
        SITE
        + GAS_TCP
        + "    points:\n      gas:\n        scale: 0  # <-\n        valid_range: [100, 0]  # <-\n",
        [
            ("devices[0].points.gas.scale", "scale must be a finite non-zero number"),
            ("devices[0].points.gas.valid_range", "must be [low, high]"),
        ],
    ),
    (
        "bad names, unit and poll interval",
        "enterprise: acme chem  # <-\nsite: plant-1\ndevices:\n"
        + GAS_TCP
        + "    unit: 300  # <-\n    poll_interval_s: 0  # <-\n",
        [
            ("enterprise", "should match pattern"),
            ("devices[0].unit", "less than or equal to 247"),
            ("devices[0].poll_interval_s", "greater than or equal to 0.005"),
        ],
    ),
    (
        "no devices",
        "enterprise: acme\nsite: plant-1\ndevices: []  # <-\n",
        [("devices", "at least 1 item")],
    ),
]


def _marked_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), 1) if "# <-" in line]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_site_reports_every_problem(
    tmp_path: Path, text: str, expected: list[tuple[str, str]]
) -> None:
    path = _write(tmp_path, text)
    lines = _marked_lines(text)
    assert len(lines) == len(expected), "the case needs one `# <-` per expected problem"

    with pytest.raises(SiteError) as caught:
        load_site(path)

    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [
        (line, field) for line, (field, _) in zip(lines, expected, strict=True)
    ]
    for problem, (_, rule) in zip(problems, expected, strict=True):
        assert str(problem).startswith(f"{path}:{problem.line}: {problem.field}:")
        assert rule in problem.message, str(problem)


def test_override_merges_alarms_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        SITE
        + GAS_TCP
        + "    points:\n      gas:\n        name: Loading bay gas\n"
        + "        alarms: {H: 15, on_delay_s: 1}\n",
    )
    site = load_site(path)
    gas = site.device("gas-01").points[0]
    profile_gas = site.device("gas-01").profile.point("gas")
    assert gas.name == "Loading bay gas"
    assert gas.alarms is not None and profile_gas.alarms is not None
    assert gas.alarms.hi == 15.0  # overridden
    assert gas.alarms.hi_hi == 40.0  # kept from the profile
    assert gas.alarms.deadband == profile_gas.alarms.deadband
    assert gas.alarms.roc == profile_gas.alarms.roc
    assert gas.alarms.on_delay_s == 1.0
    assert gas.unit == profile_gas.unit == "%LEL"
    assert profile_gas.alarms.hi == 20.0  # the profile itself is untouched


def test_override_maps_a_4_20ma_channel_to_engineering_units(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        SITE
        + """\
  - name: ai-01
    profile: generic-ai-8ch-4-20ma
    tcp: {host: 10.0.0.9}
    points:
      ch1:
        name: Gas detector GT-101
        kind: gas_lel
        scale: 0.00625
        offset: -25.0
        unit: "%LEL"
        valid_range: [-1.25, 103.125]
        alarms: {H: 20, HH: 40, deadband: 2}
""",
    )
    device = load_site(path).device("ai-01")
    ch1, ch2 = device.points[0], device.points[1]
    assert (ch1.kind, ch1.scale, ch1.offset, ch1.unit) == ("gas_lel", 0.00625, -25.0, "%LEL")
    assert ch1.valid_range == (-1.25, 103.125)
    assert ch1.alarms is not None and ch1.alarms.limits() == {"H": 20.0, "HH": 40.0}
    assert ch1.type.value == "uint16" and ch1.address == 0  # wire layout from the profile
    assert (ch2.kind, ch2.unit, ch2.alarms) == ("current_ma", "mA", None)
    assert device.config.tcp is not None and device.config.tcp.port == 502


def test_override_alarms_for_a_point_without_alarms(tmp_path: Path) -> None:
    path = _write(
        tmp_path, SITE + GAS_TCP + "    points:\n      status:\n        alarms: {H: 0.5}\n"
    )
    status = load_site(path).device("gas-01").points[1]
    assert status.alarms is not None and status.alarms.limits() == {"H": 0.5}


def test_serial_bus_shared_by_devices_with_distinct_units(tmp_path: Path) -> None:
    text = SITE + _serial("h2s-1", 1) + _serial("h2s-2", 2) + _serial("h2s-3", 1, "/dev/ttyS2")
    site = load_site(_write(tmp_path, text))
    keys = [device.config.link_key for device in site.devices]
    assert keys == ["serial:/dev/ttyS1", "serial:/dev/ttyS1", "serial:/dev/ttyS2"]


def test_same_unit_on_different_tcp_hosts_is_fine(tmp_path: Path) -> None:
    text = SITE + GAS_TCP + GAS_TCP.replace("gas-01", "gas-02").replace("10.0.0.5", "10.0.0.6")
    site = load_site(_write(tmp_path, text))
    assert [d.config.link_key for d in site.devices] == ["tcp:10.0.0.5:502", "tcp:10.0.0.6:502"]


def test_request_pause_from_site_or_profile(tmp_path: Path) -> None:
    text = SITE + GAS_TCP + GAS_TCP.replace("gas-01", "gas-02").replace("10.0.0.5", "10.0.0.6")
    text += "    request_pause_s: 0.05\n"
    site = load_site(_write(tmp_path, text))
    assert [d.request_pause_s for d in site.devices] == [0.0, 0.05]


def test_profile_from_a_site_folder_and_by_path(tmp_path: Path) -> None:
    own = tmp_path / "profiles"
    own.mkdir()
    source = (builtin_profiles_dir() / "generic-oxygen.yaml").read_text(encoding="utf-8")
    (own / "my-oxygen.yaml").write_text(source.replace("model: oxygen-vol", "model: mine"))
    text = (
        "profile_dirs: [profiles]\n"
        + SITE
        + GAS_TCP.replace("generic-combustible-gas", "my-oxygen")
    )
    text += (
        GAS_TCP.replace("gas-01", "o2-02")
        .replace("generic-combustible-gas", "profiles/my-oxygen.yaml")
        .replace("10.0.0.5", "10.0.0.7")
    )
    site = load_site(_write(tmp_path, text))
    assert [d.profile.model for d in site.devices] == ["mine", "mine"]


def test_a_broken_profile_is_reported_with_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "vendor: x\nmodel: y\npoints:\n  - key: a\n    name: A\n    kind: status\n"
        "    table: coil\n    address: 0\n    type: int16\n",
        encoding="utf-8",
    )
    path = _write(tmp_path, SITE + GAS_TCP.replace("generic-combustible-gas", "bad.yaml"))
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert not isinstance(caught.value, ProfileError)  # raised as the site's error...
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{tmp_path / 'bad.yaml'}:9: points[0].type:")  # ...at the cause


def test_yaml_syntax_error_in_a_site_file(tmp_path: Path) -> None:
    path = _write(tmp_path, SITE + "  - name: [gas\n")
    with pytest.raises(SiteError) as caught:
        load_site(path)
    [problem] = caught.value.problems
    assert problem.line == 5 and "not valid YAML" in problem.message


def test_demo_site_loads() -> None:
    demo = Path(__file__).resolve().parents[2] / "gateway" / "data" / "site-demo.yaml"
    site = load_site(demo)
    assert site.enterprise == "demo-chem"
    assert site.devices
    shipped = {path.stem for path in builtin_profiles_dir().glob("*.yaml")}
    assert {device.config.profile for device in site.devices} <= shipped

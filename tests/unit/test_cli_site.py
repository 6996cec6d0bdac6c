"""`hazard-gateway site validate`: a site file checked with its profiles, every problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.commands.site import suggest_profiles

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "site-demo.yaml"


def test_the_example_site_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["site", "validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{EXAMPLE}: OK (demo-chem/tank-farm-1: 8 devices, ")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_says_it_is_empty(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["site", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: 1 problem(s):\n"
        f"  {path}: the file is empty: a site file names `enterprise`, `site` and its "
        "`devices` (see examples/site-demo.yaml)\n"
    )


def test_a_typo_in_a_profile_id_suggests_the_nearest_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(
        text.replace("profile: generic-oxygen", "profile: generic-oxigen"), encoding="utf-8"
    )
    line = 1 + text.splitlines().index("    profile: generic-oxygen")
    assert main(["site", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 problem(s):\n")
    assert f"  {path}:{line}: devices[3].profile: profile 'generic-oxigen' not found" in err
    assert err.endswith(
        "; did you mean 'generic-oxygen'? "
        "(run `hazard-gateway profiles list` for the built-in ids)\n"
    )


def test_every_problem_of_a_site_file_is_listed_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "enterprise: e\nsite: s\ndevices:\n"
        "  - name: a\n    profile: generic-oxygen\n    tcp: {host: h, port: 70000}\n"
        "  - name: b\n    profile: generic-oxygen\n    unit: 999\n    tcp: {host: h}\n",
        encoding="utf-8",
    )
    assert main(["site", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6: devices[0].tcp.port: " in err
    assert f"{path}:9: devices[1].unit: " in err
    assert "vendor" not in err  # not read as a profile


@pytest.mark.parametrize(
    ("ref", "hint"),
    [
        ("generic-oxigen", "; did you mean 'generic-oxygen'? "),
        ("zzz", "; run `hazard-gateway profiles list` for the built-in ids"),
    ],
)
def test_suggestions(ref: str, hint: str) -> None:
    known = ["generic-oxygen", "generic-radar-level", "generic-combustible-gas"]
    assert suggest_profiles(ref, known).startswith(hint)

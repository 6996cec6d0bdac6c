"""`hazard-gateway profiles validate|list`: check device profiles, list the built-in ones.

Both say so when they find nothing to look at (a folder that does not exist, or one
without a profile) instead of printing nothing with exit status 0, and `validate` given
a site file points to `site validate` instead of listing the profile fields it lacks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError, Problem
from gateway.yamlsource import SourceDoc, load_yaml_file

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `profiles` subcommand group."""
    parser = commands.add_parser("profiles", help="validate or list device profiles")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate",
        help="check profile files; every problem is printed with file:line and field",
        description="Check device profiles in two stages (fields, then cross-field rules). "
        "Exit status 0 when all are valid, 2 otherwise.",
    )
    validate.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="profile files or folders"
    )
    validate.set_defaults(run=run_validate)
    listing = actions.add_parser(
        "list",
        help="list built-in profiles (or those in --dir)",
        description="One line per profile: id, vendor and model, points, description. "
        "Exit status 2 when the folder does not exist or holds no profile.",
    )
    listing.add_argument("--dir", type=Path, help="folder of profiles (default: built-in)")
    listing.set_defaults(run=run_list)


def _profile_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.yaml"))
        else:
            files.append(path)
    return files


def run_validate(args: argparse.Namespace) -> int:
    """Validate each file; print OK or every problem."""
    from gateway.profiles import load_profile_doc  # noqa: PLC0415 (pydantic: not for --help)

    failed = 0
    files = _profile_files(args.paths)
    for path in files:
        doc = load_yaml_file(path)
        result = [doc] if isinstance(doc, Problem) else _site_file(doc) or load_profile_doc(doc)
        if isinstance(result, list):
            failed += 1
            print(f"{path}: {len(result)} problem(s)", file=sys.stderr)
            for problem in result:
                print(f"  {problem}", file=sys.stderr)
        else:
            print(f"{path}: OK ({result.vendor} {result.model}, {len(result.points)} points)")
    if not files:
        print("error: no profile files given", file=sys.stderr)
        return 2
    return 2 if failed else 0


def _site_file(doc: SourceDoc) -> list[Problem] | None:
    """One Problem when ``doc`` is a site file (it lists devices, not points), else None."""
    data = doc.data
    if isinstance(data, dict) and "devices" in data and "points" not in data:
        message = (
            "this is a site file, not a device profile: check it with "
            f"`hazard-gateway site validate {doc.name}`"
        )
        return [Problem(doc.name, None, "", message)]
    return None


def run_list(args: argparse.Namespace) -> int:
    """One line per profile: id, vendor/model, points, description."""
    from gateway.profiles import builtin_profiles_dir, load_profile_doc  # noqa: PLC0415

    folder: Path = args.dir or builtin_profiles_dir()
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise ConfigError([Problem(str(folder), None, "--dir", f"{what}")])
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise ConfigError([Problem(str(folder), None, "--dir", "holds no profile (*.yaml)")])
    for path in paths:
        doc = load_yaml_file(path)
        result = [doc] if isinstance(doc, Problem) else load_profile_doc(doc)
        if isinstance(result, list):
            print(f"{path.stem:<32} INVALID ({len(result)} problems; run profiles validate)")
            continue
        print(
            f"{path.stem:<32} {result.vendor} {result.model:<24} "
            f"{len(result.points):>3} points  {result.description}"
        )
    return 0

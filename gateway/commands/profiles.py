"""`hazard-gateway profiles validate|list`: check device profiles, list the built-in ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.errors import Problem
from gateway.profiles import builtin_profiles_dir, load_profile_doc
from gateway.yamlsource import load_yaml_file

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
    listing = actions.add_parser("list", help="list built-in profiles (or those in --dir)")
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
    failed = 0
    files = _profile_files(args.paths)
    for path in files:
        doc = load_yaml_file(path)
        result = [doc] if isinstance(doc, Problem) else load_profile_doc(doc)
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


def run_list(args: argparse.Namespace) -> int:
    """One line per profile: id, vendor/model, points, description."""
    folder = args.dir or builtin_profiles_dir()
    for path in sorted(folder.glob("*.yaml")):
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

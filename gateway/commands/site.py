"""`hazard-gateway site validate FILE`: check a site file together with its profiles.

What an integrator runs before starting an edge agent: the site file is parsed
exactly as `edge` parses it (fields, then the rules across devices, then every
profile it names and the per-point overrides), and every problem is printed as
``file:line field: reason``. An empty file says it is empty, not that five fields
are missing; a profile id that is not found comes with the nearest known ids.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.errors import Problem, SiteError

if TYPE_CHECKING:
    from gateway.config import Site

__all__ = ["register", "suggest_profiles"]

EXAMPLE = "examples/site-demo.yaml"


def register(commands: Any) -> None:
    """Add the `site` subcommand group."""
    parser = commands.add_parser("site", help="check a site file with the profiles it uses")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate",
        help="check a site file and its profiles; every problem with file:line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("path", type=Path, metavar="FILE", help="the site file (YAML)")
    validate.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Print OK with a summary, or raise SiteError with every problem (exit 2)."""
    path: Path = args.path
    empty = _empty_file(path)
    if empty is not None:
        raise SiteError([empty])
    try:
        from gateway.config import load_site  # noqa: PLC0415 (pydantic: not for --help)

        site = load_site(path)
    except SiteError as exc:
        raise SiteError(_with_suggestions(exc.problems, path)) from None
    print(_summary(path, site))
    return 0


def _empty_file(path: Path) -> Problem | None:
    """A Problem when the file holds no YAML document (empty, or only comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # load_site reports an unreadable file with its reason
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if lines:
        return None
    message = (
        "the file is empty: a site file names `enterprise`, `site` and its `devices` "
        f"(see {EXAMPLE})"
    )
    return Problem(str(path), None, "", message)


def _with_suggestions(problems: list[Problem], path: Path) -> list[Problem]:
    """Add the nearest profile ids to each "profile ... not found" problem."""
    known = _known_profiles(path)
    out = []
    for problem in problems:
        ref = _missing_profile(problem)
        hint = "" if ref is None else suggest_profiles(ref, known)
        out.append(Problem(problem.file, problem.line, problem.field, problem.message + hint))
    return out


def _missing_profile(problem: Problem) -> str | None:
    """The profile id of a "profile 'x' not found" problem from the loader, else None."""
    prefix = "profile '"
    if not problem.field.endswith(".profile") or not problem.message.startswith(prefix):
        return None
    ref, sep, rest = problem.message[len(prefix) :].partition("'")
    return ref if sep and rest.startswith(" not found") else None


def suggest_profiles(ref: str, known: list[str]) -> str:
    """``; did you mean 'a' or 'b'? (...)``: the nearest ids by spelling (difflib)."""
    close = difflib.get_close_matches(ref, known, n=3, cutoff=0.8)
    listing = "run `hazard-gateway profiles list` for the built-in ids"
    if not close:
        return f"; {listing}"
    names = " or ".join(repr(name) for name in close)
    return f"; did you mean {names}? ({listing})"


def _known_profiles(path: Path) -> list[str]:
    """Built-in profile ids and those in the site's ``profile_dirs`` (read leniently)."""
    from gateway.profiles import builtin_profiles_dir  # noqa: PLC0415 - loaded with config
    from gateway.yamlsource import SourceDoc, load_yaml_file  # noqa: PLC0415

    folders = [builtin_profiles_dir()]
    doc = load_yaml_file(path)
    if isinstance(doc, SourceDoc) and isinstance(doc.data, dict):
        dirs = doc.data.get("profile_dirs")  # the site may not parse: peek, do not trust
        if isinstance(dirs, list):
            folders += [path.parent / str(d) for d in dirs]
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")})


def _summary(path: Path, site: Site) -> str:
    points = sum(len(device.points) for device in site.devices)
    profiles = sorted({device.config.profile for device in site.devices})
    return (
        f"{path}: OK ({site.enterprise}/{site.site}: {len(site.devices)} devices, "
        f"{points} points; profiles {', '.join(profiles)})"
    )

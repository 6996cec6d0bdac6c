"""Compile a bench's C helper into bench/build/ with gcc, when missing or stale."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["BUILD_DIR", "build_c"]

BUILD_DIR = Path(__file__).resolve().parent / "build"


def build_c(source: Path, flags: list[str] | tuple[str, ...] = ()) -> Path:
    """``gcc -O2`` ``source`` into bench/build/<stem>; SystemExit with gcc's output on failure."""
    binary = BUILD_DIR / source.stem
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    BUILD_DIR.mkdir(exist_ok=True)
    partial = binary.with_name(binary.name + ".partial")  # a killed gcc leaves no binary
    command = ["gcc", "-O2", "-Wall", "-o", str(partial), str(source), *flags]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"cannot build {source.name} ({' '.join(command)}):\n{done.stderr}"
        raise SystemExit(msg)
    os.replace(partial, binary)
    return binary

"""Keep numba's on-disk cache honest for kernels that call across modules.

numba checks a cached kernel against the source file of that kernel only. `_channel`
calls functions of `_machine`, `_scan`, `_windows` and reads constants of `_layout` and
`config`: after an edit of `_machine.py` the cached `_channel` would go on running the old
code. So we fingerprint every kernel source together and, when the fingerprint changed,
drop edge_core's cache files before any kernel is loaded. Failing to clean is not fatal:
it only matters to someone editing the kernels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core import config
from numba.core.caching import _CacheLocator

__all__ = ["drop_stale_cache", "kernels_cached"]

HERE = Path(__file__).resolve().parent
KERNEL_MODULES = ("_jit", "_layout", "_windows", "_scan", "_machine", "_channel", "_kernels")
SOURCES = (*(f"{name}.py" for name in KERNEL_MODULES), "config.py", "_cache_guard.py")
STAMP = "edge_core-kernels.sha256"


def fingerprint() -> str:
    """SHA-256 over every source the kernels are compiled from."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode())
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def _cache_dirs() -> list[Path]:
    # numba names its cache folders like this for every locator that is not __pycache__
    subpath = _CacheLocator.get_suitable_cache_subpath(str(HERE / "_kernels.py"))  # type: ignore[no-untyped-call]
    cache_dir = getattr(config, "CACHE_DIR", "")
    if cache_dir:  # NUMBA_CACHE_DIR wins over every other place: only it is read
        folder = Path(cache_dir) / subpath
        return [folder] if folder.is_dir() else []
    dirs = [HERE / "__pycache__"]
    try:
        from numba.misc.appdirs import AppDirs  # noqa: PLC0415 - numba's user-wide cache

        user_wide = AppDirs(appname="numba", appauthor=False).user_cache_dir  # type: ignore[no-untyped-call]
        dirs.append(Path(user_wide) / subpath)
    except ImportError:
        pass
    return [d for d in dirs if d.is_dir()]


def drop_stale_cache() -> None:
    """Delete cached kernels compiled from other sources than the ones on disk now."""
    try:
        current = fingerprint()
        for folder in _cache_dirs():
            stamp = folder / STAMP
            if stamp.is_file() and stamp.read_text(encoding="ascii").strip() == current:
                continue
            for cached in folder.iterdir():
                if (
                    cached.suffix in (".nbi", ".nbc")
                    and cached.name.split(".")[0] in KERNEL_MODULES
                ):
                    cached.unlink(missing_ok=True)
            stamp.write_text(current + "\n", encoding="ascii")
    except OSError:
        pass


def kernels_cached() -> bool:
    """True when a cached entry kernel exists, i.e. this start will not compile."""
    try:
        return any(any(folder.glob("_kernels.*.nbi")) for folder in _cache_dirs())
    except OSError:
        return False

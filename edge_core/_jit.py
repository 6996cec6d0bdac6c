"""The one JIT-options helper of the edge_core kernels.

Every `@njit` function of `edge_core._*` modules is decorated through `_jit()`, so the numba
options (``cache=True``, ``error_model="numpy"``, ``nogil=True``, ``_nrt=False`` for leaf
helpers) are set in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from numba import njit

from edge_core._cache_guard import drop_stale_cache, kernels_cached

drop_stale_cache()  # before any kernel module decorates (and loads cached) functions
if not kernels_cached():
    # The kernels have explicit signatures, so they compile right at import: say why the
    # first start after an install or an upgrade pauses (logging's last resort prints it).
    logging.getLogger("edge_core").warning(
        "Compiling the detection kernels (first start after install or change, 15-30 s; "
        "cached afterwards)"
    )


def _jit(*args: Any, leaf: bool = False, **kwargs: Any) -> Callable[..., Any]:
    """The one place the numba options are set.

    leaf=True compiles without numba's reference counting (``_nrt=False``), for helpers
    that take arrays but never allocate and are called from the per-window loop: their
    arrays are borrowed from `_channel`, which holds them for the whole call.  With NRT,
    every call that LLVM does not inline paid an atomic incref + decref per array argument:
    that was 55 % of the quiet-stream time serially, and with `prange` the two threads
    fought over the same refcount cache lines, which is why `parallel=True` gave no gain.
    """
    opts: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
    if leaf:
        opts["_nrt"] = False
    opts.update(kwargs)
    return njit(*args, **opts)  # type: ignore[no-any-return]

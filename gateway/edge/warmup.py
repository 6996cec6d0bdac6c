"""Detection that answers from the first poll, even while the numba kernels compile.

On a fresh machine (empty numba cache) compiling the detection kernels takes 15-30 s.
Polling must not wait for that, and no alarm may wait either. So each device starts
on `edge_core.ReferenceDetector`, the pure-Python twin of the kernels (same semantics,
checked equal by the edge_core tests), while one background thread imports
`edge_core.detector`. Every call made meanwhile is recorded; once the kernels are
loaded, the next call first replays the record into a fresh numba `Detector`, which
thereby reaches exactly the reference's state, and from then on the kernels run.

With a warm cache the kernels load in well under a second and the reference is never
used. If they fail to load at all, the reference stays (slow, still correct) and the
failure is logged loudly once.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from edge_core.config import ChannelConfig
from edge_core.result import BlockResult

__all__ = ["KernelLoader", "WarmDetector", "kernel_loader"]

log = logging.getLogger(__name__)

MAX_RECORDED_CALLS = 200_000  # ~30 min of a 100 Hz device: far beyond any compile time


class KernelLoader:
    """Loads `edge_core.detector` once, in a background thread."""

    def __init__(self, module: str = "edge_core.detector") -> None:
        self._module = module
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.detector_class: Callable[..., Any] | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.announced = False  # the switch is logged once per process, not per device

    def start(self) -> None:
        """Begin loading (idempotent)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="kernels", daemon=True)
                self._thread.start()

    def ready(self) -> bool:
        """True once the kernels are loaded (or failed to load)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loaded (for tools that want the kernels before they begin)."""
        self.start()
        return self._done.wait(timeout)

    def _load(self) -> None:
        start = time.perf_counter()
        try:
            self.detector_class = importlib.import_module(self._module).Detector
        except BaseException as exc:  # a compile failure must not end the agent
            self.error = exc
            log.critical("Detection kernels failed to load; staying on the reference", exc_info=exc)
        self.seconds = time.perf_counter() - start
        self._done.set()


kernel_loader = KernelLoader()


class WarmDetector:
    """A `Detector` for ``configs``: the reference until the kernels are loaded."""

    def __init__(
        self, configs: Sequence[ChannelConfig], *, loader: KernelLoader = kernel_loader
    ) -> None:
        self._configs = list(configs)
        self._loader = loader
        loader.start()
        self._record: list[tuple[str, tuple[Any, ...], dict[str, Any]]] | None = []
        self._backend: Any = self._reference()
        self._switch()  # a warm cache: straight to the kernels

    @property
    def on_kernels(self) -> bool:
        """True once the numba kernels run (the reference is no longer used)."""
        return self._record is None and self._loader.detector_class is not None

    def process(
        self, block: np.ndarray, t0: float, dt: float, quality: np.ndarray | None = None
    ) -> BlockResult:
        """`Detector.process`; recorded for the replay while the reference answers."""
        if self._record is None:  # the usual case after start-up: straight through
            result: BlockResult = self._backend.process(block, t0, dt, quality)
            return result
        return self._call("process", block, t0, dt, quality)  # type: ignore[no-any-return]

    def reset(self, channel: int) -> bool:
        """`Detector.reset` (a latch reset the detector may refuse)."""
        return bool(self._call("reset", channel))

    def state(self) -> np.ndarray:
        """`Detector.state`: active flags [channels x 7]."""
        flags: np.ndarray = self._backend.state()
        return flags

    def _call(self, name: str, *args: Any) -> Any:
        # Explicit methods, not __getattr__: a closure built per call was measurable on
        # wide sites (bench/pipeline.py), and the calls that change state are these two.
        self._switch()
        result = getattr(self._backend, name)(*args)
        if self._record is not None:
            self._remember(name, args, {})
        return result

    def _reference(self) -> Any:
        from edge_core.reference import ReferenceDetector  # noqa: PLC0415 (no kernels)

        return ReferenceDetector(self._configs)

    def _remember(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        assert self._record is not None
        if len(self._record) >= MAX_RECORDED_CALLS:
            log.error(
                "Kernels still not loaded after %d calls: staying on the reference",
                len(self._record),
            )
            self._record = None
            return
        frozen = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
        self._record.append((name, frozen, dict(kwargs)))

    def _switch(self) -> None:
        if self._record is None or not self._loader.ready():
            return
        record, self._record = self._record, None
        detector_class = self._loader.detector_class
        if detector_class is None:  # failed to load: the reference stays, logged once
            return
        kernels = detector_class(self._configs)
        for name, args, kwargs in record:
            getattr(kernels, name)(*args, **kwargs)
        self._backend = kernels
        if record and not self._loader.announced:
            self._loader.announced = True
            log.warning(
                "Detection kernels compiled in %.1f s; the reference detector ran meanwhile "
                "(%d calls replayed into the kernels)",
                self._loader.seconds,
                len(record),
            )

"""The pytest side of the harness: missing tools become skips (failures under CI).

Kept apart from the server classes so benches can use those without importing pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, Protocol, TypeVar

import pytest

from .process import ServerProcess
from .tools import MissingToolError, in_ci

__all__ = ["StartServer", "running", "tools_or_skip"]

S = TypeVar("S", bound=ServerProcess)
P = ParamSpec("P")


class StartServer(Protocol):
    """Type of the ``start_server`` fixture: ``start_server(Mosquitto, path, acl=...)``."""

    def __call__(self, factory: Callable[P, S], /, *args: P.args, **kwargs: P.kwargs) -> S: ...


@contextmanager
def tools_or_skip() -> Iterator[None]:
    """Turn ``MissingToolError`` into a skip, or into a failure under ``CI=true``."""
    try:
        yield
    except MissingToolError as exc:
        if in_ci():
            pytest.fail(f"CI=true and a required tool is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))


@contextmanager
def running(factory: Callable[[], S]) -> Iterator[S]:
    """Build a server with ``factory`` (skipping if its tool is missing), start it, close it."""
    with tools_or_skip():
        server = factory()
    try:
        yield server.start()
    finally:
        server.close()

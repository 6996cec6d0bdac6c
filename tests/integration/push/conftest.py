"""Fixtures shared by the push integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.push.pushkit import HMAC_KEY, SM4_IV, SM4_KEY
from tests.integration.push.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback that checks the signature and decrypts."""
    server = Receiver(HMAC_KEY, SM4_KEY, SM4_IV).start()
    yield server
    server.stop()
